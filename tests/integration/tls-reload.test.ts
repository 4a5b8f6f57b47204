// TLS certificate reloads with real certificates: in-flight connections survive, new ones see the new certificate, broken files are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startHarness, basePolicy, USER_KEY, type Harness } from '../../dev/harness.js';
import { haveOpenssl, makeCerts, makeServerCert, type ServerCert, type TestCerts } from '../helpers/certs.js';
import { openWs, roundTrip, closed, waitFor } from '../helpers/ws-client.js';
import { run as validate } from '../../proxy/cli/validate.js';
import { startServer } from '../../proxy/server.js';

const skip = haveOpenssl() ? false : 'openssl is not installed';
let h: Harness;
let c: TestCerts;
let live: { cert: string; key: string };
let certA: ServerCert;
const BOTH = '["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]';

const tlsSection = (cert: string, key: string, tls12: string): string => `[security.tls]
enabled = true
min_version = "1.2"
cert_file = "${cert}"
key_file = "${key}"

[security.tls.ciphers]
tls12 = ${tls12}

[security.rate_limiting]`;

before(async () => {
  if (skip) return;
  c = makeCerts();
  certA = makeServerCert(c, 'a');
  const dir = join(c.dir, 'live');
  mkdirSync(dir);
  live = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  install(certA);
  h = await startHarness({
    policy: (up, d) => basePolicy(up, d).replace('"POST /api/chat"]', '"POST /api/chat", "GET /ws/dm/*"]').replace('[security.rate_limiting]', tlsSection(live.cert, live.key, BOTH)),
  });
});
after(async () => {
  if (h) await h.close();
});

function install(s: ServerCert): void {
  copyFileSync(s.key, live.key);
  copyFileSync(s.cert, live.cert);
}

function peer(opts: tls.ConnectionOptions = {}): Promise<string> {
  const u = new URL(h.url);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), ca: readFileSync(c.ca), ...opts }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

const events = async (action: string): Promise<Array<Record<string, any>>> =>
  (await h.auditLines()).filter((l) => (l.event as { action?: string } | undefined)?.action === action);

test('a reload changes the certificate of new connections; a stream and a WebSocket in flight go on', { skip }, async () => {
  assert.equal(await peer(), certA.fingerprint);
  const ws = await openWs(`${h.url.replace(/^https/, 'wss')}/ws/dm/t`, [], { headers: { Authorization: `Bearer ${USER_KEY}` }, ca: readFileSync(c.ca) });
  h.double.misbehave({ kind: 'chunk_delay', ms: 100 });
  const u = new URL(h.url);
  let first!: () => void;
  const gotFirst = new Promise<void>((r) => (first = r));
  const body: Buffer[] = [];
  const streamed = new Promise<{ status: number; fp: string }>((resolve, reject) => {
    const req = https.request({ host: u.hostname, port: u.port, path: '/v1/chat/completions', method: 'POST', ca: readFileSync(c.ca), headers: { Authorization: `Bearer ${USER_KEY}`, 'Content-Type': 'application/json' } }, (res) => {
      const fp = (res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
      res.pipe(new Writable({ write(chunk: Buffer, _e, cb) { body.push(chunk); first(); cb(); } }));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, fp }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'llama3-8b', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
  });
  await gotFirst;
  const certB = makeServerCert(c, 'b');
  install(certB);
  const r = await h.proxy.reload();
  assert.equal(r.ok, true);
  assert.equal(await peer(), certB.fingerprint, 'a new connection sees the new certificate');
  const done = await streamed;
  h.double.misbehave(null);
  assert.equal(done.status, 200);
  assert.equal(done.fp, certA.fingerprint);
  assert.match(Buffer.concat(body).toString(), /\[DONE\]|"finish_reason":"stop"/, 'the stream in flight ended whole');
  assert.equal((await roundTrip(ws, 'still here')).toString(), 'still here');
  ws.close();
  await closed(ws);
  assert.ok((await events('tls_reload')).length >= 1);
});

test('a certificate renewed on disk is picked up without a signal', { skip }, async () => {
  const certC = makeServerCert(c, 'c');
  install(certC);
  await waitFor(async () => (await peer()) === certC.fingerprint, 'the watched files to be reloaded', 15_000);
});

test('broken new files are refused and reported; the certificate in force stays', { skip }, async () => {
  const inForce = await peer();
  const before = (await events('tls_reload_failed')).length;
  // A key that does not belong to the certificate.
  const other = makeServerCert(c, 'd');
  copyFileSync(other.key, live.key);
  const r = await h.proxy.reload();
  assert.equal(r.ok, true, 'the policy itself reloads');
  assert.equal(await peer(), inForce);
  // Not PEM at all.
  writeFileSync(live.cert, 'not a certificate\n');
  await h.proxy.reload();
  assert.equal(await peer(), inForce);
  await waitFor(async () => (await events('tls_reload_failed')).length >= before + 2, 'two tls_reload_failed events');
  const last = (await events('tls_reload_failed')).at(-1)!;
  assert.match(String(last.event.reason), /previous certificate stays in force/);
  // Fixed files are taken again.
  const certE = makeServerCert(c, 'e');
  install(certE);
  await h.proxy.reload();
  assert.equal(await peer(), certE.fingerprint);
});

test('a renewal to a key type no listed TLS 1.2 suite can use is refused', { skip }, async () => {
  const dir = join(c.dir, 'only-ec');
  mkdirSync(dir);
  const lines: string[] = [];
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  copyFileSync(certA.cert, cert);
  copyFileSync(certA.key, key);
  const file = join(dir, 'policy.toml');
  writeFileSync(file, basePolicy(h.double.url, dir).replace('[security.rate_limiting]', tlsSection(cert, key, '["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]')));
  const s = await startServer({ files: [file], say: (l) => lines.push(l), watch: false });
  try {
    const rsa = makeServerCert(c, 'rsa', 'rsa');
    copyFileSync(rsa.key, key);
    copyFileSync(rsa.cert, cert);
    await s.reload();
    assert.ok(lines.some((l) => /refused: security\.tls\.ciphers\.tls12 lists no suite that can use the RSA key/.test(l)), lines.join('\n'));
  } finally {
    await s.close();
  }
});

test('start and validate report TLS 1.2 suites that cannot use the certificate key, with the fix; such a listener refuses TLS 1.2', { skip }, async () => {
  const dir = join(c.dir, 'mismatch');
  mkdirSync(dir);
  const file = join(dir, 'policy.toml');
  // The seed's list: ECDHE_RSA only, with an ECDSA certificate.
  writeFileSync(file, basePolicy(h.double.url, dir).replace('[security.rate_limiting]', tlsSection(certA.cert, certA.key, '["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]')));
  let err = '';
  const io = { stdout: new Writable({ write(_c, _e, cb) { cb(); } }), stderr: new Writable({ write(ch: Buffer, _e, cb) { err += ch.toString(); cb(); } }), stdin: process.stdin, env: {} };
  assert.equal(await validate([file], io), 0);
  assert.match(err, /policy\.toml:\d+:\d+ security\.tls\.ciphers\.tls12 lists no suite that can use the ECDSA key/);
  assert.match(err, /Add "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" to security\.tls\.ciphers\.tls12, or set security\.tls\.min_version = "1\.3"/);
  const lines: string[] = [];
  const s = await startServer({ files: [file], say: (l) => lines.push(l), watch: false });
  try {
    assert.ok(lines.some((l) => l.startsWith('lollms-guard: warning: security.tls.ciphers.tls12 lists no suite')), lines.join('\n'));
    const u = new URL(s.url);
    // What the warning is about: a TLS 1.2 client cannot complete a handshake.
    await assert.rejects(new Promise((resolve, reject) => {
      const t = tls.connect({ host: u.hostname, port: Number(u.port), ca: readFileSync(c.ca), maxVersion: 'TLSv1.2' }, () => resolve(t));
      t.on('error', reject);
    }));
  } finally {
    await s.close();
  }
});
