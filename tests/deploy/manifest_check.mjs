#!/usr/bin/env node
// Checks deploy/slack/manifest.json, the Slack app manifest of infra-bot:
//
//   node manifest_check.mjs --manifest FILE --modules NODE_MODULES --work DIR [--self-test]
//
// Two independent checks:
//   1. the rules Slack documents for manifests, encoded below: the field
//      names and limits of the app manifest reference
//      (https://docs.slack.dev/reference/app-manifest) and of Slack's JSON
//      schema for it (https://github.com/slackapi/manifest-schema,
//      schemas/manifest.schema.1.0.0.json: additionalProperties false at
//      every level, name 1-35 characters, description 1-140, bot display
//      name 1-80, command 2-32 starting with "/", command description
//      1-2000, usage hint 1-1000, event names up to 50), plus what infra-bot
//      needs: Socket Mode on (so no request URL anywhere), interactivity on
//      (the teardown modal), the /infra command, app_mention events and
//      exactly the bot scopes chat:write, commands, app_mentions:read,
//      users:read;
//   2. tsc --strict compiles the manifest, as an object literal, against the
//      Manifest type that @slack/web-api uses for apps.manifest.create: an
//      unknown or misspelt field, a wrong value type, or an unknown scope or
//      event name fails.
//
// --self-test checks that the real manifest passes and that mutated copies
// are each rejected by the check aimed at them.

import fs from 'node:fs';
import path from 'node:path';

import { checkModules, parseArgs, selfTest, typecheck } from './common.mjs';

const SCRIPT = 'manifest_check.mjs';

// Documented keys, per object (manifest reference / manifest.schema.1.0.0.json).
const KEYS = {
  '': ['$schema', '_metadata', 'app_directory', 'display_information', 'features', 'oauth_config',
       'settings', 'functions', 'workflows', 'datastores', 'outgoing_domains', 'types',
       'external_auth_providers'],
  _metadata: ['schema_version', 'min_version', 'major_version', 'minor_version'],
  display_information: ['name', 'description', 'background_color', 'long_description'],
  features: ['app_home', 'bot_user', 'functions', 'shortcuts', 'slash_commands', 'workflow_steps',
             'unfurl_domains', 'assistant_view'],
  'features.bot_user': ['display_name', 'always_online'],
  'features.slash_commands[]': ['command', 'url', 'description', 'usage_hint', 'should_escape'],
  oauth_config: ['redirect_urls', 'scopes', 'token_management_enabled', 'pkce_enabled'],
  'oauth_config.scopes': ['user', 'bot', 'user_optional', 'bot_optional'],
  settings: ['allowed_ip_address_ranges', 'event_subscriptions', 'incoming_webhooks', 'interactivity',
             'org_deploy_enabled', 'socket_mode_enabled', 'is_hosted', 'token_rotation_enabled',
             'siws_links', 'hermes_app_type', 'function_runtime', 'is_mcp_enabled'],
  'settings.event_subscriptions': ['request_url', 'user_events', 'bot_events', 'metadata_subscriptions'],
  'settings.interactivity': ['is_enabled', 'request_url', 'message_menu_options_url'],
};

const BOT_SCOPES = ['chat:write', 'commands', 'app_mentions:read', 'users:read'];
const URL_KEYS = ['request_url', 'url', 'message_menu_options_url', 'redirect_urls'];

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const get = (obj, dotted) => dotted.split('.').reduce((o, k) => (isObject(o) ? o[k] : undefined), obj);

function checkDocumentedRules(manifest, fail) {
  if (!isObject(manifest)) {
    fail('json', 'the manifest must be a JSON object');
    return;
  }
  // No key Slack does not document, at every level we use.
  for (const [where, keys] of Object.entries(KEYS)) {
    const objects = where.endsWith('[]')
      ? [].concat(get(manifest, where.slice(0, -2)) ?? [])
      : [where === '' ? manifest : get(manifest, where)];
    for (const obj of objects) {
      if (obj === undefined) continue;
      if (!isObject(obj)) {
        fail(where === '' ? 'top-level' : 'unknown-key', `${where || 'the manifest'} must be an object`);
        continue;
      }
      for (const key of Object.keys(obj)) {
        if (!keys.includes(key)) {
          fail(where === '' ? 'top-level' : 'unknown-key',
               `${where ? `${where}.` : ''}${key} is not a documented manifest field (known: ${keys.join(', ')})`);
        }
      }
    }
  }

  const length = (value, min, max, what, id) => {
    if (typeof value !== 'string' || value.length < min || value.length > max) {
      const shown = JSON.stringify(value) ?? 'nothing';
      fail(id, `${what} must be a string of ${min}-${max} characters, got ${shown.length > 60 ? `${shown.slice(0, 57)}..."` : shown}` +
               `${typeof value === 'string' ? ` (${value.length})` : ''}`);
    }
  };

  // display_information
  const display = manifest.display_information;
  if (!isObject(display)) {
    fail('display', 'display_information is required');
  } else {
    length(display.name, 1, 35, 'display_information.name', 'display');
    length(display.description, 1, 140, 'display_information.description', 'display');
    if ('long_description' in display) length(display.long_description, 175, 4000, 'display_information.long_description', 'display');
    if ('background_color' in display && !/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(display.background_color)) {
      fail('display', `display_information.background_color must be #rgb or #rrggbb, got ${JSON.stringify(display.background_color)}`);
    }
  }

  // features: the bot user and the one slash command
  const bot = get(manifest, 'features.bot_user');
  if (!isObject(bot)) {
    fail('bot-user', 'features.bot_user is required (the bot posts replies)');
  } else {
    length(bot.display_name, 1, 80, 'features.bot_user.display_name', 'bot-user');
    if ('always_online' in bot && typeof bot.always_online !== 'boolean') fail('bot-user', 'always_online must be a boolean');
  }
  const commands = get(manifest, 'features.slash_commands');
  if (!Array.isArray(commands) || commands.length !== 1) {
    fail('slash', `features.slash_commands must hold exactly the /infra command, got ${JSON.stringify(commands)}`);
  } else {
    const [cmd] = commands;
    length(cmd.command, 2, 32, 'slash command', 'slash');
    if (cmd.command !== '/infra') fail('slash', `the slash command must be "/infra", got ${JSON.stringify(cmd.command)}`);
    if (typeof cmd.command === 'string' && !cmd.command.startsWith('/')) fail('slash', 'a slash command starts with "/"');
    length(cmd.description, 1, 2000, 'slash command description', 'slash');
    length(cmd.usage_hint, 1, 1000, 'slash command usage_hint', 'slash');
    if (cmd.should_escape !== false) fail('slash', 'should_escape must be false: the parser reads the raw text (design §2)');
  }

  // oauth_config: exactly the four bot scopes
  const scopes = get(manifest, 'oauth_config.scopes');
  const bots = isObject(scopes) ? scopes.bot : undefined;
  if (!Array.isArray(bots) || new Set(bots).size !== bots.length ||
      [...bots].sort().join(',') !== [...BOT_SCOPES].sort().join(',')) {
    fail('scopes', `oauth_config.scopes.bot must be exactly ${BOT_SCOPES.join(', ')}, got ${JSON.stringify(bots)}`);
  }
  for (const key of ['user', 'user_optional', 'bot_optional']) {
    if (isObject(scopes) && key in scopes) fail('scopes', `oauth_config.scopes.${key}: infra-bot needs no ${key} scopes`);
  }

  // settings: Socket Mode, interactivity, app_mention
  const settings = manifest.settings;
  if (!isObject(settings)) {
    fail('settings', 'settings is required');
    return;
  }
  if (settings.socket_mode_enabled !== true) fail('settings', 'settings.socket_mode_enabled must be true');
  if (get(manifest, 'settings.interactivity.is_enabled') !== true) fail('settings', 'settings.interactivity.is_enabled must be true (the teardown modal)');
  if (settings.org_deploy_enabled !== false) fail('settings', 'settings.org_deploy_enabled must be false');
  if (settings.token_rotation_enabled !== false) fail('settings', 'settings.token_rotation_enabled must be false (the bot token is a long-lived secret)');
  const events = get(manifest, 'settings.event_subscriptions.bot_events');
  if (!Array.isArray(events) || !events.includes('app_mention')) {
    fail('events', `settings.event_subscriptions.bot_events must include app_mention, got ${JSON.stringify(events)}`);
  } else {
    if (new Set(events).size !== events.length) fail('events', 'bot_events must not repeat an event');
    for (const e of events) if (typeof e !== 'string' || e.length > 50) fail('events', `bad event name ${JSON.stringify(e)}`);
  }

  // Socket Mode: Slack connects to nobody, so no URL anywhere.
  const walk = (value, at) => {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${at}[${i}]`));
    else if (isObject(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (URL_KEYS.includes(k)) fail('no-url', `${at}${at ? '.' : ''}${k}: no URL in Socket Mode (events come over the WebSocket)`);
        walk(v, `${at}${at ? '.' : ''}${k}`);
      }
    }
  };
  walk(manifest, '');
}

const tscCache = new Map();

function checkTypes(manifest, options, fail) {
  const source = [
    '// Generated by tests/deploy/manifest_check.mjs: deploy/slack/manifest.json as an',
    '// object literal, so tsc\'s excess-property checks apply at every level.',
    '// Manifest is the type @slack/web-api gives apps.manifest.create.',
    "import type { Manifest } from '@slack/web-api/dist/types/request/manifest';",
    '',
    `export const manifest: Manifest = ${JSON.stringify(manifest, null, 2)};`,
    '',
  ].join('\n');
  if (!tscCache.has(source)) {
    tscCache.set(source, typecheck({ modules: options.modules, work: path.join(options.work, 'manifest'), name: 'manifest.ts', source }));
  }
  const result = tscCache.get(source);
  if (!result.ok) fail('types', `the manifest does not type-check as @slack/web-api's Manifest:\n${result.output}`);
}

function mutations() {
  return [
    { expect: 'top-level', what: 'a misspelt top-level key ("setting")',
      apply: (m) => { m.setting = m.settings; } },
    { expect: 'display', what: 'a 36-character app name',
      apply: (m) => { m.display_information.name = 'x'.repeat(36); } },
    { expect: 'display', what: 'a 141-character description',
      apply: (m) => { m.display_information.description = 'x'.repeat(141); } },
    { expect: 'no-url', what: 'an interactivity request_url',
      apply: (m) => { m.settings.interactivity.request_url = 'https://example.com/slack/interactive'; } },
    { expect: 'no-url', what: 'a slash command url',
      apply: (m) => { m.features.slash_commands[0].url = 'https://example.com/slack/commands'; } },
    { expect: 'settings', what: 'socket_mode_enabled = false',
      apply: (m) => { m.settings.socket_mode_enabled = false; } },
    { expect: 'settings', what: 'interactivity off',
      apply: (m) => { m.settings.interactivity.is_enabled = false; } },
    { expect: 'scopes', what: 'an extra bot scope (channels:history)',
      apply: (m) => { m.oauth_config.scopes.bot.push('channels:history'); } },
    { expect: 'scopes', what: 'a missing bot scope (users:read)',
      apply: (m) => { m.oauth_config.scopes.bot = m.oauth_config.scopes.bot.filter((s) => s !== 'users:read'); } },
    { expect: 'slash', what: 'a command without its leading "/"',
      apply: (m) => { m.features.slash_commands[0].command = 'infra'; } },
    { expect: 'slash', what: 'a 1001-character usage hint',
      apply: (m) => { m.features.slash_commands[0].usage_hint = 'x'.repeat(1001); } },
    { expect: 'events', what: 'bot_events without app_mention',
      apply: (m) => { m.settings.event_subscriptions.bot_events = ['message.im']; } },
    { expect: 'types', marker: 'usage_hints', what: 'a misspelt slash command field (usage_hints), through tsc',
      apply: (m) => { m.features.slash_commands[0].usage_hints = m.features.slash_commands[0].usage_hint; } },
    { expect: 'types', marker: 'chat:writ', what: 'an unknown bot scope (chat:writ), through tsc',
      apply: (m) => { m.oauth_config.scopes.bot[0] = 'chat:writ'; } },
    { expect: 'types', marker: "'string' is not assignable to type 'boolean", what: 'always_online as a string, through tsc',
      apply: (m) => { m.features.bot_user.always_online = 'yes'; } },
  ];
}

async function main() {
  const options = parseArgs(SCRIPT, process.argv.slice(2), ['manifest', 'modules', 'work']);
  checkModules(SCRIPT, options.modules, ['@slack/web-api', 'typescript']);
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(options.manifest, 'utf8'));
  } catch (error) {
    console.error(`[json] ${options.manifest}: ${error.message}`);
    process.exit(1);
  }
  const check = async (m, expect = null) => {
    const failures = [];
    const fail = (id, message) => failures.push(`[${id}] ${message}`);
    checkDocumentedRules(m, fail);
    if (expect === null || expect === 'types') checkTypes(m, options, fail);
    return failures;
  };
  if (options.selfTest) process.exit(await selfTest(SCRIPT, check, manifest, mutations()));

  const failures = await check(manifest);
  for (const f of failures) console.error(f);
  if (failures.length > 0) {
    console.error(`${failures.length} problem(s) in ${options.manifest}`);
    process.exit(1);
  }
  console.log(`${path.basename(options.manifest)}: documented fields and limits hold, Socket Mode on, ` +
              `no request URL, /infra, scopes ${BOT_SCOPES.join(' ')}; type-checks against @slack/web-api's Manifest`);
  process.exit(0);
}

main().catch((error) => {
  console.error(`${SCRIPT}: ${error.stack ?? error}`);
  process.exit(1);
});
