// Redaction through the real proxy: prompts scrubbed before the LLM, answers scrubbed in every stream format.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, auth, postJson, USER_KEY, ADMIN_KEY, basePolicy, type Harness } from '../../dev/harness.js';

// Synthetic values in the real formats (not live credentials).
const AWS = 'AKIA' + 'Q3EGRT7LMNPV2XKD';
const GH = 'ghp_' + 'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5';
const SECRET_TEXT = `Use key ${AWS} and token ${GH}; mail ops@corp-internal.example.org or hit http://10.1.2.3:8080/ for details.`;

let h: Harness;
before(async () => {
  h = await startHarness();
  h.double.setResponseText(SECRET_TEXT);
});
after(async () => {
  await h.close();
});

const chat = (extra: Record<string, unknown> = {}) => ({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: `my aws key is ${AWS}, please keep it` }], ...extra });

function assertClean(text: string, where: string): void {
  for (const s of [AWS, GH, 'ops@corp-internal.example.org', '10.1.2.3']) assert.ok(!text.includes(s), `${where} leaked ${s.slice(0, 8)}…`);
  // no partial secret either: 12-character windows of each credential
  for (const s of [AWS, GH]) for (let i = 0; i + 12 <= s.length; i += 4) assert.ok(!text.includes(s.slice(i, i + 12)), `${where} leaked a piece of a credential`);
}

test('a credential in the prompt never reaches the LLM; the audit says what kind, never the value', async () => {
  const r = await postJson(`${h.url}/v1/chat/completions`, chat(), auth(USER_KEY));
  assert.equal(r.status, 200);
  await r.text();
  const up = h.double.lastRequest()!.body;
  assert.ok(!up.includes(AWS));
  assert.match(up, /\[REDACTED:aws_access_key\]/);
  const lines = await h.auditLines();
  const raw = JSON.stringify(lines);
  assert.ok(!raw.includes(AWS));
  assert.ok(lines.some((l) => (l.event as { action?: string }).action === 'redaction'));
  assert.match(raw, /aws_access_key/);
});

test('non-streamed JSON answers are scrubbed and stay valid JSON', async () => {
  const r = await postJson(`${h.url}/v1/chat/completions`, chat(), auth(USER_KEY));
  const text = await r.text();
  assertClean(text, 'JSON answer');
  const b = JSON.parse(text) as { choices: Array<{ message: { content: string } }> };
  assert.match(b.choices[0].message.content, /\[REDACTED:/);
  assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(text));
});

for (const [name, path, body, headers] of [
  ['NDJSON (legacy chat)', '/v1/chat/completions', chat({ stream: true }), {}],
  ['SSE (new lollms chat)', '/v1/chat/completions', chat({ stream: true }), { 'x-double-format': 'sse' }],
  ['unframed text (/lollms_generate)', '/lollms_generate', { prompt: 'hello', stream: true }, {}],
  ['Ollama NDJSON (/api/chat)', '/api/chat', { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }] }, {}],
] as const) {
  test(`streamed ${name} answers are scrubbed while they stream`, async () => {
    const r = await postJson(`${h.url}${path}`, body, auth(USER_KEY, headers as Record<string, string>));
    assert.equal(r.status, 200);
    const text = await r.text();
    assertClean(text, name);
    assert.match(text, /REDACTED/);
    if (name.startsWith('SSE')) {
      for (const ev of text.split('\n\n').filter((e) => e.startsWith('data: ') && !e.includes('[DONE]'))) JSON.parse(ev.slice(6));
      assert.match(text, /data: \[DONE\]/);
    } else if (name.includes('NDJSON')) {
      for (const line of text.split('\n').filter(Boolean)) JSON.parse(line);
    }
  });
}

test('upstream 5xx bodies become a generic error; version headers are dropped', async () => {
  h.double.misbehave({ kind: 'status', status: 500 });
  try {
    const r = await postJson(`${h.url}/v1/chat/completions`, chat(), auth(ADMIN_KEY));
    assert.equal(r.status, 502);
    const text = await r.text();
    assert.doesNotMatch(text, /Traceback|\/home\/|192\.168\./);
    assert.equal(JSON.parse(text).error.code, 'upstream_error');
    assert.equal(r.headers.get('server'), null);
  } finally {
    h.double.misbehave(null);
  }
});

test('request_action = "block" refuses a prompt holding a credential with 403 naming the kind', async () => {
  const b = await startHarness({ policy: (u, d) => basePolicy(u, d) + '\n[security.information_disclosure]\nrequest_action = "block"\n' });
  try {
    const r = await postJson(`${b.url}/v1/chat/completions`, chat(), auth(USER_KEY));
    assert.equal(r.status, 403);
    const e = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(e.error.code, 'sensitive_data_blocked');
    assert.match(e.error.message, /aws_access_key/);
    assert.equal(b.double.requests.length, 0);
  } finally {
    await b.close();
  }
});
