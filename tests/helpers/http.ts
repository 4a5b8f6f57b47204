// Small HTTP helpers for integration tests: error bodies, raw requests, timed stream reads, closed ports, waits.
import http from 'node:http';
import net from 'node:net';
import assert from 'node:assert/strict';
import { routeFamily } from '../../kernel/endpoints.js';
import { ERRORS } from '../../kernel/errors.js';

export interface ErrorShape {
  readonly status: number;
  readonly code: string;
  readonly type: string;
  readonly message: string;
  readonly text: string;
  readonly headers: Headers;
}

/**
 * Reads an error answer and checks it is exactly the shape its route family's clients parse:
 * OpenAI `{"error":{"message","type","code"}}`, Ollama `{"error","code"}`, native LoLLMS `{"status":false,"error","code"}`,
 * with the code in X-Error-Code too. `type` is the OpenAI type (from the catalogue where the shape has none).
 */
export async function errorOf(r: Response): Promise<ErrorShape> {
  const text = await r.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`error answer ${r.status} is not JSON: ${text.slice(0, 200)}`);
  }
  const family = routeFamily(new URL(r.url).pathname);
  const b = body as Record<string, unknown>;
  let out: ErrorShape;
  if (family === 'openai') {
    const e = b.error as Record<string, unknown>;
    assert.ok(e && typeof e === 'object', `no "error" object in ${text.slice(0, 200)}`);
    assert.deepEqual(Object.keys(b), ['error']);
    assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'type']);
    assert.equal(typeof e.message, 'string');
    assert.equal(typeof e.type, 'string');
    assert.equal(typeof e.code, 'string');
    out = { status: r.status, code: e.code as string, type: e.type as string, message: e.message as string, text, headers: r.headers };
  } else {
    assert.deepEqual(Object.keys(b).sort(), family === 'ollama' ? ['code', 'error'] : ['code', 'error', 'status'], `${family} shape: ${text.slice(0, 200)}`);
    if (family === 'lollms') assert.equal(b.status, false);
    assert.equal(typeof b.error, 'string');
    assert.equal(typeof b.code, 'string');
    const code = b.code as string;
    out = { status: r.status, code, type: (ERRORS as Record<string, { type: string }>)[code]?.type ?? '', message: b.error as string, text, headers: r.headers };
  }
  assert.equal(r.headers.get('x-error-code'), out.code, 'the code is in X-Error-Code too');
  return out;
}

/** Nothing an answer may leak: stack traces, file paths, internal addresses, versions. */
export function assertNoInternals(text: string, what = 'answer'): void {
  for (const re of [/Traceback/i, /\bat [\w.<>]+ \(/, /\/home\//, /\/usr\//, /node_modules/, /\.(?:py|ts|js):\d+/, /192\.168\./, /\b10\.\d+\.\d+\.\d+/, /uvicorn/i, /lollms-guard\/\d/, /\bv?\d+\.\d+\.\d+\b/]) {
    assert.ok(!re.test(text), `${what} leaks ${re}: ${text.slice(0, 300)}`);
  }
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A request through node:http, so headers fetch() refuses (Connection, Keep-Alive, TE...) can be sent. */
export function rawRequest(url: string, opts: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface TimedChunk {
  readonly at: number;
  readonly text: string;
}

/** Reads a streamed fetch body, noting when each chunk arrived (ms since `t0`). */
export async function timedChunks(r: Response, t0: number): Promise<TimedChunk[]> {
  const out: TimedChunk[] = [];
  const dec = new TextDecoder();
  const reader = r.body!.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out.push({ at: Date.now() - t0, text: dec.decode(value, { stream: true }) });
  }
  return out;
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Polls `cond` every 10 ms until true or `ms` passed; returns whether it became true. */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(10);
  }
  return cond();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The audit's per-request lines (ECS), newest last. */
export function requestLines(lines: Array<Record<string, unknown>>): Array<Record<string, any>> {
  return lines.filter((l) => (l.event as { action?: string } | undefined)?.action === 'http_request') as Array<Record<string, any>>;
}

/** The audit's security events with this action. */
export function eventsOf(lines: Array<Record<string, unknown>>, action: string): Array<Record<string, any>> {
  return lines.filter((l) => (l.event as { action?: string } | undefined)?.action === action) as Array<Record<string, any>>;
}
