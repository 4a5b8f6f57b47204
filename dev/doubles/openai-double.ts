// Test double of a current OpenAI-shaped server (chat, tools, Responses, Anthropic Messages, embeddings) that also speaks Ollama's /api/*.
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { fragment } from './lollms-double.js';

export const OPENAI_TEXT = 'The OpenAI-shaped double answers with this sentence, split into small pieces when streamed.';
export const OPENAI_MODELS = ['gpt-4o-mini', 'o3-mini', 'text-embedding-3-small'];
/** Models that refuse `max_tokens` on chat, as OpenAI's reasoning models do. */
export const REASONING = /^(o\d|gpt-5)/;
export const TOOL_ARGS = '{"city":"Paris","unit":"celsius"}';

export interface OpenAIDouble {
  url: string;
  requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }>;
  lastBody(): Record<string, any>;
  /** Answers still being written when the client went away. */
  readonly aborted: number;
  /** Per-chunk delay of streamed answers (ms). */
  chunkDelay: number;
  /** Dimensions of each embedding vector (large values make large answers). */
  embeddingDims: number;
  close(): Promise<void>;
}

type Body = Record<string, any>;
type Reply = { status: number; type: string; chunks: string[] };
const tokens = (s: string): number => (s ? Math.max(1, Math.ceil(s.length / 4)) : 0);
const json = (status: number, v: unknown): Reply => ({ status, type: 'application/json', chunks: [JSON.stringify(v)] });
const sse = (events: Array<[string | null, unknown]>, done: boolean): Reply => ({
  status: 200,
  type: 'text/event-stream; charset=utf-8',
  chunks: [...events.map(([ev, d]) => `${ev ? `event: ${ev}\n` : ''}data: ${JSON.stringify(d)}\n\n`), ...(done ? ['data: [DONE]\n\n'] : [])],
});
const ndjson = (objs: unknown[]): Reply => ({ status: 200, type: 'application/x-ndjson', chunks: objs.map((o) => JSON.stringify(o) + '\n') });
const openaiError = (status: number, message: string, param: string | null, code: string): Reply =>
  json(status, { error: { message, type: 'invalid_request_error', param, code } });

/** The answer text, cut to `limit` words when the request carries a positive limit in any field. */
function answer(b: Body): string {
  const limit = [b.max_completion_tokens, b.max_tokens, b.max_output_tokens, b.options?.num_predict].find((v) => typeof v === 'number' && v > 0);
  const words = OPENAI_TEXT.split(' ');
  return limit === undefined || words.length <= limit ? OPENAI_TEXT : words.slice(0, limit).join(' ');
}

function promptOf(b: Body): string {
  const parts: string[] = [];
  const add = (v: unknown): void => {
    if (typeof v === 'string') parts.push(v);
    else if (Array.isArray(v)) v.forEach(add);
    else if (v && typeof v === 'object') add((v as Body).content ?? (v as Body).text);
  };
  add(b.messages); add(b.input); add(b.prompt); add(b.system); add(b.instructions);
  return parts.join('\n');
}

function chat(b: Body): Reply {
  if (REASONING.test(String(b.model)) && b.max_tokens !== undefined) {
    return openaiError(400, "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", 'max_tokens', 'unsupported_parameter');
  }
  const id = 'chatcmpl-' + randomBytes(8).toString('hex');
  const base = { id, created: Math.floor(Date.now() / 1000), model: b.model, system_fingerprint: 'fp_double' };
  const text = answer(b);
  const tool = Array.isArray(b.tools) && b.tools.length > 0 ? b.tools[0].function.name as string : undefined;
  const pt = tokens(promptOf(b));
  const ct = tool ? tokens(TOOL_ARGS) : tokens(text);
  const usage = { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct };
  const call = { id: 'call_' + randomBytes(6).toString('hex'), type: 'function' };
  if (b.stream !== true) {
    const message = tool
      ? { role: 'assistant', content: null, tool_calls: [{ ...call, function: { name: tool, arguments: TOOL_ARGS } }] }
      : { role: 'assistant', content: text, refusal: null };
    return json(200, { ...base, object: 'chat.completion', choices: [{ index: 0, message, logprobs: null, finish_reason: tool ? 'tool_calls' : 'stop' }], usage });
  }
  const chunk = (delta: Body, finish: string | null): [null, unknown] =>
    [null, { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] }];
  const events: Array<[string | null, unknown]> = [chunk({ role: 'assistant', content: tool ? null : '' }, null)];
  if (tool) {
    // The arguments arrive in pieces, as OpenAI sends them: id and name first, then fragments of JSON.
    events.push(chunk({ tool_calls: [{ index: 0, ...call, function: { name: tool, arguments: '' } }] }, null));
    for (const p of fragment(TOOL_ARGS)) events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: p } }] }, null));
  } else {
    for (const p of fragment(text)) events.push(chunk({ content: p }, null));
  }
  events.push(chunk({}, tool ? 'tool_calls' : 'stop'));
  if (b.stream_options?.include_usage === true) events.push([null, { ...base, object: 'chat.completion.chunk', choices: [], usage }]);
  return sse(events, true);
}

function responses(b: Body): Reply {
  if (b.max_tokens !== undefined || b.max_completion_tokens !== undefined) {
    return openaiError(400, `Unsupported parameter: '${b.max_tokens !== undefined ? 'max_tokens' : 'max_completion_tokens'}'. In the Responses API, this parameter has moved to 'max_output_tokens'.`, 'max_tokens', 'unsupported_parameter');
  }
  const text = answer(b);
  const id = 'resp_' + randomBytes(8).toString('hex');
  const msgId = 'msg_' + randomBytes(8).toString('hex');
  const usage = { input_tokens: tokens(promptOf(b)), input_tokens_details: { cached_tokens: 0 }, output_tokens: tokens(text), output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 0 };
  usage.total_tokens = usage.input_tokens + usage.output_tokens;
  const part = { type: 'output_text', text, annotations: [] };
  const item = { type: 'message', id: msgId, status: 'completed', role: 'assistant', content: [part] };
  const resp = (status: string, output: unknown[], u: unknown) => ({
    id, object: 'response', created_at: Math.floor(Date.now() / 1000), status, model: b.model, output, usage: u,
    max_output_tokens: b.max_output_tokens ?? null, error: null, incomplete_details: null, instructions: null, metadata: {}, parallel_tool_calls: true, temperature: 1, tool_choice: 'auto', tools: [], top_p: 1,
  });
  if (b.stream !== true) return json(200, resp('completed', [item], usage));
  let seq = 0;
  const ev = (type: string, d: Body): [string, unknown] => [type, { type, sequence_number: seq++, ...d }];
  const events: Array<[string | null, unknown]> = [
    ev('response.created', { response: resp('in_progress', [], null) }),
    ev('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } }),
    ev('response.content_part.added', { item_id: msgId, output_index: 0, content_index: 0, part: { ...part, text: '' } }),
    ...fragment(text).map((delta) => ev('response.output_text.delta', { item_id: msgId, output_index: 0, content_index: 0, delta, logprobs: [] })),
    ev('response.output_text.done', { item_id: msgId, output_index: 0, content_index: 0, text, logprobs: [] }),
    ev('response.content_part.done', { item_id: msgId, output_index: 0, content_index: 0, part }),
    ev('response.output_item.done', { output_index: 0, item }),
    ev('response.completed', { response: resp('completed', [item], usage) }),
  ];
  return sse(events, false);
}

function messages(b: Body): Reply {
  if (typeof b.max_tokens !== 'number') {
    return json(400, { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
  }
  const text = answer(b);
  const id = 'msg_' + randomBytes(8).toString('hex');
  const input = tokens(promptOf(b));
  const out = tokens(text);
  const message = { id, type: 'message', role: 'assistant', model: b.model, content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: input, output_tokens: out } };
  if (b.stream !== true) return json(200, message);
  const events: Array<[string, unknown]> = [
    ['message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { input_tokens: input, output_tokens: 1 } } }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
    ['ping', { type: 'ping' }],
    ...fragment(text).map((t): [string, unknown] => ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } }]),
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: out } }],
    ['message_stop', { type: 'message_stop' }],
  ];
  return sse(events, false);
}

function embeddings(b: Body, dims: number): Reply {
  const inputs: unknown[] = Array.isArray(b.input) ? b.input : [b.input];
  if (b.max_tokens !== undefined || b.max_completion_tokens !== undefined) return openaiError(400, "Unrecognized request argument supplied: max_tokens", null, 'unknown_parameter');
  const vector = (i: number): number[] => Array.from({ length: dims }, (_, k) => Math.round(Math.sin(i * 31 + k) * 1e6) / 1e6);
  const n = tokens(promptOf(b));
  // encoding_format "base64": little-endian float32, as OpenAI sends it (the openai SDK asks for it by default).
  const encode = (v: number[]): number[] | string => (b.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v);
  return json(200, { object: 'list', data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: encode(vector(index)) })), model: b.model, usage: { prompt_tokens: n, total_tokens: n } });
}

function ollamaChat(b: Body, kind: 'chat' | 'generate'): Reply {
  const text = answer(b);
  const model = b.model;
  const created_at = new Date().toISOString();
  const piece = (s: string): Body => (kind === 'chat' ? { message: { role: 'assistant', content: s } } : { response: s });
  const final = { model, created_at, ...piece(''), done: true, done_reason: 'stop', total_duration: 1000, prompt_eval_count: tokens(promptOf(b)), eval_count: tokens(text) };
  if (kind === 'chat' && Array.isArray(b.tools) && b.tools.length > 0) {
    // Ollama sends a tool call whole, in one message, never in pieces.
    const call = { message: { role: 'assistant', content: '', tool_calls: [{ function: { name: b.tools[0].function.name, arguments: JSON.parse(TOOL_ARGS) } }] } };
    return b.stream === false ? json(200, { ...final, ...call }) : ndjson([{ model, created_at, ...call, done: false }, final]);
  }
  if (b.stream === false) return json(200, { ...final, ...piece(text) });
  return ndjson([...fragment(text).map((p) => ({ model, created_at, ...piece(p), done: false })), final]);
}

function route(method: string, path: string, b: Body, dims: number): Reply {
  const key = `${method} ${path}`;
  switch (key) {
    case 'GET /v1/models': return json(200, { object: 'list', data: OPENAI_MODELS.map((id) => ({ id, object: 'model', created: 1714557600, owned_by: 'double' })) });
    case 'POST /v1/chat/completions': return chat(b);
    case 'POST /v1/responses': return responses(b);
    case 'POST /v1/messages': return messages(b);
    case 'POST /v1/embeddings': return embeddings(b, dims);
    case 'GET /api/tags': return json(200, { models: OPENAI_MODELS.map((name) => ({ name, model: name, modified_at: '2024-05-01T10:00:00Z', size: 1, digest: 'd', details: { format: 'gguf', family: 'x', parameter_size: '7B', quantization_level: 'Q4' } })) });
    case 'POST /api/chat': return ollamaChat(b, 'chat');
    case 'POST /api/generate': return ollamaChat(b, 'generate');
    case 'POST /api/embed': {
      const inputs: unknown[] = Array.isArray(b.input) ? b.input : [b.input];
      return json(200, { model: b.model, embeddings: inputs.map((_, i) => [0.1 * i, 0.2, 0.3]), prompt_eval_count: tokens(promptOf(b)) });
    }
    default: return json(404, { error: { message: `Unknown route ${key}`, type: 'invalid_request_error', code: 'not_found' } });
  }
}

export async function startOpenAIDouble(): Promise<OpenAIDouble> {
  const requests: OpenAIDouble['requests'] = [];
  const sockets = new Set<Socket>();
  const state = { aborted: 0, chunkDelay: 2, embeddingDims: 8 };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: text });
      let b: Body = {};
      try {
        b = text ? (JSON.parse(text) as Body) : {};
      } catch {
        b = {};
      }
      const r = route(req.method ?? 'GET', new URL(req.url ?? '/', 'http://d.invalid').pathname, b, state.embeddingDims);
      void write(res, r);
    });
  };
  async function write(res: ServerResponse, r: Reply): Promise<void> {
    let gone = false;
    res.on('close', () => {
      if (!res.writableFinished) { gone = true; state.aborted++; }
    });
    const streamed = r.type.startsWith('text/event-stream') || r.type === 'application/x-ndjson';
    const headers: Record<string, string> = { 'Content-Type': r.type, 'x-request-id': 'req_upstream' };
    if (!streamed) headers['Content-Length'] = String(Buffer.byteLength(r.chunks[0]));
    res.writeHead(r.status, headers);
    for (const c of r.chunks) {
      if (gone) return;
      res.write(c);
      if (streamed) await new Promise((ok) => setTimeout(ok, state.chunkDelay));
    }
    if (!gone) res.end();
  }
  const server = http.createServer(onRequest);
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    lastBody: () => JSON.parse(requests[requests.length - 1]?.body || '{}') as Record<string, any>,
    get aborted() { return state.aborted; },
    get chunkDelay() { return state.chunkDelay; },
    set chunkDelay(v: number) { state.chunkDelay = v; },
    get embeddingDims() { return state.embeddingDims; },
    set embeddingDims(v: number) { state.embeddingDims = v; },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
