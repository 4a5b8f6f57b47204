// `node dist/dev/bench/stream.js [streams]`: CPU per streamed event of the answer's redaction alone, in-process,
// with the bench's full reference policy (dev/bench/policy.ts: the reference detectors and 3 + 7 patterns).
// Each stream is an OpenAI chat SSE answer cut as the LoLLMS double cuts it (3- and 4-character deltas), fed
// to a fresh SSE redactor one event per push. Prints CPU µs per event and per stream, best of 5 rounds; run it
// under `node --cpu-prof` to see where an event's time goes. STREAM_EVENTS sets the events per stream.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../../policies/load.js';
import { compileDisclosure } from '../../policies/disclosure/index.js';
import { fragment } from '../doubles/lollms-double.js';
import { overlay } from './policy.js';

const STREAMS = Number(process.argv[2] ?? 400);
const EVENTS = Number(process.env.STREAM_EVENTS ?? 200);

const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-stream-'));
const env = { LOLLMS_API_KEY: 'bench-upstream-key-0123456789', LOLLMS_GUARD_AUDIT_KEY: 'bench-audit-chain-key-0123456789' };
const files = overlay(dir, 'stream', 'http://127.0.0.1:9', { keys: 10, extraPatterns: 7 }).filter((a) => a !== '--policy');
const d = loadPolicy(files, env).raw.security.information_disclosure;
const redactor = compileDisclosure({ ...d, filters: { ...d.filters }, patterns: { ...d.patterns } });

const prose = 'The service answered in 42 ms; see https://example.com/docs/v2 for details, or mail the team. '
  + 'Consensus needs a majority of replicas, so a cluster of five tolerates two failures without losing writes. ';
let text = '';
while (fragment(text).length < EVENTS) text += prose;
const base = { id: 'chatcmpl-0123456789abcdef01234567', object: 'chat.completion.chunk', created: 1764720000, model: 'llama3-8b-instruct' };
const events = fragment(text).slice(0, EVENTS).map((p, i) => Buffer.from(`data: ${JSON.stringify({
  ...base, choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: p } : { content: p }, finish_reason: null }],
})}\n\n`));
events.push(Buffer.from(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`));

function round(): number {
  const c0 = process.cpuUsage();
  let bytes = 0;
  for (let s = 0; s < STREAMS; s++) {
    const r = redactor.createStreamRedactor('sse', () => {});
    for (const e of events) bytes += r.push(e).length;
    bytes += r.end().length;
  }
  const u = process.cpuUsage(c0);
  if (bytes === 0) throw new Error('nothing came out');
  return u.user + u.system;
}

round(); // warm-up
let best = Infinity;
for (let k = 0; k < 5; k++) best = Math.min(best, round());
const perStream = best / STREAMS;
console.log(`stream redaction: ${(perStream / events.length).toFixed(1)} µs CPU per event, ${perStream.toFixed(0)} µs per stream of ${events.length} events (best of 5 rounds of ${STREAMS})`);
