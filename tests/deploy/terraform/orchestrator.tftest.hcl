# terraform test of deploy/terraform/modules/orchestrator, run offline by
# tests/deploy/terraform_validate.sh in a copy of the module, with this file in
# tests/ and the goldens of tests/deploy/iam-policies in tests/expected/.
#
# The real hashicorp/aws provider plans with fake credentials and no API call
# (every skip_* below; aws_iam_policy_document, aws_partition and aws_region
# are computed locally), and the one data source that would call AWS
# (aws_caller_identity, STS) is overridden. So the policy documents are the
# provider's own rendering of the module, compared with what
# aws::tag_scoped_policy_json writes (tests/unit/iam_policy_test.cpp keeps
# the goldens equal to it): statement order, Sids, effects, conditions and
# condition values in order; actions and resources as sets (the provider
# writes them in its own set order).

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "mock-access-key"
  secret_key                  = "mock-secret-key"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

mock_provider "aws" {
  alias = "mock"

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }

  # Attributes the provider validates as ARNs must look like ARNs.
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mocked"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mocked"
    }
  }

  # aws_iam_policy_document is mocked too here: only the real provider renders it.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

override_data {
  target = data.aws_caller_identity.current
  values = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
    user_id    = "AIDAEXAMPLEEXAMPLE"
  }
}

variables {
  name        = "infra-bot"
  environment = "prod"
  image_uri   = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot:1.0.0"
}

run "policies_equal_the_cpp_goldens" {
  command = plan

  assert {
    condition = [
      for s in jsondecode(data.aws_iam_policy_document.orchestrator.json).Statement : {
        sid       = s.Sid
        effect    = s.Effect
        actions   = sort(flatten([s.Action]))
        resources = sort(flatten([s.Resource]))
        condition = { for op, keys in try(s.Condition, {}) : op => { for k, v in keys : k => flatten([v]) } }
      }
      ] == [
      for s in jsondecode(file("${path.module}/tests/expected/orchestrator.json")).Statement : {
        sid       = s.Sid
        effect    = s.Effect
        actions   = sort(flatten([s.Action]))
        resources = sort(flatten([s.Resource]))
        condition = { for op, keys in try(s.Condition, {}) : op => { for k, v in keys : k => flatten([v]) } }
      }
    ]
    error_message = "data.aws_iam_policy_document.orchestrator differs from tests/deploy/iam-policies/orchestrator.json (aws::tag_scoped_policy_json, role orchestrator). Rendered: ${data.aws_iam_policy_document.orchestrator.json}"
  }

  assert {
    condition = [
      for s in jsondecode(data.aws_iam_policy_document.whitelist.json).Statement : {
        sid       = s.Sid
        effect    = s.Effect
        actions   = sort(flatten([s.Action]))
        resources = sort(flatten([s.Resource]))
        condition = { for op, keys in try(s.Condition, {}) : op => { for k, v in keys : k => flatten([v]) } }
      }
      ] == [
      for s in jsondecode(file("${path.module}/tests/expected/whitelist.json")).Statement : {
        sid       = s.Sid
        effect    = s.Effect
        actions   = sort(flatten([s.Action]))
        resources = sort(flatten([s.Resource]))
        condition = { for op, keys in try(s.Condition, {}) : op => { for k, v in keys : k => flatten([v]) } }
      }
    ]
    error_message = "data.aws_iam_policy_document.whitelist differs from tests/deploy/iam-policies/whitelist.json (aws::tag_scoped_policy_json, role whitelist). Rendered: ${data.aws_iam_policy_document.whitelist.json}"
  }
}

run "unprotected_policies_equal_the_cpp_goldens" {
  command = plan

  variables {
    tag_key                = "team:env"
    environments           = ["dev", "qa"]
    protected_environments = []
  }

  assert {
    condition = [
      for s in jsondecode(data.aws_iam_policy_document.orchestrator.json).Statement : {
        sid       = s.Sid
        effect    = s.Effect
        actions   = sort(flatten([s.Action]))
        resources = sort(flatten([s.Resource]))
        condition = { for op, keys in try(s.Condition, {}) : op => { for k, v in keys : k => flatten([v]) } }
      }
      ] == [
      for s in jsondecode(file("${path.module}/tests/expected/orchestrator-unprotected.json")).Statement : {
        sid       = s.Sid
        effect    = s.Effect
        actions   = sort(flatten([s.Action]))
        resources = sort(flatten([s.Resource]))
        condition = { for op, keys in try(s.Condition, {}) : op => { for k, v in keys : k => flatten([v]) } }
      }
    ]
    error_message = "with no protected environment, data.aws_iam_policy_document.orchestrator differs from tests/deploy/iam-policies/orchestrator-unprotected.json. Rendered: ${data.aws_iam_policy_document.orchestrator.json}"
  }

  assert {
    condition = [
      for s in jsondecode(data.aws_iam_policy_document.whitelist.json).Statement : {
        sid       = s.Sid
        effect    = s.Effect
        actions   = sort(flatten([s.Action]))
        resources = sort(flatten([s.Resource]))
        condition = { for op, keys in try(s.Condition, {}) : op => { for k, v in keys : k => flatten([v]) } }
      }
      ] == [
      for s in jsondecode(file("${path.module}/tests/expected/whitelist-unprotected.json")).Statement : {
        sid       = s.Sid
        effect    = s.Effect
        actions   = sort(flatten([s.Action]))
        resources = sort(flatten([s.Resource]))
        condition = { for op, keys in try(s.Condition, {}) : op => { for k, v in keys : k => flatten([v]) } }
      }
    ]
    error_message = "with no protected environment, data.aws_iam_policy_document.whitelist differs from tests/deploy/iam-policies/whitelist-unprotected.json. Rendered: ${data.aws_iam_policy_document.whitelist.json}"
  }

  assert {
    condition     = aws_lambda_function.orchestrator.environment[0].variables["INFRA_PROTECTED_ENVIRONMENTS"] == ","
    error_message = "protected_environments = [] must reach the function as \",\" (empty means none; unset would mean prod)."
  }
}

run "functions_run_infra_bot_lambda" {
  command = plan

  assert {
    condition     = aws_lambda_function.orchestrator.package_type == "Image" && aws_lambda_function.whitelist.package_type == "Image"
    error_message = "both functions are container images"
  }
  assert {
    condition     = aws_lambda_function.orchestrator.image_config[0].command == tolist(["lambda"]) && aws_lambda_function.whitelist.image_config[0].command == tolist(["lambda"])
    error_message = "both functions run `infra-bot lambda` (the image's ENTRYPOINT is infra-bot)"
  }
  assert {
    condition     = aws_lambda_function.orchestrator.environment[0].variables["INFRA_LAMBDA_ROLE"] == "orchestrator" && aws_lambda_function.whitelist.environment[0].variables["INFRA_LAMBDA_ROLE"] == "whitelist"
    error_message = "INFRA_LAMBDA_ROLE must pick each function's contract"
  }
  assert {
    condition = aws_lambda_function.orchestrator.environment[0].variables == tomap({
      INFRA_LAMBDA_ROLE            = "orchestrator"
      INFRA_ENVIRONMENTS           = "dev,staging,prod"
      INFRA_PROTECTED_ENVIRONMENTS = "prod"
      INFRA_TAG_KEY                = "Environment"
      INFRA_WHITELIST_PORTS        = "80,443,7233"
      LOG_FORMAT                   = "json"
      LOG_LEVEL                    = "info"
    })
    error_message = "the orchestrator's environment is not the expected one: ${jsonencode(aws_lambda_function.orchestrator.environment[0].variables)}"
  }
  assert {
    condition     = aws_lambda_function.orchestrator.timeout == 900 && aws_lambda_function.whitelist.timeout < aws_lambda_function.orchestrator.timeout
    error_message = "the orchestrator gets Lambda's maximum of 900 s, the whitelist function less"
  }
  assert {
    condition     = aws_cloudwatch_log_group.orchestrator.name == "/aws/lambda/infra-bot-prod-orchestrator" && aws_cloudwatch_log_group.whitelist.retention_in_days == 30
    error_message = "each function logs to /aws/lambda/<function> with a retention"
  }
}

run "protected_environment_must_be_known" {
  command = plan

  variables {
    environments           = ["dev", "staging"]
    protected_environments = ["prod"]
  }

  expect_failures = [aws_lambda_function.orchestrator]
}

run "reserved_tag_key_is_refused" {
  command = plan

  variables {
    tag_key = "aws:cloudformation:stack-name"
  }

  expect_failures = [var.tag_key]
}

run "image_must_be_in_ecr" {
  command = plan

  variables {
    image_uri = "docker.io/library/infra-bot:latest"
  }

  expect_failures = [var.image_uri]
}

# The whole module applied against the mocked provider: every resource is
# created (with invented attributes), and the outputs are the functions' ARNs.
run "applies_with_a_mocked_provider" {
  command = apply

  providers = {
    aws = aws.mock
  }

  assert {
    condition     = output.orchestrator_lambda_arn == aws_lambda_function.orchestrator.arn && output.ip_whitelist_lambda_arn == aws_lambda_function.whitelist.arn
    error_message = "the two ARN outputs are the two functions'"
  }
  assert {
    condition     = output.orchestrator_lambda_arn != output.ip_whitelist_lambda_arn
    error_message = "two distinct functions"
  }
}
