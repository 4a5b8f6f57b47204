// Test double of a LoLLMS upstream (legacy lollms-webui and new lollms): records requests, speaks every stream format, misbehaves on demand.
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { managementReply } from './lollms-double-management.js';
import { attachRealtime, type RealtimeDouble } from './realtime-double.js';

export type ChatStreamMode = 'ndjson' | 'sse';
export interface DoubleOptions {
  port?: number;
  host?: string; // default 127.0.0.1
  chatStream?: ChatStreamMode; // format of streamed /v1/chat/completions, default 'ndjson' (legacy)
  record?: boolean; // keep every request in `requests` (default true; the bench turns it off)
}
export interface RecordedRequest { method: string; url: string; headers: IncomingHttpHeaders; body: string }
export type Misbehaviour =
  | { kind: 'slow_first_byte'; ms: number }
  | { kind: 'stall_after_headers'; ms: number }
  | { kind: 'reset_mid_stream' }
  | { kind: 'garbage' }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'chunk_delay'; ms: number };
export interface LollmsDouble {
  url: string;
  port: number;
  requests: RecordedRequest[];
  lastRequest(): RecordedRequest | undefined;
  misbehave(m: Misbehaviour | null): void;
  setResponseText(text: string | null): void;
  setChatStream(mode: ChatStreamMode): void;
  openConnections(): number;
  readonly abortedRequests: number;
  /** WebSocket / Socket.IO endpoints (tests/helpers/realtime-double.ts). */
  readonly realtime: RealtimeDouble;
  close(): Promise<void>;
}

export const DEFAULT_RESPONSE_TEXT =
  'Hello from the LoLLMS double. This is a canned answer from the test upstream; it never repeats the prompt it was given.';
export const DOUBLE_MODELS = ['llama3-8b-instruct', 'mistral-7b-instruct-v0.2'];
/** Default body of a 5xx 'status' misbehaviour: leaks a server path and an internal IP, like a real uvicorn crash. */
export const DOUBLE_TRACEBACK = [
  'Traceback (most recent call last):',
  '  File "/home/lollms/lollms_core/lollms/server.py", line 412, in lollms_generate',
  '    output = binding.generate(prompt, n_predict=n_predict, callback=callback)',
  '  File "/home/lollms/lollms_core/lollms/binding.py", line 233, in generate',
  '    raise ConnectionError("backend 192.168.1.20:11434 refused the connection")',
  'ConnectionError: backend 192.168.1.20:11434 refused the connection',
  '',
].join('\n');
const DEFAULT_CHUNK_DELAY_MS = 2;

type Chunk = string | Buffer;
interface Reply { status: number; headers: Record<string, string>; chunks: Chunk[]; stream: boolean }
type Body = Record<string, any>;
interface Ctx { req: IncomingMessage; url: URL; body: Body; text: string; chatStream: ChatStreamMode }
interface Route { method: 'GET' | 'POST'; handle: (c: Ctx) => Reply }

const JSON_TYPE = 'application/json';
const json = (status: number, value: unknown, headers: Record<string, string> = {}): Reply =>
  ({ status, headers: { 'Content-Type': JSON_TYPE, ...headers }, chunks: [JSON.stringify(value)], stream: false });
const plain = (value: string): Reply =>
  ({ status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, chunks: [value], stream: false });
const streamOf = (type: string, chunks: Chunk[]): Reply =>
  ({ status: 200, headers: { 'Content-Type': type, 'Cache-Control': 'no-cache' }, chunks, stream: true });
const ndjsonLines = (objs: unknown[]): string[] => objs.map((o) => JSON.stringify(o) + '\n');
const nowSec = (): number => Math.floor(Date.now() / 1000);
const estimateTokens = (s: string): number => (s.length === 0 ? 0 : Math.max(1, Math.ceil(s.length / 4)));

/** Split text into 3/4-character fragments so consumers see real fragmentation. */
export function fragment(s: string): string[] {
  const out: string[] = [];
  for (let i = 0, n = 3; i < s.length; i += n, n = n === 3 ? 4 : 3) out.push(s.slice(i, i + n));
  return out.length > 0 ? out : [''];
}

/** Completion text, truncated to roughly `limit` words (one word ~ one token) when a positive limit was asked. */
function completionFor(body: Body, text: string): string {
  const candidates = [body.n_predict, body.max_tokens, body.max_completion_tokens, body.options?.num_predict];
  const limit = candidates.find((v): v is number => typeof v === 'number' && v > 0);
  if (limit === undefined) return text;
  const words = text.split(' ');
  return words.length <= limit ? text : words.slice(0, Math.floor(limit)).join(' ');
}

function promptText(body: Body): string {
  const parts: string[] = [];
  const add = (v: unknown): void => {
    if (typeof v === 'string') parts.push(v);
    else if (Array.isArray(v)) v.forEach(add);
    else if (v && typeof v === 'object') {
      const o = v as Body;
      add(o.content ?? o.text);
    }
  };
  add(body.prompt);
  add(body.messages);
  add(body.input);
  return parts.join('\n');
}

function hashVector(s: string, dim = 16): number[] {
  const v: number[] = [];
  let h = 2166136261;
  for (let i = 0; i < dim; i++) {
    for (const ch of `${s}#${i}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    v.push(Math.round((((h >>> 0) % 20000) / 10000 - 1) * 10000) / 10000);
  }
  return v;
}
const tokenId = (w: string): number => (hashVector(w, 1)[0] + 1) * 10000 | 0;

function chatCompletions(c: Ctx): Reply {
  const b = c.body;
  const model = typeof b.model === 'string' && b.model ? b.model : DOUBLE_MODELS[0];
  const content = completionFor(b, c.text);
  const id = 'chatcmpl-' + randomBytes(12).toString('hex');
  const created = nowSec();
  const pt = estimateTokens(promptText(b));
  const ct = estimateTokens(content);
  const usage = { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct };
  if (b.stream !== true) {
    const choices = [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }];
    return json(200, { id, object: 'chat.completion', created, model, choices, usage });
  }
  const base = { id, object: 'chat.completion.chunk', created, model };
  const objs: unknown[] = fragment(content).map((p, i) => ({
    ...base, choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: p } : { content: p }, finish_reason: null }],
  }));
  objs.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  const hdr = c.req.headers['x-double-format'];
  const q = c.url.searchParams.get('format');
  const mode = hdr === 'sse' || hdr === 'ndjson' ? hdr : q === 'sse' || q === 'ndjson' ? q : c.chatStream;
  if (mode === 'ndjson') return streamOf(JSON_TYPE, ndjsonLines(objs));
  if (b.stream_options?.include_usage === true) objs.push({ ...base, choices: [], usage });
  return streamOf('text/event-stream; charset=utf-8', [...objs.map((o) => `data: ${JSON.stringify(o)}\n\n`), 'data: [DONE]\n\n']);
}

function ollama(kind: 'chat' | 'generate'): (c: Ctx) => Reply {
  return (c) => {
    const b = c.body;
    const model = typeof b.model === 'string' && b.model ? b.model : DOUBLE_MODELS[0];
    const content = completionFor(b, c.text);
    const created_at = new Date().toISOString();
    const piece = (s: string): Body => (kind === 'chat' ? { message: { role: 'assistant', content: s } } : { response: s });
    const final = { model, created_at, ...piece(''), done: true, done_reason: 'stop', total_duration: 123456789,
      prompt_eval_count: estimateTokens(promptText(b)), eval_count: estimateTokens(content) };
    if (b.stream === false) return json(200, { ...final, ...piece(content) });
    const objs = fragment(content).map((p) => ({ model, created_at, ...piece(p), done: false }));
    return streamOf('application/x-ndjson', ndjsonLines([...objs, final]));
  };
}

function lollmsGenerate(c: Ctx): Reply {
  const content = completionFor(c.body, c.text);
  return c.body.stream === true ? streamOf('text/event-stream; charset=utf-8', fragment(content)) : plain(content);
}

const ROUTES: Record<string, Route> = {
  '/lollms_generate': { method: 'POST', handle: lollmsGenerate },
  '/lollms_generate_with_images': { method: 'POST', handle: lollmsGenerate },
  '/v1/chat/completions': { method: 'POST', handle: chatCompletions },
  '/v1/completions': {
    method: 'POST',
    handle: (c) => {
      const content = completionFor(c.body, c.text);
      return c.body.stream === true ? streamOf('text/plain; charset=utf-8', fragment(content)) : json(200, content);
    },
  },
  '/api/chat': { method: 'POST', handle: ollama('chat') },
  '/api/generate': { method: 'POST', handle: ollama('generate') },
  '/api/tags': {
    method: 'GET',
    handle: () => json(200, {
      models: DOUBLE_MODELS.map((name) => ({
        name, model: name, modified_at: '2024-05-01T10:00:00Z', size: 4661224676, digest: hashVector(name, 4).join(''),
        details: { format: 'gguf', family: name.split('-')[0], parameter_size: '7B', quantization_level: 'Q4_K_M' },
      })),
    }),
  },
  '/list_models': { method: 'GET', handle: () => json(200, DOUBLE_MODELS) },
  '/get_active_model': { method: 'GET', handle: () => json(200, { status: true, model: DOUBLE_MODELS[0] }) },
  '/version': { method: 'GET', handle: () => json(200, { version: '9.8' }) },
  '/get_generation_status': { method: 'GET', handle: () => json(200, { status: false }) },
  '/stop_gen': { method: 'POST', handle: () => json(200, { status: true }) },
  '/lollms_tokenize': {
    method: 'POST',
    handle: (c) => {
      const words = String(c.body.prompt ?? '').split(/(?=\s)/).filter((w) => w.length > 0);
      return c.body.return_named === true
        ? json(200, { status: true, named_tokens: words.map((w) => [w, tokenId(w)]) })
        : json(200, { status: true, raw_tokens: words.map(tokenId) });
    },
  },
  '/lollms_detokenize': {
    method: 'POST',
    handle: (c) => {
      const tokens: unknown[] = Array.isArray(c.body.tokens) ? c.body.tokens : [];
      const named = tokens.map((t) => [`<${String(t)}>`, t]);
      return c.body.return_named === true
        ? json(200, { status: true, named_tokens: named })
        : json(200, { status: true, text: named.map((n) => n[0]).join('') });
    },
  },
  '/lollms_embed': { method: 'POST', handle: (c) => json(200, { vector: hashVector(String(c.body.text ?? '')) }) },
  '/v1/embeddings': {
    method: 'POST',
    handle: (c) => {
      const inputs: unknown[] = Array.isArray(c.body.input) ? c.body.input : [c.body.input ?? ''];
      const n = estimateTokens(promptText(c.body));
      return json(200, {
        object: 'list', model: c.body.model ?? DOUBLE_MODELS[0],
        data: inputs.map((s, index) => ({ object: 'embedding', index, embedding: hashVector(String(s)) })),
        usage: { prompt_tokens: n, total_tokens: n },
      });
    },
  },
  '/v1/models': {
    method: 'GET',
    handle: () => json(200, { object: 'list', data: DOUBLE_MODELS.map((id) => ({ id, object: 'model', created: 1714557600, owned_by: 'lollms' })) }),
  },
};



function statusReply(m: Extract<Misbehaviour, { kind: 'status' }>): Reply {
  const reply = m.body !== undefined
    ? { ...plain(m.body), status: m.status }
    : m.status >= 500
      ? { ...plain(DOUBLE_TRACEBACK), status: m.status }
      : json(m.status, { detail: http.STATUS_CODES[m.status] ?? 'Error' });
  return { ...reply, headers: { ...reply.headers, ...(m.headers ?? {}) } };
}

function garbageReply(r: Reply): Reply {
  const junk: Chunk[] = [Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22]), '<<garbage>> not json \u0001\u0002 ', Buffer.from([0xc3, 0x28, 0x0a]), '}}{{ ]['];
  return { status: 200, headers: r.headers, chunks: junk, stream: r.stream };
}

/** Ensure a reply has at least two chunks so it can be interrupted after the first one. */
function splitFirst(chunks: Chunk[]): Chunk[] {
  if (chunks.length !== 1) return chunks;
  const buf = Buffer.from(chunks[0]);
  if (buf.length < 2) return chunks;
  const mid = Math.min(8, Math.floor(buf.length / 2));
  return [buf.subarray(0, mid), buf.subarray(mid)];
}

interface Conn { res: ServerResponse; gone: boolean; selfDestroyed: boolean }

/** Wait ms, or less if the client goes away meanwhile. */
function pause(ms: number, conn: Conn): Promise<void> {
  if (conn.gone) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => { clearTimeout(timer); conn.res.off('close', done); resolve(); };
    const timer = setTimeout(done, Math.max(0, ms));
    conn.res.once('close', done);
  });
}

async function send(conn: Conn, reply: Reply, m: Misbehaviour | null): Promise<void> {
  const { res } = conn;
  let chunks = reply.chunks;
  if (m?.kind === 'stall_after_headers' || m?.kind === 'reset_mid_stream') chunks = splitFirst(chunks);
  const headers: Record<string, string> = { Server: 'uvicorn', 'X-Powered-By': 'lollms', ...reply.headers };
  if (!reply.stream) headers['Content-Length'] = String(chunks.reduce((n, ch) => n + Buffer.byteLength(ch), 0));
  if (m?.kind === 'slow_first_byte') await pause(m.ms, conn);
  if (conn.gone) return;
  res.writeHead(reply.status, headers);
  res.flushHeaders();
  const resetAfter = m?.kind === 'reset_mid_stream' ? Math.max(1, Math.min(3, chunks.length - 1)) : Infinity;
  const delay = m?.kind === 'chunk_delay' ? m.ms : DEFAULT_CHUNK_DELAY_MS;
  for (let i = 0; i < chunks.length; i++) {
    if (conn.gone) return;
    res.write(chunks[i]);
    if (i + 1 >= resetAfter) {
      await pause(reply.stream ? delay : 5, conn); // let the written bytes reach the client first
      conn.selfDestroyed = true;
      res.socket?.destroy();
      return;
    }
    if (i === chunks.length - 1) break;
    if (m?.kind === 'stall_after_headers' && i === 0) await pause(m.ms, conn);
    else if (reply.stream) await pause(delay, conn);
  }
  if (!conn.gone) res.end();
}

export async function startLollmsDouble(opts: DoubleOptions = {}): Promise<LollmsDouble> {
  const host = opts.host ?? '127.0.0.1';
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let misbehaviour: Misbehaviour | null = null;
  let responseText: string | null = null;
  let chatStream: ChatStreamMode = opts.chatStream ?? 'ndjson';
  let aborted = 0;

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const m = misbehaviour;
    const conn: Conn = { res, gone: false, selfDestroyed: false };
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    res.on('close', () => {
      conn.gone = true;
      if (!res.writableFinished && !conn.selfDestroyed) aborted++;
    });
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      if (opts.record !== false) requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: text });
      void send(conn, route(req, text), m).catch(() => res.socket?.destroy());
    });
    const route = (r: IncomingMessage, text: string): Reply => {
      if (m?.kind === 'status') return statusReply(m);
      const url = new URL(r.url ?? '/', 'http://double.invalid');
      const rt = ROUTES[url.pathname];
      const mg = rt ? undefined : managementReply(r.method ?? 'GET', url.pathname);
      if (mg) return mg;
      if (!rt) return json(404, { detail: 'Not Found' });
      if (rt.method !== r.method) return json(405, { detail: 'Method Not Allowed' }, { Allow: rt.method });
      let body: Body = {};
      if (text.trim().length > 0) {
        try {
          const parsed: unknown = JSON.parse(text);
          body = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Body) : {};
        } catch {
          if (rt.method === 'POST') {
            return json(422, { detail: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {} }] });
          }
        }
      }
      const reply = rt.handle({ req: r, url, body, text: responseText ?? DEFAULT_RESPONSE_TEXT, chatStream });
      return m?.kind === 'garbage' ? garbageReply(reply) : reply;
    };
  };

  const server = http.createServer(onRequest);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err, s) => s.destroy());
  // --- WebSocket and Socket.IO endpoints: a block of their own (tests/helpers/realtime-double.ts) ---
  const realtime = attachRealtime(server);
  // --- end of the WebSocket block ---
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    requests,
    lastRequest: () => requests[requests.length - 1],
    misbehave: (m) => { misbehaviour = m; },
    setResponseText: (t) => { responseText = t; },
    setChatStream: (mode) => { chatStream = mode; },
    openConnections: () => sockets.size,
    get abortedRequests() { return aborted; },
    realtime,
    close: async () => {
      await realtime.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
