#!/usr/bin/env node
// Entry point: runs the compiled CLI (built by `npm install` / `npm run build` into dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'proxy', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('lollms-guard: not built yet. Run "npm install" (or "npm run build") in ' + root + '\n');
  process.exit(2);
}
const { main } = await import(pathToFileURL(entry).href);
const code = await main(process.argv.slice(2));
process.exitCode = code;
