// Reads usage and answer length from upstream answers (JSON, SSE, NDJSON, unframed text) without changing a byte.
import type { RequestContext } from '../../kernel/context.js';
import { LineFramer, MAX_FRAME } from '../../kernel/framing.js';

/** Usage fields of OpenAI, Ollama, Responses API and Anthropic Messages shapes, if any. */
export function takeUsage(ctx: RequestContext, o: Record<string, unknown>): void {
  readUsage(ctx, o.usage);
  // Typed stream events carry it one level down: response.completed {response:{usage}}, message_start {message:{usage}}.
  for (const holder of [o.response, o.message]) {
    if (holder && typeof holder === 'object' && !Array.isArray(holder)) readUsage(ctx, (holder as Record<string, unknown>).usage);
  }
  if (typeof o.prompt_eval_count === 'number') ctx.usage.input = o.prompt_eval_count;
  if (typeof o.eval_count === 'number') ctx.usage.output = o.eval_count;
}

function readUsage(ctx: RequestContext, u: unknown): void {
  if (!u || typeof u !== 'object') return;
  const uu = u as Record<string, unknown>;
  if (typeof uu.prompt_tokens === 'number') ctx.usage.input = uu.prompt_tokens;
  if (typeof uu.completion_tokens === 'number') ctx.usage.output = uu.completion_tokens;
  if (typeof uu.input_tokens === 'number') {
    // Anthropic counts cached prompt tokens apart from input_tokens; a budget charges them all.
    const cached = (typeof uu.cache_creation_input_tokens === 'number' ? uu.cache_creation_input_tokens : 0)
      + (typeof uu.cache_read_input_tokens === 'number' ? uu.cache_read_input_tokens : 0);
    ctx.usage.input = uu.input_tokens + cached;
  }
  if (typeof uu.output_tokens === 'number') ctx.usage.output = uu.output_tokens;
}

/** Text of Responses API output items / Anthropic content blocks: `[{content:[{text}]}]` or `[{text}]`. */
function blockChars(v: unknown): number {
  if (!Array.isArray(v)) return 0;
  let n = 0;
  for (const item of v) {
    if (!item || typeof item !== 'object') continue;
    const it = item as Record<string, unknown>;
    if (typeof it.text === 'string') n += it.text.length;
    if (Array.isArray(it.content)) n += blockChars(it.content);
  }
  return n;
}

/** Characters of answer text in one JSON object (chat, completion, chunk, Ollama). */
export function answerChars(o: Record<string, unknown>): number {
  let n = 0;
  const choices = o.choices;
  if (Array.isArray(choices)) {
    for (const c of choices) {
      if (!c || typeof c !== 'object') continue;
      const ch = c as Record<string, unknown>;
      for (const holder of [ch.delta, ch.message]) {
        if (holder && typeof holder === 'object') {
          const content = (holder as Record<string, unknown>).content;
          if (typeof content === 'string') n += content.length;
        }
      }
      if (typeof ch.text === 'string') n += ch.text.length;
    }
  }
  const msg = o.message;
  if (msg && typeof msg === 'object' && typeof (msg as Record<string, unknown>).content === 'string') {
    n += ((msg as Record<string, unknown>).content as string).length;
  }
  if (typeof o.response === 'string') n += o.response.length;
  // Responses API: JSON `output`, SSE `response.output_text.delta`; Anthropic: JSON `content`, `content_block_delta`.
  if (o.object === 'response') n += blockChars(o.output);
  if (o.type === 'message') n += blockChars(o.content);
  if (typeof o.type === 'string' && o.type.endsWith('.delta') && typeof o.delta === 'string' && o.type.includes('text')) n += o.delta.length;
  if (o.type === 'content_block_delta' && o.delta && typeof o.delta === 'object') {
    const d = o.delta as Record<string, unknown>;
    if (typeof d.text === 'string') n += d.text.length;
  }
  return n;
}

/** Observes a whole (buffered) answer body. */
export function observeBody(ctx: RequestContext, body: unknown): void {
  if (typeof body === 'string') {
    ctx.completionChars += body.length;
  } else if (body && typeof body === 'object' && !Array.isArray(body)) {
    takeUsage(ctx, body as Record<string, unknown>);
    ctx.completionChars += answerChars(body as Record<string, unknown>);
  }
}

/** A line-by-line observer for streamed answers: SSE `data:` lines, NDJSON lines, or raw text. */
export class StreamObserver {
  private readonly lines = new LineFramer('lf');
  private readonly decoder = new TextDecoder('utf-8');
  private readonly each = (line: string): void => this.line(line);

  constructor(private readonly ctx: RequestContext) {}

  push(chunk: Buffer): void {
    this.lines.push(this.decoder.decode(chunk, { stream: true }), this.each);
    // Observing never refuses a stream: a line past any frame's size is counted as text and let go.
    if (this.lines.held > MAX_FRAME) this.ctx.completionChars += this.lines.take().length;
  }

  end(): void {
    this.lines.push(this.decoder.decode(), this.each);
    const rest = this.lines.take();
    if (rest) this.line(rest);
  }

  private line(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length === 0) return;
    let payload = line;
    if (line.startsWith('data:')) payload = line.slice(line[5] === ' ' ? 6 : 5);
    else if (line.startsWith(':') || /^(event|id|retry):/.test(line)) return;
    if (payload === '[DONE]') return;
    if (payload[0] === '{') {
      try {
        const o = JSON.parse(payload) as Record<string, unknown>;
        takeUsage(this.ctx, o);
        this.ctx.completionChars += answerChars(o);
        return;
      } catch {
        /* not JSON: raw text */
      }
    }
    this.ctx.completionChars += payload.length + 1;
  }
}
