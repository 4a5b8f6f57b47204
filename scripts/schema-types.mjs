// Derives kernel/generated/policy-types.ts from config/policy.schema.json (run by `npm run build`).
// A key with a default is required in the type: the loader fills defaults before anything reads it.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schema = JSON.parse(readFileSync(join(root, 'config/policy.schema.json'), 'utf8'));
const decls = [];
const seen = new Set();

function typeOf(node) {
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(' | ');
  switch (node.type) {
    case 'string': return 'string';
    case 'integer':
    case 'number': return 'number';
    case 'boolean': return 'boolean';
    case 'array': return `Array<${typeOf(node.items)}>`;
    case 'object': {
      if (node.properties) return declare(node);
      if (node.additionalProperties && typeof node.additionalProperties === 'object') {
        return `Record<string, ${typeOf(node.additionalProperties)}>`;
      }
      return 'Record<string, unknown>';
    }
    default: return 'unknown';
  }
}

function declare(node) {
  const name = node.title;
  if (!name) throw new Error('every object with properties needs a title');
  if (seen.has(name)) return name;
  seen.add(name);
  const required = new Set(node.required ?? []);
  const lines = [];
  for (const [key, child] of Object.entries(node.properties)) {
    const opt = required.has(key) || child.default !== undefined ? '' : '?';
    if (child.description) lines.push(`  /** ${child.description.replace(/\*\//g, '* /')} */`);
    lines.push(`  readonly ${JSON.stringify(key)}${opt}: ${typeOf(child)};`);
  }
  decls.push(`/** ${node.description ?? name} */\nexport interface ${name} {\n${lines.join('\n')}\n}`);
  return name;
}

declare(schema);

// Every dotted key path a decision's `rule` may name: tables and leaves; a map's entries as ${string}.
// An array of tables is named as a whole: which entry decided goes in Decision.at, never in the path.
function keyPaths(node, prefix, out) {
  if (prefix) out.push(prefix);
  if (node.type !== 'object') return out;
  for (const [key, child] of Object.entries(node.properties ?? {})) keyPaths(child, prefix ? `${prefix}.${key}` : key, out);
  const each = node.additionalProperties;
  if (each && typeof each === 'object' && each.type !== 'object') out.push(`${prefix}.\${string}`);
  else if (each && typeof each === 'object') {
    for (const [key, child] of Object.entries(each.properties ?? {})) keyPaths(child, `${prefix}.\${string}.${key}`, out);
  }
  return out;
}
const keys = keyPaths(schema, '', []);
decls.push(`/** A dotted key path of the policy (what \`config show --origin\` annotates); a map's entry is \${string}. */\nexport type PolicyKey =\n${keys.map((k) => `  | \`${k}\``).join('\n')};`);

const out = join(root, 'kernel/generated/policy-types.ts');
const text = `// Generated from config/policy.schema.json by scripts/schema-types.mjs. Do not edit.\n\n${decls.join('\n\n')}\n`;
if (process.argv.includes('--check')) {
  // The file is committed (an editor on a fresh clone sees the types); this says whether it is current.
  const current = existsSync(out) ? readFileSync(out, 'utf8') : '';
  if (current !== text) {
    process.stderr.write('kernel/generated/policy-types.ts is out of date with config/policy.schema.json: run "npm run build" and commit it\n');
    process.exit(1);
  }
} else if (!existsSync(out) || readFileSync(out, 'utf8') !== text) {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, text);
}
