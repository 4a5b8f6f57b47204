// Intake run directly (tests/helpers/stage.ts): the context every stage reads, and refusals before any stage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestHandler } from 'express';
import { runStage } from '../../helpers/stage.js';

const pass: RequestHandler = (_req, _res, next) => next();

test('intake: normalised path, query, method, request id and trace context in the context', async () => {
  const r = await runStage(pass, { method: 'post', url: '/v1//chat/./completions?x=1', headers: { 'X-Request-ID': 'abc-1', traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` } });
  assert.equal(r.nextCalled, true);
  assert.equal(r.status, undefined, 'nothing written');
  assert.equal(r.ctx.path, '/v1/chat/completions');
  assert.equal(r.ctx.query, '?x=1');
  assert.equal(r.ctx.method, 'POST');
  assert.equal(r.ctx.id, 'abc-1');
  assert.equal(r.headers['x-request-id'], 'abc-1');
  assert.equal(r.ctx.traceId, '1'.repeat(32));
  assert.equal(r.ctx.clientIp, '127.0.0.1');
});

test('intake: an unsafe request id is replaced', async () => {
  const r = await runStage(pass, { headers: { 'X-Request-ID': 'a b\u00e9<script>' } });
  assert.match(r.ctx.id, /^[0-9a-f-]{36}$/);
});

test('intake: a path normalisation refuses is answered 400 and no stage runs', async () => {
  let ran = false;
  const r = await runStage((_q, _s, next) => ((ran = true), next()), { url: '/v1/%252e%252e/admin' });
  assert.equal(ran, false);
  assert.equal(r.nextCalled, false);
  assert.equal(r.status, 400);
  assert.equal(r.headers['x-error-code'], 'bad_request');
  assert.deepEqual([r.ctx.decisions.at(-1)?.code, r.ctx.decisions.at(-1)?.rule], ['bad_request', undefined], 'no policy key governs path normalisation');
});

test('runStage: a stage that neither answers nor hands on is reported, not waited for', async () => {
  await assert.rejects(runStage(() => {}), /neither answered nor called next/);
});

test('runStage: a streamed (chunked) answer is read back whole', async () => {
  const r = await runStage((_q, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.write('{"a":');
    res.end('[1,2]}');
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { a: [1, 2] });
});
