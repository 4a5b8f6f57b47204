// Runs every compiled test file (dist/tests/**/*.test.js) one file at a time on the Node that runs this
// script. The files are listed here because `node --test <dir>` reads a folder on Node 20 but a glob on 22+.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2] ?? 'dist/tests';
/** Test files under dir, in a stable order. */
const files = (dir) => readdirSync(dir, { withFileTypes: true })
  .sort((a, b) => a.name.localeCompare(b.name))
  .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : []));
// A compiled test whose source was moved or deleted stays in dist/ (tsc never removes output): skip it.
const list = files(root).filter((f) => {
  if (root !== 'dist/tests') return true;
  const source = f.replace(/^dist\//, '').replace(/\.js$/, '.ts');
  if (existsSync(source)) return true;
  console.error(`# skipped ${f}: its source ${source} no longer exists (stale build output)`);
  return false;
});
if (list.length === 0) {
  console.error(`no test files under ${root}: run \`npm run build\` first`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...list], { stdio: 'inherit' });
process.exit(r.status ?? 1);
