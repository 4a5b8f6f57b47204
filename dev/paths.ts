// Locates the repository root and the project's own complete example policy from compiled tests (dist/tests/...) or sources.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'config'))) return d;
    d = dirname(d);
  }
  return process.cwd();
}

export const REPO_ROOT = findRoot();
/** The complete example policy: sets every schema key (checked by tests/unit/kernel/schema-descriptions.test.ts). */
export const REFERENCE_POLICY = join(REPO_ROOT, 'config', 'reference.toml');
