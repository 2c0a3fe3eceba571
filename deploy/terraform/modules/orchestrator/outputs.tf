output "orchestrator_lambda_arn" {
  description = "ARN of the orchestrator Lambda: the slack-bot module's orchestrator_lambda_arn (ORCHESTRATOR_LAMBDA_ARN)."
  value       = aws_lambda_function.orchestrator.arn
}

output "ip_whitelist_lambda_arn" {
  description = "ARN of the IP whitelist Lambda: the slack-bot module's ip_whitelist_lambda_arn (IP_WHITELIST_LAMBDA_ARN)."
  value       = aws_lambda_function.whitelist.arn
}

output "orchestrator_function_name" {
  description = "Name of the orchestrator Lambda function."
  value       = aws_lambda_function.orchestrator.function_name
}

output "ip_whitelist_function_name" {
  description = "Name of the IP whitelist Lambda function."
  value       = aws_lambda_function.whitelist.function_name
}

output "orchestrator_role_arn" {
  description = "ARN of the orchestrator's execution role (ECS, RDS and EC2 instances of the tagged environments, nothing else)."
  value       = aws_iam_role.orchestrator.arn
}

output "ip_whitelist_role_arn" {
  description = "ARN of the IP whitelist's execution role (ingress rules of the security groups tagged for the allow-list, nothing else)."
  value       = aws_iam_role.whitelist.arn
}

output "orchestrator_log_group_name" {
  description = "CloudWatch log group of the orchestrator Lambda."
  value       = aws_cloudwatch_log_group.orchestrator.name
}

output "ip_whitelist_log_group_name" {
  description = "CloudWatch log group of the IP whitelist Lambda."
  value       = aws_cloudwatch_log_group.whitelist.name
}
