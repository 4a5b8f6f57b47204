// Walks request and response JSON bodies, redacting only the fields that carry prompt or completion text.
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

  /** Redacts `holder[key]` when it is a string. */
  field(holder: Json, key: string, path: string): void {
    if (typeof holder[key] === 'string') holder[key] = this.str(holder[key] as string, path);
  }

  /** A string, or an array of strings / content parts ({text}) / nested messages. */
  content(holder: Json, key: string, path: string): void {
    const v = holder[key];
    if (typeof v === 'string') { holder[key] = this.str(v, path); return; }
    if (!Array.isArray(v)) return;
    v.forEach((part, i) => {
      const p = `${path}[${i}]`;
      if (typeof part === 'string') v[i] = this.str(part, p);
      else if (isObj(part)) {
        this.field(part, 'text', `${p}.text`);
        if ('content' in part) this.content(part, 'content', `${p}.content`);
        this.toolCalls(part, p);
      }
    });
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

  message(m: unknown, path: string): void {
    if (!isObj(m)) return;
    this.content(m, 'content', `${path}.content`);
    this.field(m, 'reasoning_content', `${path}.reasoning_content`);
    this.field(m, 'thinking', `${path}.thinking`);
    this.field(m, 'refusal', `${path}.refusal`);
    this.toolCalls(m, path);
  }
}

/**
 * Scrubs the prompt-carrying fields of chat (messages), completion (prompt, suffix), embedding
 * (input), Ollama (messages, prompt, system) and LoLLMS native (prompt, text) request bodies.
 * The body is modified in place and returned.
 */
export function redactRequestJson(body: unknown, redact: RedactFn): { body: unknown; records: RedactionRecord[] } {
  const w = new Walker(redact, 'request');
  if (typeof body === 'string') return { body: w.str(body, '$'), records: w.records };
  if (!isObj(body)) return { body, records: w.records };
  if (Array.isArray(body.messages)) body.messages.forEach((m, i) => w.message(m, `messages[${i}]`));
  for (const key of ['prompt', 'input', 'system', 'instructions', 'suffix', 'text']) w.content(body, key, key);
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
