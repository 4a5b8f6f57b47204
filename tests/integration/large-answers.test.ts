// Large non-streamed answers: unredacted ones stream straight through at any size; redacted ones are held up to the policy limit.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startClientsHarness, type ClientsHarness } from '../helpers/clients-harness.js';
import { auth, postJson, USER_KEY } from '../../dev/harness.js';
import { errorOf } from '../helpers/http.js';

const LIMIT = 256 * 1024;
const open: ClientsHarness[] = [];
after(async () => {
  for (const h of open) await h.close();
});

/** A proxy with a LIMIT-byte buffer, answer redaction on or off. */
async function start(redact: boolean): Promise<ClientsHarness> {
  const h = await startClientsHarness('openai', `
[security.information_disclosure]
enabled = true
redact_responses = ${redact}
`, { max_buffered_response_bytes: LIMIT });
  open.push(h);
  return h;
}

const embed = (n: number) => ({ model: 'text-embedding-3-small', input: Array.from({ length: n }, (_, i) => `text ${i}`) });

test('an embeddings batch far above the buffer limit streams through when no redaction applies, usage still counted', async () => {
  const h = await start(false);
  h.double.embeddingDims = 3072;
  const r = await postJson(`${h.url}/v1/embeddings`, embed(64), auth(USER_KEY)); // 64 x 3072 numbers: several MiB
  assert.equal(r.status, 200);
  assert.ok(Number(r.headers.get('content-length')) > 4 * LIMIT, 'the upstream length is kept');
  const body = (await r.json()) as { data: Array<{ embedding: number[] }>; usage: { prompt_tokens: number } };
  assert.equal(body.data.length, 64);
  assert.equal(body.data[63].embedding.length, 3072);
  const line = (await h.auditLines()).find((l) => l.url?.path === '/v1/embeddings');
  assert.equal(line?.http?.response?.status_code, 200);
  assert.equal(line?.gen_ai?.usage?.input_tokens, body.usage.prompt_tokens, 'usage read from the tail of a large answer');
});

test('with redaction on, an answer above upstream.max_buffered_response_bytes is response_too_large (502), with its audit reason', async () => {
  const h = await start(true);
  h.double.embeddingDims = 3072;
  const r = await postJson(`${h.url}/v1/embeddings`, embed(64), auth(USER_KEY));
  const e = await errorOf(r);
  assert.equal(e.status, 502);
  assert.equal(e.code, 'response_too_large');
  const line = (await h.auditLines()).find((l) => l.url?.path === '/v1/embeddings');
  assert.equal(line?.lollms_guard?.error?.code, 'response_too_large');
  const d = (line?.lollms_guard?.decisions as Array<Record<string, string>>).find((x) => x.code === 'response_too_large');
  assert.equal(d?.rule, 'upstream.max_buffered_response_bytes');
  // Below the limit the same proxy answers as usual.
  h.double.embeddingDims = 8;
  const ok = await postJson(`${h.url}/v1/embeddings`, embed(4), auth(USER_KEY));
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { data: unknown[] }).data.length, 4);
});
