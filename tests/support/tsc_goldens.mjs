// What tests/blockkit-types/typecheck.mjs and tests/discord-types/typecheck.mjs
// share: compile goldens (JSON that infra-bot sends) against a platform's own
// type definitions with `tsc --strict`, so a misspelt or unknown field fails.
//
// Each golden is written into WORK/goldens.ts as an object *literal* (not
// imported JSON), so TypeScript's excess-property checks apply; every
// "goldens.ts(LINE,COL): error …" line tsc prints is prefixed with the
// golden's name. --self-test first checks that the unmodified goldens pass,
// then that tsc rejects each mutated copy the script makes, for the right
// reason (its marker on an error line); it exits 0 only if all are rejected.
//
// A script calls run() with what is its own: its arguments, which goldens,
// the declarations to type them with, its tsc flags and its mutations.
// Argument parsing and node_modules linking come from tests/deploy/common.mjs.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { linkModules, parseArgs } from '../deploy/common.mjs';

// Exits with the install hint unless typescript and `types` (e.g.
// '@slack/types') are in `modules`; returns the path of tsc.
function checkModules(script, modules, types, testsDir) {
  const tsc = path.join(modules, 'typescript', 'bin', 'tsc');
  const missing = [];
  if (!fs.existsSync(tsc)) missing.push('typescript');
  if (!fs.existsSync(path.join(modules, types, 'package.json'))) missing.push(types);
  if (missing.length > 0) {
    console.error(
      `${script}: ${missing.join(' and ')} not found in ${modules}.\n` +
      `  \`./dev.sh test\` installs them (npm ci from tests/${testsDir}/package-lock.json);\n` +
      `  by hand: cp tests/${testsDir}/package*.json <dir> && (cd <dir> && npm ci)`);
    process.exit(1);
  }
  return tsc;
}

// The *.json names in `dir`, sorted; exits if `dir` is not a directory or has
// none. `what` names the directory in the message ('goldens', 'messages').
export function jsonNames(script, dir, what) {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    console.error(`${script}: ${what} directory ${dir} does not exist`);
    process.exit(1);
  }
  const names = fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  if (names.length === 0) {
    console.error(`${script}: no *.json goldens in ${dir}; refusing to pass an empty check`);
    process.exit(1);
  }
  return names;
}

// Writes WORK/goldens.ts: `header` lines, then per golden a "// NAME" comment
// and each [prefix, value] of declare(golden, index) as `${prefix}{…literal…};`.
// Returns its path and each golden's line range (to name it in diagnostics).
function generate(goldens, work, header, declare) {
  const lines = [...header];
  const ranges = [];
  goldens.forEach((golden, index) => {
    const first = lines.length + 1;
    lines.push(`// ${golden.name}`);
    for (const [prefix, value] of declare(golden, index)) {
      const literal = JSON.stringify(value, null, 2).split('\n');
      literal[0] = `${prefix}${literal[0]}`;
      literal[literal.length - 1] += ';';
      lines.push(...literal);
    }
    lines.push('');
    ranges.push({ name: golden.name, first, last: lines.length });
  });
  const file = path.join(work, 'goldens.ts');
  fs.writeFileSync(file, lines.join('\n'));
  return { file, ranges };
}

// Runs tsc over the goldens in `work`; returns { status, output }.
function typecheck(goldens, { tsc, modules, work, header, declare, tscFlags }) {
  linkModules(work, modules);
  const { file, ranges } = generate(goldens, work, header, declare);
  const result = spawnSync(
    process.execPath,
    [tsc, '--noEmit', '--strict', '--target', 'es2020', '--moduleResolution', 'node',
     '--pretty', 'false', ...tscFlags, file],
    { cwd: work, encoding: 'utf8' });
  if (result.error) return { status: 1, output: `failed to run tsc: ${result.error.message}\n` };
  // Name the golden on each "goldens.ts(LINE,COL): error …" line.
  const output = `${result.stdout}${result.stderr}`.split('\n').map((line) => {
    const match = /goldens\.ts\((\d+),\d+\)/.exec(line);
    if (!match) return line;
    const at = Number(match[1]);
    const golden = ranges.find((r) => at >= r.first && at < r.last);
    return golden ? `[${golden.name}] ${line}` : line;
  }).join('\n');
  return { status: result.status ?? 1, output };
}

// A copy of `goldens` in which change(golden) has changed the first golden it
// returns true for (it must change nothing when it returns false), or null if
// none; tsc must then fail with `marker` on an error line.
export function mutate(goldens, change, describe, marker) {
  const copy = structuredClone(goldens);
  const golden = copy.find(change);
  if (!golden) return null;
  return { goldens: copy, changed: `${golden.name}: ${describe}`, marker };
}

// `mutations`: [[label, mutate(…) or null], …]; each copy is checked in WORK/LABEL.
function selfTest(goldens, mutations, options) {
  const clean = typecheck(goldens, { ...options, work: path.join(options.work, 'clean') });
  if (clean.status !== 0) {
    console.error('self-test: the unmodified goldens do not type-check:');
    console.error(clean.output);
    return 1;
  }
  console.log(`self-test: ${goldens.length} unmodified goldens type-check`);

  let failures = 0;
  for (const [label, mutation] of mutations) {
    if (!mutation) {
      console.error(`self-test: no golden to make the "${label}" copy from`);
      failures++;
      continue;
    }
    const result = typecheck(mutation.goldens, { ...options, work: path.join(options.work, label) });
    // Rejected, and for the right reason (not, say, a missing module).
    if (result.status !== 0 && result.output.includes(mutation.marker)) {
      console.log(`self-test: rejected as it should be (${mutation.changed}):`);
      console.log(result.output.split('\n').filter((l) => l.includes(mutation.marker)).join('\n'));
    } else {
      console.error(`self-test: tsc did NOT reject ${mutation.changed} (exit ${result.status})`);
      console.error(result.output);
      failures++;
    }
  }
  return failures === 0 ? 0 : 1;
}

// The whole command line: `node SCRIPT --KEY VALUE… --modules DIR --work DIR [--self-test]`.
//   script     the name in messages ('typecheck.mjs')
//   options    the --KEYs, in usage order (must include 'modules' and 'work')
//   metavars   how the usage line names each KEY's value
//   types      the type package besides typescript ('@slack/types')
//   testsDir   tests/<testsDir>/package-lock.json pins the packages (install hint)
//   load(args)               → [{ name, value, … }], in order
//   header                   → the first lines of goldens.ts (the imports)
//   declare(golden, index)   → [[prefix, value], …] (see generate)
//   tscFlags                 → flags besides --noEmit --strict --target es2020
//                              --moduleResolution node --pretty false
//   mutations(goldens)       → [[label, mutate(…) or null], …] for --self-test
//   summary(goldens)         → the line printed when the goldens pass
export function run({ script, options, metavars, types, testsDir, load, header, declare,
                      tscFlags = [], mutations, summary }) {
  const args = parseArgs(script, process.argv.slice(2), options, metavars);
  const tsc = checkModules(script, args.modules, types, testsDir);
  const goldens = load(args);
  const settings = { tsc, modules: args.modules, work: args.work, header, declare, tscFlags };
  if (args.selfTest) process.exit(selfTest(goldens, mutations(goldens), settings));

  const result = typecheck(goldens, settings);
  if (result.output.trim()) console.log(result.output);
  if (result.status === 0) console.log(summary(goldens));
  process.exit(result.status);
}
