// HTTPS listener from [security.tls]: minimum version, and client certificates standing for an API key (mTLS).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { startHarness, basePolicy, USER_KEY, type Harness } from '../../dev/harness.js';
import { haveOpenssl, makeCerts, type TestCerts } from '../helpers/certs.js';

const skip = haveOpenssl() ? false : 'openssl is not installed';
let h: Harness;
let c: TestCerts;

before(async () => {
  if (skip) return;
  c = makeCerts();
  h = await startHarness({
    policy: (up, dir) =>
      basePolicy(up, dir).replace('[security.rate_limiting]', `[security.tls]
enabled = true
min_version = "1.3"
cert_file = "${c.serverCert}"
key_file = "${c.serverKey}"
ca_file = "${c.ca}"

[security.tls.client]
verify_mode = "optional"

[[security.tls.client.identities]]
id = "batch-worker"
fingerprint_sha256 = "${c.clientFingerprint}"
role = "user"

[security.rate_limiting]`),
  });
});
after(async () => {
  if (h) await h.close();
});

function get(path: string, opts: https.RequestOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(h.url + path);
    const req = https.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'GET', ca: readFileSync(c.ca), ...opts }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the proxy serves HTTPS and still asks for a key', { skip }, async () => {
  assert.match(h.url, /^https:/);
  const r = await get('/v1/models');
  assert.equal(r.status, 401);
  const ok = await get('/v1/models', { headers: { Authorization: `Bearer ${USER_KEY}` } });
  assert.equal(ok.status, 200);
  assert.equal(h.double.lastRequest()!.headers['x-forwarded-proto'], 'https');
});

test('a listed client certificate stands for a key', { skip }, async () => {
  const r = await get('/v1/models', { cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey) });
  assert.equal(r.status, 200);
  const lines = await h.auditLines();
  assert.ok(lines.some((l) => (l.user as { id?: string } | undefined)?.id === 'batch-worker'));
});

test('TLS 1.2 is refused when min_version = "1.3"', { skip }, async () => {
  const u = new URL(h.url);
  await assert.rejects(
    new Promise((resolve, reject) => {
      const s = tls.connect({ host: u.hostname, port: Number(u.port), ca: readFileSync(c.ca), maxVersion: 'TLSv1.2' }, () => resolve(s));
      s.on('error', reject);
    }),
  );
});
