# terraform test of deploy/terraform/examples/two-tasks, run offline by
# tests/deploy/terraform_validate.sh in a copy of the example with this file
# in its tests/: two tasks sharing the state table plan against a mocked
# hashicorp/aws (issue 18).

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

override_resource {
  target          = module.slack_bot.aws_dynamodb_table.state
  override_during = plan
  values = {
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/infra-bot-prod-state"
  }
}

override_data {
  target          = module.slack_bot.data.aws_subnet.private[0]
  override_during = plan
  values = {
    availability_zone = "eu-west-1a"
  }
}

override_data {
  target          = module.slack_bot.data.aws_subnet.private[1]
  override_during = plan
  values = {
    availability_zone = "eu-west-1b"
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

run "the_example_plans_two_tasks_with_the_table" {
  command = plan

  assert {
    condition     = module.slack_bot.service_name == "infra-bot-prod" && output.state_table_name == "infra-bot-prod-state"
    error_message = "the service and the state table are named after <name>-<environment>"
  }
  assert {
    condition     = module.slack_bot.state_table_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/infra-bot-prod-state"
    error_message = "the module's table is the one the task role may use"
  }
}
