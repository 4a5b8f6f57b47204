// Runs one pipeline stage on a request without a listener (helmet's check(middleware, headers)): a real
// node:http IncomingMessage / ServerResponse pair over an in-memory socket, the context made by intake itself.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import { Socket } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestHandler } from 'express';
import type { CompiledPolicy } from '../../kernel/policy.js';
import type { RequestContext } from '../../kernel/context.js';
import type { Principal } from '../../kernel/context.js';
import { loadPolicy } from '../../policies/load.js';
import { createIntake } from '../../proxy/intake.js';

let dir: string | undefined;
let n = 0;

/** A policy from TOML text through the real loader (schema, semantic checks, freezing); no hand-made objects. */
export function policyFrom(toml = '', env: NodeJS.ProcessEnv = {}): CompiledPolicy {
  dir ??= mkdtempSync(join(tmpdir(), 'stage-policy-'));
  const file = join(dir, `p${n++}.toml`);
  writeFileSync(file, toml);
  return loadPolicy([file], env);
}

export interface StageRequest {
  readonly method?: string;
  /** The request line's target, query included; intake normalises it. */
  readonly url?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** The body as the body reader would have read it (ctx.rawBody). */
  readonly body?: string | Buffer | object;
  /** Who authentication found (ctx.principal); none = anonymous, the policy's default role. */
  readonly principal?: Partial<Principal> & { role: string };
}

export interface StageResult {
  /** The stage handed the request on (it was not answered). */
  readonly nextCalled: boolean;
  /** The answer's status, undefined when nothing was written. */
  readonly status?: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  /** The answer body: parsed when it is JSON, else the text ('' when none). */
  readonly body: unknown;
  readonly ctx: RequestContext;
}

/** An in-memory socket: what the response writes is kept, nothing is ever read. */
class MemorySocket extends Duplex {
  readonly chunks: Buffer[] = [];
  remoteAddress = '127.0.0.1';
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk));
    cb();
  }
  setTimeout(): this { return this; }
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
}

/** Decodes a chunked HTTP/1.1 body. */
function unchunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(b.subarray(i, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/**
 * Runs intake on the request (request id, trace, normalised path: a path intake refuses is answered there and
 * the stage is not run), then the stage. Resolves once the stage called next() or the answer ended.
 */
export async function runStage(stage: RequestHandler, request: StageRequest = {}, policy: CompiledPolicy = policyFrom()): Promise<StageResult> {
  const socket = new MemorySocket();
  const req = new IncomingMessage(socket as unknown as Socket);
  req.method = request.method ?? 'GET';
  req.url = request.url ?? '/';
  for (const [k, v] of Object.entries(request.headers ?? {})) req.headers[k.toLowerCase()] = v;
  req.push(null);
  const res = new ServerResponse(req);
  res.assignSocket(socket as unknown as Socket);
  const ended = new Promise<void>((resolve) => res.once('finish', () => resolve()));

  const call = (h: RequestHandler): Promise<boolean> =>
    new Promise<boolean>((resolve, reject) => {
      res.once('finish', () => resolve(false));
      try {
        const r = h(req as never, res as never, (err?: unknown) => (err ? reject(err) : resolve(true))) as unknown;
        // A stage that returns without answering or handing on would hang a real request: say so.
        Promise.resolve(r).then(() => setImmediate(() => (res.writableEnded ? resolve(false) : reject(new Error('stage neither answered nor called next()')))), reject);
      } catch (e) {
        reject(e);
      }
    });

  let nextCalled = await call(createIntake(policy, { onDone: () => {} }));
  if (nextCalled) {
    const ctx = req.ctx;
    if (request.principal) ctx.principal = { keyId: 'test', source: 'key', ...request.principal };
    if (request.body !== undefined) {
      const b = Buffer.isBuffer(request.body) ? request.body : Buffer.from(typeof request.body === 'string' ? request.body : JSON.stringify(request.body));
      ctx.rawBody = b;
      ctx.forwardBody = b;
      ctx.requestBytes = b.length;
    }
    nextCalled = await call(stage);
  }
  if (res.writableEnded) await ended;
  const raw = Buffer.concat(socket.chunks);
  const sep = raw.indexOf('\r\n\r\n');
  let bodyBuf: Buffer = sep < 0 ? Buffer.alloc(0) : raw.subarray(sep + 4);
  if (/^transfer-encoding:\s*chunked/im.test(raw.subarray(0, Math.max(0, sep)).toString('latin1'))) bodyBuf = unchunk(bodyBuf);
  const text = bodyBuf.toString('utf8');
  let body: unknown = text;
  if (/json/i.test(String(res.getHeader('content-type') ?? ''))) {
    try {
      body = JSON.parse(text);
    } catch {
      /* left as text: the test sees what was sent */
    }
  }
  const result: StageResult = {
    nextCalled,
    status: res.headersSent ? res.statusCode : undefined,
    headers: { ...res.getHeaders() },
    body,
    ctx: req.ctx,
  };
  socket.destroy();
  res.emit('close');
  return result;
}
