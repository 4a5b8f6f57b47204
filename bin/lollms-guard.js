#!/usr/bin/env node
// Entry point: runs the compiled CLI (built by `npm install` / `npm run build` into dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import v8 from 'node:v8';

// V8 lets the old generation grow to a multiple of what survived the last full collection, chosen from its
// GC speed (up to 4x): under load the heap grows to 65-100 MB around ~25 MB of live objects. A growing
// factor of 1.5 collects sooner and keeps RSS after load ~55 MB lower at no measurable CPU cost
// (docs/performance.md "Memory and latency"). Set here because Node refuses it in NODE_OPTIONS; unlike the
// heap sizes, V8 still applies it after start-up.
// An operator who sizes the heap (--max-old-space-size or --max-semi-space-size in NODE_OPTIONS, or those
// or --heap-growing-percent on the node command line) gets exactly that.
const given = `${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`;
if (!/--(?:heap-growing-percent|max-old-space-size|max-semi-space-size)\b/.test(given.replace(/_/g, '-'))) v8.setFlagsFromString('--heap-growing-percent=50');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'proxy', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('lollms-guard: not built yet. Run "npm install" (or "npm run build") in ' + root + '\n');
  process.exit(2);
}
const { main } = await import(pathToFileURL(entry).href);
const code = await main(process.argv.slice(2));
process.exitCode = code;
