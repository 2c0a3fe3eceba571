#!/usr/bin/env bash
# Runs the real Terraform on deploy/terraform, offline:
#
#   terraform_validate.sh PROJECT_ROOT WORK_DIR
#
#  0. `terraform fmt -check -recursive` of deploy/terraform and `terraform
#     fmt -check` of the test files here (not of seed-call/, which keeps the
#     teams' call byte for byte, unaligned);
#  1. `terraform init -backend=false -plugin-dir=…` + `terraform validate` of
#     every module and example, and of tests/deploy/terraform/seed-call: the
#     call teams already have (issue 16), unchanged (a copy in WORK_DIR, so
#     the source tree gets no .terraform directory; seed-call goes to
#     WORK_DIR/tests/seed-call, where its "../../modules/slack-bot" is the
#     copied module);
#  2. `terraform test` of modules/orchestrator with
#     tests/deploy/terraform/orchestrator.tftest.hcl: the module's two IAM
#     policy documents, rendered by the real hashicorp/aws provider, equal the
#     goldens of aws::tag_scoped_policy_json (tests/deploy/iam-policies), the
#     functions' shape, the input validations, and a mocked apply;
#  3. `terraform test` of modules/slack-bot with slack_bot.tftest.hcl (mocked
#     provider: the ECR repository and the pull on exactly it, no "*" but
#     ecr:GetAuthorizationToken, no whitelist permission without its ARN,
#     INFRA_METRICS=emf, SSM parameter tokens, (issue 17) the Discord token
#     secret and its IAM, the chat preconditions, the input validations), and of
#     the seed call with seed_call.tftest.hcl (it plans, and creates the
#     repository) and seed_call_first_plan.tftest.hcl (it plans with the
#     ARNs unknown, as in a first real plan); of examples/basic with
#     basic_example.tftest.hcl and (issue 18) of examples/two-tasks with
#     two_tasks_example.tftest.hcl (two tasks sharing the state table: the
#     slack-bot runs check the table, its IAM, the environment and the
#     desired_count limits).
#
# Needs the terraform binary and the hashicorp/aws 5.x provider in a plugin
# directory (TF_PLUGIN_DIR, default /opt/tf-plugins: the machine image has
# 5.100.0 there); nothing is downloaded. Without either it exits 77, which
# ctest reports as skipped (SKIP_RETURN_CODE).

set -euo pipefail

project=${1:?usage: terraform_validate.sh PROJECT_ROOT WORK_DIR}
work=${2:?usage: terraform_validate.sh PROJECT_ROOT WORK_DIR}
plugins=${TF_PLUGIN_DIR:-/opt/tf-plugins}

if ! command -v terraform >/dev/null 2>&1; then
  echo "SKIPPED: no terraform binary on PATH (the machine image has /usr/local/bin/terraform); the hcl2json checks still run"
  exit 77
fi
if ! compgen -G "$plugins/registry.terraform.io/hashicorp/aws/5.*/*/terraform-provider-aws_*" >/dev/null; then
  echo "SKIPPED: no hashicorp/aws 5.x provider under $plugins (set TF_PLUGIN_DIR to a plugin directory holding registry.terraform.io/hashicorp/aws/5.x); the hcl2json checks still run"
  exit 77
fi

# Offline and quiet: no version check against HashiCorp, no CLI config from $HOME.
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
export TF_CLI_CONFIG_FILE="$work/terraformrc"
unset TF_DATA_DIR TF_WORKSPACE

rm -rf "$work"
mkdir -p "$work"
: >"$TF_CLI_CONFIG_FILE"
cp -R "$project/deploy/terraform/modules" "$project/deploy/terraform/examples" "$work/"
mkdir -p "$work/tests"
cp -R "$project/tests/deploy/terraform/seed-call" "$work/tests/"
find "$work" -name .terraform -prune -exec rm -rf {} + -o -name '.terraform.lock.hcl' -exec rm -f {} +

failures=0
log="$work/terraform.log"
step() {  # step DIR WHAT COMMAND…
  local dir=$1 what=$2
  shift 2
  if (cd "$dir" && "$@") >"$log" 2>&1; then
    echo "ok: $what"
  else
    echo "FAILED: $what"
    sed 's/^/    /' "$log"
    failures=$((failures + 1))
    return 1
  fi
}

# Not `| head -1`: under pipefail, head closing the pipe after one line can kill terraform
# with SIGPIPE while it writes the next, which failed this script at random (CI, 0.07 s).
version=$(terraform version | sed -n 1p)
provider=$(basename "$(dirname "$(dirname "$(compgen -G "$plugins/registry.terraform.io/hashicorp/aws/5.*/*/terraform-provider-aws_*" | sort -V | tail -1)")")")
echo "$version, hashicorp/aws $provider from $plugins"

step "$project/deploy/terraform" "deploy/terraform: terraform fmt -check -recursive" \
  terraform fmt -check -recursive -diff -no-color . || true
step "$project/tests/deploy/terraform" "tests/deploy/terraform/*.tftest.hcl: terraform fmt -check" \
  terraform fmt -check -diff -no-color orchestrator.tftest.hcl slack_bot.tftest.hcl seed_call.tftest.hcl \
  seed_call_first_plan.tftest.hcl basic_example.tftest.hcl two_tasks_example.tftest.hcl || true

for dir in "$work"/modules/* "$work"/examples/* "$work"/tests/seed-call; do
  rel=${dir#"$work"/}
  step "$dir" "$rel: terraform init" terraform init -backend=false -plugin-dir="$plugins" -no-color || continue
  step "$dir" "$rel: terraform validate" terraform validate -no-color || true
done

orchestrator="$work/modules/orchestrator"
mkdir -p "$orchestrator/tests/expected"
cp "$project/tests/deploy/terraform/orchestrator.tftest.hcl" "$orchestrator/tests/"
cp "$project"/tests/deploy/iam-policies/*.json "$orchestrator/tests/expected/"
if step "$orchestrator" "modules/orchestrator: terraform test" terraform test -no-color; then
  grep -E '^ *run |Success|Failure' "$log" | sed 's/^/    /' || true
fi

bot="$work/modules/slack-bot"
mkdir -p "$bot/tests"
cp "$project/tests/deploy/terraform/slack_bot.tftest.hcl" "$bot/tests/"
cp -R "$project/tests/deploy/terraform/mocks" "$bot/tests/"
if step "$bot" "modules/slack-bot: terraform test" terraform test -no-color; then
  grep -E '^ *run |Success|Failure' "$log" | sed 's/^/    /' || true
fi

example="$work/examples/basic"
mkdir -p "$example/tests"
cp "$project/tests/deploy/terraform/basic_example.tftest.hcl" "$example/tests/"
cp -R "$project/tests/deploy/terraform/mocks" "$example/tests/"
if step "$example" "examples/basic: terraform test" terraform test -no-color; then
  grep -E '^ *run |Success|Failure' "$log" | sed 's/^/    /' || true
fi

example="$work/examples/two-tasks"
mkdir -p "$example/tests"
cp "$project/tests/deploy/terraform/two_tasks_example.tftest.hcl" "$example/tests/"
cp -R "$project/tests/deploy/terraform/mocks" "$example/tests/"
if step "$example" "examples/two-tasks: terraform test" terraform test -no-color; then
  grep -E '^ *run |Success|Failure' "$log" | sed 's/^/    /' || true
fi

seed="$work/tests/seed-call"
mkdir -p "$seed/tests"
cp "$project/tests/deploy/terraform/seed_call.tftest.hcl" \
   "$project/tests/deploy/terraform/seed_call_first_plan.tftest.hcl" "$seed/tests/"
cp -R "$project/tests/deploy/terraform/mocks" "$seed/tests/"
if step "$seed" "tests/seed-call: terraform test" terraform test -no-color; then
  grep -E '^ *run |Success|Failure' "$log" | sed 's/^/    /' || true
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures terraform step(s) failed"
  exit 1
fi
echo "every terraform step passed"
