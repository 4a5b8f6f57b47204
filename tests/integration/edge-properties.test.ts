// Property-based: any path or body bytes through a real proxy → no crash, no 5xx, never forwarded when the policy refuses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { startHarness, USER_KEY, type Harness } from '../../dev/harness.js';
import { normalizePath, encodePath } from '../../proxy/normalize-path.js';

let h: Harness;
let port: number;
before(async () => {
  h = await startHarness();
  port = Number(new URL(h.url).port);
});
after(async () => {
  await h.close();
});

/** One raw HTTP/1.1 exchange (Connection: close); resolves with the status code (0 = no answer). */
function exchange(head: Buffer, body: Buffer = Buffer.alloc(0)): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => {});
    s.on('connect', () => s.write(Buffer.concat([head, body])));
    const give = setTimeout(() => s.destroy(), 8000);
    s.on('close', () => {
      clearTimeout(give);
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(got);
      resolve(m ? Number(m[1]) : 0);
    });
  });
}

// Pieces an attacker would use to reach another route than the one that was checked.
const PATH_PIECES = ['/', '//', '.', '..', '%2e', '%2E%2e', '%2f', '%5c', '\\', '%00', '%252e', 'v1', 'chat', 'completions', 'admin', 'api', ';', '?', '#', '%', '%u002e', '..;', ' ', '\t', 'é', '%c0%ae', '%ff', 'lollms_generate', '.well-known', '~', '*'];
const pathArb = fc.oneof(
  fc.array(fc.constantFrom(...PATH_PIECES), { maxLength: 12 }).map((a) => a.join('')),
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.string({ maxLength: 30 }),
);
const ALLOWED_POST = new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/lollms_generate', '/api/chat']);

test('path normaliser: any input → no throw; a result is absolute, has no dot segments, and is what is forwarded', () => {
  fc.assert(
    fc.property(pathArb, (raw) => {
      const p = normalizePath(raw);
      if (p === null) return;
      assert.equal(p[0], '/');
      assert.ok(!/(^|\/)\.\.?(\/|$)/.test(p), `dot segment in ${p}`);
      assert.ok(!p.includes('//'), `empty segment in ${p}`);
      assert.ok(!/[\u0000-\u001f\u007f]/.test(p));
      assert.equal(normalizePath(p), p, 'idempotent');
      assert.equal(normalizePath(encodePath(p)), p, 'the upstream decodes what the rules matched');
    }),
    { numRuns: 3000, seed: 7 },
  );
});

test('route matcher through the proxy: any request target → no 5xx; forwarded only to a route the role allows', async () => {
  const body = Buffer.from('{"model":"llama3-8b","messages":[{"role":"user","content":"hi"}]}');
  await fc.assert(
    fc.asyncProperty(pathArb, async (raw) => {
      const n = h.double.requests.length;
      const head = Buffer.concat([Buffer.from('POST '), Buffer.from(raw.startsWith('/') ? raw : `/${raw}`, 'latin1'), Buffer.from(` HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${USER_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`)]);
      const status = await exchange(head, body);
      assert.ok(status === 0 || status < 500 || status === 502, `status ${status} for ${JSON.stringify(raw)}`);
      if (h.double.requests.length > n) {
        const url = h.double.requests[h.double.requests.length - 1]!.url;
        const path = decodeURIComponent(url.split('?')[0]!);
        assert.ok(ALLOWED_POST.has(path), `${JSON.stringify(raw)} reached ${url}`);
      }
    }),
    { numRuns: 250, seed: 11 },
  );
});

// Bodies: random bytes, and JSON built from hostile pieces (duplicates, escapes, case variants, bad UTF-8).
const KEYS = ['model', 'MODEL', 'Model', 'm\\u006fdel', 'model_name', 'max_tokens', 'MAX_TOKENS', 'max_tokens', 'n_predict', 'messages', 'stream', '\u017Ftream', 'user'];
const VALUES = ['"llama3-8b"', '"gpt-4"', '"mistral-7b"', '99999', '10', '"9999"', '-1', 'null', 'true', '"\\ud800"', '[{"role":"user","content":"hi"}]', '[{"role":"user","content":"hi","content":"x"}]', '{}', '1e400'];
const jsonArb = fc
  .array(fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES)), { maxLength: 6 })
  .map((kv) => Buffer.from(`{${kv.map(([k, v]) => `"${k}":${v}`).join(',')}}`));
const badUtf8 = fc.tuple(jsonArb, fc.constantFrom('c0af', 'eda080', 'f4908080', 'ff', 'e282')).map(([b, hex]) => {
  const t = b.toString('latin1');
  const at = Math.max(1, t.indexOf('"', 1));
  return Buffer.concat([b.subarray(0, at + 1), Buffer.from(hex, 'hex'), b.subarray(at + 1)]);
});
// Half the JSON bodies start with a listed model, so enough of them pass to check what is forwarded.
const namedArb = jsonArb.map((b) => Buffer.concat([Buffer.from('{"model":"llama3-8b"' + (b.length > 2 ? ',' : '')), b.subarray(1)]));
const bodyArb = fc.oneof(jsonArb, namedArb, badUtf8, fc.uint8Array({ maxLength: 60 }).map((u) => Buffer.from(u)));

test('JSON intake through the proxy: any body → no 5xx; what is forwarded has an allowed model and a capped token limit, as Python reads it too', async () => {
  const forwarded: string[] = [];
  await fc.assert(
    fc.asyncProperty(bodyArb, async (body) => {
      const n = h.double.requests.length;
      const head = Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${USER_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
      const status = await exchange(head, body);
      assert.ok(status > 0 && (status < 500 || status === 502), `status ${status} for ${body.toString('latin1')}`);
      if (h.double.requests.length > n) {
        const text = h.double.requests[h.double.requests.length - 1]!.body;
        if (text === '') return; // an empty body carries nothing to act on
        const js = JSON.parse(text) as Record<string, unknown>;
        // The role lists its models: a forwarded chat request names one (none at all is refused), and every model given is listed.
        assert.ok(['model', 'model_name'].some((f) => typeof js[f] === 'string'), `forwarded without a model: ${body.toString('latin1')}`);
        for (const f of ['model', 'model_name']) if (js[f] !== undefined && js[f] !== null) assert.match(String(js[f]), /^(llama3-|mistral-)/, `forwarded ${f} of ${body.toString('latin1')}`);
        assert.ok(typeof js.max_tokens === 'number' && js.max_tokens <= 512, `forwarded max_tokens of ${body.toString('latin1')}`);
        forwarded.push(text);
      }
    }),
    { numRuns: 300, seed: 5 },
  );
  assert.ok(forwarded.length > 10, `some bodies were forwarded (${forwarded.length})`);
  // The same forwarded bytes as Python's json.loads sees them (FastAPI, lollms): same model and limit.
  const script = 'import sys, json\nfor line in sys.stdin:\n    b = json.loads(json.loads(line))\n    print(json.dumps([b.get("model"), b.get("max_tokens"), b.get("model_name"), b.get("n_predict")]))\n';
  const r = spawnSync('python3', ['-c', script], { input: forwarded.map((t) => JSON.stringify(t)).join('\n') + '\n', encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  r.stdout.trim().split('\n').forEach((l, i) => {
    const js = JSON.parse(forwarded[i]!) as Record<string, unknown>;
    assert.deepEqual(JSON.parse(l), [js.model ?? null, js.max_tokens ?? null, js.model_name ?? null, js.n_predict ?? null], forwarded[i]);
  });
});
