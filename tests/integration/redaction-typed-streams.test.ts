// Redaction of streamed Responses API, Messages API and reasoning chat answers through the real proxy, events reassembled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../proxy/server.js';
import { ADMIN_KEY, auth, basePolicy, postJson } from '../../dev/harness.js';
import { startTypedStreamDouble, type TypedStreamDouble } from '../../dev/doubles/typed-stream-double.js';

const GH = 'ghp_' + 'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5';
let up: TypedStreamDouble;
let proxy: RunningServer;

before(async () => {
  up = await startTypedStreamDouble();
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-typed-'));
  const file = join(dir, 'policy.toml');
  writeFileSync(file, basePolicy(up.url, dir, `
[security.information_disclosure]
enabled = true
redact_responses = true

[security.information_disclosure.patterns]
api_key_pattern = "sk-[a-zA-Z0-9]{32,}"
email_pattern = "[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\\\.[a-zA-Z]{2,}"
`));
  proxy = await startServer({ files: [file], env: { TEST_UPSTREAM_KEY: 'upstream-secret-value-123' }, say: () => {} });
});
after(async () => { await proxy.close(); await up.close(); });

async function events(path: string, body: object): Promise<Array<Record<string, any>>> {
  const r = await postJson(`${proxy.url}${path}`, { model: 'llama3-8b-instruct', stream: true, ...body }, auth(ADMIN_KEY));
  assert.equal(r.status, 200);
  const text = await r.text();
  for (let i = 0; i + 10 <= GH.length; i += 5) assert.ok(!text.includes(GH.slice(i, i + 10)), `${path} leaked a piece of the secret`);
  return text.split('\n\n').filter((e) => e.includes('data: ') && !e.includes('[DONE]')).map((e) => {
    const data = JSON.parse(e.split('\n').find((l) => l.startsWith('data: '))!.slice(6));
    const ev = e.split('\n').find((l) => l.startsWith('event: '));
    if (ev && typeof data.type === 'string') assert.equal(ev.slice(7), data.type, 'event line names the type');
    return data;
  });
}

test('Responses API (/v1/responses): a secret split across output_text.delta events is redacted', async () => {
  const full = `Your key is ${GH}, keep it.`;
  const ev = (type: string, extra: object, seq: number) => ({ type, sequence_number: seq, item_id: 'msg_1', output_index: 0, content_index: 0, ...extra });
  up.setEvents('/v1/responses', [
    { type: 'response.created', sequence_number: 0, response: { id: 'resp_1', status: 'in_progress', output: [] } },
    ev('response.output_text.delta', { delta: full.slice(0, 16) }, 1), ev('response.output_text.delta', { delta: full.slice(16, 33) }, 2),
    ev('response.output_text.delta', { delta: full.slice(33) }, 3), ev('response.output_text.done', { text: full }, 4),
    { type: 'response.completed', sequence_number: 5, response: { id: 'resp_1', status: 'completed', output: [{ type: 'message', id: 'msg_1', content: [{ type: 'output_text', text: full }] }] } },
  ]);
  const got = await events('/v1/responses', { input: 'hi' });
  const text = got.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
  assert.equal(text, 'Your key is [REDACTED:github_token], keep it.');
  assert.equal(got.find((e) => e.type === 'response.output_text.done')!.text, text);
  assert.equal(got.at(-1)!.type, 'response.completed');
});

test('Messages API (/v1/messages): a secret split across content_block_delta events is redacted, thinking first', async () => {
  const d = (index: number, type: string, key: string, v: string) => ({ type: 'content_block_delta', index, delta: { type, [key]: v } });
  up.setEvents('/v1/messages', [
    { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], usage: { input_tokens: 3, output_tokens: 0 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
    d(0, 'thinking_delta', 'thinking', 'write to ops@acme'), d(0, 'thinking_delta', 'thinking', '-corp.com'),
    { type: 'content_block_stop', index: 0 },
    { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
    d(1, 'text_delta', 'text', `token ${GH.slice(0, 19)}`), d(1, 'text_delta', 'text', GH.slice(19)),
    { type: 'content_block_stop', index: 1 },
    { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }, { type: 'message_stop' },
  ]);
  const got = await events('/v1/messages', { max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
  const block = (i: number, k: string) => got.filter((e) => e.type === 'content_block_delta' && e.index === i).map((e) => e.delta[k] ?? '').join('');
  assert.equal(block(0, 'thinking'), 'write to [REDACTED:email]');
  assert.equal(block(1, 'text'), 'token [REDACTED:github_token]');
  const stop0 = got.findIndex((e) => e.type === 'content_block_stop' && e.index === 0);
  const firstText = got.findIndex((e) => e.type === 'content_block_delta' && e.index === 1);
  assert.ok(got.slice(0, stop0).some((e) => e.type === 'content_block_delta' && e.index === 0 && e.delta.thinking?.includes('[REDACTED')), 'thinking completes before its block stops');
  assert.ok(stop0 < firstText);
  assert.equal(got.at(-1)!.type, 'message_stop');
});

test('chat with reasoning and logprobs: reasoning ends before the answer begins, logprobs survive and are redacted', async () => {
  const c = (delta: object, extra: object = {}) => ({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null, ...extra }] });
  const lp = (t: string) => ({ logprobs: { content: [{ token: t, logprob: -0.5, bytes: [...Buffer.from(t)], top_logprobs: [] }] } });
  const answer = ['The key: ', GH.slice(0, 12), GH.slice(12), ' done.'];
  up.setEvents('/v1/chat/completions', [
    c({ role: 'assistant', reasoning_content: 'The user wants ' }), c({ reasoning_content: 'the key at ops@acme-corp' }),
    ...answer.map((p) => c({ content: p }, lp(p))),
    { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
  ]);
  const got = await events('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], logprobs: true });
  const kinds = got.flatMap((e) => { const d = e.choices?.[0]?.delta ?? {}; return [d.reasoning_content ? 'r' : '', d.content ? 'c' : ''].filter(Boolean); });
  assert.ok(kinds.indexOf('c') > 0 && !kinds.slice(kinds.indexOf('c')).includes('r'), `order ${kinds.join('')}`);
  assert.equal(got.map((e) => e.choices?.[0]?.delta?.reasoning_content ?? '').join(''), 'The user wants the key at ops@acme-corp');
  const content = got.map((e) => e.choices?.[0]?.delta?.content ?? '').join('');
  assert.equal(content, 'The key: [REDACTED:github_token] done.');
  const tokens = got.flatMap((e) => e.choices?.[0]?.logprobs?.content ?? []);
  assert.equal(tokens.length, answer.length);
  assert.equal(tokens.map((t: { token: string }) => t.token).join(''), content);
});
