// Content-Encoding of an upstream answer (proxy/upstream/decode.ts): real zlib streams, every coding the proxy
// reads, one it does not, corrupt data, and a decompression bomb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { decoded, decodingFor } from '../../../../proxy/upstream/decode.js';

async function read(s: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of s) out.push(c as Buffer);
  return Buffer.concat(out);
}
const pieces = (b: Buffer, n = 7): Readable => Readable.from(Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n)));

test('decode: identity passes; gzip, x-gzip, deflate, br and a list of them are decoded; an unknown coding is refused', async () => {
  assert.deepEqual(decodingFor(undefined), { kind: 'identity' });
  assert.deepEqual(decodingFor(' Identity '), { kind: 'identity' });
  assert.deepEqual(decodingFor('zstd'), { kind: 'unknown', coding: 'zstd' });
  assert.deepEqual(decodingFor('gzip, compress'), { kind: 'unknown', coding: 'compress' });
  const text = Buffer.from(JSON.stringify({ choices: [{ message: { content: 'hello '.repeat(500) } }] }));
  const cases: Array<[string, Buffer]> = [
    ['gzip', gzipSync(text)],
    ['X-GZIP', gzipSync(text)],
    ['deflate', deflateSync(text)],
    ['br', brotliCompressSync(text)],
    ['deflate, gzip', gzipSync(deflateSync(text))],
  ];
  for (const [coding, z] of cases) {
    const d = decodingFor(coding);
    assert.equal(d.kind, 'decode', coding);
    if (d.kind !== 'decode') continue;
    assert.deepEqual(await read(decoded(pieces(z), d.steps)), text, coding);
  }
});

test('decode: corrupt data and a decompression bomb end in an error, never in bytes', async () => {
  const d = decodingFor('gzip');
  assert.equal(d.kind, 'decode');
  if (d.kind !== 'decode') return;
  await assert.rejects(read(decoded(pieces(Buffer.from('not gzip at all, just text')), d.steps)));
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // ~64 KiB that inflate to 64 MiB
  await assert.rejects(read(decoded(pieces(bomb, 4096), d.steps)), /compression ratio/);
  // The same ratio below the bound decodes: the bound is what refused the bomb.
  const fine = Buffer.alloc(512 * 1024, 'a');
  assert.equal((await read(decoded(pieces(gzipSync(fine), 4096), d.steps))).length, fine.length);
});
