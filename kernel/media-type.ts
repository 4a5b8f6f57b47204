// Media types, decided in one place: which bodies are JSON, which answers stream, and how a stream is framed.
import type { RequestContext } from './context.js';

export type StreamFormat = 'sse' | 'ndjson' | 'text';

/** application/json, any application/*+json, and the legacy text/json. */
const JSON_TYPE = /^\s*(?:application\/(?:[\w.+-]+\+)?json|text\/json)\b/i;
const STREAM_TYPE = /text\/event-stream|application\/x-ndjson|application\/jsonl/i;
const TRUTHY = /^(?:true|1|yes|on)$/i;

export function isJsonType(type: string | undefined): boolean {
  return type !== undefined && JSON_TYPE.test(type);
}

/** Is this answer a stream? The request says so (stream: true, Ollama's default) or the content type does. */
export function isStreamedAnswer(ctx: Pick<RequestContext, 'json' | 'path'>, type: string | undefined): boolean {
  if (type !== undefined && STREAM_TYPE.test(type)) return true;
  const s = ctx.json?.stream;
  if (s === true || s === 1 || (typeof s === 'string' && TRUTHY.test(s))) return true;
  return s === undefined && (ctx.path === '/api/chat' || ctx.path === '/api/generate');
}

/**
 * A streamed request answered as plain JSON (not NDJSON/JSON Lines, not SSE): one document or NDJSON lines,
 * only the bytes can tell. The content type decides that the question arises, never the model's text.
 */
export function mayBeOneDocument(path: string, type: string | undefined): boolean {
  return !path.startsWith('/lollms_generate') && isJsonType(type) && !STREAM_TYPE.test(type!);
}

/**
 * The framing of a streamed answer, from what the server said (endpoint, content type), never from the
 * model's text: legacy /lollms_generate streams raw text while claiming text/event-stream.
 */
export function streamFormat(path: string, type: string | undefined, head: Buffer): StreamFormat {
  if (path.startsWith('/lollms_generate')) return 'text';
  const t = (type ?? '').toLowerCase();
  if (t.startsWith('text/plain')) return 'text';
  if (t.startsWith('text/event-stream')) return 'sse';
  if (/^application\/(?:x-ndjson|jsonl|json)/.test(t)) return 'ndjson';
  return detectStreamFormat(type, head);
}

/**
 * Tells the framing from the first bytes; the content type is only a tie-breaker because legacy
 * LoLLMS sends unframed text as text/event-stream.
 */
export function detectStreamFormat(type: string | undefined, firstBytes: Buffer): StreamFormat {
  const head = firstBytes.subarray(0, 4096).toString('utf8').replace(/^\uFEFF/, '');
  const t = head.trimStart();
  if (/^(?:data|event|id|retry)(?::|\r?\n)|^:/.test(t)) return 'sse';
  const ct = (type ?? '').toLowerCase();
  if (t.startsWith('{')) {
    if (/ndjson|jsonl|json-seq|application\/json/.test(ct)) return 'ndjson';
    const nl = t.indexOf('\n');
    const first = jsonObject(nl < 0 ? t : t.slice(0, nl));
    if (first && ('choices' in first || 'done' in first || 'model' in first || 'message' in first || 'response' in first)) return 'ndjson';
  }
  return 'text';
}

function jsonObject(s: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
