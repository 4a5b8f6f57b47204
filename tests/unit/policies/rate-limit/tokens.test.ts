// Token budgets: pre-charge, reconciliation (streamed or not, with or without upstream usage), estimate, overshoot bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryStore } from '../../../../proxy/stores/memory.js';
import { completionCap, DEFAULT_COMPLETION_CAP } from '../../../../policies/rate-limit/index.js';
import { errorCode, section, startStageHarness, type StageHarness } from '../../../helpers/rate-limit-stage.js';

const T0 = 1_699_999_980_000;
const chat = (promptChars: number, extra: Record<string, unknown> = {}) =>
  ({ model: 'm', messages: [{ role: 'user', content: 'p'.repeat(promptChars) }], ...extra });

async function withBudget(budget: number, fn: (h: StageHarness, clock: { t: number }) => Promise<void>): Promise<void> {
  const clock = { t: T0 };
  const h = await startStageHarness({ section: section({ tokens: { per_user_per_minute: budget } }), now: () => clock.t });
  try { await fn(h, clock); } finally { await h.close(); }
}
async function send(h: StageHarness, body: unknown, headers: Record<string, string> = {}, key = 'alice'): Promise<Response> {
  const res = await h.request('/v1/chat/completions', { key, body, headers });
  await res.clone().arrayBuffer();
  await h.settle();
  return res;
}

test('non-streamed with upstream usage: pre-charge prompt + max_tokens, reconcile to the usage', () => withBudget(100, async (h) => {
  const body = chat(40, { max_tokens: 50 }); // pre-charge 10 + 50
  assert.equal((await send(h, body, { 'x-sim-usage': '12,18' })).status, 200);
  assert.deepEqual(h.ctxs[0].usage, { input: 12, output: 18 });
  assert.equal((await send(h, body, { 'x-sim-usage': '12,18' })).status, 200); // 30 used + 60 fits
  const no = await send(h, body, { 'x-sim-usage': '12,18' }); // 60 used + 60 does not
  assert.equal(no.status, 429);
  assert.equal(await errorCode(no), 'token_budget_exceeded');
  assert.equal(no.headers.get('retry-after'), '60');
  assert.deepEqual(h.events.at(-1), { action: 'rate_limit_exceeded', scope: 'tokens', rule: 'security.rate_limiting.tokens.per_user_per_minute', identity: 'alice', retryAfterSeconds: 60 });
  assert.equal((await send(h, body, {}, 'bob')).status, 200); // per key
}));

test('streamed without usage: charged the estimate of prompt and answer text, marked estimated', () => withBudget(1000, async (h) => {
  assert.equal((await send(h, chat(40, { max_tokens: 200, stream: true }), { 'x-sim-stream': '1', 'x-sim-answer': '399' })).status, 200);
  assert.deepEqual(h.ctxs[0].usage, { input: 10, output: 100, estimated: true }); // ceil(40/4), ceil(399/4)
  assert.equal((await send(h, chat(40, { max_tokens: 880 }), { 'x-sim-usage': '0,0' })).status, 200); // 110 + 890 = 1000
  assert.equal((await send(h, chat(0, { max_tokens: 1 }), { 'x-sim-usage': '0,1' })).status, 200); // the 890 settled to 0
  assert.equal((await send(h, chat(40, { max_tokens: 880 }))).status, 429); // 110 + 0 + 1 + 890 > 1000
}));

test('streamed with usage in the last chunk, and non-streamed without usage', () => withBudget(1000, async (h) => {
  await send(h, chat(40, { stream: true, max_tokens: 10 }), { 'x-sim-stream': '1', 'x-sim-answer': '90', 'x-sim-usage': '7,9' });
  assert.deepEqual(h.ctxs[0].usage, { input: 7, output: 9 });
  await send(h, chat(8, { max_tokens: 10 }), { 'x-sim-answer': '21' });
  assert.deepEqual(h.ctxs[1].usage, { input: 2, output: 6, estimated: true });
}));

test('completion cap: max_tokens / max_completion_tokens / n_predict, default cap when absent or -1, times n', () => {
  assert.equal(completionCap({ messages: [], max_tokens: 50 }), 50);
  assert.equal(completionCap({ messages: [], max_completion_tokens: 70 }), 70);
  assert.equal(completionCap({ prompt: 'x', n_predict: 30 }), 30);
  assert.equal(completionCap({ prompt: 'x', n_predict: -1 }), DEFAULT_COMPLETION_CAP);
  assert.equal(completionCap({ messages: [] }), DEFAULT_COMPLETION_CAP);
  assert.equal(completionCap({ messages: [], max_tokens: 100, n: 3 }), 300);
  assert.equal(completionCap({ input: 'embed me' }), 0);
  // best_of generates that many too (the server returns n of them): the larger one is charged.
  assert.equal(completionCap({ prompt: 'x', max_tokens: 10, n: 2, best_of: 5 }), 50);
  assert.equal(completionCap({ prompt: 'x', max_tokens: 10, best_of: '4' }), 40);
  assert.equal(completionCap({ prompt: 'x', max_tokens: 10, num_return_sequences: 3 }), 30);
});

test('default cap applies at the stage; a pre-charge above the whole budget is refused', () => withBudget(DEFAULT_COMPLETION_CAP + 5, async (h) => {
  assert.equal((await send(h, chat(40))).status, 429); // 10 + 4096 > 4101
  assert.equal((await send(h, chat(40, { max_tokens: -1 }))).status, 429);
  assert.equal((await send(h, chat(40, { max_tokens: 100 }), { 'x-sim-usage': '10,100' })).status, 200);
}));

test('a request refused after the budget stage (never forwarded) is charged nothing', () => withBudget(100, async (h) => {
  assert.equal((await send(h, chat(0, { max_tokens: 100 }), { 'x-sim-skip': '1' })).status, 403);
  assert.equal((await send(h, chat(0, { max_tokens: 100 }), { 'x-sim-usage': '0,100' })).status, 200);
}));

test('budgets roll over a minute', () => withBudget(100, async (h, clock) => {
  assert.equal((await send(h, chat(0, { max_tokens: 100 }), { 'x-sim-usage': '0,100' })).status, 200);
  clock.t += 59_999;
  assert.equal((await send(h, chat(0, { max_tokens: 1 }))).status, 429);
  clock.t += 1;
  assert.equal((await send(h, chat(0, { max_tokens: 100 }), { 'x-sim-usage': '0,100' })).status, 200);
}));

test('concurrent requests of one key: what is admitted fits the budget when the upstream honours max_tokens', () => withBudget(500, async (h) => {
  const res = await Promise.all(Array.from({ length: 20 }, () =>
    h.request('/v1/chat/completions', { key: 'alice', body: chat(40, { max_tokens: 50, stream: true }), headers: { 'x-sim-stream': '1', 'x-sim-answer': '200' } })));
  await Promise.all(res.map((r) => r.arrayBuffer()));
  await h.settle();
  const ok = res.filter((r) => r.status === 200).length;
  assert.equal(ok, 8); // floor(500 / 60) while all are in flight
  const charged = h.ctxs.reduce((s, c) => s + (c.usage.input ?? 0) + (c.usage.output ?? 0), 0);
  assert.equal(charged, 8 * 60);
  assert.ok(charged <= 500);
}));

/**
 * The documented bound: for any window ending at t, the tokens settled in (t - 60 s, t] are at most
 * budget + the sum over those requests of max(0, actual - pre-charge).
 */
test('worst-case overshoot bound holds for any interleaving (property)', async () => {
  const W = 60_000;
  const req = fc.record({ gap: fc.integer({ min: 0, max: 20_000 }), dur: fc.integer({ min: 0, max: 200_000 }), pre: fc.integer({ min: 1, max: 400 }), act: fc.integer({ min: 0, max: 600 }) });
  await fc.assert(fc.asyncProperty(fc.integer({ min: 100, max: 1000 }), fc.array(req, { minLength: 1, maxLength: 40 }), async (budget, reqs) => {
    const clock = { t: 0 };
    const store = new MemoryStore({ now: () => clock.t });
    type Ev = { t: number; kind: 0 | 1; i: number };
    const evs: Ev[] = [];
    let t = 0;
    reqs.forEach((r, i) => { t += r.gap; evs.push({ t, kind: 1, i }); });
    const admitted = new Set<number>();
    const settledAt = new Map<number, number>();
    const queue = [...evs];
    while (queue.length) {
      queue.sort((a, b) => a.t - b.t || a.kind - b.kind);
      const e = queue.shift() as Ev;
      clock.t = e.t;
      const r = reqs[e.i];
      if (e.kind === 1) {
        const res = await store.reserve({ key: 'k', id: String(e.i), amount: r.pre, budget, windowMs: W }, undefined);
        if (res.allowed) { admitted.add(e.i); queue.push({ t: e.t + r.dur, kind: 0, i: e.i }); }
      } else {
        await store.settle('k', String(e.i), r.act, W);
        settledAt.set(e.i, e.t);
      }
    }
    for (const end of settledAt.values()) {
      let sum = 0;
      let excess = 0;
      for (const [i, s] of settledAt) {
        if (s > end - W && s <= end) { sum += reqs[i].act; excess += Math.max(0, reqs[i].act - reqs[i].pre); }
      }
      assert.ok(sum <= budget + excess, `window ending ${end}: ${sum} > ${budget} + ${excess}`);
    }
  }), { numRuns: 300 });
});
