# Inputs of the slack-bot module. The environment variables they become are
# those of design §6 (see local.environment in main.tf).

# --- Identity and placement --------------------------------------------------

variable "name" {
  description = "Base name for every resource (cluster, service, roles, security group, log group, ECR repository), which are named <name>-<environment>. Lower-case letters, digits and hyphens, at most 32 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.name))
    error_message = "name must start with a lower-case letter and hold only a-z, 0-9 and '-', at most 32 characters."
  }
}

variable "environment" {
  description = "Deployment stage of the bot itself (e.g. \"prod\"), appended to name. Not to be confused with the environments the bot manages (see environments)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must start with a lower-case letter and hold only a-z, 0-9 and '-', at most 16 characters."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the task runs in."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "private_subnets" {
  description = "Private subnet IDs for the task. They need a route to the internet (NAT gateway) for Slack; AWS APIs can go through the NAT or VPC endpoints."
  type        = list(string)

  validation {
    condition     = length(var.private_subnets) > 0 && alltrue([for s in var.private_subnets : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "private_subnets must list at least one subnet ID like subnet-0123456789abcdef0."
  }
}

variable "cluster_arn" {
  description = "ARN of an existing ECS cluster to run in. null (the default) creates a cluster named after name and environment."
  type        = string
  default     = null

  validation {
    condition     = var.cluster_arn == null || can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]{1,255}$", var.cluster_arn))
    error_message = "cluster_arn must be null or an ECS cluster ARN (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME)."
  }
}

# --- Secrets and Lambdas -----------------------------------------------------

variable "slack_bot_token_secret_arn" {
  description = "Where the Slack bot token (xoxb-...) is kept: the ARN of a Secrets Manager secret (arn:aws:secretsmanager:...:secret:NAME-SUFFIX) or of an SSM parameter, preferably a SecureString (arn:aws:ssm:...:parameter/NAME). Injected as SLACK_BOT_TOKEN. null (the default) only with discord_bot_token_secret_arn, for a bot on Discord alone; the two Slack tokens are given together or not at all."
  type        = string
  default     = null

  validation {
    condition     = var.slack_bot_token_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", var.slack_bot_token_secret_arn)) || can(regex("^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+$", var.slack_bot_token_secret_arn))
    error_message = "slack_bot_token_secret_arn must be null or a full Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX) or SSM parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)."
  }
}

variable "slack_app_token_secret_arn" {
  description = "Where the Slack app-level token (xapp-..., scope connections:write) is kept: a Secrets Manager secret ARN or an SSM parameter ARN, as for slack_bot_token_secret_arn. Injected as SLACK_APP_TOKEN. null (the default) only together with slack_bot_token_secret_arn."
  type        = string
  default     = null

  validation {
    condition     = var.slack_app_token_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", var.slack_app_token_secret_arn)) || can(regex("^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+$", var.slack_app_token_secret_arn))
    error_message = "slack_app_token_secret_arn must be null or a full Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX) or SSM parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)."
  }
}

variable "discord_bot_token_secret_arn" {
  description = "Where the Discord bot token is kept: a Secrets Manager secret ARN or an SSM parameter ARN, as for slack_bot_token_secret_arn. Injected as DISCORD_BOT_TOKEN: the bot then serves Discord too (or alone, without the Slack tokens). Needs discord_guild_id, and discord_allowed_roles, discord_allowed_channels or allow_everyone. null (the default): no Discord."
  type        = string
  default     = null

  validation {
    condition     = var.discord_bot_token_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", var.discord_bot_token_secret_arn)) || can(regex("^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+$", var.discord_bot_token_secret_arn))
    error_message = "discord_bot_token_secret_arn must be null or a full Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX) or SSM parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)."
  }
}

variable "secrets_kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the tokens (secrets or SecureString parameters), if any: the execution role may then kms:Decrypt with it through Secrets Manager or SSM only. null (the default) for the AWS managed keys aws/secretsmanager and aws/ssm, which need no extra permission."
  type        = string
  default     = null

  validation {
    condition     = var.secrets_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.secrets_kms_key_arn))
    error_message = "secrets_kms_key_arn must be null or a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "orchestrator_lambda_arn" {
  description = "ARN of the orchestrator Lambda (status/stop/start/teardown/spinup). The task role may invoke exactly this function and, when given, the whitelist one."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$", var.orchestrator_lambda_arn))
    error_message = "orchestrator_lambda_arn must be a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:ALIAS])."
  }
}

variable "ip_whitelist_lambda_arn" {
  description = "ARN of the IP whitelist Lambda (add/remove/list/refresh). null (the default) deploys the bot without it: no IP_WHITELIST_LAMBDA_ARN, no permission to invoke it, and the bot refuses whitelist commands."
  type        = string
  default     = null

  validation {
    condition     = var.ip_whitelist_lambda_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$", var.ip_whitelist_lambda_arn))
    error_message = "ip_whitelist_lambda_arn must be null or a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:ALIAS])."
  }
}

# --- Container ----------------------------------------------------------------

variable "image" {
  description = "Container image of infra-bot (built from docker/Dockerfile), e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot:1.0.0; prefer an immutable tag or a digest. null (the default) creates an ECR repository named <name>-<environment> and runs <its URL>:<image_tag>: push the image there (see the repository_url output)."
  type        = string
  default     = null

  validation {
    condition     = var.image == null ? true : length(trimspace(var.image)) > 0 && !can(regex("\\s", var.image))
    error_message = "image must be null or a non-empty image reference without spaces."
  }
}

variable "image_tag" {
  description = "Tag (or digest, sha256:...) of the image run from the repository the module creates when image is null. Ignored when image is given. With a mutable tag such as latest, a push does not restart the task: force a new deployment (aws ecs update-service --force-new-deployment) or use a new tag."
  type        = string
  default     = "latest"

  validation {
    condition     = can(regex("^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[a-f0-9]{64})$", var.image_tag))
    error_message = "image_tag must be an image tag (letters, digits, '_', '.', '-', up to 128 characters, not starting with '.' or '-') or a digest sha256:<64 hex digits>."
  }
}

variable "ecr_repository_arn" {
  description = "ARN of the private ECR repository holding image, when image is given: the execution role then gets pull access to exactly that repository. null (the default) derives it from image when image is a private ECR reference (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG), and grants no ECR access for any other registry (a public image). Not used when image is null (the module's own repository is used)."
  type        = string
  default     = null

  validation {
    condition     = var.ecr_repository_arn == null || can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/[a-z0-9._/-]+$", var.ecr_repository_arn))
    error_message = "ecr_repository_arn must be null or an ECR repository ARN (arn:aws:ecr:REGION:ACCOUNT:repository/NAME)."
  }
}

variable "ecr_force_delete" {
  description = "When the module creates the ECR repository (image null): let terraform destroy delete it even when it still holds images. false (the default) keeps a repository with images from being destroyed by accident."
  type        = bool
  default     = false
}

variable "cpu_architecture" {
  description = "CPU architecture of the image: X86_64 or ARM64 (Graviton)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "cpu" {
  description = "Fargate task CPU units (256 = 0.25 vCPU). The bot is mostly idle: 256 is plenty."
  type        = number
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be one of Fargate's sizes: 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "memory" {
  description = "Fargate task memory in MiB; must be a valid combination with cpu (256 CPU: 512, 1024 or 2048)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory >= 512 && floor(var.memory) == var.memory
    error_message = "memory must be a whole number of MiB, at least 512."
  }
}

variable "desired_count" {
  description = "Number of tasks: 1 to run, 0 to park the bot, 2 or 3 with state_table (replicas sharing their locks, cooldowns and duplicate detection through the DynamoDB table; at least two private_subnets in different zones, over which ECS spreads them). Without state_table at most 1: those live in the process. Deployments start the new tasks before stopping the old ones."
  type        = number
  default     = 1

  validation {
    condition     = var.desired_count >= 0 && var.desired_count <= 3 && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be 0, 1, 2 or 3 (more than 1 only with state_table = true, which a precondition of the service checks)."
  }
}

variable "container_user" {
  description = "UID[:GID] the container runs as. Must not be root; any unprivileged ID works because the root filesystem is read-only and the bot writes no files."
  type        = string
  default     = "10001:10001"

  validation {
    condition     = can(regex("^[0-9]+(:[0-9]+)?$", var.container_user)) && !can(regex("^0+(:|$)", var.container_user))
    error_message = "container_user must be a numeric non-root UID or UID:GID (not 0)."
  }
}

# --- Shared state (issue 18) -----------------------------------------------------

variable "state_table" {
  description = "Keep the bot's state (delivery claims, locks, cooldowns, rate limits, job records, signing key) in one DynamoDB table shared by every task, instead of in the process: needed for desired_count above 1. Sets INFRA_STATE_TABLE and gives the task role the table's item actions on exactly it. false (the default): one task, state in memory, as before."
  type        = bool
  default     = false
}

variable "state_table_name" {
  description = "Name of the state table (INFRA_STATE_TABLE). null (the default): <name>-<environment>-state. With create_state_table = false, the name of the existing table to use (in this account and region)."
  type        = string
  default     = null

  validation {
    condition     = var.state_table_name == null || can(regex("^[A-Za-z0-9_.-]{3,255}$", var.state_table_name))
    error_message = "state_table_name must be null or a DynamoDB table name: 3 to 255 of A-Z, a-z, 0-9, '_', '-' and '.'."
  }
}

variable "create_state_table" {
  description = "With state_table: create the table (on demand, TTL on its expiry attribute, point-in-time recovery, encrypted; schema from state_table.json). false: use an existing table named state_table_name, created elsewhere with the same schema, or by the bot itself (state_table_created_by_service)."
  type        = bool
  default     = true
}

variable "state_table_created_by_service" {
  description = "With state_table and create_state_table = false: let the bot create the table when it is missing (INFRA_STATE_CREATE_TABLE=true), which adds dynamodb:CreateTable, UpdateTimeToLive and DescribeTimeToLive on exactly that table to the task role. false (the default): the table must exist."
  type        = bool
  default     = false
}

variable "state_table_kms_key_arn" {
  description = "Customer-managed KMS key the module's state table is encrypted with. null (the default): the AWS managed key aws/dynamodb. DynamoDB uses the key through a grant, so the task role needs no KMS permission; the key policy must let DynamoDB use it."
  type        = string
  default     = null

  validation {
    condition     = var.state_table_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.state_table_kms_key_arn))
    error_message = "state_table_kms_key_arn must be null or a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "state_table_deletion_protection" {
  description = "Deletion protection of the module's state table: true (the default) makes terraform destroy (and anyone else) fail to delete it until it is turned off."
  type        = bool
  default     = true
}

# --- Bot configuration (design §6) ---------------------------------------------

variable "environments" {
  description = "Environments the bot knows (INFRA_ENVIRONMENTS)."
  type        = list(string)
  default     = ["dev", "staging", "prod"]

  validation {
    condition     = length(var.environments) > 0 && length(distinct(var.environments)) == length(var.environments) && alltrue([for e in var.environments : can(regex("^[a-z0-9][a-z0-9_-]{0,31}$", e))])
    error_message = "environments must list at least one distinct name of a-z, 0-9, '-' and '_' (up to 32 characters, not starting with '-' or '_')."
  }
}

variable "protected_environments" {
  description = "Environments where stop, teardown and reboot are refused and start, spinup and allow-list changes need an admin (INFRA_PROTECTED_ENVIRONMENTS). Each must be in environments. [] protects none (sent as \"none\")."
  type        = list(string)
  default     = ["prod"]

  validation {
    condition     = alltrue([for e in var.protected_environments : can(regex("^[a-z0-9][a-z0-9_-]{0,31}$", e))])
    error_message = "protected_environments must hold environment names (a-z, 0-9, '-' and '_')."
  }
}

variable "audit_channel" {
  description = "Slack channel ID (C... or G...) that gets one line per mutating action (INFRA_AUDIT_CHANNEL). Empty for none; invite the bot to the channel."
  type        = string
  default     = ""

  validation {
    condition     = var.audit_channel == "" || can(regex("^[CG][A-Z0-9]{2,23}$", var.audit_channel))
    error_message = "audit_channel must be empty or a channel ID like C012ABCDEF."
  }
}

variable "allowed_users" {
  description = "Slack user IDs allowed to run any command (INFRA_ALLOWED_USERS). With allowed_users and allowed_channels both [], the bot starts only when allow_everyone is true."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.allowed_users : can(regex("^[UW][A-Z0-9]{2,23}$", u))])
    error_message = "allowed_users must hold Slack user IDs like U012ABCDEF."
  }
}

variable "allowed_channels" {
  description = "Slack channel IDs where commands are accepted (INFRA_ALLOWED_CHANNELS). [] allows every channel (see allow_everyone)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.allowed_channels : can(regex("^[CGD][A-Z0-9]{2,23}$", c))])
    error_message = "allowed_channels must hold Slack channel IDs like C012ABCDEF."
  }
}

variable "allow_everyone" {
  description = "Let every member of the workspace use /infra when allowed_users and allowed_channels are both [] (INFRA_ALLOW_EVERYONE). Without one of the three the bot refuses to start. On Discord likewise: every member of the server, when discord_allowed_roles and discord_allowed_channels are both []."
  type        = bool
  default     = false
}

variable "allow_guests" {
  description = "Let guests and external (Slack Connect) users use /infra (INFRA_ALLOW_GUESTS); by default they are ignored."
  type        = bool
  default     = false
}

variable "admin_users" {
  description = "Slack user IDs allowed to run teardown, spinup and broad CIDR whitelisting (INFRA_ADMIN_USERS). [] places no extra restriction."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.admin_users : can(regex("^[UW][A-Z0-9]{2,23}$", u))])
    error_message = "admin_users must hold Slack user IDs like U012ABCDEF."
  }
}

variable "discord_guild_id" {
  description = "ID (snowflake, 17 to 20 digits) of the one Discord server (guild) the bot serves (DISCORD_GUILD_ID); other servers and direct messages are refused. Required with discord_bot_token_secret_arn. null (the default): no Discord."
  type        = string
  default     = null

  validation {
    condition     = var.discord_guild_id == null || can(regex("^[0-9]{17,20}$", var.discord_guild_id))
    error_message = "discord_guild_id must be null or a Discord server ID: 17 to 20 digits, such as 1234567890123456789."
  }
}

variable "discord_allowed_roles" {
  description = "Discord role IDs whose members may use /infra (INFRA_DISCORD_ALLOWED_ROLES), like allowed_users on Slack. With discord_allowed_roles and discord_allowed_channels both [], the module requires allow_everyone (discord_admin_roles alone does not close /infra: with no allowed role every member may run the other commands)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.discord_allowed_roles : can(regex("^[0-9]{17,20}$", r))])
    error_message = "discord_allowed_roles must hold Discord role IDs: 17 to 20 digits each."
  }
}

variable "discord_admin_roles" {
  description = "Discord role IDs whose members may run teardown, spinup and broad CIDR whitelisting (INFRA_DISCORD_ADMIN_ROLES), like admin_users on Slack; an admin role is also an allowed role. [] places no extra restriction."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.discord_admin_roles : can(regex("^[0-9]{17,20}$", r))])
    error_message = "discord_admin_roles must hold Discord role IDs: 17 to 20 digits each."
  }
}

variable "discord_allowed_channels" {
  description = "Discord channel IDs where /infra is accepted (INFRA_DISCORD_ALLOWED_CHANNELS), like allowed_channels on Slack. [] allows every channel of the server."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.discord_allowed_channels : can(regex("^[0-9]{17,20}$", c))])
    error_message = "discord_allowed_channels must hold Discord channel IDs: 17 to 20 digits each."
  }
}

variable "cooldown_seconds" {
  description = "Seconds a user waits between two mutating commands (INFRA_COOLDOWN_SECONDS)."
  type        = number
  default     = 30

  validation {
    condition     = var.cooldown_seconds >= 0 && var.cooldown_seconds <= 86400 && floor(var.cooldown_seconds) == var.cooldown_seconds
    error_message = "cooldown_seconds must be a whole number from 0 to 86400."
  }
}

variable "notify_channel" {
  description = "Slack channel ID (C... or G...) that gets the allow-list expiry notices (INFRA_NOTIFY_CHANNEL). null (the default): the bot's default, the audit channel."
  type        = string
  default     = null

  validation {
    condition     = var.notify_channel == null || can(regex("^[CG][A-Z0-9]{2,23}$", var.notify_channel))
    error_message = "notify_channel must be null or a channel ID like C012ABCDEF."
  }
}

variable "read_rate_limit" {
  description = "status and whitelist list commands per user and minute, 0 for no limit (INFRA_READ_RATE_LIMIT). null (the default): the bot's default, 10."
  type        = number
  default     = null

  validation {
    condition     = var.read_rate_limit == null ? true : var.read_rate_limit >= 0 && var.read_rate_limit <= 10000 && floor(var.read_rate_limit) == var.read_rate_limit
    error_message = "read_rate_limit must be null or a whole number from 0 to 10000."
  }
}

variable "min_cidr_prefix_v4" {
  description = "Broadest IPv4 CIDR prefix the allow-list accepts at all, e.g. 16 for /16 (INFRA_MIN_CIDR_PREFIX_V4). null (the default): the bot's default, 16."
  type        = number
  default     = null

  validation {
    condition     = var.min_cidr_prefix_v4 == null ? true : var.min_cidr_prefix_v4 >= 1 && var.min_cidr_prefix_v4 <= 32 && floor(var.min_cidr_prefix_v4) == var.min_cidr_prefix_v4
    error_message = "min_cidr_prefix_v4 must be null or a whole number from 1 to 32."
  }
}

variable "min_cidr_prefix_v6" {
  description = "Broadest IPv6 CIDR prefix the allow-list accepts at all (INFRA_MIN_CIDR_PREFIX_V6). null (the default): the bot's default, 48."
  type        = number
  default     = null

  validation {
    condition     = var.min_cidr_prefix_v6 == null ? true : var.min_cidr_prefix_v6 >= 1 && var.min_cidr_prefix_v6 <= 128 && floor(var.min_cidr_prefix_v6) == var.min_cidr_prefix_v6
    error_message = "min_cidr_prefix_v6 must be null or a whole number from 1 to 128."
  }
}

variable "whitelist_ports" {
  description = "TCP ports each allow-list entry opens, as the bot shows them (INFRA_WHITELIST_PORTS); use the whitelist Lambda's list. null (the default): the bot's default, 80, 443 and 7233."
  type        = list(number)
  default     = null

  validation {
    condition     = var.whitelist_ports == null ? true : length(var.whitelist_ports) >= 1 && length(var.whitelist_ports) <= 20 && alltrue([for p in var.whitelist_ports : p >= 1 && p <= 65535 && floor(p) == p])
    error_message = "whitelist_ports must be null or 1 to 20 ports from 1 to 65535."
  }
}

variable "whitelist_sweep_seconds" {
  description = "How often expired allow-list entries are removed and announced, 0 for never (INFRA_WHITELIST_SWEEP_SECONDS). null (the default): the bot's default, 60."
  type        = number
  default     = null

  validation {
    condition     = var.whitelist_sweep_seconds == null ? true : var.whitelist_sweep_seconds >= 0 && var.whitelist_sweep_seconds <= 86400 && floor(var.whitelist_sweep_seconds) == var.whitelist_sweep_seconds
    error_message = "whitelist_sweep_seconds must be null or a whole number from 0 to 86400."
  }
}

variable "lambda_timeout_seconds" {
  description = "How long the bot waits for one Lambda invocation (INFRA_LAMBDA_TIMEOUT_SECONDS); match the orchestrator's timeout. null (the default): the bot's default, 900 (Lambda's maximum)."
  type        = number
  default     = null

  validation {
    condition     = var.lambda_timeout_seconds == null ? true : var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds <= 900 && floor(var.lambda_timeout_seconds) == var.lambda_timeout_seconds
    error_message = "lambda_timeout_seconds must be null or a whole number from 1 to 900."
  }
}

variable "progress_seconds" {
  description = "Seconds before the bot posts its first \"still working\" for a long command (INFRA_PROGRESS_SECONDS). null (the default): the bot's default, 20."
  type        = number
  default     = null

  validation {
    condition     = var.progress_seconds == null ? true : var.progress_seconds >= 1 && var.progress_seconds <= 3600 && floor(var.progress_seconds) == var.progress_seconds
    error_message = "progress_seconds must be null or a whole number from 1 to 3600."
  }
}

variable "socket_connections" {
  description = "Parallel Socket Mode connections (INFRA_SOCKET_CONNECTIONS), 1 to 4: Slack allows 10 per app and a deployment runs the old and the new task side by side. null (the default): the bot's default, 2."
  type        = number
  default     = null

  validation {
    condition     = var.socket_connections == null ? true : var.socket_connections >= 1 && var.socket_connections <= 4 && floor(var.socket_connections) == var.socket_connections
    error_message = "socket_connections must be null or a whole number from 1 to 4."
  }
}

variable "drain_seconds" {
  description = "Seconds the bot lets running jobs finish after SIGTERM (INFRA_DRAIN_SECONDS). At most 25: ECS kills the container 30 s (stopTimeout) after SIGTERM. null (the default): the bot's default, 25."
  type        = number
  default     = null

  validation {
    condition     = var.drain_seconds == null ? true : var.drain_seconds >= 0 && var.drain_seconds <= 25 && floor(var.drain_seconds) == var.drain_seconds
    error_message = "drain_seconds must be null or a whole number from 0 to 25 (under the container's 30 s stopTimeout)."
  }
}

variable "metrics" {
  description = "How the bot publishes its metrics (INFRA_METRICS): emf (CloudWatch embedded metric format lines in the log group, turned into CloudWatch metrics with no extra permission), prometheus (/metrics on health_port inside the task, for a sidecar scraper) or off. null leaves it to the bot's default."
  type        = string
  default     = "emf"

  validation {
    condition     = var.metrics == null ? true : contains(["emf", "prometheus", "off"], var.metrics)
    error_message = "metrics must be emf, prometheus, off or null."
  }
}

variable "metrics_interval_seconds" {
  description = "Seconds between two metric publications (INFRA_METRICS_INTERVAL_SECONDS). null leaves it to the bot's default."
  type        = number
  default     = 60

  validation {
    condition     = var.metrics_interval_seconds == null ? true : var.metrics_interval_seconds >= 10 && var.metrics_interval_seconds <= 3600 && floor(var.metrics_interval_seconds) == var.metrics_interval_seconds
    error_message = "metrics_interval_seconds must be null or a whole number from 10 to 3600 (the bot refuses shorter intervals)."
  }
}

variable "log_level" {
  description = "Log level (LOG_LEVEL): trace, debug, info, warn, error, critical or off. Logs are JSON lines in CloudWatch."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["trace", "debug", "info", "warn", "warning", "error", "critical", "off"], var.log_level)
    error_message = "log_level must be one of trace, debug, info, warn, error, critical, off."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the bot's logs (audit lines included)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "health_port" {
  description = "Port of /healthz, /readyz and /metrics inside the task (INFRA_HEALTH_PORT). Bound to 127.0.0.1: the container health check and sidecars in the task reach it; nothing outside does."
  type        = number
  default     = 8080

  validation {
    condition     = var.health_port >= 1024 && var.health_port <= 65535 && floor(var.health_port) == var.health_port
    error_message = "health_port must be a whole number from 1024 to 65535 (the container does not run as root)."
  }
}

variable "tags" {
  description = "Tags added to every resource the module creates."
  type        = map(string)
  default     = {}
}
