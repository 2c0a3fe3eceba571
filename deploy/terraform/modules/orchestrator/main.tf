# The orchestrator and IP whitelist Lambdas of design §4, served by infra-bot
# itself: both functions run the bot's container image with the command
# `infra-bot lambda` (the image's ENTRYPOINT is ["infra-bot"], so the command
# is ["lambda"]), on top of the aws backend, which finds an environment's
# resources by tag. INFRA_LAMBDA_ROLE picks the contract.
#
# Resources: per function a log group, an execution role with two inline
# policies (the tag-scoped policy of its role, and writing its own logs) and
# the function. Nothing else: no VPC (the functions call AWS APIs only), no
# trigger (the bot invokes them).
# tests/deploy/terraform_check.mjs asserts this structure; tests/deploy/
# terraform/orchestrator.tftest.hcl (run by terraform_validate.sh) checks that
# the two policy documents equal what `infra-bot iam-policy --backend=aws`
# (aws::tag_scoped_policy_json) writes for the same configuration.

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  name = "${var.name}-${var.environment}"

  functions = {
    orchestrator = "${local.name}-orchestrator"
    whitelist    = "${local.name}-ip-whitelist"
  }

  # What both functions are told; INFRA_LAMBDA_ROLE is added per function.
  # INFRA_PROTECTED_ENVIRONMENTS: unset means "prod" but empty means none, so
  # [] is sent as "," (a list of no names), as the slack-bot module does.
  # AWS_REGION and the credentials are set by Lambda itself. No Slack token:
  # the functions never talk to Slack.
  environment = {
    INFRA_ENVIRONMENTS           = join(",", var.environments)
    INFRA_PROTECTED_ENVIRONMENTS = length(var.protected_environments) > 0 ? join(",", var.protected_environments) : ","
    INFRA_TAG_KEY                = var.tag_key
    INFRA_WHITELIST_PORTS        = join(",", [for p in var.whitelist_ports : tostring(p)])
    LOG_FORMAT                   = "json"
    LOG_LEVEL                    = var.log_level
  }

  # Resource ARNs of the functions' own account and region.
  arn_prefix = {
    ecs = "arn:${data.aws_partition.current.partition}:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
    rds = "arn:${data.aws_partition.current.partition}:rds:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
    ec2 = "arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  }
  env_tag = "aws:ResourceTag/${var.tag_key}"
}

# --- Logs ----------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "orchestrator" {
  name              = "/aws/lambda/${local.functions.orchestrator}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "whitelist" {
  name              = "/aws/lambda/${local.functions.whitelist}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# --- Functions -------------------------------------------------------------------

resource "aws_lambda_function" "orchestrator" {
  function_name = local.functions.orchestrator
  description   = "infra-bot orchestrator (design §4): status, stop, start, reboot of the environments tagged ${var.tag_key}"
  role          = aws_iam_role.orchestrator.arn
  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = [var.architecture]
  memory_size   = var.memory_size
  timeout       = var.orchestrator_timeout

  image_config {
    command = ["lambda"] # ENTRYPOINT ["infra-bot"] + ["lambda"] = infra-bot lambda
  }

  environment {
    variables = merge(local.environment, { INFRA_LAMBDA_ROLE = "orchestrator" })
  }

  logging_config {
    log_format = "Text" # the lines are already JSON (LOG_FORMAT=json)
    log_group  = aws_cloudwatch_log_group.orchestrator.name
  }

  tags = var.tags

  # The role's policies must exist before the first invocation.
  depends_on = [aws_iam_role_policy.orchestrator, aws_iam_role_policy.orchestrator_logs]

  lifecycle {
    precondition {
      condition     = alltrue([for e in var.protected_environments : contains(var.environments, e)])
      error_message = "every protected_environments entry must also be listed in environments."
    }
  }
}

resource "aws_lambda_function" "whitelist" {
  function_name = local.functions.whitelist
  description   = "infra-bot IP whitelist (design §4): add, remove, list, refresh ingress rules of security groups tagged infra-bot:whitelist=true"
  role          = aws_iam_role.whitelist.arn
  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = [var.architecture]
  memory_size   = var.memory_size
  timeout       = var.whitelist_timeout

  image_config {
    command = ["lambda"]
  }

  environment {
    variables = merge(local.environment, { INFRA_LAMBDA_ROLE = "whitelist" })
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.whitelist.name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.whitelist, aws_iam_role_policy.whitelist_logs]
}

# --- IAM: trust --------------------------------------------------------------------

# Both roles are assumed by Lambda for functions of this account only.
data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "orchestrator" {
  name               = local.functions.orchestrator # roles and functions are separate namespaces
  description        = "Execution role of the infra-bot orchestrator Lambda ${local.functions.orchestrator}: ECS, RDS and EC2 instances tagged ${var.tag_key}=<environment>, its own logs"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

resource "aws_iam_role" "whitelist" {
  name               = local.functions.whitelist
  description        = "Execution role of the infra-bot IP whitelist Lambda ${local.functions.whitelist}: ingress rules of security groups tagged ${var.tag_key}=<environment> and infra-bot:whitelist=true, its own logs"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

# --- IAM: the tag-scoped policies ----------------------------------------------------
#
# These two documents are aws::tag_scoped_policy_json (lib/aws/src/iam_policy.cpp)
# for the roles "orchestrator" and "whitelist", statement for statement, with
# this account and region in the ARNs. Change both together: the goldens in
# tests/deploy/iam-policies/ and orchestrator.tftest.hcl hold them to it.
#   - reads that take no resource ARN (tag:GetResources, ec2:Describe*,
#     rds:DescribeDB*) on "*", unconditioned;
#   - every change only on resources tagged <tag_key> = one of environments;
#   - a Deny of every ECS/RDS/EC2 change in the protected environments (the
#     allow-list stays allowed there, design §3; no Deny when none is protected).

data "aws_iam_policy_document" "orchestrator" {
  statement {
    sid       = "FindEnvironmentResourcesByTag"
    effect    = "Allow"
    actions   = ["tag:GetResources"]
    resources = ["*"] # tag:GetResources takes no resource ARN
  }

  statement {
    sid       = "DescribeResources"
    effect    = "Allow"
    actions   = ["ec2:DescribeInstances", "rds:DescribeDBClusters", "rds:DescribeDBInstances"]
    resources = ["*"] # EC2's describes take no ARN; RDS's list everything without one
  }

  statement {
    sid       = "DescribeEcsServices"
    effect    = "Allow"
    actions   = ["ecs:DescribeServices"]
    resources = ["${local.arn_prefix.ecs}:service/*"]
  }

  statement {
    sid       = "ScaleEcsServices"
    effect    = "Allow"
    actions   = ["ecs:UpdateService"]
    resources = ["${local.arn_prefix.ecs}:service/*"]

    condition {
      test     = "StringEquals"
      variable = local.env_tag
      values   = var.environments
    }
  }

  statement {
    sid       = "RememberEcsDesiredCount"
    effect    = "Allow"
    actions   = ["ecs:TagResource"]
    resources = ["${local.arn_prefix.ecs}:service/*"]

    condition {
      test     = "StringEquals"
      variable = local.env_tag
      values   = var.environments
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["infra-bot:desired-count"]
    }

    # ForAllValues is also true for a request without tags: require some.
    condition {
      test     = "Null"
      variable = "aws:TagKeys"
      values   = ["false"]
    }
  }

  statement {
    sid       = "StopStartRdsInstances"
    effect    = "Allow"
    actions   = ["rds:StartDBInstance", "rds:StopDBInstance"]
    resources = ["${local.arn_prefix.rds}:db:*"]

    condition {
      test     = "StringEquals"
      variable = local.env_tag
      values   = var.environments
    }
  }

  statement {
    sid       = "StopStartRdsClusters"
    effect    = "Allow"
    actions   = ["rds:StartDBCluster", "rds:StopDBCluster"]
    resources = ["${local.arn_prefix.rds}:cluster:*"]

    condition {
      test     = "StringEquals"
      variable = local.env_tag
      values   = var.environments
    }
  }

  statement {
    sid       = "StartStopRebootEc2Instances"
    effect    = "Allow"
    actions   = ["ec2:RebootInstances", "ec2:StartInstances", "ec2:StopInstances"]
    resources = ["${local.arn_prefix.ec2}:instance/*"]

    condition {
      test     = "StringEquals"
      variable = local.env_tag
      values   = var.environments
    }
  }

  dynamic "statement" {
    for_each = length(var.protected_environments) > 0 ? [1] : []
    content {
      # "*" is safe in a Deny, and it cannot miss an ARN form.
      sid    = "DenyChangesInProtectedEnvironments"
      effect = "Deny"
      actions = [
        "ec2:RebootInstances", "ec2:StartInstances", "ec2:StopInstances",
        "ecs:TagResource", "ecs:UpdateService",
        "rds:StartDBCluster", "rds:StartDBInstance", "rds:StopDBCluster", "rds:StopDBInstance",
      ]
      resources = ["*"]

      condition {
        test     = "StringEquals"
        variable = local.env_tag
        values   = var.protected_environments
      }
    }
  }
}

data "aws_iam_policy_document" "whitelist" {
  statement {
    sid       = "FindEnvironmentResourcesByTag"
    effect    = "Allow"
    actions   = ["tag:GetResources"]
    resources = ["*"] # tag:GetResources takes no resource ARN
  }

  statement {
    sid       = "DescribeResources"
    effect    = "Allow"
    actions   = ["ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups"]
    resources = ["*"] # EC2's describes take no resource ARN
  }

  statement {
    sid       = "EditAllowListRules"
    effect    = "Allow"
    actions   = ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:UpdateSecurityGroupRuleDescriptionsIngress"]
    resources = ["${local.arn_prefix.ec2}:security-group/*"]

    condition {
      test     = "StringEquals"
      variable = local.env_tag
      values   = var.environments
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/infra-bot:whitelist"
      values   = ["true"]
    }
  }
}

resource "aws_iam_role_policy" "orchestrator" {
  name   = "tag-scoped-ecs-rds-ec2"
  role   = aws_iam_role.orchestrator.id
  policy = data.aws_iam_policy_document.orchestrator.json
}

resource "aws_iam_role_policy" "whitelist" {
  name   = "tag-scoped-allow-list"
  role   = aws_iam_role.whitelist.id
  policy = data.aws_iam_policy_document.whitelist.json
}

# --- IAM: logs ---------------------------------------------------------------------

data "aws_iam_policy_document" "orchestrator_logs" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.orchestrator.arn}:*"] # the group's log streams
  }
}

data "aws_iam_policy_document" "whitelist_logs" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.whitelist.arn}:*"]
  }
}

resource "aws_iam_role_policy" "orchestrator_logs" {
  name   = "write-own-logs"
  role   = aws_iam_role.orchestrator.id
  policy = data.aws_iam_policy_document.orchestrator_logs.json
}

resource "aws_iam_role_policy" "whitelist_logs" {
  name   = "write-own-logs"
  role   = aws_iam_role.whitelist.id
  policy = data.aws_iam_policy_document.whitelist_logs.json
}
