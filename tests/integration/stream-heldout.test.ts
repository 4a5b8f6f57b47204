// Streams equal buffered answers through the real proxy, on text the in-process properties never saw: corpus
// secrets put into other contexts (markdown, YAML, log lines, sentences), cut by the double into 3- and
// 4-character deltas and sent over TCP as SSE and as NDJSON. (Recall is measured elsewhere: this checks that
// the stream decides exactly what the whole answer decides.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, auth, postJson, USER_KEY, type Harness } from '../../dev/harness.js';
import { corpus } from '../helpers/corpus.js';

const CONTEXTS: Array<(s: string) => string> = [
  (s) => `Here is the config you asked for:\n\n\`\`\`yaml\nservice:\n  credential: ${s}\n\`\`\`\nKeep it safe.`,
  (s) => `2026-12-03T07:00:00Z WARN worker[3] retrying with ${s} (attempt 2/5)`,
  (s) => `| name | value |\n|---|---|\n| prod | ${s} |`,
  (s) => `Sure! I found this in the logs: "${s}". Shall I rotate it?`,
  (s) => `${s}\nThat is all.`,
];

// Every sixth credential and every fourth PII item of the labelled corpus, each in one of the contexts above.
const cases = corpus.items
  .filter((it, k) => (it.category === 'credential' && k % 6 === 0) || (it.category === 'pii' && k % 4 === 0))
  .map((it, k) => ({ id: it.id, secrets: it.secrets, text: CONTEXTS[k % CONTEXTS.length](it.text) }));

let h: Harness;
before(async () => { h = await startHarness(); });
after(async () => { await h.close(); });

const body = (stream: boolean) => ({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'Report.' }], stream });

async function streamed(format: 'sse' | 'ndjson'): Promise<string> {
  const r = await postJson(`${h.url}/v1/chat/completions`, body(true), auth(USER_KEY, { 'X-Double-Format': format }));
  assert.equal(r.status, 200);
  const raw = await r.text();
  let out = '';
  for (const line of raw.split('\n')) {
    const payload = format === 'sse' ? (line.startsWith('data: ') ? line.slice(6) : '') : line;
    if (!payload.startsWith('{')) continue;
    const o = JSON.parse(payload) as { choices?: Array<{ delta?: { content?: string } }> };
    for (const c of o.choices ?? []) out += c.delta?.content ?? '';
  }
  return out;
}

test(`streamed answers equal buffered ones (${cases.length} held-out texts, SSE and NDJSON)`, async () => {
  assert.ok(cases.length > 50, `only ${cases.length} cases`);
  for (const c of cases) {
    h.double.setResponseText(c.text);
    const r = await postJson(`${h.url}/v1/chat/completions`, body(false), auth(USER_KEY));
    assert.equal(r.status, 200);
    const whole = ((await r.json()) as { choices: Array<{ message: { content: string } }> }).choices[0].message.content;
    for (const format of ['sse', 'ndjson'] as const) {
      const got = await streamed(format);
      assert.equal(got, whole, `${c.id} over ${format}`);
    }
  }
});
