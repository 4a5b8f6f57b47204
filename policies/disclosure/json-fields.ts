// Walks request and response JSON bodies: every string of a request but identifiers and binary payloads, the text fields of an answer.
import { exactNumbers, stringifyExact } from '../../kernel/json-exact.js';

export interface RedactionRecord { kind: string; direction: 'request' | 'response'; location: string; count: number }
export type RedactFn = (text: string) => { text: string; kinds: Map<string, number> };

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

class Walker {
  readonly records: RedactionRecord[] = [];
  constructor(private readonly redact: RedactFn, private readonly direction: 'request' | 'response') {}

  /** Redacts a string value at `path`, recording what was found. */
  str(value: string, path: string): string {
    const { text, kinds } = this.redact(value);
    for (const [kind, count] of kinds) this.records.push({ kind, direction: this.direction, location: path, count });
    return text;
  }

  /**
   * Tool-call arguments are JSON inside a string (OpenAI): redact its strings and keep it parseable.
   * Ollama sends them as an object: its strings are redacted where they are.
   */
  toolCalls(msg: Json, path: string): void {
    if (!Array.isArray(msg.tool_calls)) return;
    msg.tool_calls.forEach((tc, j) => {
      if (!isObj(tc) || !isObj(tc.function)) return;
      const args = tc.function.arguments, p = `${path}.tool_calls[${j}].function.arguments`;
      if (typeof args === 'string') tc.function.arguments = this.jsonString(args, p);
      else if (args !== null && typeof args === 'object') tc.function.arguments = this.deep(args, p);
    });
  }

  jsonString(s: string, path: string): string {
    let parsed: unknown;
    try { parsed = JSON.parse(s); } catch { return this.str(s, path); }
    const before = this.records.length;
    const numbers = exactNumbers(s, parsed);
    const out = this.deep(parsed, path);
    return this.records.length === before ? s : stringifyExact(out, numbers);
  }

  deep(v: unknown, path: string): unknown {
    if (typeof v === 'string') return this.str(v, path);
    if (Array.isArray(v)) { v.forEach((x, i) => (v[i] = this.deep(x, `${path}[${i}]`))); return v; } // in place: kernel/json-exact.ts knows numbers by their holder
    if (isObj(v)) { for (const k of Object.keys(v)) v[k] = this.deep(v[k], `${path}.${k}`); return v; }
    return v;
  }

  /** Every string under `v` but enums and base64 media (redactRequestJson). */
  any(v: unknown, path: string, key: string): unknown {
    if (typeof v === 'string') {
      if (ENUMS.has(key) || (path === 'model') || MEDIA_URL.test(v)) return v;
      return key === 'arguments' ? this.jsonString(v, path || '$') : this.str(v, path || '$');
    }
    if (Array.isArray(v)) { v.forEach((x, i) => (v[i] = this.any(x, `${path}[${i}]`, key))); return v; }
    if (!isObj(v)) return v;
    for (const k of Object.keys(v)) {
      // Raw base64: Ollama's images, file data, an Anthropic source's or an input_audio's data.
      if (k === 'images' || k === 'file_data' || (k === 'data' && (typeof v.media_type === 'string' || typeof v.format === 'string'))) continue;
      v[k] = this.any(v[k], path ? `${path}.${k}` : k, k);
    }
    return v;
  }
}

/** Keys whose strings are enums (roles, part and tool types); the top-level `model` (authorised as sent) is kept too. */
const ENUMS: ReadonlySet<string> = new Set(['role', 'type', 'object', 'encoding_format', 'service_tier', 'reasoning_effort']);
/**
 * A base64 media data: URL (an image, audio or a file): binary, not text, and megabytes of it. Only these: a pasted
 * SSE line ("data: {...}") or a text data: URL is text like any other (review of this change).
 */
const MEDIA_URL = /^data:[\w.+-]+\/[\w.+-]+(?:;[\w.+-]+=[^;,]*)*;base64,/;

/**
 * Scrubs every string of a request body but enums, the model and base64 media: the prompt fields of every
 * client shape (chat messages, completions, embeddings, Responses input with tool outputs and calls, Anthropic
 * tool_use input and system, Ollama prompt, template and options, LoLLMS native text), and as much the tool
 * descriptions, metadata, stop strings, names and fields nobody listed. A secret in any of them reached the
 * upstream while only the prompt fields were read (black-box round 12). `arguments` strings are JSON: parsed,
 * scrubbed, written back. The body is modified in place and returned.
 */
export function redactRequestJson(body: unknown, redact: RedactFn): { body: unknown; records: RedactionRecord[] } {
  const w = new Walker(redact, 'request');
  if (typeof body === 'string') return { body: w.str(body, '$'), records: w.records };
  if (!isObj(body)) return { body, records: w.records };
  w.any(body, '', '');
  return { body, records: w.records };
}

/** Structural fields of answers: identifiers and enums, never model text (streams skip the same keys). */
export const STRUCTURAL: ReadonlySet<string> = new Set(['id', 'object', 'model', 'created', 'system_fingerprint', 'finish_reason', 'role', 'type', 'index', 'done_reason']);

/**
 * Scrubs every text of a non-streamed response, whatever its shape (OpenAI chat and completion choices,
 * Ollama message/response, Responses-API output, errors, a bare JSON string, or JSON a model wrote on a
 * text endpoint): all strings but structural identifiers. Token logprobs are checked joined, since a secret
 * split into tokens is invisible token by token; when the joined text holds one, the logprobs are dropped.
 */
export function redactResponseJson(body: unknown, redact: RedactFn): { body: unknown; records: RedactionRecord[] } {
  const w = new Walker(redact, 'response');
  const walk = (v: unknown, path: string, key: string): unknown => {
    if (typeof v === 'string') return STRUCTURAL.has(key) ? v : w.str(v, path || '$');
    if (Array.isArray(v)) { v.forEach((x, i) => (v[i] = walk(x, `${path}[${i}]`, key))); return v; } // in place: kernel/json-exact.ts knows numbers by their holder
    if (!isObj(v)) return v;
    for (const k of Object.keys(v)) {
      const p = path ? `${path}.${k}` : k;
      if (k === 'tool_calls' && Array.isArray(v[k])) {
        // Arguments are redacted as JSON; everything else in a call (function name, ...) like any answer text.
        w.toolCalls(v, path);
        (v[k] as unknown[]).forEach((tc, j) => {
          if (!isObj(tc)) return;
          const tp = `${p}[${j}]`;
          for (const tk of Object.keys(tc)) {
            if (tk !== 'function' || !isObj(tc.function)) { tc[tk] = walk(tc[tk], `${tp}.${tk}`, tk); continue; }
            const fn = tc.function;
            for (const fk of Object.keys(fn)) if (fk !== 'arguments') fn[fk] = walk(fn[fk], `${tp}.function.${fk}`, fk);
          }
        });
        continue;
      }
      if (k === 'logprobs' && v[k] !== null && typeof v[k] === 'object') { v[k] = logprobs(v[k], p, redact, w); continue; }
      v[k] = walk(v[k], p, k);
    }
    return v;
  };
  return { body: walk(body, '', ''), records: w.records };
}

function logprobs(lp: unknown, path: string, redact: RedactFn, w: Walker): unknown {
  // The chosen tokens in order (chat: content[].token; legacy completions: tokens[]), not the alternatives.
  const tokens: string[] = [];
  if (isObj(lp)) {
    if (Array.isArray(lp.content)) for (const t of lp.content) if (isObj(t) && typeof t.token === 'string') tokens.push(t.token);
    if (Array.isArray(lp.tokens)) for (const t of lp.tokens) if (typeof t === 'string') tokens.push(t);
  }
  const { kinds } = redact(tokens.join(''));
  if (kinds.size === 0) return lp;
  for (const [kind, count] of kinds) w.records.push({ kind, direction: 'response', location: path, count });
  return null;
}
