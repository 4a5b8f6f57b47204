// Graceful shutdown in-process: close() lets a stream finish, then must not wait out the grace period for idle sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startHarness, basePolicy, auth, postJson, USER_KEY, type Harness } from '../../dev/harness.js';

const GRACE_S = 0.8;
const harness = (): Promise<Harness> =>
  startHarness({ policy: (u, d) => basePolicy(u, d).replace('shutdown_grace_seconds = 2', `shutdown_grace_seconds = ${GRACE_S}`) });

test('close() during a stream: the stream finishes whole before the server is gone', async () => {
  const h = await harness();
  try {
    h.double.setResponseText('ab cde fg hij');
    h.double.misbehave({ kind: 'chunk_delay', ms: 50 });
    const r = await postJson(`${h.url}/v1/chat/completions`, { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }], stream: true }, auth(USER_KEY));
    const closing = h.proxy.close();
    const text = await r.text();
    const content = text.split('\n').filter(Boolean).map((l) => JSON.parse(l).choices[0].delta.content ?? '').join('');
    assert.equal(content, 'ab cde fg hij');
    await closing;
  } finally {
    await h.double.close();
  }
});

// Sockets that carry no request (idle keep-alive, or never used) must not hold shutdown for shutdown_grace_seconds.

test('close() does not wait out the grace period once a keep-alive client\'s stream has ended', async () => {
  const h = await harness();
  try {
    h.double.setResponseText('ab cde');
    h.double.misbehave({ kind: 'chunk_delay', ms: 50 });
    const r = await postJson(`${h.url}/v1/chat/completions`, { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }], stream: true }, auth(USER_KEY));
    const closing = h.proxy.close();
    await r.text();
    const t0 = Date.now();
    await closing;
    assert.ok(Date.now() - t0 < 300, `close() resolved ${Date.now() - t0} ms after the last answer ended`);
  } finally {
    await h.double.close();
  }
});

test('close() does not wait out the grace period for a connection that never sent a request', async () => {
  const h = await harness();
  const s = net.connect(h.proxy.port, '127.0.0.1');
  s.on('error', () => undefined);
  try {
    await new Promise((r) => s.once('connect', r));
    const t0 = Date.now();
    await h.proxy.close();
    assert.ok(Date.now() - t0 < 300, `close() took ${Date.now() - t0} ms`);
  } finally {
    s.destroy();
    await h.double.close();
  }
});
