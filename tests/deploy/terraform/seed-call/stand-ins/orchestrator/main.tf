# Stand-in for the teams' module "infra_orchestrator": the one output the seed call reads.
output "lambda_arn" {
  description = "ARN of the orchestrator Lambda."
  value       = "arn:aws:lambda:eu-west-1:123456789012:function:docustack-infra-orchestrator"
}
