# infra-bot on ECS Fargate: one long-running task in private subnets that
# connects out to Slack (Socket Mode WebSocket), to Discord (Gateway
# WebSocket, issue 17) or to both, and invokes two Lambdas.
# Nothing connects in: no load balancer, no public IP, no inbound rule.
#
# Resources: log group, cluster (unless cluster_arn is given), ECR repository
# (unless image is given), task definition, service, security group,
# execution role (pulls the image, reads the chat tokens: Slack's two and/or
# Discord's, writes logs)
# and task role (invokes the Lambdas; with state_table, reads and writes the
# state table), each role with one inline policy, and (issue 18) the
# DynamoDB table replicas share their state through (state_table, unless
# create_state_table is false). tests/deploy/terraform_check.mjs asserts
# this structure.

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name        = "${var.name}-${var.environment}"
  cluster_arn = var.cluster_arn != null ? var.cluster_arn : one(aws_ecs_cluster.this[*].arn)

  # The image: the given one, or <the module's repository>:<image_tag> (a
  # digest sha256:... is joined with "@"). The execution role may pull from
  # exactly one repository: the module's; or, when image is given,
  # ecr_repository_arn, else the private ECR repository image names
  # (<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]);
  # none for any other registry (a public image).
  create_repository  = var.image == null
  repository_url     = one(aws_ecr_repository.this[*].repository_url)
  image              = local.create_repository ? "${local.repository_url}${can(regex("^sha256:", var.image_tag)) ? "@" : ":"}${var.image_tag}" : var.image
  image_ecr          = var.image == null ? null : try(regex("^([0-9]{12})\\.dkr\\.ecr(?:-fips)?\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/([a-z0-9._/-]+?)(?:[:@].*)?$", var.image), null)
  image_ecr_arn      = local.image_ecr == null ? null : "arn:${data.aws_partition.current.partition}:ecr:${local.image_ecr[1]}:${local.image_ecr[0]}:repository/${local.image_ecr[2]}"
  ecr_repository_arn = local.create_repository ? one(aws_ecr_repository.this[*].arn) : var.ecr_repository_arn != null ? var.ecr_repository_arn : local.image_ecr_arn
  pull_from_ecr      = local.create_repository || var.ecr_repository_arn != null || local.image_ecr_arn != null

  # The tokens, each in Secrets Manager or in SSM Parameter Store (ECS takes
  # either ARN in secrets[].valueFrom): Slack's two and (issue 17) Discord's,
  # those given. They reach the container as secrets in this order (Slack's
  # first, as before Discord) and the execution role reads exactly them, each
  # with its own service's action.
  token_secrets = [
    { name = "SLACK_BOT_TOKEN", valueFrom = var.slack_bot_token_secret_arn },
    { name = "SLACK_APP_TOKEN", valueFrom = var.slack_app_token_secret_arn },
    { name = "DISCORD_BOT_TOKEN", valueFrom = var.discord_bot_token_secret_arn },
  ]
  token_arns     = [for s in local.token_secrets : s.valueFrom if s.valueFrom != null]
  secret_arns    = [for arn in local.token_arns : arn if can(regex("^arn:[^:]+:secretsmanager:", arn))]
  parameter_arns = [for arn in local.token_arns : arn if can(regex("^arn:[^:]+:ssm:", arn))]
  # The services through which the KMS key may decrypt them.
  token_services = concat(
    length(local.secret_arns) > 0 ? ["secretsmanager"] : [],
    length(local.parameter_arns) > 0 ? ["ssm"] : [],
  )

  # The Lambdas the bot invokes: the whitelist one only when given.
  lambda_arns = var.ip_whitelist_lambda_arn == null ? [var.orchestrator_lambda_arn] : [var.orchestrator_lambda_arn, var.ip_whitelist_lambda_arn]

  # Shared state (issue 18). The table's schema is defined once, in
  # state_table.json, which the bot's DynamoDbState was written against: key
  # names and types, the TTL attribute, the billing mode.
  state_schema = jsondecode(file("${path.module}/state_table.json"))
  # The table: the module's (create_state_table), or an existing one by name.
  # Its ARN is the created table's, or built from the name in this account
  # and region; the task role's DynamoDB rights are on exactly it.
  state_table_name = var.state_table_name != null ? var.state_table_name : "${local.name}-state"
  state_table_arn  = var.create_state_table ? one(aws_dynamodb_table.state[*].arn) : "arn:${data.aws_partition.current.partition}:dynamodb:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:table/${local.state_table_name}"
  # Slack accepts 10 Socket Mode connections per app; a deployment runs up
  # to twice desired_count tasks (deployment_maximum_percent 200), each with
  # socket_connections of them (the bot's default: 2).
  socket_connections_in_deploy = var.desired_count * 2 * (var.socket_connections == null ? 2 : var.socket_connections)

  # Valid Fargate memory sizes (MiB) per CPU size, checked by a precondition
  # on the task definition.
  fargate_memory = {
    "256"   = [512, 1024, 2048]
    "512"   = range(1024, 4097, 1024)
    "1024"  = range(2048, 8193, 1024)
    "2048"  = range(4096, 16385, 1024)
    "4096"  = range(8192, 30721, 1024)
    "8192"  = range(16384, 61441, 4096)
    "16384" = range(32768, 122881, 8192)
  }

  # The container's environment (design §6). Null and empty values are left
  # out of the container definition: the optional inputs default to null so
  # that the bot's own defaults apply, ECS drops empty variables anyway
  # (which would show as a permanent diff), and the bot treats an unset
  # variable like an empty one. The exception is
  # INFRA_PROTECTED_ENVIRONMENTS, where unset means "prod" and protecting
  # nothing must be said: [] is sent as "none". The tokens are not here:
  # they come from Secrets Manager or SSM (secrets).
  environment = {
    INFRA_BACKEND                  = "lambda"
    ORCHESTRATOR_LAMBDA_ARN        = var.orchestrator_lambda_arn
    IP_WHITELIST_LAMBDA_ARN        = var.ip_whitelist_lambda_arn
    AWS_REGION                     = data.aws_region.current.name
    INFRA_ENVIRONMENTS             = join(",", var.environments)
    INFRA_PROTECTED_ENVIRONMENTS   = length(var.protected_environments) > 0 ? join(",", var.protected_environments) : "none"
    INFRA_ALLOWED_USERS            = join(",", var.allowed_users)
    INFRA_ALLOWED_CHANNELS         = join(",", var.allowed_channels)
    INFRA_ALLOW_EVERYONE           = var.allow_everyone ? "true" : ""
    INFRA_ALLOW_GUESTS             = var.allow_guests ? "true" : ""
    INFRA_ADMIN_USERS              = join(",", var.admin_users)
    DISCORD_GUILD_ID               = var.discord_guild_id
    INFRA_DISCORD_ALLOWED_ROLES    = join(",", var.discord_allowed_roles)
    INFRA_DISCORD_ADMIN_ROLES      = join(",", var.discord_admin_roles)
    INFRA_DISCORD_ALLOWED_CHANNELS = join(",", var.discord_allowed_channels)
    INFRA_AUDIT_CHANNEL            = var.audit_channel
    INFRA_COOLDOWN_SECONDS         = tostring(var.cooldown_seconds)
    INFRA_NOTIFY_CHANNEL           = var.notify_channel
    INFRA_READ_RATE_LIMIT          = var.read_rate_limit == null ? null : tostring(var.read_rate_limit)
    INFRA_MIN_CIDR_PREFIX_V4       = var.min_cidr_prefix_v4 == null ? null : tostring(var.min_cidr_prefix_v4)
    INFRA_MIN_CIDR_PREFIX_V6       = var.min_cidr_prefix_v6 == null ? null : tostring(var.min_cidr_prefix_v6)
    INFRA_WHITELIST_PORTS          = var.whitelist_ports == null ? null : join(",", var.whitelist_ports)
    INFRA_WHITELIST_SWEEP_SECONDS  = var.whitelist_sweep_seconds == null ? null : tostring(var.whitelist_sweep_seconds)
    INFRA_LAMBDA_TIMEOUT_SECONDS   = var.lambda_timeout_seconds == null ? null : tostring(var.lambda_timeout_seconds)
    INFRA_PROGRESS_SECONDS         = var.progress_seconds == null ? null : tostring(var.progress_seconds)
    INFRA_SOCKET_CONNECTIONS       = var.socket_connections == null ? null : tostring(var.socket_connections)
    INFRA_DRAIN_SECONDS            = var.drain_seconds == null ? null : tostring(var.drain_seconds)
    INFRA_METRICS                  = var.metrics
    INFRA_METRICS_INTERVAL_SECONDS = var.metrics_interval_seconds == null ? null : tostring(var.metrics_interval_seconds)
    INFRA_STATE_TABLE              = var.state_table ? local.state_table_name : null
    INFRA_STATE_CREATE_TABLE       = var.state_table && var.state_table_created_by_service ? "true" : null
    INFRA_HEALTH_ADDRESS           = "127.0.0.1"
    INFRA_HEALTH_PORT              = tostring(var.health_port)
    LOG_FORMAT                     = "json"
    LOG_LEVEL                      = var.log_level
  }

  # The one container. Keys are those of the ECS ContainerDefinition API.
  container = {
    name      = "infra-bot"
    image     = local.image
    essential = true
    command   = ["run"]
    user      = var.container_user

    readonlyRootFilesystem = true
    linuxParameters = {
      initProcessEnabled = true # reaps children, forwards SIGTERM
      capabilities       = { drop = ["ALL"] }
    }

    # ECS sends SIGTERM, waits stopTimeout seconds, then SIGKILL. The bot
    # drains running jobs for up to 25 s (INFRA_DRAIN_SECONDS), so 30 s lets
    # it post what could not finish and exit on its own.
    stopTimeout = 30

    environment = [for k, v in local.environment : { name = k, value = v } if v != null && v != ""]
    secrets     = [for s in local.token_secrets : s if s.valueFrom != null]

    # Healthy once a Socket Mode connection has its hello (/readyz).
    healthCheck = {
      command     = ["CMD", "infra-bot", "healthcheck"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.this.name
        "awslogs-region"        = data.aws_region.current.name
        "awslogs-stream-prefix" = "infra-bot"
      }
    }
  }
}

# --- Logs ----------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${local.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# --- Image ----------------------------------------------------------------------------

# Only when image is null: the repository the task pulls <url>:<image_tag>
# from. Named like every other resource (<name>-<environment>), so two stages
# of the bot in one account do not share (and overwrite) each other's tags.
resource "aws_ecr_repository" "this" {
  count = var.image == null ? 1 : 0

  name                 = local.name
  image_tag_mutability = "MUTABLE" # image_tag defaults to "latest"
  force_delete         = var.ecr_force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = can(regex("^[a-z0-9]+([._-][a-z0-9]+)*$", local.name))
      error_message = "ECR repository names allow no \"--\" and no trailing '-': name and environment must not end in '-' (or give image)."
    }
  }
}

# --- Shared state (issue 18) ------------------------------------------------------

# Only with state_table (and create_state_table, the default): the one table
# the replicas share delivery claims, locks, cooldowns, rate limits, job
# records and the signing key through. Keys, TTL attribute and billing mode
# come from state_table.json. The bot decides expiry itself (it compares
# expires_at with its clock); the TTL sweep only removes what is long dead.
resource "aws_dynamodb_table" "state" {
  count = var.state_table && var.create_state_table ? 1 : 0

  name         = local.state_table_name
  billing_mode = local.state_schema.billing_mode # on demand: a few requests a minute
  hash_key     = local.state_schema.hash_key.name
  range_key    = local.state_schema.range_key.name

  attribute {
    name = local.state_schema.hash_key.name
    type = local.state_schema.hash_key.type
  }

  attribute {
    name = local.state_schema.range_key.name
    type = local.state_schema.range_key.type
  }

  ttl {
    enabled        = true
    attribute_name = local.state_schema.ttl_attribute
  }

  point_in_time_recovery {
    enabled = true
  }

  # Encrypted with the AWS managed key aws/dynamodb, or with
  # state_table_kms_key_arn (DynamoDB uses it through a grant: the task role
  # needs no KMS permission).
  server_side_encryption {
    enabled     = true
    kms_key_arn = var.state_table_kms_key_arn
  }

  deletion_protection_enabled = var.state_table_deletion_protection

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.state_schema.billing_mode == "PAY_PER_REQUEST"
      error_message = "state_table.json must say billing_mode PAY_PER_REQUEST: the module sets no provisioned capacity."
    }
  }
}

# Only for more than one task: the zones of private_subnets, so that the
# service's precondition can require two of them (ECS spreads a service's
# Fargate tasks over the zones of its subnets).
data "aws_subnet" "private" {
  count = var.desired_count > 1 ? length(var.private_subnets) : 0

  id = var.private_subnets[count.index]
}

# --- Cluster, task, service ------------------------------------------------------

resource "aws_ecs_cluster" "this" {
  count = var.cluster_arn == null ? 1 : 0

  name = local.name
  tags = var.tags
}

resource "aws_ecs_task_definition" "this" {
  family                   = local.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode([local.container])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = contains(local.fargate_memory[tostring(var.cpu)], var.memory)
      error_message = "memory does not fit cpu on Fargate. cpu 256: memory 512, 1024 or 2048; 512: 1024-4096; 1024: 2048-8192; 2048: 4096-16384; 4096: 8192-30720 (these in steps of 1024); 8192: 16384-61440 (steps of 4096); 16384: 32768-122880 (steps of 8192)."
    }
    precondition {
      condition     = alltrue([for e in var.protected_environments : contains(var.environments, e)])
      error_message = "every protected_environments entry must also be listed in environments."
    }
    # Issue 17: Slack, Discord or both; each chat complete (the checks the
    # bot makes at start, `infra-bot run`, made at plan instead).
    precondition {
      condition     = var.slack_bot_token_secret_arn != null || var.discord_bot_token_secret_arn != null
      error_message = "no chat to serve: give slack_bot_token_secret_arn and slack_app_token_secret_arn (Slack), discord_bot_token_secret_arn (Discord), or all three (both)."
    }
    precondition {
      condition     = (var.slack_bot_token_secret_arn == null) == (var.slack_app_token_secret_arn == null)
      error_message = "slack_bot_token_secret_arn and slack_app_token_secret_arn go together: Slack needs both tokens (Socket Mode)."
    }
    precondition {
      condition     = var.discord_bot_token_secret_arn == null || var.discord_guild_id != null
      error_message = "discord_bot_token_secret_arn needs discord_guild_id: the ID of the one Discord server the bot serves."
    }
    precondition {
      condition     = var.discord_bot_token_secret_arn == null || var.allow_everyone || length(concat(var.discord_allowed_roles, var.discord_allowed_channels)) > 0
      error_message = "with discord_bot_token_secret_arn, say who may use /infra on Discord: discord_allowed_roles or discord_allowed_channels, or allow_everyone = true. discord_admin_roles alone would not do: with no allowed role every member of the server may run the other commands."
    }
    precondition {
      condition     = !var.state_table_created_by_service || (var.state_table && !var.create_state_table)
      error_message = "state_table_created_by_service needs state_table = true and create_state_table = false (the bot creates the table only when Terraform does not)."
    }
  }
}

resource "aws_ecs_service" "this" {
  name             = local.name
  cluster          = local.cluster_arn
  task_definition  = aws_ecs_task_definition.this.arn
  desired_count    = var.desired_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  # Start the new tasks before stopping the old ones: no gap in Slack. For
  # the length of a deployment the old and the new tasks run side by side
  # (up to twice desired_count) and Slack hands each event to either. With
  # the state table they share claims, locks and cooldowns; without it they
  # do not see each other's for that minute or two, a risk accepted for one
  # task only (README: "Two tasks").
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  enable_execute_command  = false
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"

  network_configuration {
    subnets          = var.private_subnets
    security_groups  = [aws_security_group.this.id]
    assign_public_ip = false
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.desired_count <= 1 || var.state_table
      error_message = "desired_count above 1 needs state_table = true: without the shared table each task keeps its own locks, cooldowns and duplicate detection, so two tasks would run the same command twice."
    }
    precondition {
      condition     = var.desired_count <= 1 || length(distinct(var.private_subnets)) >= 2
      error_message = "desired_count above 1 needs at least two private_subnets, in different availability zones: ECS spreads the tasks over the zones of the given subnets."
    }
    precondition {
      condition     = var.desired_count <= 1 || length(distinct(data.aws_subnet.private[*].availability_zone)) >= 2
      error_message = "desired_count above 1 needs private_subnets in at least two availability zones (all the given subnets are in one): ECS spreads the tasks over the zones of the given subnets."
    }
    precondition {
      condition     = local.socket_connections_in_deploy <= 10
      error_message = "Slack accepts 10 Socket Mode connections per app, and a deployment runs up to 2 x desired_count tasks with socket_connections (default 2) each: lower socket_connections (desired_count 3 needs 1)."
    }
  }
}

# --- Network -----------------------------------------------------------------------

resource "aws_security_group" "this" {
  name_prefix = "${local.name}-"
  description = "infra-bot ${local.name}: no inbound, outbound HTTPS only"
  vpc_id      = var.vpc_id

  # Socket Mode is an outbound WebSocket: nothing needs to reach the task.
  # ingress = [] also removes any inbound rule added by hand.
  ingress = []

  # Slack (Web API and wss), the Lambda, Secrets Manager, ECR and CloudWatch
  # Logs APIs are all HTTPS. DNS goes to the VPC resolver, which security
  # groups do not filter.
  egress {
    description      = "HTTPS to Slack and AWS APIs"
    from_port        = 443
    to_port          = 443
    protocol         = "tcp"
    cidr_blocks      = ["0.0.0.0/0"]
    ipv6_cidr_blocks = ["::/0"]
  }

  revoke_rules_on_delete = true
  tags                   = merge(var.tags, { Name = local.name })

  lifecycle {
    create_before_destroy = true
  }
}

# --- IAM -----------------------------------------------------------------------------

# Both roles are assumed by ECS tasks of this account only (confused-deputy guard).
data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    sid     = "EcsTasksAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

# Execution role: used by ECS (not by the bot) to start the task.
resource "aws_iam_role" "execution" {
  name               = "${local.name}-execution"
  description        = "ECS task execution role of infra-bot ${local.name}: pull the image, read the two Slack tokens, write logs"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "execution" {
  # Each token with its own service's action: Secrets Manager secrets... (The
  # sids and the policy's name say "Slack" from before Discord (issue 17); the
  # Discord token is read by the same statements, on exactly its ARN, and the
  # names are kept so that existing deployments see no change.)
  dynamic "statement" {
    for_each = length(local.secret_arns) > 0 ? [1] : []
    content {
      sid       = "ReadSlackTokens"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.secret_arns
    }
  }

  # ... and SSM parameters (ECS fetches them with GetParameters).
  dynamic "statement" {
    for_each = length(local.parameter_arns) > 0 ? [1] : []
    content {
      sid       = "ReadSlackTokenParameters"
      effect    = "Allow"
      actions   = ["ssm:GetParameters"]
      resources = local.parameter_arns
    }
  }

  statement {
    sid       = "WriteLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"] # the group's log streams
  }

  # Only when the tokens are encrypted with a customer-managed key, and only
  # through the service that holds them.
  dynamic "statement" {
    for_each = var.secrets_kms_key_arn == null ? [] : [1]
    content {
      sid       = "DecryptSlackTokens"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [var.secrets_kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [for service in local.token_services : "${service}.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }

  # Only when the image is in a private ECR repository: the module's own
  # (image null) or ecr_repository_arn.
  dynamic "statement" {
    for_each = local.pull_from_ecr ? [1] : []
    content {
      # The one "*" resource, and why: ecr:GetAuthorizationToken is not
      # resource-scoped (IAM accepts only "*" for it). It returns a registry
      # login token and grants no access to any image by itself; what can be
      # pulled is limited to exactly one repository by the next statement.
      sid       = "EcrLogin"
      effect    = "Allow"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.pull_from_ecr ? [1] : []
    content {
      sid       = "EcrPullImage"
      effect    = "Allow"
      actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
      resources = [local.ecr_repository_arn]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-image-read-slack-tokens-write-logs"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# Task role: the bot's own AWS identity. It may invoke the orchestrator
# Lambda and, when given, the whitelist one, and, with state_table, use the
# state table; nothing else: the Lambdas hold the permissions to stop/start
# environments.
resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  description        = "ECS task role of infra-bot ${local.name}: invoke its Lambdas (orchestrator, IP whitelist)"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "InvokeInfraLambdas"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = local.lambda_arns
  }

  # Only with state_table: the item operations of the shared state on
  # exactly its table (no Scan: the bot reads by key and Query only).
  dynamic "statement" {
    for_each = var.state_table ? [1] : []
    content {
      sid       = "ReadWriteSharedState"
      effect    = "Allow"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:DescribeTable"]
      resources = [local.state_table_arn]
    }
  }

  # Only when the bot is to create the table itself
  # (INFRA_STATE_CREATE_TABLE): create it and turn its TTL on, on exactly
  # that table.
  dynamic "statement" {
    for_each = var.state_table && var.state_table_created_by_service ? [1] : []
    content {
      sid       = "CreateSharedStateTable"
      effect    = "Allow"
      actions   = ["dynamodb:CreateTable", "dynamodb:UpdateTimeToLive", "dynamodb:DescribeTimeToLive"]
      resources = [local.state_table_arn]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "invoke-infra-lambdas"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}
