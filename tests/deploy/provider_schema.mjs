// The hashicorp/aws provider schema, as far as terraform_check.mjs needs it,
// read from @cdktf/provider-aws: that package is generated from the
// provider's own schema (19.65.1 = provider 5.99.1; see its package.json
// "cdktf.provider.version"), one directory per resource or data source.
//
// For a resource or data source type it yields
//   { attrs: Set<name>, blocks: Map<name, node>, required: Set<name>, getters: Set<name> }
// where node has the same shape (without getters) for each nested block:
//   - attrs/blocks: every argument and nested block name Terraform accepts,
//     from the generated `synthesizeHclAttributes()` / `…ToHclTerraform()`
//     code (entries `name: { value: …, isBlock: …, type: … }`);
//   - required: arguments without `?` in the generated Config interfaces;
//   - getters: the attributes one may reference (`aws_x.y.<attr>`), from the
//     class's `get <camelCase>()` accessors.
// No Terraform binary is needed (none is available on these machines).

import fs from 'node:fs';
import path from 'node:path';

const camel = (snake) => snake.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

function directoryOf(kind, type) {
  const base = type.replace(/^aws_/, '').replace(/_/g, '-');
  return kind === 'data' ? `data-aws-${base}` : base;
}

// `name: { value: …, isBlock: …, type: … }` entries of one attrs object.
function parseEntries(text) {
  const entries = [];
  const re = /^\s+(\w+): \{\s*\n\s+value: (.*),\s*\n\s+isBlock: (true|false),/gm;
  let m;
  while ((m = re.exec(text)) !== null) {
    const fn = /(?<!cdktf\.)\b([a-z]\w*ToHclTerraform)\b/.exec(m[2]);
    const storage = /storageClassType: "(\w+)"/.exec(text.slice(m.index, m.index + 600));
    entries.push({
      name: m[1], isBlock: m[3] === 'true', fn: fn ? fn[1] : null,
      iface: storage ? storage[1].replace(/(List|OutputReference|Map)$/, '') : null,
    });
  }
  return entries;
}

// Non-optional `readonly x: T;` members of `export interface NAME`.
function requiredMembers(dts, iface) {
  const start = dts.search(new RegExp(`^export interface ${iface}( extends [^{]+)? \\{`, 'm'));
  if (start < 0) return new Set();
  const end = dts.indexOf('\n}', start);
  const body = dts.slice(start, end);
  const out = new Set();
  for (const m of body.matchAll(/^\s+readonly (\w+): /gm)) out.add(m[1]);
  return out;
}

export class ProviderSchema {
  constructor(modules) {
    this.lib = path.join(modules, '@cdktf', 'provider-aws', 'lib');
    const pkg = JSON.parse(fs.readFileSync(path.join(modules, '@cdktf', 'provider-aws', 'package.json'), 'utf8'));
    this.providerVersion = pkg.cdktf?.provider?.version ?? 'unknown';
    this.cache = new Map();
  }

  // null when the provider has no such resource/data source.
  get(kind, type) {
    const key = `${kind}.${type}`;
    if (!this.cache.has(key)) this.cache.set(key, this.load(kind, type));
    return this.cache.get(key);
  }

  load(kind, type) {
    const dir = path.join(this.lib, directoryOf(kind, type));
    const jsFile = path.join(dir, 'index.js');
    if (!fs.existsSync(jsFile)) return null;
    const js = fs.readFileSync(jsFile, 'utf8');
    if (!js.includes(`.tfResourceType = "${type}";`)) return null;
    const dts = fs.readFileSync(path.join(dir, 'index.d.ts'), 'utf8');

    const functions = new Map();
    for (const m of js.matchAll(/^function (\w+ToHclTerraform)\(struct\) \{\n([\s\S]*?)\n\}\n/gm)) {
      functions.set(m[1], m[2]);
    }
    const cls = /^class (\w+) extends cdktf\.Terraform(Resource|DataSource) \{/m.exec(js);
    if (!cls) return null;
    const classBody = js.slice(cls.index);
    const synth = /synthesizeHclAttributes\(\) \{\n([\s\S]*?)\n {4}\}\n/.exec(classBody);
    if (!synth) return null;

    const build = (text, iface) => {
      const node = { attrs: new Set(), blocks: new Map(), required: new Set() };
      const requiredCamel = requiredMembers(dts, iface);
      for (const entry of parseEntries(text)) {
        if (requiredCamel.has(camel(entry.name))) node.required.add(entry.name);
        if (entry.isBlock && entry.fn && functions.has(entry.fn)) {
          // Built on first use: some schemas nest deeply.
          let child = null;
          node.blocks.set(entry.name, () => (child ??= build(functions.get(entry.fn), entry.iface)));
        } else {
          node.attrs.add(entry.name);
        }
      }
      return node;
    };
    const root = build(synth[1], `${cls[1]}Config`);
    root.getters = new Set([...classBody.matchAll(/^ {4}get (\w+)\(\) \{/gm)].map((m) => m[1]));
    root.className = cls[1];
    return root;
  }

  static block(node, name) {
    const make = node.blocks.get(name);
    return make ? make() : null;
  }

  static hasAttribute(root, snake) {
    return root.getters.has(camel(snake));
  }
}
