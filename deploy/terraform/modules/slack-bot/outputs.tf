output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "service_arn" {
  description = "ARN of the ECS service."
  value       = aws_ecs_service.this.id # the provider's id of a service is its ARN
}

output "cluster_arn" {
  description = "ARN of the ECS cluster the service runs in (created, or the given cluster_arn)."
  value       = local.cluster_arn
}

output "task_definition_arn" {
  description = "ARN (with revision) of the task definition."
  value       = aws_ecs_task_definition.this.arn
}

output "security_group_id" {
  description = "ID of the task's security group (no inbound, outbound 443 only)."
  value       = aws_security_group.this.id
}

output "execution_role_arn" {
  description = "ARN of the ECS task execution role (pulls the image, reads the two Slack tokens, writes logs)."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "ARN of the task role (invokes the Lambdas). Grant it in a Lambda resource policy when a Lambda lives in another account."
  value       = aws_iam_role.task.arn
}

output "log_group_name" {
  description = "Name of the CloudWatch log group holding the bot's JSON log lines."
  value       = aws_cloudwatch_log_group.this.name
}

output "repository_url" {
  description = "URL of the ECR repository the module created (image null): push the image there as <repository_url>:<image_tag>. null when image is given."
  value       = local.repository_url
}

output "repository_arn" {
  description = "ARN of the ECR repository the module created (image null); null when image is given."
  value       = one(aws_ecr_repository.this[*].arn)
}

output "image" {
  description = "The image reference the task runs (image, or <repository_url>:<image_tag>)."
  value       = local.image
}

output "state_table_name" {
  description = "Name of the DynamoDB table the tasks share their state through (INFRA_STATE_TABLE); null without state_table."
  value       = var.state_table ? local.state_table_name : null
}

output "state_table_arn" {
  description = "ARN of the state table, the only resource of the task role's DynamoDB rights; null without state_table."
  value       = var.state_table ? local.state_table_arn : null
}
