// CONNECT is answered, not dropped, and TRACE is never forwarded: 405 method_not_allowed in the error shape, an audit line, nothing upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startHarness, ADMIN_KEY, type Harness } from '../../dev/harness.js';
import { requestLines, sleep } from '../helpers/http.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

function raw(bytes: string): Promise<string> {
  const { hostname, port } = new URL(h.url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), hostname, () => s.write(bytes));
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    setTimeout(() => s.destroy(), 5000).unref();
  });
}

test('CONNECT (authority-form and origin-form) gets 405 method_not_allowed and reaches nothing upstream', async () => {
  for (const target of ['example.com:443', '127.0.0.1:6379', '/v1/chat/completions']) {
    const n = h.double.requests.length;
    const answer = await raw(`CONNECT ${target} HTTP/1.1\r\nHost: ${target.startsWith('/') ? 'x' : target}\r\n\r\n`);
    const [head, body] = answer.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 405 /, `${target}: ${answer.slice(0, 200)}`);
    assert.match(head!, /\r\nx-error-code: method_not_allowed\r\n/i, target);
    // The shape of the route's clients: OpenAI's error object on /v1, LoLLMS' {status, error, code} elsewhere.
    const parsed = JSON.parse(body!) as { error: { code?: string } | string; code?: string };
    assert.equal(typeof parsed.error === 'object' ? parsed.error.code : parsed.code, 'method_not_allowed', target);
    assert.ok(!/HTTP\/1\.1 200/.test(answer), 'no tunnel');
    assert.equal(h.double.requests.length, n, `${target} reached the upstream`);
  }
  await sleep(50);
  const line = requestLines(await h.auditLines()).pop()!;
  assert.equal(line.http.request.method, 'CONNECT');
  assert.equal(line.http.response.status_code, 405);
});

test('TRACE gets 405 method_not_allowed even for a role allowed everything; TRACK is no HTTP method to node (400)', async () => {
  for (const [method, code] of [['TRACE', '405 '], ['TRACK', '400 ']]) {
    const n = h.double.requests.length;
    const answer = await raw(`${method} /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nConnection: close\r\n\r\n`);
    assert.ok(answer.startsWith(`HTTP/1.1 ${code}`), answer.slice(0, 200));
    if (method === 'TRACE') assert.match(answer, /\r\nx-error-code: method_not_allowed\r\n/i);
    assert.ok(!answer.includes(ADMIN_KEY), 'nothing echoed');
    assert.equal(h.double.requests.length, n);
  }
});
