# The call teams already have (issue 16), byte for byte in module "slack_bot"
# below, around the smallest stand-ins for what it refers to: module.vpc,
# module.infra_orchestrator, the two secrets and var.environment. It must
# `terraform validate` and plan unchanged: tests/deploy/terraform_validate.sh
# copies this directory to <work>/tests/seed-call, next to <work>/modules (so
# "../../modules/slack-bot" resolves there, not in the source tree), runs
# init + validate, and `terraform test` with seed_call.tftest.hcl.

terraform {
  required_version = ">= 1.2"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

variable "environment" {
  description = "Stage of the bot, as in the teams' stacks."
  type        = string
}

module "vpc" {
  source = "./stand-ins/vpc"
}

module "infra_orchestrator" {
  source = "./stand-ins/orchestrator"
}

resource "aws_secretsmanager_secret" "slack_bot_token" {
  name = "docustack-infra-bot/slack-bot-token"
}

resource "aws_secretsmanager_secret" "slack_app_token" {
  name = "docustack-infra-bot/slack-app-token"
}

# --- The seed's call: keep it exactly as the issue quotes it. ---------------
module "slack_bot" {
  source = "../../modules/slack-bot"
  name = "docustack-infra-bot"
  environment = var.environment
  vpc_id = module.vpc.vpc_id
  private_subnets = module.vpc.private_subnets
  slack_bot_token_secret_arn = aws_secretsmanager_secret.slack_bot_token.arn
  slack_app_token_secret_arn = aws_secretsmanager_secret.slack_app_token.arn
  orchestrator_lambda_arn = module.infra_orchestrator.lambda_arn
}
# --- End of the seed's call. ---------------------------------------------------

output "repository_url" {
  description = "Where to push the image."
  value       = module.slack_bot.repository_url
}
