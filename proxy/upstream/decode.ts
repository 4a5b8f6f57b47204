// Content-Encoding of an upstream answer: the proxy asks for identity; an upstream that compresses anyway is
// decoded here, before any response filter reads a byte, so redaction never judges compressed bytes.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

/** Decoded output above FLOOR + RATIO x input is a decompression bomb, not an answer. */
const FLOOR = 1024 * 1024;
const RATIO = 100;

/** Builds a decoder once the first bytes are known (deflate comes zlib-wrapped or raw). */
type Make = (first: Buffer) => Transform;
/** A zlib stream starts with CMF/FLG: compression method 8 and a header checksum divisible by 31. */
const zlibWrapped = (b: Buffer): boolean => b.length < 2 || ((b[0]! & 0x0f) === 8 && ((b[0]! << 8) | b[1]!) % 31 === 0);
const CODINGS: Readonly<Record<string, Make>> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  // Many servers send raw deflate under "deflate" (RFC 9110 means zlib): both are read.
  deflate: (first) => (zlibWrapped(first) ? zlib.createInflate() : zlib.createInflateRaw()),
  br: () => zlib.createBrotliDecompress(),
};

/**
 * One decoding step, built on its first chunk; an empty body (a 200 with Content-Length: 0 and a coding)
 * decodes to nothing instead of "unexpected end of file".
 */
class Step extends Transform {
  private inner: Transform | undefined;
  constructor(private readonly make: Make) {
    super();
  }
  override _transform(c: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (!this.inner) {
      const inner = (this.inner = this.make(c));
      inner.on('data', (d: Buffer) => this.push(d));
      inner.on('error', (e: Error) => this.destroy(e));
    }
    if (this.inner.write(c)) done();
    else this.inner.once('drain', () => done());
  }
  override _flush(done: TransformCallback): void {
    if (!this.inner) return done();
    this.inner.once('end', () => done());
    this.inner.end();
  }
  override _destroy(e: Error | null, done: (e: Error | null) => void): void {
    this.inner?.destroy();
    done(e);
  }
}

/** What to do with an answer's Content-Encoding: nothing, decode it with these steps, or refuse it. */
export type Decoding = { kind: 'identity' } | { kind: 'decode'; steps: readonly Make[] } | { kind: 'unknown'; coding: string };

export function decodingFor(header: string | string[] | undefined): Decoding {
  if (header === undefined) return { kind: 'identity' };
  const codings = (Array.isArray(header) ? header.join(',') : header).split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return { kind: 'identity' };
  const steps: Make[] = [];
  // Listed in the order applied: undone last first (RFC 9110 8.4).
  for (const c of codings.reverse()) {
    const make = CODINGS[c];
    if (!make) return { kind: 'unknown', coding: c };
    steps.push(make);
  }
  return { kind: 'decode', steps };
}

/**
 * The decoded answer. Errors (corrupt data, a bomb) surface as the returned stream's 'error'; destroying it
 * destroys the upstream's body too.
 */
export function decoded(body: Readable, steps: readonly Make[]): Readable {
  let compressed = 0;
  let plain = 0;
  body.on('data', (c: Buffer) => (compressed += c.length));
  const guard = new Transform({
    transform(c: Buffer, _enc, done: TransformCallback) {
      plain += c.length;
      if (plain > FLOOR + RATIO * compressed) return done(new Error('decoded answer grows beyond its compression ratio bound'));
      done(null, c);
    },
  });
  const chain: Array<Readable | Transform> = [body, ...steps.map((m) => new Step(m)), guard];
  for (let i = 0; i + 1 < chain.length; i++) {
    const from = chain[i]!;
    const to = chain[i + 1] as Transform;
    from.on('error', (e: Error) => guard.destroy(e));
    from.pipe(to);
  }
  guard.once('close', () => {
    for (const s of chain) if (!s.destroyed) s.destroy();
  });
  return guard;
}
