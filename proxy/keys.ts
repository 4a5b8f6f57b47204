// Keys that live outside the policy file: LOLLMSBOT_API_KEY (id "env") and the admin key generated at first start.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CompiledPolicy } from '../kernel/policy.js';
import { sha256Hex, type ExtraKey } from '../policies/auth.js';

export const GENERATED_KEY_FILE = 'admin-key.sha256';

export function newKey(): string {
  return `lg_${randomBytes(32).toString('base64url')}`;
}

/**
 * The keys the policy file cannot hold. With require_api_key and no key anywhere, a key is generated once:
 * printed to `say` a single time, only its digest kept under server.state_dir, reused on later starts.
 */
export function resolveExtraKeys(policy: CompiledPolicy, env: NodeJS.ProcessEnv, say: (line: string) => void, generate = true): ExtraKey[] {
  const out: ExtraKey[] = [];
  const envKey = env.LOLLMSBOT_API_KEY?.trim();
  if (envKey) out.push({ id: 'env', sha256: sha256Hex(envKey), role: 'admin', source: 'env' });
  const auth = policy.raw.security.authentication;
  if (!auth.require_api_key || auth.keys.length > 0 || out.length > 0 || policy.mode === 'disabled') return out;
  const dir = resolve(policy.raw.server.state_dir);
  const file = join(dir, GENERATED_KEY_FILE);
  let digest: string | undefined;
  try {
    digest = readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(digest)) digest = undefined;
  } catch {
    digest = undefined;
  }
  if (!digest && !generate) return out;
  if (!digest) {
    const key = newKey();
    digest = sha256Hex(key);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, digest + '\n', { mode: 0o600 });
    say('lollms-guard: no API key is configured, so an admin key was generated. It is shown this once:');
    say(`  ${key}`);
    say(`  Only its SHA-256 is kept (${file}). To replace it, run "lollms-guard gen-key --role admin",`);
    say('  paste the printed [[security.authentication.keys]] block into your policy, and delete that file.');
  }
  out.push({ id: 'generated-admin', sha256: digest, role: 'admin', source: 'generated' });
  return out;
}
