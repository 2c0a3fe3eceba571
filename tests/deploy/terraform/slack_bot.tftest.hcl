# terraform test of deploy/terraform/modules/slack-bot, run offline by
# tests/deploy/terraform_validate.sh in a copy of the module with this file in
# tests/.
#
# The runs plan with a mocked hashicorp/aws (mock_provider, no credentials,
# no API call). Mocked computed attributes are fake strings, so the ones the
# module feeds into ARN-checked arguments or into its policies are overridden
# during the plan (override_during = plan): the ECR repository's ARN and URL,
# the log group's ARN, the roles' ARNs. The policy documents are asserted on
# their statements as the module writes them (data.aws_iam_policy_document.*
# .statement); the run "real_provider_renders_the_task_policy" has the real
# provider (it renders aws_iam_policy_document locally, no API call) write
# the task role's JSON.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

# The real provider, for the one run that renders the JSON. It calls nothing:
# aws_iam_policy_document and aws_region are computed locally, the caller
# identity (STS) is overridden below.
provider "aws" {
  alias                       = "real"
  region                      = "eu-west-1"
  access_key                  = "mock-access-key"
  secret_key                  = "mock-secret-key"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_resource {
  target          = aws_ecr_repository.this
  override_during = plan
  values = {
    arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/infra-bot-prod"
    repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot-prod"
  }
}

override_resource {
  target          = aws_cloudwatch_log_group.this
  override_during = plan
  values = {
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/infra-bot-prod"
  }
}

override_resource {
  target          = aws_iam_role.execution
  override_during = plan
  values = {
    arn = "arn:aws:iam::123456789012:role/infra-bot-prod-execution"
  }
}

override_resource {
  target          = aws_iam_role.task
  override_during = plan
  values = {
    arn = "arn:aws:iam::123456789012:role/infra-bot-prod-task"
  }
}

override_resource {
  target          = aws_dynamodb_table.state
  override_during = plan
  values = {
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/infra-bot-prod-state"
  }
}

# Two zones for the two subnets of the multi-task runs (the mocked provider
# would make up a zone per subnet).
override_data {
  target          = data.aws_subnet.private[0]
  override_during = plan
  values = {
    availability_zone = "eu-west-1a"
  }
}

override_data {
  target          = data.aws_subnet.private[1]
  override_during = plan
  values = {
    availability_zone = "eu-west-1b"
  }
}

override_data {
  target          = data.aws_caller_identity.current
  override_during = plan
  values = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
    user_id    = "AIDAEXAMPLEEXAMPLE"
  }
}

# The required inputs only: no image, no whitelist Lambda (the seed's call).
variables {
  name                       = "infra-bot"
  environment                = "prod"
  vpc_id                     = "vpc-0123456789abcdef0"
  private_subnets            = ["subnet-0123456789abcdef0"]
  slack_bot_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/slack-bot-token-AbCdEf"
  slack_app_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/slack-app-token-GhIjKl"
  orchestrator_lambda_arn    = "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator"
  allowed_channels           = ["C0123456789"]
}

run "without_image_the_module_creates_and_pulls_its_repository" {
  command = plan

  assert {
    condition     = length(aws_ecr_repository.this) == 1 && aws_ecr_repository.this[0].name == "infra-bot-prod"
    error_message = "without image, the module must plan one ECR repository named <name>-<environment>"
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot-prod:latest"
    error_message = "the container must run <repository_url>:latest, runs ${jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image}"
  }
  assert {
    condition = jsonencode([
      for s in data.aws_iam_policy_document.execution.statement : sort(s.resources)
      if length(setintersection(s.actions, ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"])) > 0
    ]) == jsonencode([["arn:aws:ecr:eu-west-1:123456789012:repository/infra-bot-prod"]])
    error_message = "the image pull actions must be in one statement, on exactly the module's repository"
  }
  assert {
    condition = jsonencode([
      for s in data.aws_iam_policy_document.execution.statement : sort(s.actions)
      if contains(s.resources, "arn:aws:ecr:eu-west-1:123456789012:repository/infra-bot-prod")
    ]) == jsonencode([["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]])
    error_message = "the repository statement must allow exactly BatchGetImage, GetDownloadUrlForLayer and BatchCheckLayerAvailability"
  }
  assert {
    condition = alltrue(flatten([
      for d in [data.aws_iam_policy_document.execution, data.aws_iam_policy_document.task] : [
        for s in d.statement : !contains(s.resources, "*") || toset(s.actions) == toset(["ecr:GetAuthorizationToken"])
      ]
    ]))
    error_message = "no statement may have the resource \"*\" except the one of ecr:GetAuthorizationToken alone"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.execution.statement : s if contains(s.actions, "ecr:GetAuthorizationToken")]) == 1
    error_message = "the execution role needs ecr:GetAuthorizationToken to log in to ECR"
  }
  assert {
    condition     = output.repository_url == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot-prod" && output.image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot-prod:latest"
    error_message = "repository_url and image outputs must say where to push and what runs"
  }
}

run "without_the_whitelist_lambda_nothing_names_it" {
  command = plan

  assert {
    condition     = flatten([for s in data.aws_iam_policy_document.task.statement : s.resources]) == ["arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator"]
    error_message = "without ip_whitelist_lambda_arn, the task role may invoke the orchestrator only"
  }
  assert {
    condition     = !contains([for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name], "IP_WHITELIST_LAMBDA_ARN")
    error_message = "without ip_whitelist_lambda_arn, IP_WHITELIST_LAMBDA_ARN must not be set"
  }
}

run "with_the_whitelist_lambda_both_are_invoked" {
  command = plan

  variables {
    ip_whitelist_lambda_arn = "arn:aws:lambda:eu-west-1:123456789012:function:infra-ip-whitelist"
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.task.statement : s.resources])) == toset([
      "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator",
      "arn:aws:lambda:eu-west-1:123456789012:function:infra-ip-whitelist",
    ])
    error_message = "with ip_whitelist_lambda_arn, the task role invokes exactly the two functions"
  }
  assert {
    condition     = { for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value }["IP_WHITELIST_LAMBDA_ARN"] == "arn:aws:lambda:eu-west-1:123456789012:function:infra-ip-whitelist"
    error_message = "IP_WHITELIST_LAMBDA_ARN must be the given ARN"
  }
}

run "the_container_environment_has_the_defaults" {
  command = plan

  assert {
    condition = { for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value } == {
      INFRA_BACKEND                  = "lambda"
      ORCHESTRATOR_LAMBDA_ARN        = "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator"
      AWS_REGION                     = "eu-west-1"
      INFRA_ENVIRONMENTS             = "dev,staging,prod"
      INFRA_PROTECTED_ENVIRONMENTS   = "prod"
      INFRA_ALLOWED_CHANNELS         = "C0123456789"
      INFRA_COOLDOWN_SECONDS         = "30"
      INFRA_METRICS                  = "emf"
      INFRA_METRICS_INTERVAL_SECONDS = "60"
      INFRA_HEALTH_ADDRESS           = "127.0.0.1"
      INFRA_HEALTH_PORT              = "8080"
      LOG_FORMAT                     = "json"
      LOG_LEVEL                      = "info"
    }
    error_message = "unexpected container environment (null inputs must leave their variable unset): ${jsonencode(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment)}"
  }
  assert {
    condition = [for s in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets : "${s.name}=${s.valueFrom}"] == [
      "SLACK_BOT_TOKEN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/slack-bot-token-AbCdEf",
      "SLACK_APP_TOKEN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/slack-app-token-GhIjKl",
    ]
    error_message = "the tokens must come in as secrets from the two ARNs"
  }
}

run "every_setting_reaches_the_container" {
  command = plan

  variables {
    notify_channel           = "C0000000002"
    read_rate_limit          = 0
    min_cidr_prefix_v4       = 24
    min_cidr_prefix_v6       = 56
    whitelist_ports          = [443, 8443]
    whitelist_sweep_seconds  = 300
    lambda_timeout_seconds   = 600
    progress_seconds         = 15
    socket_connections       = 3
    drain_seconds            = 20
    metrics                  = "prometheus"
    metrics_interval_seconds = 30
    allow_guests             = true
  }

  assert {
    condition = {
      for k, v in { for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value } : k => v
      if contains(["INFRA_NOTIFY_CHANNEL", "INFRA_READ_RATE_LIMIT", "INFRA_MIN_CIDR_PREFIX_V4", "INFRA_MIN_CIDR_PREFIX_V6", "INFRA_WHITELIST_PORTS", "INFRA_WHITELIST_SWEEP_SECONDS", "INFRA_LAMBDA_TIMEOUT_SECONDS", "INFRA_PROGRESS_SECONDS", "INFRA_SOCKET_CONNECTIONS", "INFRA_DRAIN_SECONDS", "INFRA_METRICS", "INFRA_METRICS_INTERVAL_SECONDS", "INFRA_ALLOW_GUESTS"], k)
      } == {
      INFRA_NOTIFY_CHANNEL           = "C0000000002"
      INFRA_READ_RATE_LIMIT          = "0"
      INFRA_MIN_CIDR_PREFIX_V4       = "24"
      INFRA_MIN_CIDR_PREFIX_V6       = "56"
      INFRA_WHITELIST_PORTS          = "443,8443"
      INFRA_WHITELIST_SWEEP_SECONDS  = "300"
      INFRA_LAMBDA_TIMEOUT_SECONDS   = "600"
      INFRA_PROGRESS_SECONDS         = "15"
      INFRA_SOCKET_CONNECTIONS       = "3"
      INFRA_DRAIN_SECONDS            = "20"
      INFRA_METRICS                  = "prometheus"
      INFRA_METRICS_INTERVAL_SECONDS = "30"
      INFRA_ALLOW_GUESTS             = "true"
    }
    error_message = "each setting must reach the container as its variable: ${jsonencode(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment)}"
  }
}

run "ssm_parameter_tokens_are_read_with_ssm_get_parameters" {
  command = plan

  variables {
    slack_bot_token_secret_arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/infra-bot/prod/slack-bot-token"
    slack_app_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/slack-app-token-GhIjKl"
    secrets_kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/0123abcd-4567-89ef-0123-456789abcdef"
  }

  assert {
    condition = jsonencode([for s in data.aws_iam_policy_document.execution.statement : sort(s.resources) if contains(s.actions, "ssm:GetParameters")]) == jsonencode([
      ["arn:aws:ssm:eu-west-1:123456789012:parameter/infra-bot/prod/slack-bot-token"]
    ])
    error_message = "the SSM parameter must be read with ssm:GetParameters, on exactly its ARN"
  }
  assert {
    condition = jsonencode([for s in data.aws_iam_policy_document.execution.statement : sort(s.resources) if contains(s.actions, "secretsmanager:GetSecretValue")]) == jsonencode([
      ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/slack-app-token-GhIjKl"]
    ])
    error_message = "the secret must be read with secretsmanager:GetSecretValue, on exactly its ARN"
  }
  assert {
    condition = jsonencode([for s in data.aws_iam_policy_document.execution.statement : sort(flatten([for c in s.condition : c.values])) if contains(s.actions, "kms:Decrypt")]) == jsonencode([
      ["secretsmanager.eu-west-1.amazonaws.com", "ssm.eu-west-1.amazonaws.com"]
    ])
    error_message = "kms:Decrypt must be allowed through Secrets Manager and SSM only"
  }
}

run "given_image_is_run_as_today" {
  command = plan

  variables {
    image              = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot:1.0.0"
    ecr_repository_arn = "arn:aws:ecr:eu-west-1:123456789012:repository/infra-bot"
  }

  assert {
    condition     = length(aws_ecr_repository.this) == 0
    error_message = "with image, the module creates no repository"
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot:1.0.0"
    error_message = "with image, the container runs it"
  }
  assert {
    condition = jsonencode([
      for s in data.aws_iam_policy_document.execution.statement : sort(s.resources) if contains(s.actions, "ecr:BatchGetImage")
    ]) == jsonencode([["arn:aws:ecr:eu-west-1:123456789012:repository/infra-bot"]])
    error_message = "with image and ecr_repository_arn, pull from exactly that repository"
  }
}

# The top-level README's call: an ECR image without ecr_repository_arn. The
# repository is read off the image reference.
run "private_ecr_image_pulls_from_its_repository" {
  command = plan

  variables {
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/infra-bot:1.0.0"
  }

  assert {
    condition = jsonencode([
      for s in data.aws_iam_policy_document.execution.statement : sort(s.resources) if contains(s.actions, "ecr:BatchGetImage")
    ]) == jsonencode([["arn:aws:ecr:eu-west-1:123456789012:repository/team/infra-bot"]])
    error_message = "an ECR image without ecr_repository_arn must pull from exactly its own repository"
  }
}

run "private_ecr_image_by_digest_pulls_from_its_repository" {
  command = plan

  variables {
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }

  assert {
    condition = jsonencode([
      for s in data.aws_iam_policy_document.execution.statement : sort(s.resources) if contains(s.actions, "ecr:BatchGetImage")
    ]) == jsonencode([["arn:aws:ecr:eu-west-1:123456789012:repository/infra-bot"]])
    error_message = "an ECR image by digest must pull from exactly its own repository"
  }
}

run "public_image_needs_no_ecr_rights" {
  command = plan

  variables {
    image = "public.ecr.aws/example/infra-bot:1.0.0"
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.execution.statement : s if anytrue([for a in s.actions : startswith(a, "ecr:")])]) == 0
    error_message = "with an image and no ecr_repository_arn, the execution role gets no ECR permission"
  }
}

run "a_digest_tag_is_joined_with_at" {
  command = plan

  variables {
    image_tag = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/infra-bot-prod@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    error_message = "a digest must be joined as <url>@sha256:..."
  }
}

run "longest_names_fit_iam" {
  command = plan

  variables {
    name        = "abcdefghijklmnopqrstuvwxyz012345"
    environment = "abcdefghijklmnop"
  }

  assert {
    condition     = length(aws_iam_role.execution.name) <= 64 && length(aws_iam_role.task.name) <= 64
    error_message = "role names must fit IAM's 64 characters with the longest name and environment"
  }
}

# "bot-" passes the name validation, but "bot--prod" is no ECR repository
# name: refused at plan, before AWS would.
run "name_ecr_refuses_is_refused_before_apply" {
  command = plan

  variables {
    name = "bot-"
  }

  expect_failures = [aws_ecr_repository.this]
}

run "token_arn_of_another_service_is_refused" {
  command = plan

  variables {
    slack_bot_token_secret_arn = "arn:aws:s3:::bucket/token"
  }

  expect_failures = [var.slack_bot_token_secret_arn]
}

run "bad_whitelist_lambda_arn_is_refused" {
  command = plan

  variables {
    ip_whitelist_lambda_arn = "infra-ip-whitelist"
  }

  expect_failures = [var.ip_whitelist_lambda_arn]
}

run "bad_metrics_is_refused" {
  command = plan

  variables {
    metrics = "statsd"
  }

  expect_failures = [var.metrics]
}

run "drain_over_25_is_refused" {
  command = plan

  variables {
    drain_seconds = 30
  }

  expect_failures = [var.drain_seconds]
}

# The real provider writes the task role's policy (its inputs are all known
# at plan; the execution role's depends on the log group's ARN, which only
# an apply would know, and overrides do not reach a real provider's plan):
# exactly the orchestrator, no "*".
run "real_provider_renders_the_task_policy" {
  command = plan

  providers = {
    aws = aws.real
  }

  assert {
    condition     = !strcontains(data.aws_iam_policy_document.task.json, "*")
    error_message = "the task role's policy has a \"*\": ${data.aws_iam_policy_document.task.json}"
  }
  assert {
    condition = jsonencode([
      for s in jsondecode(data.aws_iam_policy_document.task.json).Statement : [s.Effect, s.Action, s.Resource]
    ]) == jsonencode([["Allow", "lambda:InvokeFunction", "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator"]])
    error_message = "the task role may invoke exactly the orchestrator: ${data.aws_iam_policy_document.task.json}"
  }
}

# --- Shared state and more than one task (issue 18) ---------------------------

run "without_state_table_nothing_of_it_is_planned" {
  command = plan

  assert {
    condition     = length(aws_dynamodb_table.state) == 0 && length(data.aws_subnet.private) == 0
    error_message = "without state_table, the module plans no table (and reads no subnet)"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.task.statement : s if anytrue([for a in s.actions : startswith(a, "dynamodb:")])]) == 0
    error_message = "without state_table, the task role gets no DynamoDB permission"
  }
  assert {
    condition     = length([for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e if startswith(e.name, "INFRA_STATE_")]) == 0
    error_message = "without state_table, neither INFRA_STATE_TABLE nor INFRA_STATE_CREATE_TABLE is set"
  }
  assert {
    condition     = output.state_table_name == null && output.state_table_arn == null
    error_message = "without state_table, the state table outputs are null"
  }
}

run "state_table_is_made_from_the_schema" {
  command = plan

  variables {
    state_table = true
    tags        = { Team = "platform" }
  }

  assert {
    condition     = length(aws_dynamodb_table.state) == 1 && aws_dynamodb_table.state[0].name == "infra-bot-prod-state"
    error_message = "with state_table, the module plans one table named <name>-<environment>-state"
  }
  # The names of state_table.json, the file the bot's DynamoDbState shares.
  assert {
    condition     = aws_dynamodb_table.state[0].hash_key == "pk" && aws_dynamodb_table.state[0].range_key == "sk"
    error_message = "the table's keys must be pk (hash) and sk (range), as state_table.json says"
  }
  assert {
    condition     = { for a in aws_dynamodb_table.state[0].attribute : a.name => a.type } == { pk = "S", sk = "S" }
    error_message = "the table must declare exactly its two key attributes, both strings (S)"
  }
  assert {
    condition     = aws_dynamodb_table.state[0].ttl[0].enabled && aws_dynamodb_table.state[0].ttl[0].attribute_name == "expires_at"
    error_message = "TTL must be on, on expires_at"
  }
  assert {
    condition     = aws_dynamodb_table.state[0].billing_mode == "PAY_PER_REQUEST"
    error_message = "the table must be on demand (PAY_PER_REQUEST)"
  }
  assert {
    condition     = aws_dynamodb_table.state[0].point_in_time_recovery[0].enabled
    error_message = "point-in-time recovery must be on"
  }
  assert {
    condition     = aws_dynamodb_table.state[0].server_side_encryption[0].enabled
    error_message = "server-side encryption must be on"
  }
  assert {
    condition     = aws_dynamodb_table.state[0].deletion_protection_enabled
    error_message = "deletion protection must be on by default"
  }
  assert {
    condition     = aws_dynamodb_table.state[0].tags["Team"] == "platform"
    error_message = "the table must carry the module's tags"
  }
  assert {
    condition = jsonencode([
      for s in data.aws_iam_policy_document.task.statement : [sort(s.actions), sort(s.resources)]
      if anytrue([for a in s.actions : startswith(a, "dynamodb:")])
      ]) == jsonencode([[
        ["dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
        ["arn:aws:dynamodb:eu-west-1:123456789012:table/infra-bot-prod-state"],
    ]])
    error_message = "the task role must get exactly GetItem, PutItem, UpdateItem, DeleteItem, Query and DescribeTable, on exactly the table's ARN"
  }
  assert {
    condition = alltrue(flatten([
      for s in data.aws_iam_policy_document.task.statement : [!contains(s.resources, "*"), !contains(s.actions, "dynamodb:Scan"), !contains(s.actions, "dynamodb:CreateTable")]
    ]))
    error_message = "the task role may not Scan, not CreateTable (the module creates the table), and has no \"*\" resource"
  }
  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value if startswith(e.name, "INFRA_STATE_")
    } == { INFRA_STATE_TABLE = "infra-bot-prod-state" }
    error_message = "with state_table, INFRA_STATE_TABLE is the table's name, and INFRA_STATE_CREATE_TABLE is not set"
  }
  assert {
    condition     = output.state_table_name == "infra-bot-prod-state" && output.state_table_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/infra-bot-prod-state"
    error_message = "the outputs must name the table and its ARN"
  }
}

run "state_table_options_reach_the_table" {
  command = plan

  variables {
    state_table                     = true
    state_table_name                = "infra-bot-shared"
    state_table_kms_key_arn         = "arn:aws:kms:eu-west-1:123456789012:key/0123abcd-4567-89ef-0123-456789abcdef"
    state_table_deletion_protection = false
  }

  assert {
    condition     = aws_dynamodb_table.state[0].name == "infra-bot-shared" && !aws_dynamodb_table.state[0].deletion_protection_enabled
    error_message = "state_table_name and state_table_deletion_protection must reach the table"
  }
  assert {
    condition     = aws_dynamodb_table.state[0].server_side_encryption[0].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/0123abcd-4567-89ef-0123-456789abcdef"
    error_message = "state_table_kms_key_arn must be the table's encryption key"
  }
}

run "existing_table_created_by_the_service" {
  command = plan

  variables {
    state_table                    = true
    create_state_table             = false
    state_table_name               = "team-infra-bot-state"
    state_table_created_by_service = true
  }

  assert {
    condition     = length(aws_dynamodb_table.state) == 0
    error_message = "with create_state_table = false, the module creates no table"
  }
  assert {
    condition = jsonencode([
      for s in data.aws_iam_policy_document.task.statement : [sort(s.actions), sort(s.resources)]
      if anytrue([for a in s.actions : startswith(a, "dynamodb:")])
      ]) == jsonencode([
      [
        ["dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
        ["arn:aws:dynamodb:eu-west-1:123456789012:table/team-infra-bot-state"],
      ],
      [
        ["dynamodb:CreateTable", "dynamodb:DescribeTimeToLive", "dynamodb:UpdateTimeToLive"],
        ["arn:aws:dynamodb:eu-west-1:123456789012:table/team-infra-bot-state"],
      ],
    ])
    error_message = "the bot creating its table gets CreateTable, UpdateTimeToLive and DescribeTimeToLive too, on exactly the named table in this account and region"
  }
  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value if startswith(e.name, "INFRA_STATE_")
    } == { INFRA_STATE_TABLE = "team-infra-bot-state", INFRA_STATE_CREATE_TABLE = "true" }
    error_message = "the bot is told the table's name and to create it"
  }
}

run "the_service_creating_a_table_terraform_creates_is_refused" {
  command = plan

  variables {
    state_table                    = true
    state_table_created_by_service = true
  }

  expect_failures = [aws_ecs_task_definition.this]
}

run "two_tasks_with_the_table" {
  command = plan

  variables {
    state_table     = true
    desired_count   = 2
    private_subnets = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  }

  assert {
    condition     = aws_ecs_service.this.desired_count == 2
    error_message = "with state_table, desired_count 2 must be accepted"
  }
  assert {
    condition     = aws_ecs_service.this.deployment_minimum_healthy_percent == 100 && aws_ecs_service.this.deployment_maximum_percent == 200
    error_message = "deployments keep 100 % healthy and 200 % at most"
  }
  assert {
    condition     = toset(aws_ecs_service.this.network_configuration[0].subnets) == toset(["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"])
    error_message = "the tasks run in (and ECS spreads them over) the given subnets"
  }
}

run "two_tasks_without_the_table_are_refused" {
  command = plan

  variables {
    desired_count   = 2
    private_subnets = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  }

  expect_failures = [aws_ecs_service.this]
}

run "two_tasks_in_one_subnet_are_refused" {
  command = plan

  variables {
    state_table   = true
    desired_count = 2
  }

  expect_failures = [aws_ecs_service.this]
}

run "two_tasks_in_one_zone_are_refused" {
  command = plan

  variables {
    state_table     = true
    desired_count   = 2
    private_subnets = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  }

  override_data {
    target = data.aws_subnet.private[1]
    values = {
      availability_zone = "eu-west-1a"
    }
  }

  expect_failures = [aws_ecs_service.this]
}

# 3 tasks, doubled in a deployment, with the bot's 2 connections each: 12
# Socket Mode connections, Slack allows 10.
run "three_tasks_with_two_connections_each_are_refused" {
  command = plan

  variables {
    state_table     = true
    desired_count   = 3
    private_subnets = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  }

  expect_failures = [aws_ecs_service.this]
}

run "three_tasks_with_one_connection_each" {
  command = plan

  variables {
    state_table        = true
    desired_count      = 3
    socket_connections = 1
    private_subnets    = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  }

  assert {
    condition     = aws_ecs_service.this.desired_count == 3
    error_message = "desired_count 3 with one connection per task must be accepted"
  }
}

run "four_tasks_are_refused" {
  command = plan

  variables {
    state_table     = true
    desired_count   = 4
    private_subnets = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  }

  expect_failures = [var.desired_count]
}

# The real provider writes the task role's policy with the state table (an
# existing one: its ARN is known at plan): the Lambda and the table, no "*".
run "real_provider_renders_the_task_policy_with_the_state_table" {
  command = plan

  providers = {
    aws = aws.real
  }

  variables {
    state_table        = true
    create_state_table = false
  }

  assert {
    condition     = !strcontains(data.aws_iam_policy_document.task.json, "*")
    error_message = "the task role's policy has a \"*\": ${data.aws_iam_policy_document.task.json}"
  }
  assert {
    condition = jsonencode([
      for s in jsondecode(data.aws_iam_policy_document.task.json).Statement : [s.Effect, s.Action, s.Resource]
      ]) == jsonencode([
      ["Allow", "lambda:InvokeFunction", "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator"],
      ["Allow", ["dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DescribeTable", "dynamodb:DeleteItem"], "arn:aws:dynamodb:eu-west-1:123456789012:table/infra-bot-prod-state"],
    ])
    error_message = "the task role may invoke the orchestrator and use exactly the state table: ${data.aws_iam_policy_document.task.json}"
  }
}

# --- Discord (issue 17) ----------------------------------------------------------

run "discord_token_is_a_secret_the_execution_role_reads" {
  command = plan

  variables {
    discord_bot_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/discord-bot-token-MnOpQr"
    discord_guild_id             = "123456789012345678"
    discord_allowed_roles        = ["234567890123456789", "345678901234567890"]
    discord_admin_roles          = ["456789012345678901"]
    discord_allowed_channels     = ["567890123456789012"]
  }

  assert {
    condition = [for s in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets : "${s.name}=${s.valueFrom}"] == [
      "SLACK_BOT_TOKEN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/slack-bot-token-AbCdEf",
      "SLACK_APP_TOKEN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/slack-app-token-GhIjKl",
      "DISCORD_BOT_TOKEN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/discord-bot-token-MnOpQr",
    ]
    error_message = "the three tokens must come in as secrets from their ARNs, Slack's first: ${jsonencode(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets)}"
  }
  assert {
    condition = jsonencode([for s in data.aws_iam_policy_document.execution.statement : sort(s.resources) if contains(s.actions, "secretsmanager:GetSecretValue")]) == jsonencode([[
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/discord-bot-token-MnOpQr",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/slack-app-token-GhIjKl",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/slack-bot-token-AbCdEf",
    ]])
    error_message = "the execution role must read exactly the three secrets, the Discord token's ARN among them, with secretsmanager:GetSecretValue"
  }
  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value if strcontains(e.name, "DISCORD")
      } == {
      DISCORD_GUILD_ID               = "123456789012345678"
      INFRA_DISCORD_ALLOWED_ROLES    = "234567890123456789,345678901234567890"
      INFRA_DISCORD_ADMIN_ROLES      = "456789012345678901"
      INFRA_DISCORD_ALLOWED_CHANNELS = "567890123456789012"
    }
    error_message = "the Discord settings must reach the container, and the token only as a secret: ${jsonencode(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment)}"
  }
}

# Discord alone, its token an SSM parameter: no Slack secret, no Secrets
# Manager right, ssm:GetParameters on exactly the parameter.
run "discord_alone_from_an_ssm_parameter" {
  command = plan

  variables {
    slack_bot_token_secret_arn   = null
    slack_app_token_secret_arn   = null
    allowed_channels             = []
    discord_bot_token_secret_arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/infra-bot/prod/discord-bot-token"
    discord_guild_id             = "123456789012345678"
    discord_allowed_roles        = ["234567890123456789"]
  }

  assert {
    condition = [for s in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets : "${s.name}=${s.valueFrom}"] == [
      "DISCORD_BOT_TOKEN=arn:aws:ssm:eu-west-1:123456789012:parameter/infra-bot/prod/discord-bot-token",
    ]
    error_message = "without the Slack ARNs, the one secret is DISCORD_BOT_TOKEN"
  }
  assert {
    condition = jsonencode([for s in data.aws_iam_policy_document.execution.statement : sort(s.resources) if contains(s.actions, "ssm:GetParameters")]) == jsonencode([
      ["arn:aws:ssm:eu-west-1:123456789012:parameter/infra-bot/prod/discord-bot-token"]
    ])
    error_message = "the Discord parameter must be read with ssm:GetParameters, on exactly its ARN"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.execution.statement : s if contains(s.actions, "secretsmanager:GetSecretValue")]) == 0
    error_message = "with no token in Secrets Manager, the execution role gets no secretsmanager:GetSecretValue"
  }
  assert {
    condition     = !contains([for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name], "INFRA_ALLOWED_CHANNELS")
    error_message = "no Slack gate is set for Discord alone"
  }
}

run "no_chat_at_all_is_refused" {
  command = plan

  variables {
    slack_bot_token_secret_arn = null
    slack_app_token_secret_arn = null
  }

  expect_failures = [aws_ecs_task_definition.this]
}

run "one_slack_token_alone_is_refused" {
  command = plan

  variables {
    slack_app_token_secret_arn   = null
    discord_bot_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/discord-bot-token-MnOpQr"
    discord_guild_id             = "123456789012345678"
    discord_allowed_roles        = ["234567890123456789"]
  }

  expect_failures = [aws_ecs_task_definition.this]
}

run "discord_without_its_guild_is_refused" {
  command = plan

  variables {
    discord_bot_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/discord-bot-token-MnOpQr"
    discord_allowed_roles        = ["234567890123456789"]
  }

  expect_failures = [aws_ecs_task_definition.this]
}

# Closed unless opened: Discord with no role, no channel and no allow_everyone.
run "discord_without_a_gate_is_refused" {
  command = plan

  variables {
    discord_bot_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/discord-bot-token-MnOpQr"
    discord_guild_id             = "123456789012345678"
  }

  expect_failures = [aws_ecs_task_definition.this]
}

run "discord_open_to_everyone_is_accepted" {
  command = plan

  variables {
    discord_bot_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/discord-bot-token-MnOpQr"
    discord_guild_id             = "123456789012345678"
    allow_everyone               = true
  }

  assert {
    condition     = { for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value }["INFRA_ALLOW_EVERYONE"] == "true"
    error_message = "allow_everyone opens Discord too"
  }
}

run "discord_token_arn_of_another_service_is_refused" {
  command = plan

  variables {
    discord_bot_token_secret_arn = "arn:aws:s3:::bucket/discord-token"
    discord_guild_id             = "123456789012345678"
    discord_allowed_roles        = ["234567890123456789"]
  }

  expect_failures = [var.discord_bot_token_secret_arn]
}

run "guild_id_not_a_snowflake_is_refused" {
  command = plan

  variables {
    discord_bot_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/discord-bot-token-MnOpQr"
    discord_guild_id             = "my-server"
    discord_allowed_roles        = ["234567890123456789"]
  }

  expect_failures = [var.discord_guild_id]
}

run "role_id_not_a_snowflake_is_refused" {
  command = plan

  variables {
    discord_bot_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/discord-bot-token-MnOpQr"
    discord_guild_id             = "123456789012345678"
    discord_allowed_roles        = ["@ops"]
  }

  expect_failures = [var.discord_allowed_roles]
}

# Admin roles alone do not close /infra (with no allowed role every member of
# the server may run the non-admin commands): refused like no gate at all.
run "discord_with_admin_roles_only_is_refused" {
  command = plan

  variables {
    discord_bot_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:infra-bot/prod/discord-bot-token-MnOpQr"
    discord_guild_id             = "123456789012345678"
    discord_admin_roles          = ["456789012345678901"]
  }

  expect_failures = [aws_ecs_task_definition.this]
}
