# terraform test of deploy/terraform/examples/basic, run offline by
# tests/deploy/terraform_validate.sh in a copy of the example with this file
# in its tests/: the README's smallest deployment plans against a mocked
# hashicorp/aws, with its own ECR repository, both Lambdas, and an allow-list.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

override_resource {
  target          = aws_secretsmanager_secret.slack_bot_token
  override_during = plan
  values = {
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/slack-bot-token-AbCdEf"
  }
}

override_resource {
  target          = aws_secretsmanager_secret.slack_app_token
  override_during = plan
  values = {
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/slack-app-token-GhIjKl"
  }
}

override_resource {
  target          = module.slack_bot.aws_ecr_repository.this
  override_during = plan
  values = {
    arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/infra-bot-prod"
    repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot-prod"
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

run "the_example_plans" {
  command = plan

  assert {
    condition     = output.repository_url == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot-prod"
    error_message = "the example pushes to the module's own repository, infra-bot-prod"
  }
  assert {
    condition     = module.slack_bot.image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot-prod:latest"
    error_message = "the task runs <repository_url>:latest"
  }
  assert {
    condition     = output.service_name == "infra-bot-prod"
    error_message = "the service is named <name>-<environment>"
  }
}
