// Folders import one way: kernel <- policies <- proxy; the product never imports dev/ or tests/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO_ROOT } from '../../dev/paths.js';

/** What each product folder may import from the repository (npm packages and node: builtins are always fine). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  kernel: ['kernel'],
  policies: ['kernel', 'policies'],
  proxy: ['kernel', 'policies', 'proxy'],
};

/**
 * Imports that still point the wrong way, each to be removed (the test fails when one of them no longer
 * exists, so this list only shrinks).
 */
const KNOWN: readonly string[] = [];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Every repository-relative import of a source file, as `from -> to` (top folders). */
export function wrongWay(root: string): string[] {
  const bad: string[] = [];
  for (const top of Object.keys(MAY_IMPORT)) {
    for (const file of sources(join(root, top))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = relative(root, resolve(dirname(file), m[1]!));
        const targetTop = target.split('/')[0]!;
        if (!MAY_IMPORT[top]!.includes(targetTop)) bad.push(`${relative(root, file)} -> ${target}`);
      }
    }
  }
  return bad;
}

test('kernel imports nothing of policies or proxy; policies nothing of proxy; the product nothing of dev or tests', () => {
  const bad = wrongWay(REPO_ROOT);
  assert.deepEqual(bad.filter((b) => !KNOWN.includes(b)), []);
  assert.deepEqual(KNOWN.filter((k) => !bad.includes(k)), [], 'an import on the KNOWN list is gone: take it off the list');
});

test('the check sees a wrong-way import (a policy area importing the server)', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'layers-'));
  try {
    for (const top of Object.keys(MAY_IMPORT)) mkdirSync(join(dir, top));
    writeFileSync(join(dir, 'policies', 'a.ts'), "import { x } from '../proxy/server.js';\nimport type { y } from '../kernel/context.js';\n");
    writeFileSync(join(dir, 'kernel', 'b.ts'), "export const y = await import('../policies/a.js');\n");
    assert.deepEqual(wrongWay(dir).sort(), ['kernel/b.ts -> policies/a.js', 'policies/a.ts -> proxy/server.js']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the committed policy types match the schema', () => {
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'schema-types.mjs'), '--check'], { stdio: 'pipe' });
});
