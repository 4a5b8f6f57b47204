// The Responses API and Anthropic-style Messages through the proxy: caps in their fields, usage from JSON and typed SSE events charged to budgets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startClientsHarness, type ClientsHarness } from '../helpers/clients-harness.js';
import { auth, postJson, USER_KEY } from '../../dev/harness.js';
import { OPENAI_TEXT } from '../../dev/doubles/openai-double.js';

let h: ClientsHarness;
let client: OpenAI;
before(async () => {
  // A token budget on: what the audit reports as usage is what the budget charged (policies/rate-limit/tokens.ts).
  h = await startClientsHarness('openai', '[security.rate_limiting]\nenabled = true\n[security.rate_limiting.tokens]\nper_user_per_minute = 1000000\n');
  client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: USER_KEY, maxRetries: 0 });
});
after(async () => {
  await h.close();
});

/** The audit line of the last request to `path`, and what the upstream reported as usage. */
async function lineFor(path: string): Promise<Record<string, any>> {
  const lines = (await h.auditLines()).filter((l) => l.url?.path === path && l.event?.action !== undefined);
  const line = lines[lines.length - 1];
  assert.ok(line, `an audit line for ${path}`);
  return line;
}

test('Responses API, JSON: max_output_tokens written, usage counted', async () => {
  const r = await client.responses.create({ model: 'gpt-4o-mini', input: 'Say hello' });
  assert.equal(r.output_text, OPENAI_TEXT);
  assert.equal(h.double.lastBody().max_output_tokens, 512);
  const line = await lineFor('/v1/responses');
  assert.equal(line.gen_ai.usage.input_tokens, r.usage!.input_tokens);
  assert.equal(line.gen_ai.usage.output_tokens, r.usage!.output_tokens);
});

test('Responses API, typed SSE events: the SDK reassembles the text; usage from response.completed', async () => {
  const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'Say hello', stream: true });
  let text = '';
  let usage: OpenAI.Responses.ResponseUsage | undefined;
  const types = new Set<string>();
  for await (const ev of stream) {
    types.add(ev.type);
    if (ev.type === 'response.output_text.delta') text += ev.delta;
    if (ev.type === 'response.completed') usage = ev.response.usage ?? undefined;
  }
  assert.equal(text, OPENAI_TEXT);
  assert.ok(types.has('response.created') && types.has('response.completed'));
  assert.ok(usage && usage.output_tokens > 0);
  const line = await lineFor('/v1/responses');
  assert.equal(line.gen_ai.usage.input_tokens, usage.input_tokens);
  assert.equal(line.gen_ai.usage.output_tokens, usage.output_tokens);
  assert.notEqual(line.lollms_guard.usage_estimated, true, 'charged from the upstream usage, not estimated');
  assert.ok((line.lollms_guard.decisions as Array<{ stage: string }>).some((d) => d.stage === 'token_budget'), 'the budget stage ran');
});

test('Messages API, JSON and SSE (message_start / content_block_delta / message_delta): max_tokens written, usage counted', async () => {
  const body = { model: 'claude-x', messages: [{ role: 'user', content: 'Say hello' }] };
  const r = await postJson(`${h.url}/v1/messages`, body, auth(USER_KEY));
  assert.equal(r.status, 200, 'the cap made the required max_tokens present');
  const m = (await r.json()) as { content: Array<{ text: string }>; usage: { input_tokens: number; output_tokens: number } };
  assert.equal(m.content[0].text, OPENAI_TEXT);
  assert.equal(h.double.lastBody().max_tokens, 512);
  let line = await lineFor('/v1/messages');
  assert.deepEqual([line.gen_ai.usage.input_tokens, line.gen_ai.usage.output_tokens], [m.usage.input_tokens, m.usage.output_tokens]);

  const s = await postJson(`${h.url}/v1/messages`, { ...body, stream: true }, auth(USER_KEY));
  assert.match(String(s.headers.get('content-type')), /text\/event-stream/);
  const raw = await s.text();
  let text = '';
  let input = 0;
  let output = 0;
  for (const l of raw.split('\n')) {
    if (!l.startsWith('data: ')) continue;
    const ev = JSON.parse(l.slice(6)) as Record<string, any>;
    if (ev.type === 'content_block_delta') text += ev.delta.text;
    if (ev.type === 'message_start') input = ev.message.usage.input_tokens;
    if (ev.type === 'message_delta') output = ev.usage.output_tokens;
  }
  assert.equal(text, OPENAI_TEXT);
  line = await lineFor('/v1/messages');
  assert.equal(line.gen_ai.usage.input_tokens, input, 'input from message_start');
  assert.equal(line.gen_ai.usage.output_tokens, output, 'output from the last message_delta, not message_start');
  assert.ok(output > 1);
});
