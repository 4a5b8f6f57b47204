// The role's token cap lands in the field each kind of upstream reads on each endpoint, and nowhere it would be refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startClientsHarness, type ClientsHarness } from '../helpers/clients-harness.js';
import { auth, postJson, USER_KEY } from '../../dev/harness.js';

const started: ClientsHarness[] = [];
after(async () => {
  for (const h of started) await h.close();
});
const harnesses = new Map<string, Promise<ClientsHarness>>();
function harness(kind: string): Promise<ClientsHarness> {
  let p = harnesses.get(kind);
  if (!p) {
    p = startClientsHarness(kind).then((h) => (started.push(h), h));
    harnesses.set(kind, p);
  }
  return p;
}

const CAP = 512; // basePolicy's user role
const msgs = [{ role: 'user', content: 'hi' }];
type Row = [kind: string, path: string, body: Record<string, unknown>, expect: Record<string, unknown>];
const ABSENT = undefined;

// expect: field path -> value the upstream must receive (ABSENT: the field must not be there).
const ROWS: Row[] = [
  ['openai', '/v1/chat/completions', { model: 'o3-mini', messages: msgs }, { max_completion_tokens: CAP, max_tokens: ABSENT }],
  ['openai', '/v1/chat/completions', { model: 'gpt-4o-mini', messages: msgs, max_tokens: 100 }, { max_tokens: 100, max_completion_tokens: ABSENT }],
  ['openai', '/v1/chat/completions', { model: 'gpt-4o-mini', messages: msgs, max_completion_tokens: -1 }, { max_completion_tokens: CAP, max_tokens: ABSENT }],
  ['openai', '/v1/completions', { model: 'gpt-4o-mini', prompt: 'hi' }, { max_tokens: CAP, max_completion_tokens: ABSENT }],
  ['openai', '/v1/responses', { model: 'gpt-4o-mini', input: 'hi' }, { max_output_tokens: CAP, max_tokens: ABSENT }],
  ['openai', '/v1/messages', { model: 'claude-x', messages: msgs }, { max_tokens: CAP }],
  ['openai', '/v1/embeddings', { model: 'text-embedding-3-small', input: ['a', 'b'] }, { max_tokens: ABSENT, max_completion_tokens: ABSENT, max_output_tokens: ABSENT }],
  ['lollms', '/v1/chat/completions', { model: 'llama3-8b', messages: msgs }, { max_tokens: CAP, max_completion_tokens: ABSENT }],
  // A legacy server reads max_tokens only: the client's max_completion_tokens is mirrored there.
  ['lollms', '/v1/chat/completions', { model: 'llama3-8b', messages: msgs, max_completion_tokens: 100 }, { max_tokens: 100, max_completion_tokens: 100 }],
  ['lollms', '/lollms_generate', { prompt: 'hi' }, { n_predict: CAP, max_tokens: ABSENT }],
  ['lollms', '/api/generate', { model: 'llama3-8b', prompt: 'hi', stream: false }, { 'options.num_predict': CAP, max_tokens: CAP }],
  ['lollms', '/api/chat', { model: 'llama3-8b', messages: msgs, stream: false, options: { num_predict: 50 } }, { 'options.num_predict': 50, max_tokens: 50 }],
  ['lollms', '/v1/embeddings', { model: 'llama3-8b', input: 'a' }, { max_tokens: ABSENT, n_predict: ABSENT }],
  ['ollama', '/v1/chat/completions', { model: 'llama3-8b', messages: msgs }, { max_tokens: CAP, max_completion_tokens: ABSENT }],
  ['ollama', '/api/chat', { model: 'llama3-8b', messages: msgs, stream: false }, { 'options.num_predict': CAP, max_tokens: ABSENT }],
  ['ollama', '/api/embed', { model: 'llama3-8b', input: 'a' }, { max_tokens: ABSENT, options: ABSENT }],
  // The cap bounds the request: k generations (n, best_of) share it, so a written limit is cap / k.
  ['openai', '/v1/chat/completions', { model: 'gpt-4o-mini', messages: msgs, n: 4 }, { max_completion_tokens: CAP / 4, n: 4 }],
  ['openai', '/v1/completions', { model: 'gpt-4o-mini', prompt: 'hi', n: 2, best_of: 8, max_tokens: -1 }, { max_tokens: CAP / 8, best_of: 8 }],
  ['openai', '/v1/chat/completions', { model: 'gpt-4o-mini', messages: msgs, n: 2, max_tokens: CAP / 2 }, { max_tokens: CAP / 2 }],
];

const get = (o: Record<string, any>, path: string): unknown => path.split('.').reduce<any>((v, k) => (v == null ? undefined : v[k]), o);

for (const [kind, path, body, expect] of ROWS) {
  test(`kind ${kind}: ${path} ${JSON.stringify(body).slice(0, 70)} -> ${JSON.stringify(expect)}`, async () => {
    const h = await harness(kind);
    const before = h.double.requests.length;
    const r = await postJson(`${h.url}${path}`, body, auth(USER_KEY));
    await r.text();
    assert.equal(h.double.requests.length, before + 1, `forwarded (status ${r.status})`);
    const sent = JSON.parse(h.double.requests[before].body) as Record<string, any>;
    for (const [field, value] of Object.entries(expect)) assert.deepEqual(get(sent, field), value, `${field} in ${JSON.stringify(sent)}`);
  });
}

test('a cap above the role limit is refused whichever field carries it, Responses and Messages included, and n / best_of times the limit', async () => {
  const h = await harness('openai');
  for (const [path, body] of [
    ['/v1/responses', { model: 'gpt-4o-mini', input: 'hi', max_output_tokens: CAP + 1 }],
    ['/v1/messages', { model: 'claude-x', messages: msgs, max_tokens: CAP + 1 }],
    ['/api/chat', { model: 'gpt-4o-mini', messages: msgs, options: { num_predict: CAP + 1 } }],
    ['/v1/chat/completions', { model: 'gpt-4o-mini', messages: msgs, max_completion_tokens: '9999' }],
    // Each choice under the cap, the request over it.
    ['/v1/chat/completions', { model: 'gpt-4o-mini', messages: msgs, max_tokens: CAP, n: 2 }],
    ['/v1/completions', { model: 'gpt-4o-mini', prompt: 'hi', max_tokens: 100, n: 1, best_of: '6' }],
    ['/v1/chat/completions', { model: 'gpt-4o-mini', messages: msgs, n: CAP + 1 }],
  ] as const) {
    const before = h.double.requests.length;
    const r = await postJson(`${h.url}${path}`, body, auth(USER_KEY));
    assert.equal(r.status, 403, path);
    assert.equal(r.headers.get('x-error-code'), 'max_tokens_exceeded');
    await r.text();
    assert.equal(h.double.requests.length, before, `${path} not forwarded`);
  }
});

test('the openai SDK with a reasoning model and no token limit works through an "openai" upstream (no max_tokens added)', async () => {
  const h = await harness('openai');
  const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: USER_KEY, maxRetries: 0 });
  const c = await client.chat.completions.create({ model: 'o3-mini', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(c.choices[0].message.role, 'assistant');
  const r = await client.responses.create({ model: 'o3-mini', input: 'hi' });
  assert.equal(r.status, 'completed');
  assert.ok(r.output_text.length > 0);
  // The same double refuses max_tokens for this model: the proxy's cap did not add it.
  await assert.rejects(client.chat.completions.create({ model: 'o3-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    return true;
  });
});
