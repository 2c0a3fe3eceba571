# Stand-in for the teams' module "vpc" (terraform-aws-modules/vpc/aws): the two outputs the seed call reads.
output "vpc_id" {
  description = "ID of the VPC."
  value       = "vpc-0123456789abcdef0"
}

output "private_subnets" {
  description = "IDs of the private subnets."
  value       = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
}
