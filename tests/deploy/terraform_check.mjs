#!/usr/bin/env node
// Checks deploy/terraform without a Terraform binary (none may be installed
// on these machines):
//
//   node terraform_check.mjs --project ROOT --modules NODE_MODULES --work DIR [--self-test]
//
// Every .tf file under ROOT/deploy/terraform is parsed with @cdktf/hcl2json
// (HashiCorp's HCL parser compiled to WebAssembly) and the parsed JSON is
// checked three ways:
//   1. names: every var.X / local.X / resource / data / module reference
//      resolves, every variable and local is used, every argument and nested
//      block exists in the hashicorp/aws provider 5.x schema and every
//      required argument is set (schema read from @cdktf/provider-aws, see
//      provider_schema.mjs), and every referenced attribute is exported;
//   2. the security shape of issue 7: exactly the expected resources; the
//      security group has no ingress and egress on 443 only; the service has
//      no public IP and no load balancer; no IAM statement has a "*"
//      resource except the documented ecr:GetAuthorizationToken; the task
//      role invokes exactly the two Lambdas; the execution role reads
//      exactly the two secrets and writes only its log group; the tokens
//      reach the container as secrets, never as plain environment; health
//      check, stopTimeout, read-only root, non-root user, log retention;
//      the example passes every required input; (issue 16) without image
//      the module creates its ECR repository and pulls from exactly it, the
//      whitelist Lambda is optional, the tokens may be Secrets Manager
//      secrets or SSM parameters (each read with its own action);
//      (issue 17) the Discord token likewise, the Slack tokens optional
//      with it, preconditions that at least one chat is configured;
//      modules/slack-bot/README.md's inputs and outputs tables match
//      variables.tf and outputs.tf row for row (name, type, default);
//      (issue 18) the state table is made from state_table.json (no key
//      name repeated), on demand, with TTL, point-in-time recovery and
//      encryption; the task role gets its item actions (no Scan) on exactly
//      its ARN, CreateTable & co. only when the bot is to create it; more
//      than one task only with the table;
//   3. the container definition (a jsonencode()d object in HCL) is compiled
//      with tsc --strict against @aws-sdk/client-ecs's ContainerDefinition,
//      so a misspelt key (which ECS would silently ignore) fails.
//
// --self-test checks that the real files pass and that mutated copies (an
// IAM "*" resource, an ingress rule, a public IP, a token in the plain
// environment, a misspelt argument, …) are each rejected by the check meant
// to catch them: so this test can fail.

import fs from 'node:fs';
import path from 'node:path';

import { checkModules, parseArgs, selfTest, typecheck } from './common.mjs';
import { ProviderSchema } from './provider_schema.mjs';

const SCRIPT = 'terraform_check.mjs';
const MODULE_DIR = 'modules/slack-bot';
const EXAMPLE_DIR = 'examples/basic';

// --- Loading -------------------------------------------------------------------

function findTfFiles(dir, base = dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== '.terraform') out.push(...findTfFiles(full, base));
    } else if (entry.name.endsWith('.tf')) {
      out.push(path.relative(base, full));
    }
  }
  return out.sort();
}

function loadInput(tfRoot) {
  if (!fs.existsSync(tfRoot)) {
    console.error(`${SCRIPT}: ${tfRoot} does not exist`);
    process.exit(1);
  }
  const files = {};
  for (const rel of findTfFiles(tfRoot)) {
    files[rel] = { text: fs.readFileSync(path.join(tfRoot, rel), 'utf8'), json: null };
  }
  if (Object.keys(files).length === 0) {
    console.error(`${SCRIPT}: no .tf files under ${tfRoot}; refusing to pass an empty check`);
    process.exit(1);
  }
  const readme = path.join(tfRoot, 'README.md');
  // The goldens of aws::tag_scoped_policy_json, which modules/orchestrator mirrors.
  const goldens = {};
  const goldenDir = path.join(tfRoot, '..', '..', 'tests', 'deploy', 'iam-policies');
  for (const name of ['orchestrator.json', 'whitelist.json']) {
    const file = path.join(goldenDir, name);
    if (fs.existsSync(file)) goldens[name] = JSON.parse(fs.readFileSync(file, 'utf8'));
  }
  const moduleReadme = path.join(tfRoot, MODULE_DIR, 'README.md');
  return {
    files, readme: fs.existsSync(readme) ? fs.readFileSync(readme, 'utf8') : '', goldens,
    moduleReadme: fs.existsSync(moduleReadme) ? fs.readFileSync(moduleReadme, 'utf8') : '',
  };
}

const first = (value) => (Array.isArray(value) ? value[0] : value);

// One directory's files merged into one configuration.
function mergeDirectory(files, fail) {
  const cfg = {
    files, resource: {}, data: {}, variable: {}, output: {}, locals: {}, module: {},
    provider: {}, terraform: [], fileOf: {},
  };
  const add = (kind, key, body, file) => {
    const table = cfg[kind];
    if (key in table) fail('layout', `${kind} ${key} is declared twice (${cfg.fileOf[`${kind}.${key}`]}, ${file})`);
    table[key] = body;
    cfg.fileOf[`${kind}.${key}`] = file;
  };
  for (const [file, { json }] of Object.entries(files)) {
    for (const [type, byName] of Object.entries(json.resource ?? {})) {
      for (const [name, body] of Object.entries(byName)) add('resource', `${type}.${name}`, first(body), file);
    }
    for (const [type, byName] of Object.entries(json.data ?? {})) {
      for (const [name, body] of Object.entries(byName)) add('data', `${type}.${name}`, first(body), file);
    }
    for (const kind of ['variable', 'output', 'module']) {
      for (const [name, body] of Object.entries(json[kind] ?? {})) add(kind, name, first(body), file);
    }
    for (const block of json.locals ?? []) {
      for (const [name, value] of Object.entries(block)) add('locals', name, value, file);
    }
    for (const [name, bodies] of Object.entries(json.provider ?? {})) {
      cfg.provider[name] = [...(cfg.provider[name] ?? []), ...bodies];
    }
    cfg.terraform.push(...(json.terraform ?? []));
  }
  return cfg;
}

// --- Expressions -------------------------------------------------------------------

// Every string leaf under `value`, with its path.
function* strings(value, at = []) {
  if (typeof value === 'string') {
    yield [value, at];
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* strings(value[i], [...at, i]);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* strings(v, [...at, k]);
  }
}

const REF = {
  var: /(?<![\w.])var\.([A-Za-z_][\w-]*)/g,
  local: /(?<![\w.])local\.([A-Za-z_][\w-]*)/g,
  module: /(?<![\w.])module\.([A-Za-z_][\w-]*)\.([A-Za-z_]\w*)/g,
  data: /(?<![\w.])data\.(aws_\w+)\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.([a-z_]\w*)/g,
  resource: /(?<![\w.])(aws_\w+)\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.([a-z_]\w*)/g,
};

// References in the interpolations of `value` (strings without "${" are
// literals, e.g. descriptions, and are skipped).
function references(value) {
  const refs = { var: [], local: [], module: [], data: [], resource: [] };
  for (const [text] of strings(value)) {
    if (!text.includes('${')) continue;
    for (const [kind, re] of Object.entries(REF)) {
      for (const m of text.matchAll(re)) refs[kind].push(m.slice(1));
    }
  }
  return refs;
}

const isExpression = (v) => typeof v === 'string' && v.startsWith('${') && v.endsWith('}');
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const sameSet = (a, b) => same([...new Set(a)].sort(), [...new Set(b)].sort());

// --- Generic checks -------------------------------------------------------------------

function checkReferences(dir, cfg, fail, { requireUse }) {
  const used = { var: new Set(), local: new Set() };
  const scan = (value, where) => {
    const refs = references(value);
    for (const [name] of refs.var) {
      used.var.add(name);
      if (!(name in cfg.variable)) fail('undeclared-var', `${dir}: ${where} uses var.${name}, which is not declared`);
    }
    for (const [name] of refs.local) {
      used.local.add(name);
      if (!(name in cfg.locals)) fail('undefined-local', `${dir}: ${where} uses local.${name}, which is not defined`);
    }
    for (const [type, name] of refs.resource) {
      if (!(`${type}.${name}` in cfg.resource)) fail('unknown-ref', `${dir}: ${where} refers to ${type}.${name}, which is not declared here`);
    }
    for (const [type, name] of refs.data) {
      if (!(`${type}.${name}` in cfg.data)) fail('unknown-ref', `${dir}: ${where} refers to data.${type}.${name}, which is not declared here`);
    }
    for (const [name] of refs.module) {
      if (!(name in cfg.module)) fail('unknown-ref', `${dir}: ${where} refers to module.${name}, which is not declared here`);
    }
  };
  // A variable's own validation does not count as a use.
  for (const [name, body] of Object.entries(cfg.variable)) {
    for (const v of body.validation ?? []) {
      for (const [ref] of references(v).var) {
        if (ref !== name) fail('undeclared-var', `${dir}: the validation of var.${name} refers to var.${ref} (only Terraform >= 1.9 allows that)`);
      }
    }
  }
  for (const kind of ['resource', 'data', 'output', 'module']) {
    for (const [key, body] of Object.entries(cfg[kind])) scan(body, `${kind} ${key}`);
  }
  for (const [name, value] of Object.entries(cfg.locals)) scan(value, `local.${name}`);
  for (const bodies of Object.values(cfg.provider)) scan(bodies, 'provider');
  if (requireUse) {
    for (const name of Object.keys(cfg.variable)) {
      if (!used.var.has(name)) fail('unused-var', `${dir}: variable "${name}" is declared but never used`);
    }
    for (const name of Object.keys(cfg.locals)) {
      if (!used.local.has(name)) fail('unused-local', `${dir}: local.${name} is defined but never used`);
    }
  }
}

const META = {
  resource: new Set(['count', 'for_each', 'provider', 'depends_on', 'lifecycle', 'provisioner', 'connection']),
  data: new Set(['count', 'for_each', 'provider', 'depends_on', 'lifecycle']),
};
const LIFECYCLE = new Set(['create_before_destroy', 'prevent_destroy', 'ignore_changes',
                           'replace_triggered_by', 'precondition', 'postcondition']);

// Argument and block names against the provider schema.
function checkSchema(dir, cfg, schema, fail) {
  const walk = (node, body, where, meta) => {
    for (const [key, value] of Object.entries(body)) {
      if (meta && meta.has(key)) {
        if (key === 'lifecycle') {
          for (const lc of [].concat(value)) {
            for (const k of Object.keys(lc)) if (!LIFECYCLE.has(k)) fail('schema', `${where}: unknown lifecycle argument "${k}"`);
          }
        }
        continue;
      }
      if (key === 'dynamic') {
        for (const [blockName, dyns] of Object.entries(value)) {
          const child = ProviderSchema.block(node, blockName);
          if (!child) {
            fail('schema', `${where}: dynamic "${blockName}": no such block in the provider schema`);
            continue;
          }
          for (const dyn of dyns) for (const content of dyn.content ?? []) walk(child, content, `${where}.${blockName}`, null);
        }
        continue;
      }
      if (node.attrs.has(key)) continue;
      const child = ProviderSchema.block(node, key);
      if (!child) {
        fail('schema', `${where}: "${key}" is not an argument or block of this type in hashicorp/aws ${schema.providerVersion}`);
        continue;
      }
      if (Array.isArray(value)) {
        for (const item of value) if (item && typeof item === 'object') walk(child, item, `${where}.${key}`, null);
      }
    }
    for (const req of node.required) {
      if (!(req in body)) fail('schema', `${where}: required argument "${req}" is missing`);
    }
  };
  for (const kind of ['resource', 'data']) {
    for (const [key, body] of Object.entries(cfg[kind])) {
      const [type] = key.split('.');
      const root = schema.get(kind, type);
      const where = `${dir}: ${kind === 'data' ? 'data.' : ''}${key}`;
      if (!root) {
        fail('schema', `${where}: hashicorp/aws ${schema.providerVersion} has no ${kind === 'data' ? 'data source' : 'resource'} ${type}`);
        continue;
      }
      walk(root, body, where, META[kind]);
    }
  }
  // Referenced attributes must be exported.
  const refsIn = (value, where) => {
    const refs = references(value);
    for (const [type, name, attr] of refs.resource) {
      const root = schema.get('resource', type);
      if (root && !ProviderSchema.hasAttribute(root, attr)) fail('unknown-ref', `${dir}: ${where}: ${type}.${name}.${attr}: ${type} exports no attribute "${attr}"`);
    }
    for (const [type, name, attr] of refs.data) {
      const root = schema.get('data', type);
      if (root && !ProviderSchema.hasAttribute(root, attr)) fail('unknown-ref', `${dir}: ${where}: data.${type}.${name}.${attr}: ${type} exports no attribute "${attr}"`);
    }
  };
  for (const kind of ['resource', 'data', 'output', 'module']) {
    for (const [key, body] of Object.entries(cfg[kind])) refsIn(body, `${kind} ${key}`);
  }
  for (const [name, value] of Object.entries(cfg.locals)) refsIn(value, `local.${name}`);
}

// --- The module --------------------------------------------------------------------------

const EXPECTED_RESOURCES = [
  'aws_cloudwatch_log_group.this', 'aws_ecs_cluster.this', 'aws_ecr_repository.this', 'aws_ecs_task_definition.this',
  'aws_ecs_service.this', 'aws_security_group.this', 'aws_iam_role.execution',
  'aws_iam_role_policy.execution', 'aws_iam_role.task', 'aws_iam_role_policy.task',
  'aws_dynamodb_table.state',
];
const ALLOWED_DATA_TYPES = ['aws_region', 'aws_caller_identity', 'aws_partition', 'aws_iam_policy_document', 'aws_subnet'];

// Inputs of issues 7 and 16; null = required (no default), NULL_DEFAULT =
// optional with default null (the bot's or the module's own default applies).
const NULL_DEFAULT = Symbol('default null');
const EXPECTED_VARIABLES = {
  name: null, environment: null, vpc_id: null, private_subnets: null,
  // Issue 17: Slack, Discord or both; the Slack tokens optional when Discord's is given.
  slack_bot_token_secret_arn: NULL_DEFAULT, slack_app_token_secret_arn: NULL_DEFAULT,
  discord_bot_token_secret_arn: NULL_DEFAULT, discord_guild_id: NULL_DEFAULT,
  discord_allowed_roles: [], discord_admin_roles: [], discord_allowed_channels: [],
  orchestrator_lambda_arn: null, ip_whitelist_lambda_arn: NULL_DEFAULT, image: NULL_DEFAULT,
  image_tag: 'latest', ecr_repository_arn: NULL_DEFAULT, metrics: 'emf', metrics_interval_seconds: 60,
  notify_channel: NULL_DEFAULT, read_rate_limit: NULL_DEFAULT, min_cidr_prefix_v4: NULL_DEFAULT,
  min_cidr_prefix_v6: NULL_DEFAULT, whitelist_ports: NULL_DEFAULT, whitelist_sweep_seconds: NULL_DEFAULT,
  lambda_timeout_seconds: NULL_DEFAULT, progress_seconds: NULL_DEFAULT, socket_connections: NULL_DEFAULT,
  drain_seconds: NULL_DEFAULT,
  cpu: 256, memory: 512, desired_count: 1,
  audit_channel: '', allowed_users: [], allowed_channels: [], admin_users: [],
  protected_environments: ['prod'], environments: ['dev', 'staging', 'prod'],
  log_retention_days: 30, log_level: 'info', health_port: 8080, tags: {},
  // Issue 18: the shared state table, off by default.
  state_table: false, state_table_name: NULL_DEFAULT, create_state_table: true,
  state_table_created_by_service: false, state_table_kms_key_arn: NULL_DEFAULT,
  state_table_deletion_protection: true,
};
const VALIDATED_VARIABLES = [
  'slack_bot_token_secret_arn', 'slack_app_token_secret_arn', 'orchestrator_lambda_arn',
  'ip_whitelist_lambda_arn', 'vpc_id', 'private_subnets', 'cpu', 'memory', 'log_retention_days',
  'image', 'image_tag', 'metrics', 'metrics_interval_seconds', 'drain_seconds', 'socket_connections',
  'desired_count', 'state_table_name', 'state_table_kms_key_arn',
  'discord_bot_token_secret_arn', 'discord_guild_id', 'discord_allowed_roles', 'discord_admin_roles',
  'discord_allowed_channels',
];
const EXPECTED_OUTPUTS = ['service_name', 'service_arn', 'task_definition_arn', 'security_group_id',
                          'execution_role_arn', 'task_role_arn', 'log_group_name', 'repository_url', 'image'];

function checkLayout(cfg, fail) {
  for (const f of ['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf']) {
    if (!(`${MODULE_DIR}/${f}` in cfg.files)) fail('layout', `${MODULE_DIR}/${f} is missing`);
  }
  for (const [key, file] of Object.entries(cfg.fileOf)) {
    if (key.startsWith('variable.') && !file.endsWith('/variables.tf')) fail('layout', `${key} belongs in variables.tf, not ${file}`);
    if (key.startsWith('output.') && !file.endsWith('/outputs.tf')) fail('layout', `${key} belongs in outputs.tf, not ${file}`);
  }
  const aws = cfg.terraform.flatMap((t) => t.required_providers ?? []).map((p) => p.aws).find(Boolean);
  if (!aws || aws.source !== 'hashicorp/aws' || aws.version !== '~> 5.0') {
    fail('layout', `${MODULE_DIR}: versions.tf must require hashicorp/aws "~> 5.0" (got ${JSON.stringify(aws)})`);
  }
}

function checkVariables(cfg, fail) {
  for (const [name, body] of Object.entries(cfg.variable)) {
    if (typeof body.description !== 'string' || body.description.trim().length < 10) fail('variable-doc', `variable "${name}" needs a description`);
    if (!body.type) fail('variable-doc', `variable "${name}" needs a type`);
  }
  for (const [name, def] of Object.entries(EXPECTED_VARIABLES)) {
    const body = cfg.variable[name];
    if (!body) {
      fail('variable-default', `variable "${name}" (issue 7) is not declared`);
    } else if (def === null ? 'default' in body : def === NULL_DEFAULT ? !('default' in body) || body.default !== null : !same(body.default, def)) {
      const want = def === null ? 'be required (no default)' : `default to ${def === NULL_DEFAULT ? 'null' : JSON.stringify(def)}`;
      fail('variable-default', `variable "${name}" must ${want}, has ${'default' in body ? JSON.stringify(body.default) : 'no default'}`);
    }
  }
  for (const name of VALIDATED_VARIABLES) {
    if (cfg.variable[name] && !(cfg.variable[name].validation ?? []).length) fail('variable-doc', `variable "${name}" needs a validation block`);
  }
}

function checkResources(cfg, fail) {
  const got = Object.keys(cfg.resource);
  const missing = EXPECTED_RESOURCES.filter((r) => !got.includes(r));
  const extra = got.filter((r) => !EXPECTED_RESOURCES.includes(r));
  if (missing.length) fail('resources', `the module lacks ${missing.join(', ')}`);
  if (extra.length) fail('resources', `the module declares unexpected resources: ${extra.join(', ')}`);
  for (const key of Object.keys(cfg.data)) {
    if (!ALLOWED_DATA_TYPES.includes(key.split('.')[0])) fail('resources', `unexpected data source data.${key}`);
  }
  const cluster = cfg.resource['aws_ecs_cluster.this'];
  if (cluster && cluster.count !== '${var.cluster_arn == null ? 1 : 0}') {
    fail('resources', `aws_ecs_cluster.this must be created only when cluster_arn is null (count = var.cluster_arn == null ? 1 : 0)`);
  }
  const repo = cfg.resource['aws_ecr_repository.this'];
  if (repo) {
    if (repo.count !== '${var.image == null ? 1 : 0}') fail('ecr', 'aws_ecr_repository.this must be created only when image is null (count = var.image == null ? 1 : 0)');
    if (repo.name !== '${local.name}') fail('ecr', `aws_ecr_repository.this must be named local.name (<name>-<environment>), got ${JSON.stringify(repo.name)}`);
    if (first(repo.image_scanning_configuration)?.scan_on_push !== true) fail('ecr', 'aws_ecr_repository.this must scan on push');
    if (repo.force_delete !== undefined && repo.force_delete !== '${var.ecr_force_delete}') fail('ecr', 'aws_ecr_repository.this: force_delete only through var.ecr_force_delete');
  }
  checkStateTable(cfg, fail);
  const logs = cfg.resource['aws_cloudwatch_log_group.this'];
  if (logs) {
    const r = logs.retention_in_days;
    const ok = (typeof r === 'number' && r > 0) ||
      (r === '${var.log_retention_days}' && cfg.variable.log_retention_days?.default > 0);
    if (!ok) fail('logs', `aws_cloudwatch_log_group.this needs a retention (retention_in_days = var.log_retention_days), got ${JSON.stringify(r)}`);
  }
}

// Issue 18: the state table. Its schema is read from state_table.json (the
// file the bot's DynamoDbState shares), never repeated in HCL.
const STATE_SCHEMA = '${jsondecode(file("${path.module}/state_table.json"))}';
function checkStateTable(cfg, fail) {
  if (cfg.locals.state_schema !== STATE_SCHEMA) {
    fail('state-table', `local.state_schema must be ${JSON.stringify(STATE_SCHEMA)}, got ${JSON.stringify(cfg.locals.state_schema)}`);
  }
  const t = cfg.resource['aws_dynamodb_table.state'];
  if (!t) return;
  const expect = (ok, message) => { if (!ok) fail('state-table', `aws_dynamodb_table.state: ${message}`); };
  expect(t.count === '${var.state_table && var.create_state_table ? 1 : 0}', `must be created only with state_table and create_state_table (count = var.state_table && var.create_state_table ? 1 : 0), got ${JSON.stringify(t.count)}`);
  expect(t.name === '${local.state_table_name}', 'must be named local.state_table_name');
  expect(t.billing_mode === '${local.state_schema.billing_mode}', `billing_mode must be local.state_schema.billing_mode, got ${JSON.stringify(t.billing_mode)}`);
  expect(t.hash_key === '${local.state_schema.hash_key.name}', `hash_key must be local.state_schema.hash_key.name, got ${JSON.stringify(t.hash_key)}`);
  expect(t.range_key === '${local.state_schema.range_key.name}', `range_key must be local.state_schema.range_key.name, got ${JSON.stringify(t.range_key)}`);
  const attrs = (t.attribute ?? []).map((a) => `${a.name}=${a.type}`).sort();
  expect(same(attrs, ['${local.state_schema.hash_key.name}=${local.state_schema.hash_key.type}', '${local.state_schema.range_key.name}=${local.state_schema.range_key.type}'].sort()),
         `attribute blocks must be the schema's two keys, got ${JSON.stringify(attrs)}`);
  const ttl = first(t.ttl) ?? {};
  expect(ttl.enabled === true && ttl.attribute_name === '${local.state_schema.ttl_attribute}', `ttl must be enabled on local.state_schema.ttl_attribute, got ${JSON.stringify(t.ttl)}`);
  expect(first(t.point_in_time_recovery)?.enabled === true, 'point_in_time_recovery must be enabled');
  const sse = first(t.server_side_encryption) ?? {};
  expect(sse.enabled === true && (sse.kms_key_arn === undefined || sse.kms_key_arn === '${var.state_table_kms_key_arn}'), `server_side_encryption must be enabled (key: var.state_table_kms_key_arn), got ${JSON.stringify(t.server_side_encryption)}`);
  expect(t.deletion_protection_enabled === '${var.state_table_deletion_protection}', 'deletion_protection_enabled must be var.state_table_deletion_protection');
  expect(t.tags === '${var.tags}', 'tags must be var.tags');
  expect(!('read_capacity' in t) && !('write_capacity' in t) && !t.global_secondary_index && !t.local_secondary_index,
         'no provisioned capacity and no index: the bot reads by key and Query on the table only');
  // The schema's names are never written into the module's HCL.
  for (const [file, { text }] of Object.entries(cfg.files)) {
    if (!file.startsWith(`${MODULE_DIR}/`)) continue;
    for (const literal of ['"pk"', '"sk"', '"expires_at"']) {
      if (text.includes(literal)) fail('state-table', `${file} repeats ${literal}: the table's schema comes from state_table.json only`);
    }
  }
}

function checkSecurityGroup(cfg, fail) {
  const sg = cfg.resource['aws_security_group.this'];
  if (!sg) return;
  if (sg.ingress !== undefined && !same(sg.ingress, [])) fail('sg', `security group has ingress ${JSON.stringify(sg.ingress)}; it must have none`);
  if (sg.dynamic?.ingress) fail('sg', 'security group has a dynamic ingress block; it must have none');
  if (sg.vpc_id !== '${var.vpc_id}') fail('sg', `security group must be in var.vpc_id, got ${JSON.stringify(sg.vpc_id)}`);
  const egress = sg.egress;
  if (!Array.isArray(egress) || egress.length === 0) {
    fail('sg', 'security group needs an egress rule for 443 (without one, Terraform leaves AWS\'s allow-all egress)');
    return;
  }
  if (sg.dynamic?.egress) fail('sg', 'security group egress must be static');
  for (const rule of egress) {
    const okPorts = rule.from_port === 443 && rule.to_port === 443 && ['tcp', '6'].includes(String(rule.protocol));
    const okV4 = (rule.cidr_blocks ?? []).every((c) => c === '0.0.0.0/0');
    const okV6 = (rule.ipv6_cidr_blocks ?? []).every((c) => c === '::/0');
    const other = ['security_groups', 'prefix_list_ids', 'self'].filter((k) => k in rule);
    if (!okPorts || !okV4 || !okV6 || other.length) fail('sg', `egress must be tcp 443 to 0.0.0.0/0 and ::/0 only, got ${JSON.stringify(rule)}`);
  }
}

function checkService(cfg, fail) {
  const svc = cfg.resource['aws_ecs_service.this'];
  if (!svc) return;
  const expect = (key, value, why) => {
    if (!same(svc[key], value)) fail('service', `aws_ecs_service.this: ${key} must be ${JSON.stringify(value)} (${why}), got ${JSON.stringify(svc[key])}`);
  };
  expect('launch_type', 'FARGATE', 'Fargate');
  expect('task_definition', '${aws_ecs_task_definition.this.arn}', 'the module\'s task definition');
  expect('desired_count', '${var.desired_count}', 'the input');
  expect('deployment_minimum_healthy_percent', 100, 'the old task runs until the new one is healthy');
  expect('deployment_maximum_percent', 200, 'room for the new task next to the old');
  expect('enable_execute_command', false, 'no shell into the task');
  if ('load_balancer' in svc || svc.dynamic?.load_balancer) fail('service', 'aws_ecs_service.this must have no load_balancer: nothing connects in');
  if ('iam_role' in svc) fail('service', 'aws_ecs_service.this must not set iam_role (load-balancer role)');
  // Issue 18: more than one task only with the state table.
  const preconditions = [].concat(svc.lifecycle ?? []).flatMap((l) => l.precondition ?? []).map((p) => String(p.condition));
  if (!preconditions.includes('${var.desired_count <= 1 || var.state_table}')) {
    fail('service', 'aws_ecs_service.this needs the precondition var.desired_count <= 1 || var.state_table (more than one task only with the shared state)');
  }
  const dc = (cfg.variable.desired_count?.validation ?? []).map((v) => String(v.condition)).join(' ');
  if (!dc.includes('var.desired_count <= 3')) fail('service', 'var.desired_count must be validated to at most 3');
  const nets = svc.network_configuration;
  if (!Array.isArray(nets) || nets.length !== 1) {
    fail('service', 'aws_ecs_service.this needs one network_configuration block');
    return;
  }
  const net = nets[0];
  if (net.assign_public_ip !== false) fail('service', `network_configuration.assign_public_ip must be false, got ${JSON.stringify(net.assign_public_ip)}`);
  if (net.subnets !== '${var.private_subnets}') fail('service', `network_configuration.subnets must be var.private_subnets, got ${JSON.stringify(net.subnets)}`);
  if (!same(net.security_groups, ['${aws_security_group.this.id}'])) fail('service', `network_configuration.security_groups must be exactly the module's group, got ${JSON.stringify(net.security_groups)}`);
}

// Statements of a policy document, static and dynamic (with `dynamic: true`).
function statementsOf(doc) {
  const out = (doc.statement ?? []).map((s) => ({ ...s, dynamic: false }));
  for (const dyn of doc.dynamic?.statement ?? []) {
    for (const content of dyn.content ?? []) out.push({ ...content, dynamic: true, for_each: dyn.for_each });
  }
  return out;
}

const DOC_REF = /^\$\{data\.aws_iam_policy_document\.(\w+)\.json\}$/;

// Locals a statement may take its resources from (a list known only at plan
// time), each with the exact expression it must be: then the statement is
// as checkable as a literal list.
// The chat tokens: each from its ARN input, as a secret of that name.
const TOKEN_SECRETS = [
  { name: 'SLACK_BOT_TOKEN', valueFrom: '${var.slack_bot_token_secret_arn}' },
  { name: 'SLACK_APP_TOKEN', valueFrom: '${var.slack_app_token_secret_arn}' },
  { name: 'DISCORD_BOT_TOKEN', valueFrom: '${var.discord_bot_token_secret_arn}' },
];
const RESOURCE_LOCALS = {
  // The two token ARNs, split by service.
  secret_arns: '${[for arn in local.token_arns : arn if can(regex("^arn:[^:]+:secretsmanager:", arn))]}',
  parameter_arns: '${[for arn in local.token_arns : arn if can(regex("^arn:[^:]+:ssm:", arn))]}',
  // The orchestrator, and the whitelist function only when given.
  lambda_arns: '${var.ip_whitelist_lambda_arn == null ? [var.orchestrator_lambda_arn] : [var.orchestrator_lambda_arn, var.ip_whitelist_lambda_arn]}',
};
const OTHER_LOCALS = {
  // Issue 17: the tokens given, of Slack's two and Discord's.
  token_secrets: TOKEN_SECRETS,
  token_arns: '${[for s in local.token_secrets : s.valueFrom if s.valueFrom != null]}',
  create_repository: '${var.image == null}',
  pull_from_ecr: '${local.create_repository || var.ecr_repository_arn != null || local.image_ecr_arn != null}',
  ecr_repository_arn: '${local.create_repository ? one(aws_ecr_repository.this[*].arn) : var.ecr_repository_arn != null ? var.ecr_repository_arn : local.image_ecr_arn}',
  // The repository of a private ECR image, read off its reference.
  image_ecr_arn: '${local.image_ecr == null ? null : "arn:${data.aws_partition.current.partition}:ecr:${local.image_ecr[1]}:${local.image_ecr[0]}:repository/${local.image_ecr[2]}"}',
  // Issue 18: the module's table, or the named one in this account and region.
  state_table_arn: '${var.create_state_table ? one(aws_dynamodb_table.state[*].arn) : "arn:${data.aws_partition.current.partition}:dynamodb:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:table/${local.state_table_name}"}',
};
const LOCAL_REF = /^\$\{local\.(\w+)\}$/;

function checkIamLocals(cfg, fail) {
  for (const [name, want] of Object.entries({ ...RESOURCE_LOCALS, ...OTHER_LOCALS })) {
    if (!same(cfg.locals[name], want)) fail('iam-locals', `local.${name} must be ${JSON.stringify(want)}, got ${JSON.stringify(cfg.locals[name])}`);
  }
}

// Whether the "*" resource of the ECR login statement is explained in a
// comment right above it in the source.
function wildcardDocumented(cfg) {
  for (const { text } of Object.values(cfg.files)) {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.includes('"ecr:GetAuthorizationToken"'));
    if (at < 0) continue;
    const before = lines.slice(Math.max(0, at - 10), at).filter((l) => /^\s*(#|\/\/)/.test(l)).join('\n');
    if (before.includes('"*"')) return true;
  }
  return false;
}

function checkIam(cfg, fail) {
  const docs = {};
  for (const [key, body] of Object.entries(cfg.data)) {
    const [type, name] = key.split('.');
    if (type === 'aws_iam_policy_document') docs[name] = body;
  }
  const docName = (ref, where) => {
    const m = DOC_REF.exec(ref ?? '');
    if (!m) fail('iam-shape', `${where} must be data.aws_iam_policy_document.<name>.json, got ${JSON.stringify(ref)}`);
    return m ? m[1] : null;
  };

  // Every statement of every document.
  const documented = wildcardDocumented(cfg);
  for (const [name, doc] of Object.entries(docs)) {
    for (const key of ['source_json', 'override_json', 'source_policy_documents', 'override_policy_documents']) {
      if (key in doc) fail('iam-shape', `policy document ${name}: ${key} hides statements from this check`);
    }
    for (const st of statementsOf(doc)) {
      const label = `policy document ${name}, statement ${st.sid ?? '(no sid)'}`;
      if (st.effect !== undefined && st.effect !== 'Allow') fail('iam-shape', `${label}: only Allow statements are expected`);
      for (const key of ['not_actions', 'not_resources', 'not_principals']) {
        if (key in st) fail('iam-wildcard', `${label}: ${key} grants everything else`);
      }
      const actions = st.actions ?? [];
      if (!Array.isArray(actions) || actions.length === 0) fail('iam-shape', `${label}: needs literal actions`);
      for (const a of [].concat(actions)) {
        if (typeof a !== 'string' || a.includes('*') || isExpression(a)) fail('iam-wildcard', `${label}: action ${JSON.stringify(a)} is a wildcard or not a literal`);
      }
      if (st.principals) {
        if ('resources' in st) fail('iam-shape', `${label}: a trust statement has no resources`);
        continue;
      }
      const viaLocal = LOCAL_REF.exec(typeof st.resources === 'string' ? st.resources : '');
      const resources = viaLocal && viaLocal[1] in RESOURCE_LOCALS ? [st.resources] : st.resources;
      if (!Array.isArray(resources) || resources.length === 0) {
        fail('iam-shape', `${label}: needs a literal list of resources, got ${JSON.stringify(resources)}`);
        continue;
      }
      for (const r of resources) {
        if (typeof r !== 'string' || !r.includes('*')) continue;
        const ecrLogin = r === '*' && same(actions, ['ecr:GetAuthorizationToken']);
        const logStreams = r === '${aws_cloudwatch_log_group.this.arn}:*';
        if (ecrLogin && !documented) fail('iam-wildcard', `${label}: the "*" resource of ecr:GetAuthorizationToken must be explained in a comment above it`);
        if (!ecrLogin && !logStreams) fail('iam-wildcard', `${label}: resource ${JSON.stringify(r)} is a wildcard (only ecr:GetAuthorizationToken may use "*")`);
      }
    }
  }

  // Roles: trust, one inline policy each, nothing attached.
  const roles = { execution: cfg.resource['aws_iam_role.execution'], task: cfg.resource['aws_iam_role.task'] };
  const policyOf = {};
  for (const [role, body] of Object.entries(roles)) {
    if (!body) continue;
    for (const key of ['managed_policy_arns', 'inline_policy', 'permissions_boundary']) {
      if (key in body) fail('iam-shape', `aws_iam_role.${role}: ${key} is not expected (one aws_iam_role_policy per role)`);
    }
    const trust = docs[docName(body.assume_role_policy, `aws_iam_role.${role}.assume_role_policy`)];
    if (trust) {
      const sts = statementsOf(trust);
      const ok = sts.length > 0 && sts.every((s) =>
        same(s.actions, ['sts:AssumeRole']) && !s.dynamic &&
        same(s.principals, [{ identifiers: ['ecs-tasks.amazonaws.com'], type: 'Service' }]));
      if (!ok) fail('iam-trust', `aws_iam_role.${role} must be assumable by ecs-tasks.amazonaws.com only`);
    }
    const attachment = cfg.resource[`aws_iam_role_policy.${role}`];
    if (attachment) {
      if (attachment.role !== `\${aws_iam_role.${role}.id}` && attachment.role !== `\${aws_iam_role.${role}.name}`) {
        fail('iam-shape', `aws_iam_role_policy.${role} must attach to aws_iam_role.${role}`);
      }
      policyOf[role] = docs[docName(attachment.policy, `aws_iam_role_policy.${role}.policy`)];
    }
  }

  // Task role: lambda:InvokeFunction on exactly the two functions and
  // (issue 18) the state table's item actions on exactly its ARN.
  if (policyOf.task) {
    const all = statementsOf(policyOf.task);
    const isState = (s) => (s.actions ?? []).some((a) => String(a).startsWith('dynamodb:'));
    const sts = all.filter((s) => !isState(s));
    const actions = sts.flatMap((s) => s.actions ?? []);
    const resources = sts.flatMap((s) => [].concat(s.resources ?? []));
    if (sts.some((s) => s.dynamic || s.condition)) fail('iam-task', 'task role statements must be static and unconditional');
    const stateGrants = [
      { actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
        when: '${var.state_table ? [1] : []}' },
      { actions: ['dynamodb:CreateTable', 'dynamodb:UpdateTimeToLive', 'dynamodb:DescribeTimeToLive'],
        when: '${var.state_table && var.state_table_created_by_service ? [1] : []}' },
    ];
    const stateSts = all.filter(isState);
    for (const st of stateSts) {
      const grant = stateGrants.find((g) => sameSet(st.actions ?? [], g.actions) && (st.actions ?? []).length === g.actions.length);
      if (!grant) {
        fail('iam-task', `task role: DynamoDB actions ${JSON.stringify(st.actions)} are neither the state table's item actions nor CreateTable/UpdateTimeToLive/DescribeTimeToLive`);
        continue;
      }
      if (!st.dynamic || st.for_each !== grant.when) fail('iam-task', `task role: ${grant.actions[0]} & co. must be granted only when ${grant.when} (a dynamic statement), got ${JSON.stringify(st.for_each)}`);
      if (!same(st.resources, ['${local.state_table_arn}'])) fail('iam-task', `task role: ${grant.actions[0]} & co. must be on exactly [local.state_table_arn], got ${JSON.stringify(st.resources)}`);
      if (st.condition) fail('iam-task', 'task role: the state table statements take no condition');
    }
    if (stateSts.length !== stateGrants.length) fail('iam-task', `task role: expected ${stateGrants.length} state table statements (item actions; CreateTable when the bot creates it), found ${stateSts.length}`);
    if (!sameSet(actions, ['lambda:InvokeFunction'])) fail('iam-task', `task role may only lambda:InvokeFunction, has ${JSON.stringify(actions)}`);
    if (!same(resources, ['${local.lambda_arns}'])) {
      fail('iam-task', `task role must invoke exactly local.lambda_arns (the orchestrator, and the whitelist function when given), has ${JSON.stringify(resources)}`);
    }
  } else {
    fail('iam-task', 'no policy document found for the task role');
  }

  // Execution role: the two secrets, its log streams, optional KMS and ECR.
  if (policyOf.execution) {
    const sts = statementsOf(policyOf.execution);
    const allowed = {
      'secretsmanager:GetSecretValue': ['${local.secret_arns}'],
      'ssm:GetParameters': ['${local.parameter_arns}'],
      'logs:CreateLogStream': ['${aws_cloudwatch_log_group.this.arn}:*'],
      'logs:PutLogEvents': ['${aws_cloudwatch_log_group.this.arn}:*'],
      'kms:Decrypt': ['${var.secrets_kms_key_arn}'],
      'ecr:GetAuthorizationToken': ['*'],
      'ecr:BatchGetImage': ['${local.ecr_repository_arn}'],
      'ecr:GetDownloadUrlForLayer': ['${local.ecr_repository_arn}'],
      'ecr:BatchCheckLayerAvailability': ['${local.ecr_repository_arn}'],
    };
    // Each optional statement only when its condition holds.
    const onlyWhen = {
      'secretsmanager:GetSecretValue': 'length(local.secret_arns) > 0',
      'ssm:GetParameters': 'length(local.parameter_arns) > 0',
      'kms:Decrypt': 'var.secrets_kms_key_arn == null',
      'ecr:GetAuthorizationToken': 'local.pull_from_ecr',
      'ecr:BatchGetImage': 'local.pull_from_ecr',
      'ecr:GetDownloadUrlForLayer': 'local.pull_from_ecr',
      'ecr:BatchCheckLayerAvailability': 'local.pull_from_ecr',
    };
    const granted = {};
    for (const st of sts) {
      for (const action of st.actions ?? []) {
        if (!(action in allowed)) {
          fail('iam-execution', `execution role may not ${action}`);
          continue;
        }
        granted[action] = [...(granted[action] ?? []), ...[].concat(st.resources ?? [])];
        if (action in onlyWhen && (!st.dynamic || !String(st.for_each).includes(onlyWhen[action]))) {
          fail('iam-execution', `execution role: ${action} must be granted only when ${onlyWhen[action]} (a dynamic statement)`);
        }
      }
    }
    for (const [action, resources] of Object.entries(granted)) {
      if (!sameSet(resources, allowed[action]) || resources.length !== allowed[action].length) {
        fail('iam-execution', `execution role: ${action} must be on exactly ${JSON.stringify(allowed[action])}, is on ${JSON.stringify(resources)}`);
      }
    }
    for (const needed of ['secretsmanager:GetSecretValue', 'ssm:GetParameters', 'logs:CreateLogStream', 'logs:PutLogEvents',
                          'ecr:GetAuthorizationToken', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability']) {
      if (!(needed in granted)) fail('iam-execution', `execution role lacks ${needed}`);
    }
  } else {
    fail('iam-execution', 'no policy document found for the execution role');
  }
}

const TOKEN_NAME = /TOKEN|SECRET|PASSWORD|ACCESS_KEY/;

function appEnvironmentNames(project) {
  const names = new Set();
  const scan = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) scan(full);
      else if (/\.(cpp|hpp)$/.test(entry.name)) {
        for (const m of fs.readFileSync(full, 'utf8').matchAll(/"([A-Z][A-Z0-9_]+)"/g)) names.add(m[1]);
      }
    }
  };
  scan(path.join(project, 'lib'));
  scan(path.join(project, 'app'));
  return names;
}

// The container, its environment as a map, and where they came from.
function containerOf(cfg, fail) {
  const td = cfg.resource['aws_ecs_task_definition.this'];
  if (!td) return null;
  const m = /^\$\{jsonencode\(\[local\.(\w+)\]\)\}$/.exec(td.container_definitions ?? '');
  if (!m || !cfg.locals[m[1]] || typeof cfg.locals[m[1]] !== 'object') {
    fail('container', 'container_definitions must be jsonencode([local.<container>]) with the container as an object literal, so it can be checked');
    return null;
  }
  const container = cfg.locals[m[1]];
  let environment = null;
  if (Array.isArray(container.environment)) {
    environment = Object.fromEntries(container.environment.map((e) => [e.name, e.value]));
  } else {
    const e = /^\$\{\[for (\w+), (\w+) in local\.(\w+) : \{ ?name = \1, value = \2 ?\}( if (\2 != null && )?\2 != "")?\]\}$/.exec(container.environment ?? '');
    if (e && cfg.locals[e[3]] && typeof cfg.locals[e[3]] === 'object') environment = cfg.locals[e[3]];
  }
  if (!environment) fail('container', `the container's environment must be a literal list or a for over a local map, got ${JSON.stringify(container.environment)}`);
  return { td, container, environment: environment ?? {} };
}

function checkTaskDefinition(cfg, project, fail) {
  const found = containerOf(cfg, fail);
  if (!found) return;
  const { td, container: c, environment } = found;
  const expectTd = (key, value) => {
    if (!same(td[key], value)) fail('task', `aws_ecs_task_definition.this: ${key} must be ${JSON.stringify(value)}, got ${JSON.stringify(td[key])}`);
  };
  expectTd('requires_compatibilities', ['FARGATE']);
  expectTd('network_mode', 'awsvpc');
  expectTd('execution_role_arn', '${aws_iam_role.execution.arn}');
  expectTd('task_role_arn', '${aws_iam_role.task.arn}');
  expectTd('cpu', '${tostring(var.cpu)}');
  expectTd('memory', '${tostring(var.memory)}');
  const platform = (td.runtime_platform ?? [])[0] ?? {};
  if (platform.operating_system_family !== 'LINUX' || !['X86_64', 'ARM64', '${var.cpu_architecture}'].includes(platform.cpu_architecture)) {
    fail('task', `runtime_platform must be LINUX on X86_64/ARM64, got ${JSON.stringify(platform)}`);
  }

  const expect = (ok, message) => { if (!ok) fail('container', message); };
  expect(c.name === 'infra-bot', `container name must be "infra-bot", got ${JSON.stringify(c.name)}`);
  const image = c.image === '${local.image}' ? cfg.locals.image : null;
  expect(typeof image === 'string' && image.includes(': var.image}') && image.includes('local.create_repository ?') &&
         image.includes('${local.repository_url}') && image.includes('${var.image_tag}'),
         `container image must be local.image (var.image, or <the module's repository URL>:<image_tag> when it is null), got ${JSON.stringify(c.image)} = ${JSON.stringify(image)}`);
  expect(same(c.command, ['run']), `container command must be ["run"], got ${JSON.stringify(c.command)}`);
  expect(c.essential !== false, 'the container must be essential');
  expect(c.privileged !== true, 'the container must not be privileged');

  // Tokens: from Secrets Manager or SSM, never in the plain environment;
  // (issue 17) those of local.token_secrets that are given.
  const secretsFor = '${[for s in local.token_secrets : s if s.valueFrom != null]}';
  if (c.secrets !== secretsFor || !same(cfg.locals.token_secrets, TOKEN_SECRETS)) {
    fail('container-secrets', `container secrets must be ${secretsFor} with local.token_secrets = SLACK_BOT_TOKEN, SLACK_APP_TOKEN and DISCORD_BOT_TOKEN from their ARN inputs, got ${JSON.stringify(c.secrets)} and ${JSON.stringify(cfg.locals.token_secrets)}`);
  }
  // The chats: at least one, Slack's two tokens together, Discord with its guild and its gate.
  const tdPreconditions = [].concat(td.lifecycle ?? []).flatMap((l) => l.precondition ?? []).map((p) => String(p.condition));
  for (const want of [
    '${var.slack_bot_token_secret_arn != null || var.discord_bot_token_secret_arn != null}',
    '${(var.slack_bot_token_secret_arn == null) == (var.slack_app_token_secret_arn == null)}',
    '${var.discord_bot_token_secret_arn == null || var.discord_guild_id != null}',
  ]) {
    if (!tdPreconditions.includes(want)) fail('container-secrets', `aws_ecs_task_definition.this needs the precondition ${want}`);
  }
  for (const name of Object.keys(environment)) {
    if (TOKEN_NAME.test(name)) fail('container-secrets', `${name} is in the plain environment; tokens and keys come from secrets only`);
  }
  for (const [name, value] of Object.entries(environment)) {
    if (typeof value === 'string' && /(xoxb|xapp|xoxp)-/.test(value)) fail('container-secrets', `${name} holds what looks like a Slack token`);
  }

  // Environment: design §6 names, every one read by the app.
  const expectEnv = {
    INFRA_BACKEND: (v) => v === 'lambda',
    ORCHESTRATOR_LAMBDA_ARN: (v) => v === '${var.orchestrator_lambda_arn}',
    IP_WHITELIST_LAMBDA_ARN: (v) => v === '${var.ip_whitelist_lambda_arn}',
    AWS_REGION: (v) => v === '${data.aws_region.current.name}',
    INFRA_AUDIT_CHANNEL: (v) => v === '${var.audit_channel}',
    INFRA_ALLOWED_USERS: (v) => v === '${join(",", var.allowed_users)}',
    INFRA_ALLOWED_CHANNELS: (v) => v === '${join(",", var.allowed_channels)}',
    INFRA_ADMIN_USERS: (v) => v === '${join(",", var.admin_users)}',
    // Issue 17: Discord's server and gates.
    DISCORD_GUILD_ID: (v) => v === '${var.discord_guild_id}',
    INFRA_DISCORD_ALLOWED_ROLES: (v) => v === '${join(",", var.discord_allowed_roles)}',
    INFRA_DISCORD_ADMIN_ROLES: (v) => v === '${join(",", var.discord_admin_roles)}',
    INFRA_DISCORD_ALLOWED_CHANNELS: (v) => v === '${join(",", var.discord_allowed_channels)}',
    INFRA_ENVIRONMENTS: (v) => v === '${join(",", var.environments)}',
    INFRA_PROTECTED_ENVIRONMENTS: (v) => typeof v === 'string' && v.includes('join(",", var.protected_environments)'),
    INFRA_HEALTH_PORT: (v) => v === '${tostring(var.health_port)}',
    LOG_FORMAT: (v) => v === 'json',
    LOG_LEVEL: (v) => v === '${var.log_level}',
    INFRA_METRICS: (v) => v === '${var.metrics}',
    INFRA_METRICS_INTERVAL_SECONDS: (v) => v === '${var.metrics_interval_seconds == null ? null : tostring(var.metrics_interval_seconds)}',
    // Issue 18: only with the state table.
    INFRA_STATE_TABLE: (v) => v === '${var.state_table ? local.state_table_name : null}',
    INFRA_STATE_CREATE_TABLE: (v) => v === '${var.state_table && var.state_table_created_by_service ? "true" : null}',
  };
  for (const [name, ok] of Object.entries(expectEnv)) {
    if (!(name in environment)) fail('container-env', `the container's environment lacks ${name}`);
    else if (!ok(environment[name])) fail('container-env', `${name} has an unexpected value ${JSON.stringify(environment[name])}`);
  }
  const known = appEnvironmentNames(project);
  for (const name of Object.keys(environment)) {
    if (!known.has(name)) fail('container-env', `${name} is not a variable infra-bot reads (no "${name}" in lib/ or app/)`);
  }

  // Health check: `infra-bot healthcheck` (exit 0 iff /readyz is OK).
  const hc = c.healthCheck ?? {};
  const cmd = hc.command ?? [];
  const callsHealthcheck = same(cmd, ['CMD', 'infra-bot', 'healthcheck']) ||
    (cmd[0] === 'CMD-SHELL' && /(^|\s|\/)infra-bot healthcheck(\s|$)/.test(cmd[1] ?? ''));
  expect(callsHealthcheck, `healthCheck.command must run \`infra-bot healthcheck\`, got ${JSON.stringify(cmd)}`);
  for (const key of ['interval', 'timeout', 'retries', 'startPeriod']) {
    expect(typeof hc[key] === 'number', `healthCheck.${key} must be set to a number`);
  }
  expect(!(hc.timeout >= hc.interval), 'healthCheck.timeout must be below its interval');

  // Shutdown: SIGTERM, the app drains for 25 s (design §6), then SIGKILL.
  // INFRA_DRAIN_SECONDS unset: the bot's 25; from var.drain_seconds: its
  // validation's bound, which must be 25.
  const drainVar = isExpression(environment.INFRA_DRAIN_SECONDS ?? '');
  if (drainVar && !(cfg.variable.drain_seconds?.validation ?? []).some((v) => String(v.condition).includes('var.drain_seconds <= 25'))) {
    fail('container', 'var.drain_seconds must be validated to at most 25 (under the 30 s stopTimeout)');
  }
  const drain = drainVar ? 25 : Number(environment.INFRA_DRAIN_SECONDS ?? 25);
  expect(typeof c.stopTimeout === 'number' && c.stopTimeout > drain && c.stopTimeout <= 30,
         `stopTimeout must be above the ${drain} s drain and at most 30, got ${JSON.stringify(c.stopTimeout)}`);

  // Hardening.
  expect(c.readonlyRootFilesystem === true, 'readonlyRootFilesystem must be true');
  expect(c.linuxParameters?.initProcessEnabled === true, 'linuxParameters.initProcessEnabled must be true');
  const user = c.user;
  const userVar = /^\$\{var\.(\w+)\}$/.exec(user ?? '');
  const userValue = userVar ? cfg.variable[userVar[1]]?.default : user;
  const userValidated = !userVar || (cfg.variable[userVar[1]]?.validation ?? []).length > 0;
  expect(typeof userValue === 'string' && /^[0-9]+(:[0-9]+)?$/.test(userValue) && !/^0+(:|$)/.test(userValue) && userValidated,
         `the container must run as a numeric non-root user (validated), got user ${JSON.stringify(user)} = ${JSON.stringify(userValue)}`);
  expect(!c.portMappings || c.portMappings.length === 0, 'no port mappings: the bot only connects out');

  // Logs: awslogs into the module's group.
  const lc = c.logConfiguration ?? {};
  expect(lc.logDriver === 'awslogs', `logConfiguration.logDriver must be awslogs, got ${JSON.stringify(lc.logDriver)}`);
  expect(lc.options?.['awslogs-group'] === '${aws_cloudwatch_log_group.this.name}', 'awslogs-group must be the module\'s log group');
  expect(typeof lc.options?.['awslogs-region'] === 'string' && typeof lc.options?.['awslogs-stream-prefix'] === 'string',
         'awslogs-region and awslogs-stream-prefix must be set');
}

// Renders a parsed HCL value as a TypeScript literal; Terraform expressions
// ("${…}", known only at plan time) become `tf` (typed any).
function tsLiteral(value, indent = '') {
  const next = `${indent}  `;
  if (typeof value === 'string') return value.includes('${') ? 'tf' : JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${next}${tsLiteral(v, next)}`).join(',\n')},\n${indent}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${next}${JSON.stringify(k)}: ${tsLiteral(v, next)}`).join(',\n')},\n${indent}}`;
  }
  return JSON.stringify(value);
}

const tscCache = new Map();

function checkContainerTypes(cfg, options, fail) {
  const found = containerOf(cfg, () => {});
  if (!found) return;
  const container = { ...found.container };
  container.environment = Object.entries(found.environment).map(([name, value]) => ({ name, value }));
  const source = [
    '// Generated by tests/deploy/terraform_check.mjs: the container definition of',
    '// deploy/terraform/modules/slack-bot as an object literal, so that tsc\'s',
    '// excess-property checks reject any key ECS does not know.',
    // The models file alone: the package's index pulls in the whole client.
    "import type { ContainerDefinition } from '@aws-sdk/client-ecs/dist-types/models/models_0';",
    '',
    '// A Terraform expression: its value is only known at plan time.',
    'declare const tf: any;',
    '',
    `export const container: ContainerDefinition = ${tsLiteral(container)};`,
    '',
  ].join('\n');
  if (!tscCache.has(source)) {
    tscCache.set(source, typecheck({ modules: options.modules, work: path.join(options.work, 'container'), name: 'container.ts', source }));
  }
  const result = tscCache.get(source);
  if (!result.ok) fail('container-types', `the container definition does not type-check as @aws-sdk/client-ecs ContainerDefinition:\n${result.output}`);
}

function checkOutputs(cfg, fail) {
  for (const name of EXPECTED_OUTPUTS) {
    if (!cfg.output[name]) fail('outputs', `output "${name}" is missing`);
  }
  for (const [name, body] of Object.entries(cfg.output)) {
    if (typeof body.description !== 'string' || body.description.length < 10) fail('outputs', `output "${name}" needs a description`);
    if (!isExpression(body.value)) fail('outputs', `output "${name}" needs a value`);
  }
}

// deploy/terraform/README.md documents every input and output (the full
// table is the module's README; this one may link to it for the rest).
function checkReadme(cfg, readme, fail) {
  if (!readme) {
    fail('readme', 'deploy/terraform/README.md is missing');
    return;
  }
  const linked = readme.includes('modules/slack-bot/README.md');
  for (const [kind, names] of [['input', Object.keys(cfg.variable)], ['output', Object.keys(cfg.output)]]) {
    for (const name of names) {
      if (!readme.includes(`| \`${name}\` |`) && !(linked && readme.includes(`\`${name}\``))) {
        fail('readme', `deploy/terraform/README.md does not document the ${kind} \`${name}\` (a table row "| \`${name}\` | …", or a mention next to a link to modules/slack-bot/README.md)`);
      }
    }
  }
  if (!linked) fail('readme', 'deploy/terraform/README.md must link to modules/slack-bot/README.md (the full inputs table)');
}

// A variable's type and default as the module README writes them: the type
// as in variables.tf, the default as HCL (`"emf"`, `null`, `["dev", "prod"]`)
// or "required".
const hclType = (type) => String(type ?? '').replace(/^\$\{(.*)\}$/s, '$1');
function hclValue(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(hclValue).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${k} = ${hclValue(v)}`).join(', ')} }`;
  }
  return JSON.stringify(value);
}
const cells = (line) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
const unquote = (cell) => cell.replace(/^`(.*)`$/s, '$1');

// The table under `## heading`: its header cells and its rows, by first cell.
function readmeTable(text, heading) {
  const at = text.indexOf(`\n## ${heading}\n`);
  if (at < 0) return null;
  const end = text.indexOf('\n## ', at + heading.length + 4);
  const lines = text.slice(at, end < 0 ? text.length : end).split('\n').filter((l) => l.trim().startsWith('|'));
  if (lines.length < 2) return null;
  const rows = new Map();
  for (const line of lines.slice(2)) {
    const row = cells(line);
    rows.set(unquote(row[0]), row);
  }
  return { header: cells(lines[0]).map((c) => c.toLowerCase()), rows };
}

// modules/slack-bot/README.md: "## Inputs" (name | type | default |
// description) has one row per variable, with its type and default, and
// "## Outputs" (name | description) one row per output; no row for anything
// that is not declared.
function checkModuleReadme(cfg, text, fail) {
  if (!text) {
    fail('module-readme', `deploy/terraform/${MODULE_DIR}/README.md is missing`);
    return;
  }
  const inputs = readmeTable(text, 'Inputs');
  const outputs = readmeTable(text, 'Outputs');
  if (!inputs || !same(inputs.header, ['name', 'type', 'default', 'description'])) {
    fail('module-readme', `${MODULE_DIR}/README.md needs a "## Inputs" table with the columns name | type | default | description`);
  } else {
    for (const [name, body] of Object.entries(cfg.variable)) {
      const row = inputs.rows.get(name);
      if (!row) {
        fail('module-readme', `${MODULE_DIR}/README.md: the Inputs table has no row for \`${name}\``);
        continue;
      }
      const [, type, def, description] = row;
      const wantDefault = 'default' in body ? hclValue(body.default) : 'required';
      if (unquote(type) !== hclType(body.type)) fail('module-readme', `${MODULE_DIR}/README.md: \`${name}\` has the type ${type}, variables.tf says ${hclType(body.type)}`);
      if (unquote(def) !== wantDefault) fail('module-readme', `${MODULE_DIR}/README.md: \`${name}\` has the default ${def}, variables.tf says ${wantDefault}`);
      if (!description || description.length < 10) fail('module-readme', `${MODULE_DIR}/README.md: \`${name}\` needs a description`);
    }
    for (const name of inputs.rows.keys()) {
      if (!(name in cfg.variable)) fail('module-readme', `${MODULE_DIR}/README.md: the Inputs table lists \`${name}\`, which variables.tf does not declare`);
    }
  }
  if (!outputs || !same(outputs.header, ['name', 'description'])) {
    fail('module-readme', `${MODULE_DIR}/README.md needs a "## Outputs" table with the columns name | description`);
  } else {
    for (const name of Object.keys(cfg.output)) {
      const row = outputs.rows.get(name);
      if (!row) fail('module-readme', `${MODULE_DIR}/README.md: the Outputs table has no row for \`${name}\``);
      else if (!row[1] || row[1].length < 10) fail('module-readme', `${MODULE_DIR}/README.md: output \`${name}\` needs a description`);
    }
    for (const name of outputs.rows.keys()) {
      if (!(name in cfg.output)) fail('module-readme', `${MODULE_DIR}/README.md: the Outputs table lists \`${name}\`, which outputs.tf does not declare`);
    }
  }
}

// --- The example ------------------------------------------------------------------------

function checkExample(example, module, fail) {
  const call = example.module.slack_bot;
  if (!call) {
    fail('example', `${EXAMPLE_DIR} must call module "slack_bot"`);
    return;
  }
  if (call.source !== `../../${MODULE_DIR}`) fail('example', `module "slack_bot" source must be "../../${MODULE_DIR}", got ${JSON.stringify(call.source)}`);
  const inputs = Object.keys(call).filter((k) => !['source', 'version', 'providers', 'depends_on', 'count', 'for_each'].includes(k));
  for (const [name, body] of Object.entries(module.variable)) {
    if (!('default' in body) && !inputs.includes(name)) fail('example', `module "slack_bot" does not pass the required input "${name}"`);
  }
  for (const name of inputs) {
    if (!(name in module.variable)) fail('example', `module "slack_bot" passes "${name}", which the module does not declare`);
  }
  for (const [input, res] of [['slack_bot_token_secret_arn', 'slack_bot_token'], ['slack_app_token_secret_arn', 'slack_app_token']]) {
    if (call[input] !== `\${aws_secretsmanager_secret.${res}.arn}`) fail('example', `${input} must be aws_secretsmanager_secret.${res}.arn, got ${JSON.stringify(call[input])}`);
  }
  for (const key of Object.keys(example.resource)) {
    if (key.startsWith('aws_secretsmanager_secret_version.')) fail('example', `${key}: token values must be set out of band, never in Terraform`);
  }
  if (!example.provider.aws) fail('example', `${EXAMPLE_DIR} needs a provider "aws" block`);
  const text = Object.entries(example.files).filter(([f]) => f.startsWith(EXAMPLE_DIR)).map(([, v]) => v.text).join('\n');
  if (!text.includes('aws secretsmanager put-secret-value')) fail('example', `${EXAMPLE_DIR} must say how to set the secret values (aws secretsmanager put-secret-value)`);
  for (const [name, attr] of references(example).module) {
    if (name === 'slack_bot' && !(attr in module.output)) fail('example', `module.slack_bot.${attr} is not an output of the module`);
  }
}

// --- The orchestrator module (issue 13) -------------------------------------------------
//
// modules/orchestrator: two Lambda functions from the bot's image running
// `infra-bot lambda`, each with its own log group and role. Its two
// tag-scoped policy documents must be, statement for statement, the goldens
// of aws::tag_scoped_policy_json in tests/deploy/iam-policies (this check
// compares the HCL with them; terraform_validate.sh compares the provider's
// rendering of it).

const ORCH_DIR = 'modules/orchestrator';
const ORCH_EXAMPLE_DIR = 'examples/aws-lambdas';
const ORCH_ROLES = ['orchestrator', 'whitelist'];
const ORCH_RESOURCES = [
  'aws_cloudwatch_log_group.orchestrator', 'aws_cloudwatch_log_group.whitelist',
  'aws_lambda_function.orchestrator', 'aws_lambda_function.whitelist',
  'aws_iam_role.orchestrator', 'aws_iam_role.whitelist',
  'aws_iam_role_policy.orchestrator', 'aws_iam_role_policy.whitelist',
  'aws_iam_role_policy.orchestrator_logs', 'aws_iam_role_policy.whitelist_logs',
];
const ORCH_VARIABLES = {
  name: null, environment: null, image_uri: null,
  environments: ['dev', 'staging', 'prod'], protected_environments: ['prod'], tag_key: 'Environment',
  whitelist_ports: [80, 443, 7233], orchestrator_timeout: 900, whitelist_timeout: 60,
  architecture: 'x86_64', memory_size: 256, log_retention_days: 30, log_level: 'info', tags: {},
};
const ORCH_VALIDATED = ['name', 'environment', 'image_uri', 'environments', 'tag_key', 'whitelist_ports',
                        'orchestrator_timeout', 'whitelist_timeout', 'log_retention_days'];
const ORCH_OUTPUTS = {
  orchestrator_lambda_arn: '${aws_lambda_function.orchestrator.arn}',
  ip_whitelist_lambda_arn: '${aws_lambda_function.whitelist.arn}',
};
// What `infra-bot lambda` reads (besides INFRA_LAMBDA_ROLE, set per function).
const ORCH_ENVIRONMENT = ['INFRA_ENVIRONMENTS', 'INFRA_PROTECTED_ENVIRONMENTS', 'INFRA_TAG_KEY', 'INFRA_WHITELIST_PORTS', 'LOG_FORMAT', 'LOG_LEVEL'];

// The golden statement as the HCL must write it: ARNs through
// local.arn_prefix, the environment tag key through local.env_tag, the
// environment lists through the variables.
function expectedHclStatement(golden) {
  const list = (v) => [].concat(v);
  const resources = list(golden.Resource).map((r) => {
    if (r === '*') return '*';
    const m = /^arn:[^:]+:([^:]+):[^:]*:[^:]*:(.*)$/.exec(r);
    return m ? `\${local.arn_prefix.${m[1]}}:${m[2]}` : r;
  });
  const conditions = [];
  for (const [test, keys] of Object.entries(golden.Condition ?? {})) {
    for (const [key, values] of Object.entries(keys)) {
      const envKey = /^aws:ResourceTag\/(?!infra-bot:)/.test(key);
      conditions.push({
        test,
        variable: envKey ? '${local.env_tag}' : key,
        values: envKey ? (golden.Effect === 'Deny' ? '${var.protected_environments}' : '${var.environments}') : list(values),
      });
    }
  }
  const sortBy = (c) => `${c.test} ${c.variable}`;
  return {
    sid: golden.Sid, effect: golden.Effect, actions: list(golden.Action).slice().sort(), resources: resources.sort(),
    conditions: conditions.sort((a, b) => sortBy(a).localeCompare(sortBy(b))),
  };
}

function hclStatement(st) {
  const conditions = (st.condition ?? []).map((c) => ({ test: c.test, variable: c.variable, values: c.values }));
  const sortBy = (c) => `${c.test} ${c.variable}`;
  return {
    sid: st.sid, effect: st.effect ?? 'Allow', actions: [].concat(st.actions ?? []).slice().sort(),
    resources: [].concat(st.resources ?? []).slice().sort(),
    conditions: conditions.sort((a, b) => sortBy(a).localeCompare(sortBy(b))),
  };
}

function checkOrchestrator(cfg, input, fail) {
  // Layout.
  for (const f of ['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf']) {
    if (!(`${ORCH_DIR}/${f}` in cfg.files)) fail('orch-layout', `${ORCH_DIR}/${f} is missing`);
  }
  const aws = cfg.terraform.flatMap((t) => t.required_providers ?? []).map((p) => p.aws).find(Boolean);
  if (!aws || aws.source !== 'hashicorp/aws' || aws.version !== '~> 5.0') fail('orch-layout', `${ORCH_DIR}: versions.tf must require hashicorp/aws "~> 5.0"`);

  // Variables.
  for (const [name, body] of Object.entries(cfg.variable)) {
    if (typeof body.description !== 'string' || body.description.trim().length < 10) fail('orch-variables', `${ORCH_DIR}: variable "${name}" needs a description`);
    if (!body.type) fail('orch-variables', `${ORCH_DIR}: variable "${name}" needs a type`);
  }
  for (const [name, def] of Object.entries(ORCH_VARIABLES)) {
    const body = cfg.variable[name];
    if (!body) fail('orch-variables', `${ORCH_DIR}: variable "${name}" is not declared`);
    else if (def === null ? 'default' in body : !same(body.default, def)) {
      fail('orch-variables', `${ORCH_DIR}: variable "${name}" must ${def === null ? 'be required' : `default to ${JSON.stringify(def)}`}, has ${JSON.stringify(body.default)}`);
    }
  }
  for (const name of ORCH_VALIDATED) {
    if (cfg.variable[name] && !(cfg.variable[name].validation ?? []).length) fail('orch-variables', `${ORCH_DIR}: variable "${name}" needs a validation block`);
  }
  const orchTimeout = cfg.variable.orchestrator_timeout?.default;
  const wlTimeout = cfg.variable.whitelist_timeout?.default;
  if (!(orchTimeout <= 900) || !(wlTimeout < orchTimeout)) fail('orch-variables', `${ORCH_DIR}: the orchestrator's timeout must be at most Lambda's 900 s and the whitelist's shorter (got ${orchTimeout} and ${wlTimeout})`);

  // Resources.
  const got = Object.keys(cfg.resource);
  const missing = ORCH_RESOURCES.filter((r) => !got.includes(r));
  const extra = got.filter((r) => !ORCH_RESOURCES.includes(r));
  if (missing.length) fail('orch-resources', `${ORCH_DIR} lacks ${missing.join(', ')}`);
  if (extra.length) fail('orch-resources', `${ORCH_DIR} declares unexpected resources: ${extra.join(', ')}`);
  for (const key of Object.keys(cfg.data)) {
    if (!ALLOWED_DATA_TYPES.includes(key.split('.')[0])) fail('orch-resources', `${ORCH_DIR}: unexpected data source data.${key}`);
  }

  // The functions' shared environment.
  const env = cfg.locals.environment;
  if (!env || typeof env !== 'object') {
    fail('orch-function', `${ORCH_DIR}: local.environment (the functions' shared environment) is missing`);
  } else {
    for (const k of ORCH_ENVIRONMENT) if (!(k in env)) fail('orch-function', `${ORCH_DIR}: local.environment lacks ${k}`);
    for (const k of Object.keys(env)) {
      if (!ORCH_ENVIRONMENT.includes(k)) fail('orch-function', `${ORCH_DIR}: local.environment sets ${k}, which infra-bot lambda does not read (no Slack token, no Lambda ARN: the functions call neither)`);
    }
    if (env.LOG_FORMAT !== 'json') fail('orch-function', `${ORCH_DIR}: LOG_FORMAT must be "json", got ${JSON.stringify(env.LOG_FORMAT)}`);
    if (!/: ","\}$/.test(String(env.INFRA_PROTECTED_ENVIRONMENTS ?? ''))) {
      fail('orch-function', `${ORCH_DIR}: INFRA_PROTECTED_ENVIRONMENTS must send [] as "," (unset would mean prod)`);
    }
  }

  for (const role of ORCH_ROLES) {
    const fn = cfg.resource[`aws_lambda_function.${role}`];
    const where = `${ORCH_DIR}: aws_lambda_function.${role}`;
    if (fn) {
      const expect = (ok, message) => { if (!ok) fail('orch-function', `${where}: ${message}`); };
      expect(fn.package_type === 'Image', `package_type must be "Image" (the bot's container image), got ${JSON.stringify(fn.package_type)}`);
      expect(fn.image_uri === '${var.image_uri}', 'image_uri must be var.image_uri');
      const ic = first(fn.image_config) ?? {};
      expect(same(ic.command, ['lambda']), `image_config.command must be ["lambda"] (ENTRYPOINT infra-bot + lambda), got ${JSON.stringify(ic.command)}`);
      expect(!('entry_point' in ic), 'image_config must keep the image\'s ENTRYPOINT (no entry_point)');
      expect(fn.role === `\${aws_iam_role.${role}.arn}`, `role must be aws_iam_role.${role}.arn, got ${JSON.stringify(fn.role)}`);
      expect(fn.timeout === `\${var.${role}_timeout}`, `timeout must be var.${role}_timeout`);
      const vars = first(fn.environment)?.variables ?? '';
      expect(typeof vars === 'string' && vars.includes('local.environment') && vars.includes(`INFRA_LAMBDA_ROLE = "${role}"`),
             `environment.variables must be local.environment plus INFRA_LAMBDA_ROLE = "${role}", got ${JSON.stringify(vars)}`);
      expect(first(fn.logging_config)?.log_group === `\${aws_cloudwatch_log_group.${role}.name}`, `logging_config.log_group must be aws_cloudwatch_log_group.${role}.name`);
      expect(!('vpc_config' in fn), 'no vpc_config: the functions call public AWS APIs only');
      expect([].concat(fn.depends_on ?? []).includes(`\${aws_iam_role_policy.${role}}`), `depends_on must name aws_iam_role_policy.${role} (the policy exists before the first invocation)`);
    }
    const logs = cfg.resource[`aws_cloudwatch_log_group.${role}`];
    if (logs) {
      if (logs.retention_in_days !== '${var.log_retention_days}') fail('orch-logs', `${ORCH_DIR}: aws_cloudwatch_log_group.${role} needs retention_in_days = var.log_retention_days`);
      if (logs.name !== `/aws/lambda/\${local.functions.${role}}`) fail('orch-logs', `${ORCH_DIR}: aws_cloudwatch_log_group.${role} must be /aws/lambda/<function name>, got ${JSON.stringify(logs.name)}`);
    }
  }

  // IAM.
  const docs = {};
  for (const [key, body] of Object.entries(cfg.data)) {
    const [type, name] = key.split('.');
    if (type === 'aws_iam_policy_document') docs[name] = body;
  }
  const docOf = (ref) => docs[DOC_REF.exec(ref ?? '')?.[1]];
  for (const [name, doc] of Object.entries(docs)) {
    for (const key of ['source_json', 'override_json', 'source_policy_documents', 'override_policy_documents']) {
      if (key in doc) fail('orch-iam', `${ORCH_DIR}: policy document ${name}: ${key} hides statements from this check`);
    }
    for (const st of statementsOf(doc)) {
      for (const a of [].concat(st.actions ?? [])) {
        if (typeof a !== 'string' || a.includes('*') || isExpression(a)) fail('orch-iam', `${ORCH_DIR}: policy document ${name}, ${st.sid}: action ${JSON.stringify(a)} is a wildcard or not a literal`);
      }
      for (const key of ['not_actions', 'not_resources', 'not_principals']) {
        if (key in st) fail('orch-iam', `${ORCH_DIR}: policy document ${name}, ${st.sid}: ${key} grants everything else`);
      }
    }
  }
  for (const role of ORCH_ROLES) {
    const r = cfg.resource[`aws_iam_role.${role}`];
    if (!r) continue;
    for (const key of ['managed_policy_arns', 'inline_policy', 'permissions_boundary']) {
      if (key in r) fail('orch-iam', `${ORCH_DIR}: aws_iam_role.${role}: ${key} is not expected`);
    }
    const trust = docOf(r.assume_role_policy);
    const sts = trust ? statementsOf(trust) : [];
    const trustOk = sts.length > 0 && sts.every((s) => same(s.actions, ['sts:AssumeRole']) && !s.dynamic &&
      same(s.principals, [{ identifiers: ['lambda.amazonaws.com'], type: 'Service' }]) &&
      (s.condition ?? []).some((c) => c.variable === 'aws:SourceAccount'));
    if (!trustOk) fail('orch-iam', `${ORCH_DIR}: aws_iam_role.${role} must be assumable by lambda.amazonaws.com only, for this account (aws:SourceAccount)`);

    // Each role: the tag-scoped document and the logs document, nothing else.
    const attached = Object.entries(cfg.resource).filter(([k, v]) => k.startsWith('aws_iam_role_policy.') &&
      (v.role === `\${aws_iam_role.${role}.id}` || v.role === `\${aws_iam_role.${role}.name}`));
    const names = attached.map(([k]) => k.split('.')[1]).sort();
    if (!same(names, [role, `${role}_logs`].sort())) fail('orch-iam', `${ORCH_DIR}: aws_iam_role.${role} must carry exactly aws_iam_role_policy.${role} and .${role}_logs, has ${JSON.stringify(names)}`);

    const logsDoc = docOf(cfg.resource[`aws_iam_role_policy.${role}_logs`]?.policy);
    if (logsDoc) {
      const lsts = statementsOf(logsDoc);
      const ok = lsts.length === 1 && sameSet(lsts[0].actions, ['logs:CreateLogStream', 'logs:PutLogEvents']) &&
        same(lsts[0].resources, [`\${aws_cloudwatch_log_group.${role}.arn}:*`]) && !lsts[0].condition;
      if (!ok) fail('orch-iam', `${ORCH_DIR}: the logs policy of ${role} must allow exactly logs:CreateLogStream and logs:PutLogEvents on aws_cloudwatch_log_group.${role}'s streams`);
    } else {
      fail('orch-iam', `${ORCH_DIR}: no logs policy document for ${role}`);
    }

    const doc = docOf(cfg.resource[`aws_iam_role_policy.${role}`]?.policy);
    const golden = input.goldens?.[`${role}.json`];
    if (!doc) {
      fail('orch-iam', `${ORCH_DIR}: no tag-scoped policy document for ${role}`);
      continue;
    }
    if (!golden) {
      fail('orch-iam', `tests/deploy/iam-policies/${role}.json is missing (iam_policy_test writes it with UPDATE_GOLDEN=1)`);
      continue;
    }
    const have = statementsOf(doc);
    const want = golden.Statement.map(expectedHclStatement);
    const haveSids = have.map((s) => s.sid);
    const wantSids = want.map((s) => s.sid);
    if (!same(haveSids, wantSids)) fail('orch-iam', `${ORCH_DIR}: policy document ${role} has the statements ${JSON.stringify(haveSids)}; aws::tag_scoped_policy_json has ${JSON.stringify(wantSids)} (same order)`);
    for (const st of have) {
      const w = want.find((s) => s.sid === st.sid);
      if (!w) continue;
      const h = hclStatement(st);
      for (const field of ['effect', 'actions', 'resources', 'conditions']) {
        if (!same(h[field], w[field])) fail('orch-iam', `${ORCH_DIR}: policy document ${role}, ${st.sid}: ${field} ${JSON.stringify(h[field])} differs from aws::tag_scoped_policy_json's ${JSON.stringify(w[field])}`);
      }
      const isDeny = w.effect === 'Deny';
      if (isDeny !== st.dynamic) fail('orch-iam', `${ORCH_DIR}: policy document ${role}, ${st.sid}: ${isDeny ? 'the Deny must be a dynamic statement, present only when protected_environments is not empty' : 'must be a static statement'}`);
      if (isDeny && !String(st.for_each).includes('length(var.protected_environments) > 0')) fail('orch-iam', `${ORCH_DIR}: policy document ${role}: the Deny's for_each must test length(var.protected_environments) > 0`);
    }
  }

  // Outputs.
  for (const [name, value] of Object.entries(ORCH_OUTPUTS)) {
    if (cfg.output[name]?.value !== value) fail('orch-outputs', `${ORCH_DIR}: output "${name}" must be ${value}, got ${JSON.stringify(cfg.output[name]?.value)}`);
  }
  for (const [name, body] of Object.entries(cfg.output)) {
    if (typeof body.description !== 'string' || body.description.length < 10) fail('orch-outputs', `${ORCH_DIR}: output "${name}" needs a description`);
  }

  // README: a section on the module with a row for each input and output.
  const at = input.readme.indexOf('## The orchestrator module');
  const section = at < 0 ? '' : input.readme.slice(at, (input.readme.indexOf('\n## ', at + 3) + 1 || input.readme.length + 1) - 1);
  if (!section) fail('orch-readme', 'deploy/terraform/README.md has no "## The orchestrator module" section');
  for (const [kind, names] of [['input', Object.keys(cfg.variable)], ['output', Object.keys(cfg.output)]]) {
    for (const name of names) {
      if (section && !section.includes(`| \`${name}\` |`)) fail('orch-readme', `the orchestrator section of deploy/terraform/README.md does not document the ${kind} \`${name}\``);
    }
  }
}

// examples/aws-lambdas: the two modules wired together.
function checkOrchestratorExample(example, orch, bot, fail) {
  const call = example.module.orchestrator;
  const botCall = example.module.slack_bot;
  if (!call || !botCall) {
    fail('orch-example', `${ORCH_EXAMPLE_DIR} must call module "orchestrator" and module "slack_bot"`);
    return;
  }
  if (call.source !== `../../${ORCH_DIR}`) fail('orch-example', `module "orchestrator" source must be "../../${ORCH_DIR}"`);
  const inputs = Object.keys(call).filter((k) => !['source', 'version', 'providers', 'depends_on', 'count', 'for_each'].includes(k));
  for (const [name, body] of Object.entries(orch.variable)) {
    if (!('default' in body) && !inputs.includes(name)) fail('orch-example', `module "orchestrator" does not pass the required input "${name}"`);
  }
  for (const name of inputs) if (!(name in orch.variable)) fail('orch-example', `module "orchestrator" passes "${name}", which the module does not declare`);
  for (const [input, output] of [['orchestrator_lambda_arn', 'orchestrator_lambda_arn'], ['ip_whitelist_lambda_arn', 'ip_whitelist_lambda_arn']]) {
    if (botCall[input] !== `\${module.orchestrator.${output}}`) fail('orch-example', `module "slack_bot" ${input} must be module.orchestrator.${output}, got ${JSON.stringify(botCall[input])}`);
  }
  for (const name of ['environments', 'protected_environments']) {
    if (!same(call[name], botCall[name])) fail('orch-example', `the bot and the Lambdas must know the same ${name} (${JSON.stringify(botCall[name])} vs ${JSON.stringify(call[name])})`);
  }
  if (bot) {
    for (const name of Object.keys(botCall)) {
      if (!['source', 'depends_on'].includes(name) && !(name in bot.variable)) fail('orch-example', `module "slack_bot" passes "${name}", which the module does not declare`);
    }
  }
  for (const [name, attr] of references(example).module) {
    if (name === 'orchestrator' && !(attr in orch.output)) fail('orch-example', `module.orchestrator.${attr} is not an output of the module`);
  }
}

// --- Driver ---------------------------------------------------------------------------------

async function makeChecker(options, hcl, schema) {
  return async (input, expect = null) => {
    const failures = [];
    const fail = (id, message) => failures.push(`[${id}] ${message}`);
    for (const [file, entry] of Object.entries(input.files)) {
      if (entry.json) continue;
      try {
        entry.json = await hcl.parse(file, entry.text);
      } catch (error) {
        fail('parse', `${file}: ${String(error.message ?? error).split('\n')[0]}`);
        entry.json = {};
      }
    }
    const byDir = {};
    for (const [file, entry] of Object.entries(input.files)) {
      const dir = path.dirname(file);
      (byDir[dir] ??= {})[file] = entry;
    }
    for (const dir of [MODULE_DIR, EXAMPLE_DIR]) {
      if (!byDir[dir]) fail('layout', `deploy/terraform/${dir} has no .tf files`);
    }
    const cfgs = {};
    for (const [dir, files] of Object.entries(byDir)) {
      cfgs[dir] = mergeDirectory(files, fail);
      checkReferences(dir, cfgs[dir], fail, { requireUse: dir === MODULE_DIR || dir === ORCH_DIR });
      checkSchema(dir, cfgs[dir], schema, fail);
    }
    const module = cfgs[MODULE_DIR];
    if (module) {
      checkLayout(module, fail);
      checkVariables(module, fail);
      checkResources(module, fail);
      checkSecurityGroup(module, fail);
      checkService(module, fail);
      checkIam(module, fail);
      checkIamLocals(module, fail);
      checkTaskDefinition(module, options.project, fail);
      // tsc takes a second or two: in --self-test, only for the copies aimed at it.
      if (expect === null || expect === 'container-types') checkContainerTypes(module, options, fail);
      checkOutputs(module, fail);
      checkReadme(module, input.readme, fail);
      checkModuleReadme(module, input.moduleReadme, fail);
      if (cfgs[EXAMPLE_DIR]) checkExample(cfgs[EXAMPLE_DIR], module, fail);
    }
    if (!cfgs[ORCH_DIR]) fail('orch-layout', `deploy/terraform/${ORCH_DIR} has no .tf files`);
    if (!cfgs[ORCH_EXAMPLE_DIR]) fail('orch-example', `deploy/terraform/${ORCH_EXAMPLE_DIR} has no .tf files`);
    if (cfgs[ORCH_DIR]) {
      checkOrchestrator(cfgs[ORCH_DIR], input, fail);
      if (cfgs[ORCH_EXAMPLE_DIR]) checkOrchestratorExample(cfgs[ORCH_EXAMPLE_DIR], cfgs[ORCH_DIR], module, fail);
    }
    return failures;
  };
}

// Mutated copies for --self-test: each names the check that must reject it.
function mutations() {
  const main = `${MODULE_DIR}/main.tf`;
  const json = (input, file) => input.files[file].json;
  const doc = (input, name) => json(input, main).data.aws_iam_policy_document[name][0];
  const res = (input, type, name) => json(input, main).resource[type][name][0];
  const container = (input) => json(input, main).locals.find((l) => l.container).container;
  const dynStatement = (input, sid) => doc(input, 'execution').dynamic.statement.map((d) => d.content[0]).find((c) => c.sid === sid);
  return [
    { id: 'wildcard', expect: 'iam-wildcard', what: 'an execution-role statement on resources ["*"]',
      apply: (i) => { doc(i, 'execution').statement[0].resources = ['*']; } },
    { id: 'undocumented-wildcard', expect: 'iam-wildcard', marker: 'explained',
      what: 'the "*" of ecr:GetAuthorizationToken without its comment (parsed from HCL text)',
      apply: (i) => {
        const f = i.files[main];
        f.text = f.text.split('\n').filter((l) => !/^\s*#.*"\*"/.test(l)).join('\n');
        f.json = null;
      } },
    { id: 'action-wildcard', expect: 'iam-wildcard', what: 'the task role allowed "lambda:*"',
      apply: (i) => { doc(i, 'task').statement[0].actions = ['lambda:*']; } },
    { id: 'extra-lambda', expect: 'iam-task', what: 'the task role invoking a third function',
      apply: (i) => { doc(i, 'task').statement[0].resources = ['${local.lambda_arns}', 'arn:aws:lambda:eu-west-1:123456789012:function:other']; } },
    { id: 'extra-secret', expect: 'iam-execution', what: 'the execution role reading a third secret',
      apply: (i) => { dynStatement(i, 'ReadSlackTokens').resources = '${concat(local.secret_arns, [var.image])}'; } },
    { id: 'logs-elsewhere', expect: 'iam-execution', what: 'the execution role writing a second log group',
      apply: (i) => { doc(i, 'execution').statement[0].resources.push('${var.image}'); } },
    { id: 'ecr-pull-wildcard', expect: 'iam-wildcard', what: 'the image pull on every repository ("*")',
      apply: (i) => { dynStatement(i, 'EcrPullImage').resources = ['*']; } },
    { id: 'ecr-pull-always', expect: 'iam-execution', what: 'the image pull granted whatever the image (a static for_each)',
      apply: (i) => { doc(i, 'execution').dynamic.statement.find((d) => d.content[0].sid === 'EcrPullImage').for_each = [1]; } },
    { id: 'ecr-pull-other-repository', expect: 'iam-locals', what: 'the pull on var.ecr_repository_arn even when the module creates its repository',
      apply: (i) => { json(i, main).locals.find((l) => l.ecr_repository_arn).ecr_repository_arn = '${var.ecr_repository_arn}'; } },
    { id: 'ssm-on-secrets', expect: 'iam-locals', what: 'ssm:GetParameters on every token ARN, secrets included',
      apply: (i) => { json(i, main).locals.find((l) => l.parameter_arns).parameter_arns = '${local.token_arns}'; } },
    { id: 'whitelist-always', expect: 'iam-locals', what: 'the whitelist Lambda invoked even when ip_whitelist_lambda_arn is null',
      apply: (i) => { json(i, main).locals.find((l) => l.lambda_arns).lambda_arns = ['${var.orchestrator_lambda_arn}', '${var.ip_whitelist_lambda_arn}']; } },
    { id: 'repository-always', expect: 'ecr', what: 'the ECR repository created even with image',
      apply: (i) => { delete res(i, 'aws_ecr_repository', 'this').count; } },
    { id: 'image-required', expect: 'variable-default', what: 'image required again',
      apply: (i) => { delete json(i, `${MODULE_DIR}/variables.tf`).variable.image[0].default; } },
    { id: 'no-metrics', expect: 'container-env', what: 'INFRA_METRICS left out of the environment',
      apply: (i) => { delete json(i, main).locals.find((l) => l.environment).environment.INFRA_METRICS; } },
    { id: 'module-readme-default', expect: 'module-readme', what: 'a wrong default in modules/slack-bot/README.md',
      apply: (i) => { i.moduleReadme = i.moduleReadme.replace('| `metrics` | `string` | `"emf"` |', '| `metrics` | `string` | `"off"` |'); } },
    { id: 'module-readme-type', expect: 'module-readme', what: 'a wrong type in modules/slack-bot/README.md',
      apply: (i) => { i.moduleReadme = i.moduleReadme.replace('| `whitelist_ports` | `list(number)` |', '| `whitelist_ports` | `list(string)` |'); } },
    { id: 'module-readme-missing', expect: 'module-readme', what: 'an input missing from modules/slack-bot/README.md',
      apply: (i) => { i.moduleReadme = i.moduleReadme.split('\n').filter((l) => !l.startsWith('| `image_tag` |')).join('\n'); } },
    { id: 'module-readme-extra', expect: 'module-readme', what: 'an output in modules/slack-bot/README.md that outputs.tf lacks',
      apply: (i) => { i.moduleReadme = i.moduleReadme.replace('| `image` | The image', '| `cluster_name` | Name of the cluster, gone.\n| `image` | The image'); } },
    { id: 'ingress', expect: 'sg', what: 'an ingress block on the security group',
      apply: (i) => { res(i, 'aws_security_group', 'this').ingress = [{ from_port: 22, to_port: 22, protocol: 'tcp', cidr_blocks: ['0.0.0.0/0'] }]; } },
    { id: 'egress-all', expect: 'sg', what: 'egress on all ports',
      apply: (i) => { Object.assign(res(i, 'aws_security_group', 'this').egress[0], { from_port: 0, to_port: 0, protocol: '-1' }); } },
    { id: 'public-ip', expect: 'service', what: 'assign_public_ip = true',
      apply: (i) => { res(i, 'aws_ecs_service', 'this').network_configuration[0].assign_public_ip = true; } },
    { id: 'load-balancer', expect: 'service', what: 'a load_balancer block on the service',
      apply: (i) => { res(i, 'aws_ecs_service', 'this').load_balancer = [{ container_name: 'infra-bot', container_port: 8080, target_group_arn: 'x' }]; } },
    { id: 'token-in-env', expect: 'container-secrets', what: 'SLACK_BOT_TOKEN moved from secrets to the plain environment',
      apply: (i) => {
        const locals = json(i, main).locals.find((l) => l.environment);
        locals.environment.SLACK_BOT_TOKEN = '${var.slack_bot_token_secret_arn}';
        const tokens = json(i, main).locals.find((l) => l.token_secrets);
        tokens.token_secrets = tokens.token_secrets.filter((s) => s.name !== 'SLACK_BOT_TOKEN');
      } },
    { id: 'discord-token-in-env', expect: 'container-secrets', what: 'DISCORD_BOT_TOKEN in the plain environment instead of secrets',
      apply: (i) => {
        json(i, main).locals.find((l) => l.environment).environment.DISCORD_BOT_TOKEN = '${var.discord_bot_token_secret_arn}';
        const tokens = json(i, main).locals.find((l) => l.token_secrets);
        tokens.token_secrets = tokens.token_secrets.filter((s) => s.name !== 'DISCORD_BOT_TOKEN');
      } },
    { id: 'discord-token-unread', expect: 'iam-locals', what: 'the Discord token left out of what the execution role reads',
      apply: (i) => { json(i, main).locals.find((l) => l.token_arns).token_arns = ['${var.slack_bot_token_secret_arn}', '${var.slack_app_token_secret_arn}']; } },
    { id: 'discord-without-guild', expect: 'container-secrets', what: 'the task definition without its discord_guild_id precondition',
      apply: (i) => {
        const l = res(i, 'aws_ecs_task_definition', 'this').lifecycle[0];
        l.precondition = l.precondition.filter((p) => !String(p.condition).includes('discord_guild_id'));
      } },
    { id: 'discord-env-missing', expect: 'container-env', what: 'INFRA_DISCORD_ADMIN_ROLES left out of the environment',
      apply: (i) => { delete json(i, main).locals.find((l) => l.environment).environment.INFRA_DISCORD_ADMIN_ROLES; } },
    { id: 'no-healthcheck', expect: 'container', what: 'a health check that does not run infra-bot healthcheck',
      apply: (i) => { container(i).healthCheck.command = ['CMD-SHELL', 'true']; } },
    { id: 'stop-timeout', expect: 'container', what: 'stopTimeout = 120',
      apply: (i) => { container(i).stopTimeout = 120; } },
    { id: 'misspelt-container-key', expect: 'container-types', marker: 'readOnlyRootFilesystem',
      what: 'a misspelt container key (readOnlyRootFilesystem)',
      apply: (i) => { container(i).readOnlyRootFilesystem = true; } },
    { id: 'misspelt-argument', expect: 'schema', what: 'a misspelt argument (assign_public_ips)',
      apply: (i) => {
        const net = res(i, 'aws_ecs_service', 'this').network_configuration[0];
        net.assign_public_ips = net.assign_public_ip;
      } },
    { id: 'bad-attribute-ref', expect: 'unknown-ref', what: 'an output of aws_ecs_service.this.arn (provider 5.x exports no arn)',
      apply: (i) => { json(i, `${MODULE_DIR}/outputs.tf`).output.service_arn[0].value = '${aws_ecs_service.this.arn}'; } },
    { id: 'undeclared-var', expect: 'undeclared-var', what: 'a reference to an undeclared variable',
      apply: (i) => { res(i, 'aws_ecs_service', 'this').desired_count = '${var.replicas}'; } },
    { id: 'unused-var', expect: 'unused-var', what: 'a declared but unused variable',
      apply: (i) => { json(i, `${MODULE_DIR}/variables.tf`).variable.unused = [{ description: 'never used anywhere', type: '${string}' }]; } },
    { id: 'no-retention', expect: 'logs', what: 'a log group without retention',
      apply: (i) => { delete res(i, 'aws_cloudwatch_log_group', 'this').retention_in_days; } },
    { id: 'example-missing-input', expect: 'example', what: 'the example not passing the required "orchestrator_lambda_arn"',
      apply: (i) => { delete json(i, `${EXAMPLE_DIR}/main.tf`).module.slack_bot[0].orchestrator_lambda_arn; } },
    { id: 'readme', expect: 'readme', what: 'an input missing from README.md',
      apply: (i) => { i.readme = i.readme.replaceAll('| `log_level` |', '| log level |'); } },
    // Issue 18: the state table and its rights.
    { id: 'dynamodb-scan', expect: 'iam-task', what: 'dynamodb:Scan added to the state table\'s item actions',
      apply: (i) => { doc(i, 'task').dynamic.statement[0].content[0].actions.push('dynamodb:Scan'); } },
    { id: 'dynamodb-any-table', expect: 'iam-task', what: 'the item actions on every table of the account (table/*)',
      apply: (i) => { doc(i, 'task').dynamic.statement[0].content[0].resources = ['arn:aws:dynamodb:eu-west-1:123456789012:table/*']; } },
    { id: 'create-table-always', expect: 'iam-task', what: 'CreateTable granted whenever the table is on, not only when the bot creates it',
      apply: (i) => { doc(i, 'task').dynamic.statement[1].for_each = '${var.state_table ? [1] : []}'; } },
    { id: 'state-schema-repeated', expect: 'state-table', what: 'the hash key name written into the HCL instead of read from state_table.json',
      apply: (i) => { res(i, 'aws_dynamodb_table', 'state').hash_key = 'pk'; } },
    { id: 'no-pitr', expect: 'state-table', what: 'point-in-time recovery off',
      apply: (i) => { res(i, 'aws_dynamodb_table', 'state').point_in_time_recovery[0].enabled = false; } },
    { id: 'no-ttl', expect: 'state-table', what: 'TTL off',
      apply: (i) => { res(i, 'aws_dynamodb_table', 'state').ttl[0].enabled = false; } },
    { id: 'replicas-without-table', expect: 'service', what: 'the service without its desired_count/state_table precondition',
      apply: (i) => { res(i, 'aws_ecs_service', 'this').lifecycle[0].precondition.shift(); } },
    { id: 'state-table-env-always', expect: 'container-env', what: 'INFRA_STATE_TABLE set even without state_table',
      apply: (i) => { json(i, main).locals.find((l) => l.environment).environment.INFRA_STATE_TABLE = '${local.state_table_name}'; } },
    { id: 'managed-policy', expect: 'resources', what: 'an extra policy attachment (parsed from HCL text)',
      apply: (i) => {
        const f = i.files[main];
        f.text += '\nresource "aws_iam_role_policy_attachment" "admin" {\n  role       = aws_iam_role.task.name\n' +
                  '  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"\n}\n';
        f.json = null;
      } },
    // modules/orchestrator and examples/aws-lambdas (issue 13).
    ...orchestratorMutations(json),
  ];
}

function orchestratorMutations(json) {
  const main = `${ORCH_DIR}/main.tf`;
  const doc = (input, name) => json(input, main).data.aws_iam_policy_document[name][0];
  const fn = (input, name) => json(input, main).resource.aws_lambda_function[name][0];
  const env = (input) => json(input, main).locals.find((l) => l.environment).environment;
  const statement = (input, name, sid) => doc(input, name).statement.find((s) => s.sid === sid);
  return [
    { expect: 'orch-function', what: 'the orchestrator running `infra-bot run` (image_config.command ["run"])',
      apply: (i) => { fn(i, 'orchestrator').image_config[0].command = ['run']; } },
    { expect: 'orch-function', what: 'an entry_point override',
      apply: (i) => { fn(i, 'whitelist').image_config[0].entry_point = ['/bin/sh', '-c']; } },
    { expect: 'orch-function', what: 'INFRA_LAMBDA_ROLE of the whitelist function set to orchestrator',
      apply: (i) => { fn(i, 'whitelist').environment[0].variables = '${merge(local.environment, { INFRA_LAMBDA_ROLE = "orchestrator" })}'; } },
    { expect: 'orch-function', what: 'a Slack token in the functions\' environment',
      apply: (i) => { env(i).SLACK_BOT_TOKEN = 'xoxb-1'; } },
    { expect: 'orch-function', what: 'protected_environments = [] sent as "" (which means prod)',
      apply: (i) => { env(i).INFRA_PROTECTED_ENVIRONMENTS = '${join(",", var.protected_environments)}'; } },
    { expect: 'orch-function', what: 'a zip package instead of the image',
      apply: (i) => { fn(i, 'orchestrator').package_type = 'Zip'; } },
    { expect: 'orch-variables', what: 'an orchestrator timeout above Lambda\'s 900 s',
      apply: (i) => { json(i, `${ORCH_DIR}/variables.tf`).variable.orchestrator_timeout[0].default = 901; } },
    { expect: 'orch-logs', what: 'a log group without retention',
      apply: (i) => { delete json(i, main).resource.aws_cloudwatch_log_group.whitelist[0].retention_in_days; } },
    { expect: 'orch-iam', what: 'the Deny of protected environments removed from the orchestrator\'s document',
      apply: (i) => { delete doc(i, 'orchestrator').dynamic; } },
    { expect: 'orch-iam', what: 'an extra action (ec2:AuthorizeSecurityGroupEgress) in the whitelist document',
      apply: (i) => { statement(i, 'whitelist', 'EditAllowListRules').actions.push('ec2:AuthorizeSecurityGroupEgress'); } },
    { expect: 'orch-iam', what: 'ecs:UpdateService on "*"',
      apply: (i) => { statement(i, 'orchestrator', 'ScaleEcsServices').resources = ['*']; } },
    { expect: 'orch-iam', what: 'the environment condition on a literal list instead of var.environments',
      apply: (i) => { statement(i, 'orchestrator', 'StopStartRdsInstances').condition[0].values = ['dev']; } },
    { expect: 'orch-iam', what: 'the allow-list without infra-bot:whitelist=true',
      apply: (i) => { statement(i, 'whitelist', 'EditAllowListRules').condition.pop(); } },
    { expect: 'orch-iam', what: 'the functions\' roles trusted by ECS tasks instead of Lambda',
      apply: (i) => { doc(i, 'lambda_assume').statement[0].principals[0].identifiers = ['ecs-tasks.amazonaws.com']; } },
    { expect: 'orch-iam', what: 'the logs policy on every log group ("*")',
      apply: (i) => { doc(i, 'orchestrator_logs').statement[0].resources = ['*']; } },
    { expect: 'orch-outputs', what: 'orchestrator_lambda_arn pointing at the whitelist function',
      apply: (i) => { json(i, `${ORCH_DIR}/outputs.tf`).output.orchestrator_lambda_arn[0].value = '${aws_lambda_function.whitelist.arn}'; } },
    { expect: 'orch-readme', what: 'an orchestrator input missing from README.md',
      apply: (i) => { i.readme = i.readme.replaceAll('| `whitelist_timeout` |', '| whitelist timeout |'); } },
    { expect: 'orch-example', what: 'the example passing a literal ARN instead of the module\'s output',
      apply: (i) => { json(i, `${ORCH_EXAMPLE_DIR}/main.tf`).module.slack_bot[0].orchestrator_lambda_arn = 'arn:aws:lambda:eu-west-1:123456789012:function:other'; } },
    { expect: 'orch-resources', what: 'an extra resource in the module (parsed from HCL text)',
      apply: (i) => {
        const f = i.files[main];
        f.text += '\nresource "aws_lambda_function_url" "open" {\n  function_name      = aws_lambda_function.orchestrator.function_name\n' +
                  '  authorization_type = "NONE"\n}\n';
        f.json = null;
      } },
  ];
}

async function main() {
  const options = parseArgs(SCRIPT, process.argv.slice(2), ['project', 'modules', 'work']);
  const require = checkModules(SCRIPT, options.modules,
    ['@cdktf/hcl2json', '@cdktf/provider-aws', '@aws-sdk/client-ecs', 'typescript']);
  const hcl = require('@cdktf/hcl2json');
  const schema = new ProviderSchema(options.modules);
  const input = loadInput(path.join(options.project, 'deploy', 'terraform'));
  const check = await makeChecker(options, hcl, schema);

  if (options.selfTest) {
    // Parse once; every mutation works on a copy of the parsed files.
    await check(input);
    process.exit(await selfTest(SCRIPT, check, input, mutations()));
  }
  const failures = await check(input);
  for (const f of failures) console.error(f);
  const files = Object.keys(input.files);
  if (failures.length > 0) {
    console.error(`${failures.length} problem(s) in deploy/terraform`);
    process.exit(1);
  }
  console.log(`deploy/terraform: ${files.length} files (${files.join(', ')}) pass ` +
              `(schema: hashicorp/aws ${schema.providerVersion})`);
  process.exit(0);
}

main().catch((error) => {
  console.error(`${SCRIPT}: ${error.stack ?? error}`);
  process.exit(1);
});
