# The seed's call as in a first real plan: nothing exists yet, so the
# secrets' ARNs, the ECR repository's ARN and URL and the log group's ARN are
# unknown (a mocked provider without override_during = plan leaves computed
# attributes unknown at plan). The module must still plan: the split of the
# token ARNs into secrets and parameters, the ECR pull statement and the
# container definition wait for apply instead of failing.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  environment = "production"
}

run "the_seed_call_plans_with_unknown_arns" {
  command = plan

  assert {
    condition     = module.slack_bot.service_name == "docustack-infra-bot-production"
    error_message = "the service is named <name>-<environment>"
  }
}
