// Helpers shared by terraform_check.mjs and manifest_check.mjs: argument
// parsing, the npm modules installed by `./dev.sh test` (npm ci from
// tests/deploy/package-lock.json into <build>/deploy-tests), and running tsc
// on a generated file. tests/support/tsc_goldens.mjs (the Block Kit and
// Discord golden type-checks) uses parseArgs and linkModules too.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

// `--KEY VALUE` for each of `required` (values resolved to absolute paths)
// plus --self-test; exits with the usage line on anything else. `metavars`
// names a key's value in that line (default PATH).
export function parseArgs(script, argv, required, metavars = {}) {
  const usage = (message) => {
    if (message) console.error(`${script}: ${message}`);
    const options = required.map((k) => `--${k} ${metavars[k] ?? 'PATH'}`);
    console.error(`usage: node ${script} ${options.join(' ')} [--self-test]`);
    process.exit(1);
  };
  const args = { selfTest: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--self-test') {
      args.selfTest = true;
    } else if (arg === '-h' || arg === '--help') {
      usage();
    } else if (arg.startsWith('--') && required.includes(arg.slice(2))) {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      args[arg.slice(2)] = path.resolve(argv[++i]);
    } else {
      usage(`unknown argument ${arg}`);
    }
  }
  for (const key of required) {
    if (!args[key]) usage(`--${key} is required`);
  }
  return args;
}

// Fails with the install hint unless every package is in `modules`.
export function checkModules(script, modules, packages) {
  const missing = packages.filter((p) => !fs.existsSync(path.join(modules, p, 'package.json')));
  if (missing.length > 0) {
    console.error(
      `${script}: ${missing.join(', ')} not found in ${modules}.\n` +
      '  `./dev.sh test` installs them (npm ci from tests/deploy/package-lock.json);\n' +
      '  by hand: cp tests/deploy/package*.json <build>/deploy-tests && (cd <build>/deploy-tests && npm ci)');
    process.exit(1);
  }
  return createRequire(path.join(modules, 'noop.js'));
}

// Makes WORK (and its parents) and points WORK/node_modules at `modules`, so
// tsc run in WORK resolves the installed packages.
export function linkModules(work, modules) {
  fs.mkdirSync(work, { recursive: true });
  const link = path.join(work, 'node_modules');
  try {
    const stat = fs.lstatSync(link);
    if (stat.isSymbolicLink() && fs.readlinkSync(link) === modules) return;
    fs.rmSync(link, { recursive: true, force: true });
  } catch {
    // not there yet
  }
  fs.symlinkSync(modules, link, 'dir');
}

// Writes `source` to WORK/NAME and type-checks it with tsc --strict (no
// @types, ES2020 lib only: the generated files are plain data literals).
// Returns { ok, output } with tsc's diagnostics.
export function typecheck({ modules, work, name, source }) {
  linkModules(work, modules);
  fs.writeFileSync(path.join(work, name), source);
  const config = {
    compilerOptions: {
      noEmit: true, strict: true, target: 'es2020', lib: ['es2020'], moduleResolution: 'node',
      skipLibCheck: true, types: [], pretty: false,
    },
    files: [name],
  };
  fs.writeFileSync(path.join(work, 'tsconfig.json'), `${JSON.stringify(config, null, 2)}\n`);
  const tsc = path.join(modules, 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: work, encoding: 'utf8' });
  if (result.error) return { ok: false, output: `failed to run tsc: ${result.error.message}` };
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

// Runs `check(input, expect)` (which returns a list of "[id] message"
// failures; `expect` tells which check a copy is aimed at, null for the real
// input, so slow checks can be skipped for copies aimed elsewhere) on the
// real input and on each mutated copy. The real input must pass and each
// copy must fail with the failure id it names: then the check really checks.
// Returns the process exit code.
export async function selfTest(script, check, input, mutations) {
  const clean = await check(input, null);
  if (clean.length > 0) {
    console.error(`${script} self-test: the unmodified input does not pass:`);
    for (const f of clean) console.error(`  ${f}`);
    return 1;
  }
  console.log(`${script} self-test: the unmodified input passes`);
  let failures = 0;
  for (const mutation of mutations) {
    const copy = structuredClone(input);
    mutation.apply(copy);
    const found = await check(copy, mutation.expect);
    // Rejected by the intended check, and for the right reason.
    const hit = found.filter((f) => f.startsWith(`[${mutation.expect}]`) &&
                                    (!mutation.marker || f.includes(mutation.marker)));
    if (hit.length > 0) {
      const lines = hit[0].split('\n');
      const detail = mutation.marker ? lines.filter((l, i) => i === 0 || l.includes(mutation.marker)) : lines.slice(0, 1);
      console.log(`  rejected as it should be: ${mutation.what}\n    ${detail.join('\n    ')}`);
    } else {
      console.error(`  NOT rejected: ${mutation.what} (expected a [${mutation.expect}] failure; got ` +
                    `${found.length ? found.join('; ') : 'none'})`);
      failures++;
    }
  }
  console.log(`${mutations.length - failures} passed, ${failures} failed`);
  return failures === 0 ? 0 : 1;
}
