// Bench: redaction throughput (MB per CPU second) over the labelled corpus mixed with prose.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { compileDisclosure } from '../../policies/disclosure/index.js';
import { REPO_ROOT, REFERENCE_POLICY } from '../paths.js';

export async function benchRedaction(): Promise<Record<string, number>> {
  const corpus = JSON.parse(readFileSync(join(REPO_ROOT, 'tests/fixtures/redaction-corpus.json'), 'utf8')) as { items: Array<{ text: string }> };
  const prose = 'The model answered the question about distributed systems with a careful explanation of consensus, ';
  const mixed = corpus.items.map((i) => i.text).join('\n') + '\n' + prose.repeat(400);
  const ref = parse(readFileSync(REFERENCE_POLICY, 'utf8')) as { security: { information_disclosure: Record<string, unknown> } };
  const sec = ref.security.information_disclosure as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const [name, patterns] of [['builtins', {}], ['reference_policy', sec.patterns as Record<string, string>]] as const) {
    const r = compileDisclosure({
      enabled: true, redact_requests: true, redact_responses: true, replacement: '[REDACTED:{kind}]', sanitize_errors: true, hide_versions: true,
      filters: { ...(sec.filters as Record<string, boolean>) }, patterns,
    });
    const bytes = Buffer.byteLength(mixed);
    r.redactText(mixed); // warm-up
    let n = 0;
    // CPU time of this process, not wall time: on a shared machine the wall clock also counts other processes' turns.
    const start = process.hrtime.bigint(), c0 = process.cpuUsage();
    while (Number(process.hrtime.bigint() - start) < 1.5e9) {
      r.redactText(mixed);
      n++;
    }
    const used = process.cpuUsage(c0);
    const secs = (used.user + used.system) / 1e6;
    out[`redaction MB/s per core (${name})`] = (bytes * n) / secs / 1e6;
  }
  return out;
}
