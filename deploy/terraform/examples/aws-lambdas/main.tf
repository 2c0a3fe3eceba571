# infra-bot with its own Lambdas: the orchestrator module runs the bot's image
# as the orchestrator and IP whitelist functions (`infra-bot lambda`, acting
# on the resources tagged Environment=<env>), and the slack-bot module invokes
# them. One image, one set of environments, no third-party Lambda code.
# Replace every placeholder (IDs, image) with your own, then see ../../README.md
# for apply and the secret values (aws secretsmanager put-secret-value, as in
# examples/basic).

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

locals {
  # Lambda runs images from ECR only; the ECS task pulls the same one.
  image        = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot:1.0.0"
  environments = ["dev", "staging", "prod"]
  protected    = ["prod"]
}

# The Slack tokens, set out of band (see examples/basic):
#   aws secretsmanager put-secret-value --secret-id infra-bot/prod/slack-bot-token --secret-string 'xoxb-...'
#   aws secretsmanager put-secret-value --secret-id infra-bot/prod/slack-app-token --secret-string 'xapp-...'
resource "aws_secretsmanager_secret" "slack_bot_token" {
  name        = "infra-bot/prod/slack-bot-token"
  description = "Slack bot token (xoxb-...) of infra-bot, from OAuth & Permissions"
}

resource "aws_secretsmanager_secret" "slack_app_token" {
  name        = "infra-bot/prod/slack-app-token"
  description = "Slack app-level token (xapp-..., scope connections:write) of infra-bot, from Basic Information"
}

module "orchestrator" {
  source = "../../modules/orchestrator"

  name        = "infra-bot"
  environment = "prod"
  image_uri   = local.image

  # Resources of an environment carry Environment=<env>; security groups of
  # the allow-list also infra-bot:whitelist=true.
  environments           = local.environments
  protected_environments = local.protected
  tag_key                = "Environment"
  whitelist_ports        = [80, 443, 7233]
}

module "slack_bot" {
  source = "../../modules/slack-bot"

  name        = "infra-bot"
  environment = "prod"

  vpc_id          = "vpc-0123456789abcdef0"
  private_subnets = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]

  image              = local.image
  ecr_repository_arn = "arn:aws:ecr:eu-west-1:123456789012:repository/infra-bot"

  slack_bot_token_secret_arn = aws_secretsmanager_secret.slack_bot_token.arn
  slack_app_token_secret_arn = aws_secretsmanager_secret.slack_app_token.arn

  orchestrator_lambda_arn = module.orchestrator.orchestrator_lambda_arn
  ip_whitelist_lambda_arn = module.orchestrator.ip_whitelist_lambda_arn

  environments           = local.environments
  protected_environments = local.protected
  audit_channel          = "C0123456789"
  allowed_channels       = ["C0123456789"]
  admin_users            = ["U0123456789"]
}

output "orchestrator_lambda_arn" {
  description = "The orchestrator Lambda the bot invokes."
  value       = module.orchestrator.orchestrator_lambda_arn
}

output "ip_whitelist_lambda_arn" {
  description = "The IP whitelist Lambda the bot invokes."
  value       = module.orchestrator.ip_whitelist_lambda_arn
}

output "service_name" {
  description = "ECS service running infra-bot."
  value       = module.slack_bot.service_name
}
