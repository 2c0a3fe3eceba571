# terraform test of the seed's call (seed-call/main.tf), run offline by
# tests/deploy/terraform_validate.sh in <work>/tests/seed-call with this file
# in its tests/: the call the teams already have plans against a mocked
# hashicorp/aws, creates the bot's ECR repository and runs its image.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

override_resource {
  target          = aws_secretsmanager_secret.slack_bot_token
  override_during = plan
  values = {
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:docustack-infra-bot/slack-bot-token-AbCdEf"
  }
}

override_resource {
  target          = aws_secretsmanager_secret.slack_app_token
  override_during = plan
  values = {
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:docustack-infra-bot/slack-app-token-GhIjKl"
  }
}

override_resource {
  target          = module.slack_bot.aws_ecr_repository.this
  override_during = plan
  values = {
    arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/docustack-infra-bot-production"
    repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docustack-infra-bot-production"
  }
}

override_data {
  target          = module.slack_bot.data.aws_caller_identity.current
  override_during = plan
  values = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
    user_id    = "AIDAEXAMPLEEXAMPLE"
  }
}

# A long stage name: "docustack-infra-bot-production-execution" must still
# fit IAM's 64 characters.
variables {
  environment = "production"
}

run "the_seed_call_plans" {
  command = plan

  assert {
    condition     = output.repository_url == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docustack-infra-bot-production"
    error_message = "the seed's call must get an ECR repository named docustack-infra-bot-<environment>"
  }
  assert {
    condition     = module.slack_bot.image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docustack-infra-bot-production:latest"
    error_message = "the task must run <repository_url>:latest"
  }
  assert {
    condition     = length(module.slack_bot.execution_role_arn) > 0 && module.slack_bot.service_name == "docustack-infra-bot-production"
    error_message = "the service is named <name>-<environment>"
  }
}

# The largest stage the module accepts (16 characters) still fits.
run "the_longest_stage_plans" {
  command = plan

  variables {
    environment = "abcdefghijklmnop"
  }

  assert {
    condition     = module.slack_bot.service_name == "docustack-infra-bot-abcdefghijklmnop"
    error_message = "the service is named <name>-<environment>"
  }
}
