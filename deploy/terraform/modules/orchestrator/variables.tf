# Inputs of the orchestrator module. The environment variables they become are
# those of `infra-bot lambda` (see local.environment in main.tf).

# --- Identity -----------------------------------------------------------------

variable "name" {
  description = "Base name of the functions, roles and log groups (<name>-<environment>-orchestrator, <name>-<environment>-ip-whitelist). Lower-case letters, digits and hyphens."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.name))
    error_message = "name must start with a lower-case letter and hold only a-z, 0-9 and '-', at most 32 characters."
  }
}

variable "environment" {
  description = "Deployment stage of the Lambdas themselves (e.g. \"prod\"), appended to name. Not to be confused with the environments they manage (see environments)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must start with a lower-case letter and hold only a-z, 0-9 and '-', at most 16 characters."
  }
}

# --- Image ----------------------------------------------------------------------

variable "image_uri" {
  description = "infra-bot container image in ECR (Lambda runs images from ECR only), built from docker/Dockerfile, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot:1.0.0 or …/infra-bot@sha256:…. The same image as the bot's; the functions run `infra-bot lambda`."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]{1,128}|@sha256:[0-9a-f]{64})$", var.image_uri))
    error_message = "image_uri must be an ECR image with a tag or digest: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG (or @sha256:DIGEST)."
  }
}

variable "architecture" {
  description = "Instruction set of the image: x86_64 or arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory of each function in MiB (CPU grows with it)."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MiB from 128 to 10240."
  }
}

variable "orchestrator_timeout" {
  description = "Timeout of the orchestrator in seconds. A stop or start waits for ECS, RDS and EC2, so it gets Lambda's maximum; the bot's Lambda client waits slightly longer (INFRA_LAMBDA_TIMEOUT_SECONDS)."
  type        = number
  default     = 900

  validation {
    condition     = var.orchestrator_timeout >= 60 && var.orchestrator_timeout <= 900
    error_message = "orchestrator_timeout must be from 60 to 900 seconds (Lambda's maximum)."
  }
}

variable "whitelist_timeout" {
  description = "Timeout of the IP whitelist function in seconds: a few security-group calls."
  type        = number
  default     = 60

  validation {
    condition     = var.whitelist_timeout >= 10 && var.whitelist_timeout <= 900
    error_message = "whitelist_timeout must be from 10 to 900 seconds."
  }
}

# --- What they manage -------------------------------------------------------

variable "environments" {
  description = "Environments the functions may act on (INFRA_ENVIRONMENTS): resources tagged <tag_key>=<one of these>."
  type        = list(string)
  default     = ["dev", "staging", "prod"]

  validation {
    condition     = length(var.environments) > 0 && alltrue([for e in var.environments : can(regex("^[a-z0-9][a-z0-9_-]{0,31}$", e))])
    error_message = "environments must list at least one name of lower-case letters, digits, '-' and '_' (at most 32 characters, not starting with '-' or '_')."
  }
}

variable "protected_environments" {
  description = "Environments where stop and teardown are refused (INFRA_PROTECTED_ENVIRONMENTS), by the functions and by an IAM Deny of every ECS/RDS/EC2 change there. [] protects none."
  type        = list(string)
  default     = ["prod"]
}

variable "tag_key" {
  description = "Tag whose value names a resource's environment (INFRA_TAG_KEY). Security groups for the allow-list also need infra-bot:whitelist=true."
  type        = string
  default     = "Environment"

  validation {
    condition     = can(regex("^[\\p{L}\\p{N} _.:/=+@-]{1,128}$", var.tag_key)) && !startswith(lower(var.tag_key), "aws:")
    error_message = "tag_key must be 1-128 letters, digits, spaces or _ . : / = + - @, not starting with aws:."
  }
}

variable "whitelist_ports" {
  description = "TCP ports the allow-list opens for each entry (INFRA_WHITELIST_PORTS)."
  type        = list(number)
  default     = [80, 443, 7233]

  validation {
    condition     = length(var.whitelist_ports) > 0 && length(var.whitelist_ports) <= 20 && alltrue([for p in var.whitelist_ports : p >= 1 && p <= 65535 && floor(p) == p])
    error_message = "whitelist_ports must list 1 to 20 ports from 1 to 65535."
  }
}

# --- Operations ---------------------------------------------------------------

variable "log_level" {
  description = "LOG_LEVEL of the functions (they always log JSON lines: LOG_FORMAT=json)."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["trace", "debug", "info", "warn", "error", "critical", "off"], var.log_level)
    error_message = "log_level must be one of trace, debug, info, warn, error, critical, off."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the functions' logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
