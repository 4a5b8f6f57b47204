// The bench's policies: config/reference.toml (every stage on) under a small overlay that points it at the
// double and lifts the limits a load test would hit; what changes between configurations is said here.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { USER_KEY } from '../harness.js';
import { REFERENCE_POLICY } from '../paths.js';

const sha = (k: string): string => createHash('sha256').update(k).digest('hex');
const HUGE = 100_000_000;

export interface Variant {
  /** API keys in the policy (one is the bench's; the rest are random digests). */
  readonly keys: number;
  /** Custom disclosure patterns added to the reference's three (none ever matches the bench's text). */
  readonly extraPatterns: number;
}

/** Writes the overlay for one configuration and returns the `serve` arguments. */
export function overlay(dir: string, name: string, upstream: string, v: Variant): string[] {
  const keys = [`[[security.authentication.keys]]\nid = "bench"\nsha256 = "${sha(USER_KEY)}"\nrole = "user"\ncreated = ${new Date().toISOString().slice(0, 10)}\n`];
  for (let i = 1; i < v.keys; i++) keys.push(`[[security.authentication.keys]]\nid = "k${i}"\nsha256 = "${randomBytes(32).toString('hex')}"\nrole = "user"\ncreated = 2026-11-01\n`);
  const pats = Array.from({ length: v.extraPatterns }, (_, i) => `bench_p${i} = "zq${i}x[0-9]{6}[a-f]{4}"`);
  const text = `
[server]
port = 0
state_dir = "${join(dir, name, 'state')}"
max_connections_per_ip = 0      # 1,000 open streams come from one address
max_body_bytes = 4194304        # the 1 MB body scenario
[upstream]
url = "${upstream}"
max_connections = 2048          # 1,000 open streams each hold an upstream connection
max_keepalive_connections = 64
[security.authentication]
oidc = []                       # the reference issuer is not reachable from a bench machine
[security.validation]
max_input_length = 4000000      # the 1 MB body scenario
[security.rate_limiting.global]
rate = ${HUGE}
burst = ${HUGE}
[security.rate_limiting.per_user]
rate = ${HUGE}
burst = ${HUGE}
[security.rate_limiting.per_endpoint]
default_rate = ${HUGE}
default_burst = ${HUGE}
[[security.rate_limiting.endpoints]]
path = "/v1/chat/completions"
rate = ${HUGE}
burst = ${HUGE}
[security.rate_limiting.tokens]
per_user_per_minute = ${HUGE * 1000}
[security.information_disclosure.patterns]
${pats.join('\n')}
[logging.security]
file_path = "${join(dir, name, 'audit.log')}"
[monitoring]
metrics_port = 0
[security.authentication.__keys__]
`.replace('[security.authentication.__keys__]\n', keys.join('\n'));
  const file = join(dir, `${name}.toml`);
  writeFileSync(file, text);
  return ['--policy', REFERENCE_POLICY, '--policy', file];
}
