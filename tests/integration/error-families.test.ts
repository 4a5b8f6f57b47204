// One denial, three route families: OpenAI, Ollama-style and native LoLLMS shapes with the same status and code (and X-Error-Code).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, auth, postJson, USER_KEY, type Harness } from '../../dev/harness.js';
import { errorOf } from '../helpers/http.js';
import { ERRORS, type ErrorCode } from '../../kernel/errors.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

type Family = 'openai' | 'ollama' | 'lollms';
const GEN: Record<Family, string> = { openai: '/v1/chat/completions', ollama: '/api/chat', lollms: '/lollms_generate' };
const OTHER: Record<Family, string> = { openai: '/v1/files', ollama: '/api/ps', lollms: '/list_models' };
const good = (f: Family, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  f === 'lollms' ? { prompt: 'hi', ...extra } : { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }], stream: false, ...extra };

const CASES: Array<[ErrorCode, (f: Family) => Promise<Response>]> = [
  ['missing_api_key', (f) => postJson(h.url + GEN[f], good(f))],
  ['invalid_api_key', (f) => postJson(h.url + GEN[f], good(f), auth('k'.repeat(40)))],
  ['route_not_allowed', (f) => fetch(h.url + OTHER[f], { headers: auth(USER_KEY) })],
  ['model_not_allowed', (f) => postJson(h.url + GEN[f], good(f, f === 'lollms' ? { model_name: 'gpt-4o' } : { model: 'gpt-4o' }), auth(USER_KEY))],
  ['max_tokens_exceeded', (f) => postJson(h.url + GEN[f], good(f, f === 'lollms' ? { n_predict: 99999 } : f === 'ollama' ? { options: { num_predict: 99999 } } : { max_tokens: 99999 }), auth(USER_KEY))],
  ['invalid_json', (f) => postJson(h.url + GEN[f], '{"prompt":', auth(USER_KEY))],
];

for (const [code, send] of CASES) {
  test(`${code}: the same status and code on OpenAI, Ollama and native LoLLMS routes, each in its own shape`, async () => {
    const seen = new Map<Family, string>();
    for (const f of ['openai', 'ollama', 'lollms'] as const) {
      const r = await send(f);
      const e = await errorOf(r); // checks the family's exact shape and X-Error-Code
      assert.equal(e.status, ERRORS[code].status, `${f}: status`);
      assert.equal(e.code, code, `${f}: code`);
      assert.equal(e.message, ERRORS[code].message, `${f}: message`);
      seen.set(f, e.text);
    }
    assert.ok(JSON.parse(seen.get('ollama')!).error === ERRORS[code].message, 'Ollama clients read a string "error"');
    assert.equal(JSON.parse(seen.get('lollms')!).status, false, 'native LoLLMS: status false');
    assert.equal(typeof JSON.parse(seen.get('openai')!).error, 'object', 'OpenAI: an error object');
  });
}
