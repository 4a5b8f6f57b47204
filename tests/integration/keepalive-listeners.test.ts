// A keep-alive connection serves many requests: what a request hangs on the socket must leave with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startHarness, USER_KEY } from '../../dev/harness.js';

test('many POSTs on one keep-alive connection leave no listener behind on its socket', async () => {
  const h = await startHarness();
  // The proxy runs in this process: a listener piling up on its side of the socket shows as this warning.
  const warnings: string[] = [];
  const onWarning = (w: Error): void => { if (w.name === 'MaxListenersExceededWarning') warnings.push(w.message); };
  process.on('warning', onWarning);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const u = new URL(h.url);
    const body = JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 });
    const ports = new Set<number>();
    for (let i = 0; i < 25; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({
          agent, host: u.hostname, port: u.port, path: '/v1/chat/completions', method: 'POST',
          headers: { authorization: `Bearer ${USER_KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        }, (res) => { ports.add(res.socket.localPort ?? 0); res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(status, 200);
    }
    assert.equal(ports.size, 1, 'every request went over the same connection');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
    agent.destroy();
    await h.close();
  }
});
