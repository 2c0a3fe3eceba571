terraform {
  # Lifecycle preconditions (protected_environments against environments)
  # need Terraform 1.2.
  required_version = ">= 1.2"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}
