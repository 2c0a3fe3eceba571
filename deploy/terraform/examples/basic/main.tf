# The smallest complete deployment of infra-bot: the two Slack token secrets
# and the slack-bot module, which creates the ECR repository infra-bot-prod
# and runs infra-bot-prod:latest from it. Replace every placeholder (IDs,
# ARNs) with your own, then see ../../README.md for apply, the image push and
# the secret values.

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

# The secrets hold the Slack tokens. Terraform creates them empty and never
# sees the tokens (nothing of them lands in the state or in this file); their
# values are set out of band. The task cannot start before they are and the
# image is pushed, so the first deployment is:
#
#   terraform apply -target=module.slack_bot.aws_ecr_repository.this \
#                   -target=aws_secretsmanager_secret.slack_bot_token \
#                   -target=aws_secretsmanager_secret.slack_app_token
#   aws secretsmanager put-secret-value --secret-id infra-bot/prod/slack-bot-token \
#     --secret-string 'xoxb-...'
#   aws secretsmanager put-secret-value --secret-id infra-bot/prod/slack-app-token \
#     --secret-string 'xapp-...'
#   docker push "$(terraform output -raw repository_url):latest"   (after docker login)
#   terraform apply
#
# Rotate with put-secret-value again, then restart the task (aws ecs
# update-service --force-new-deployment): ECS reads secrets when a task starts.
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

  vpc_id          = "vpc-0123456789abcdef0"
  private_subnets = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]

  # No image: the module creates the ECR repository infra-bot-prod and runs
  # <its URL>:<image_tag> ("latest" unless image_tag says otherwise). To run
  # an image from elsewhere instead:
  #   image              = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot:1.0.0"
  #   ecr_repository_arn = "arn:aws:ecr:eu-west-1:123456789012:repository/infra-bot"

  slack_bot_token_secret_arn = aws_secretsmanager_secret.slack_bot_token.arn
  slack_app_token_secret_arn = aws_secretsmanager_secret.slack_app_token.arn

  orchestrator_lambda_arn = "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator"
  # Optional: without it the bot refuses the whitelist commands.
  ip_whitelist_lambda_arn = "arn:aws:lambda:eu-west-1:123456789012:function:infra-ip-whitelist"

  # Optional: who may do what (Slack IDs), and where actions are reported.
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
  description = "ECS service running infra-bot."
  value       = module.slack_bot.service_name
}

output "log_group_name" {
  description = "CloudWatch log group with the bot's JSON logs."
  value       = module.slack_bot.log_group_name
}

output "task_role_arn" {
  description = "The bot's AWS identity (may invoke the two Lambdas only)."
  value       = module.slack_bot.task_role_arn
}
