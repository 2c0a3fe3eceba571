# infra-bot with two tasks (issue 18): the basic example plus the shared
# state table. The two tasks share delivery claims, locks, cooldowns, rate
# limits and job records through one DynamoDB table the module creates (on
# demand, TTL, point-in-time recovery, encrypted), and ECS spreads them over
# the zones of the two private subnets. Replace every placeholder (IDs, ARNs)
# with your own; the first deployment goes as in ../basic (repository and
# secrets first, set the secret values, push the image, apply):
#
#   aws secretsmanager put-secret-value --secret-id infra-bot/prod/slack-bot-token \
#     --secret-string 'xoxb-...'
#   aws secretsmanager put-secret-value --secret-id infra-bot/prod/slack-app-token \
#     --secret-string 'xapp-...'

terraform {
  required_version = ">= 1.2"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"

  default_tags {
    tags = {
      Application = "infra-bot"
      ManagedBy   = "terraform"
    }
  }
}

resource "aws_secretsmanager_secret" "slack_bot_token" {
  name        = "infra-bot/prod/slack-bot-token"
  description = "Slack bot token (xoxb-...) of infra-bot, from OAuth & Permissions"
}

resource "aws_secretsmanager_secret" "slack_app_token" {
  name        = "infra-bot/prod/slack-app-token"
  description = "Slack app-level token (xapp-..., scope connections:write) of infra-bot, from Basic Information"
}

module "slack_bot" {
  source = "../../modules/slack-bot"

  name        = "infra-bot"
  environment = "prod"

  vpc_id = "vpc-0123456789abcdef0"
  # Two subnets in two availability zones: ECS puts the two tasks in
  # different zones (the module refuses desired_count 2 with one zone).
  private_subnets = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]

  slack_bot_token_secret_arn = aws_secretsmanager_secret.slack_bot_token.arn
  slack_app_token_secret_arn = aws_secretsmanager_secret.slack_app_token.arn
  orchestrator_lambda_arn    = "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator"
  ip_whitelist_lambda_arn    = "arn:aws:lambda:eu-west-1:123456789012:function:infra-ip-whitelist"

  # The shared state: the table infra-bot-prod-state, and the task role's
  # GetItem/PutItem/UpdateItem/DeleteItem/Query/DescribeTable on exactly it.
  state_table   = true
  desired_count = 2
  # Deletion protection is on by default: turn it off here, and apply,
  # before a terraform destroy.
  # state_table_deletion_protection = false

  environments           = ["dev", "staging", "prod"]
  protected_environments = ["prod"]
  audit_channel          = "C0123456789"
  allowed_channels       = ["C0123456789"]
  admin_users            = ["U0123456789"]

  tags = {
    Environment = "prod"
  }
}

output "repository_url" {
  description = "ECR repository to push the infra-bot image to (tag latest)."
  value       = module.slack_bot.repository_url
}

output "service_name" {
  description = "ECS service running the two infra-bot tasks."
  value       = module.slack_bot.service_name
}

output "state_table_name" {
  description = "DynamoDB table the two tasks share their state through."
  value       = module.slack_bot.state_table_name
}

output "task_role_arn" {
  description = "The bot's AWS identity (the two Lambdas and the state table only)."
  value       = module.slack_bot.task_role_arn
}
