// Redacts the streamed text fields of JSON chunks (OpenAI deltas, Ollama messages), one held-back channel per field.
import { TextChannel, type KindSink } from './channel.js';
import { TokenLogprobs } from './logprobs.js';
import type { DetectorSet } from './scan.js';
import { STRUCTURAL as ANSWER_STRUCTURAL } from './json-fields.js';
import { TypedEventRedactor } from './typed-events.js';
import { redactDelta } from './chunk-delta.js';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const OLLAMA_FIELDS = ['content', 'thinking'] as const;
const STRUCTURAL = new Set(['id', 'object', 'model', 'created', 'type', 'index', 'sequence_number', 'item_id', 'output_index', 'content_index']);
/** Keys a chunk's other texts skip: those a JSON answer leaves alone, and the logprobs (handled with their text). */
const SKIP = new Set([...ANSWER_STRUCTURAL, 'logprobs']);
/** Sub-objects of a delta whose one text field streams in pieces. */
const CHOICE_HANDLED = new Set(['delta', 'message', 'text']);
const CHOICES = new Set(['choices']);
const OLLAMA_HANDLED = new Set<string>(OLLAMA_FIELDS);
const OLLAMA_TOP = new Set(['message', 'response', 'error']);

interface Slot { choice: number; field: string; tool?: number; ch: TextChannel; logprobs?: TokenLogprobs }

/**
 * Keeps one channel per (choice, field) or (choice, tool call) across the chunks of a stream.
 * `process` rewrites a chunk in place; `pendingChunk` builds a closing chunk for held text.
 */
export class ChunkRedactor {
  private readonly slots = new Map<string, Slot>();
  private last: Json | null = null;
  /** Per choice (or "o" for Ollama): the slot that received text last. */
  private readonly current = new Map<string, string>();
  private readonly typed: TypedEventRedactor;
  /** Chunks to send before the one just processed (held text of a field the stream moved away from). */
  private before: Json[] = [];

  constructor(private readonly set: DetectorSet, private readonly sink: KindSink, private readonly atomic: (s: string) => string) {
    this.typed = new TypedEventRedactor(set, sink, atomic);
  }

  /** Chunks that must go out before the chunk `process` was just given; empties the queue. */
  takeBefore(): Json[] {
    const b = this.before;
    if (b.length) this.before = [];
    return b;
  }

  /**
   * The stream moves to slot `key` of `group`: what the previous slot still holds is flushed into
   * a chunk of its own, sent first, so the client sees the fields in the order the upstream sent them.
   */
  private moveTo(group: string, key: string): void {
    const prev = this.current.get(group);
    this.current.set(group, key);
    if (prev === undefined || prev === key) return;
    const s = this.slots.get(prev);
    if (!s || s.ch.held === 0) return;
    const c = this.syntheticBase();
    if (prev.startsWith('o:')) {
      const rest = s.ch.flush();
      if (s.field === 'response') c.response = rest;
      else c.message = { role: 'assistant', [s.field]: rest };
      c.done = false;
    } else {
      const choice: Json = s.field === 'text' ? { index: s.choice, text: '', finish_reason: null } : { index: s.choice, delta: {}, finish_reason: null };
      this.flushSlot(choice, s);
      c.choices = [choice];
    }
    this.before.push(c);
  }

  private syntheticBase(): Json {
    const last = this.last ?? {};
    const out: Json = {};
    for (const k of ['id', 'object', 'created', 'model', 'system_fingerprint', 'created_at']) if (k in last) out[k] = last[k];
    return out;
  }

  private slot(key: string, choice: number, field: string, tool?: number): Slot {
    let s = this.slots.get(key);
    if (!s) { s = { choice, field, tool, ch: new TextChannel(this.set, this.sink) }; this.slots.set(key, s); }
    return s;
  }

  /** Redacts a parsed chunk in place. Returns true when it changed. */
  process(obj: Json): boolean {
    let changed = false;
    const push = (key: string, choice: number, field: string, value: string, tool?: number): string => {
      if (value.length > 0) this.moveTo(choice < 0 ? 'o' : String(choice), key);
      const out = this.slot(key, choice, field, tool).ch.push(value);
      if (out !== value) changed = true;
      return out;
    };
    if (Array.isArray(obj.choices)) {
      this.last = obj;
      obj.choices.forEach((c: unknown, pos: number) => {
        if (!isObj(c)) return;
        const idx = typeof c.index === 'number' ? c.index : pos;
        const delta = isObj(c.delta) ? c.delta : isObj(c.message) ? c.message : null;
        if (delta) {
          if (redactDelta(c, delta, idx, { push, rest: (v, h) => this.rest(v, h), logprobsOf: (ch, k, f, g) => this.logprobsOf(ch, k, f, g) })) changed = true;
        }
        if (typeof c.text === 'string') c.text = push(`${idx}:text`, idx, 'text', c.text);
        if (this.rest(c, CHOICE_HANDLED)) changed = true;
        // Token logprobs other than chat's content/refusal lists carry the answer in pieces this redactor cannot align: dropped.
        if (isObj(c.logprobs) && !Array.isArray(c.logprobs.content) && !Array.isArray(c.logprobs.refusal)) {
          c.logprobs = null;
          changed = true;
        }
        if (c.finish_reason !== null && c.finish_reason !== undefined) {
          if (this.flushChoice(c, idx)) changed = true;
        }
      });
      if (this.rest(obj, CHOICES)) changed = true;
    }
    if (isObj(obj.message) || typeof obj.response === 'string') {
      this.last = obj;
      if (isObj(obj.message)) {
        const m = obj.message;
        for (const f of OLLAMA_FIELDS) if (typeof m[f] === 'string') m[f] = push(`o:${f}`, -1, f, m[f] as string);
        // Tool calls (arguments are an object in Ollama), images, anything else: judged whole.
        if (this.rest(m, OLLAMA_HANDLED)) changed = true;
      }
      if (typeof obj.response === 'string') obj.response = push('o:response', -1, 'response', obj.response);
      if (!Array.isArray(obj.choices) && this.rest(obj, OLLAMA_TOP)) changed = true;
      if (obj.done === true && this.flushOllama(obj)) changed = true;
    } else if (obj.done === true && !Array.isArray(obj.choices)) {
      // A closing line without text: what is held goes out in a line of its own BEFORE it, since
      // clients stop reading at `done: true`.
      this.ollamaBefore();
    }
    if (!Array.isArray(obj.choices) && TypedEventRedactor.knows(obj)) {
      const r = this.typed.process(obj);
      if (r.before.length) this.before.push(...r.before);
      return r.changed;
    }
    if (!Array.isArray(obj.choices) && !isObj(obj.message) && typeof obj.response !== 'string' && obj.error === undefined) {
      // A shape this redactor does not know (Responses API, Anthropic-style deltas...): every text in it is
      // checked as a whole, event by event.
      const before = JSON.stringify(obj);
      for (const k of Object.keys(obj)) if (!STRUCTURAL.has(k)) obj[k] = this.deep(obj[k]);
      if (JSON.stringify(obj) !== before) changed = true;
    }
    if (obj.error !== undefined && !Array.isArray(obj.choices)) {
      const before = JSON.stringify(obj.error);
      obj.error = this.deep(obj.error);
      if (JSON.stringify(obj.error) !== before) changed = true;
    }
    return changed;
  }

  /**
   * Redacts, each as a whole, the strings of `v` outside `handled` and outside the keys a JSON answer
   * leaves alone, at any depth (so a streamed chunk is redacted as the same JSON answer would be).
   */
  private rest(v: Json, handled: ReadonlySet<string>): boolean {
    let changed = false;
    const walk = (x: unknown): unknown => {
      if (typeof x === 'string') { const r = this.atomic(x); if (r !== x) changed = true; return r; }
      if (Array.isArray(x)) { for (let i = 0; i < x.length; i++) x[i] = walk(x[i]); return x; }
      if (isObj(x)) for (const k of Object.keys(x)) if (!SKIP.has(k)) x[k] = walk(x[k]);
      return x;
    };
    for (const k of Object.keys(v)) if (!handled.has(k) && !SKIP.has(k)) v[k] = walk(v[k]);
    return changed;
  }

  /** Held Ollama text, in a synthetic line queued before the chunk being processed. */
  private ollamaBefore(): void {
    let held = false;
    for (const [key, s] of this.slots) if (key.startsWith('o:') && s.ch.held > 0) held = true;
    if (!held) return;
    const c = this.syntheticBase();
    c.done = false;
    this.flushOllama(c);
    this.before.push(c);
  }

  private deep(v: unknown): unknown {
    if (typeof v === 'string') return this.atomic(v);
    if (Array.isArray(v)) return v.map((x) => this.deep(x));
    if (isObj(v)) { for (const k of Object.keys(v)) v[k] = this.deep(v[k]); return v; }
    return v;
  }

  /** Appends every held text of choice `idx` to chunk choice `c`. */
  private flushChoice(c: Json, idx: number): boolean {
    let changed = false;
    for (const [key, s] of this.slots) {
      if (s.choice !== idx || key.startsWith('o:')) continue;
      if (this.flushSlot(c, s)) changed = true;
    }
    return changed;
  }

  /** Appends what slot `s` holds (and the token logprobs held with it) to chunk choice `c`. */
  private flushSlot(c: Json, s: Slot): boolean {
    const rest = s.ch.flush();
    const tokens = s.logprobs?.release(s.ch, true) ?? [];
    if (tokens.length) {
      const lp = isObj(c.logprobs) ? c.logprobs : (c.logprobs = {} as Json);
      lp[s.field] = (Array.isArray(lp[s.field]) ? (lp[s.field] as unknown[]) : []).concat(tokens);
    }
    if (!rest) return tokens.length > 0;
    if (s.field === 'text') { c.text = (typeof c.text === 'string' ? c.text : '') + rest; return true; }
    const delta = isObj(c.delta) ? c.delta : isObj(c.message) ? c.message : (c.delta = {} as Json);
    if (s.tool !== undefined) {
      const calls = Array.isArray(delta.tool_calls) ? delta.tool_calls : (delta.tool_calls = []);
      let tc = calls.find((t: unknown) => isObj(t) && t.index === s.tool) as Json | undefined;
      if (!tc) { tc = { index: s.tool, function: { arguments: '' } }; calls.push(tc); }
      const fn = isObj(tc.function) ? tc.function : (tc.function = { arguments: '' } as Json);
      fn.arguments = (typeof fn.arguments === 'string' ? fn.arguments : '') + rest;
    } else if (s.field.includes('.')) {
      const [holder, f] = s.field.split('.');
      const h = isObj(delta[holder]) ? (delta[holder] as Json) : (delta[holder] = {} as Json);
      h[f] = (typeof h[f] === 'string' ? h[f] : '') + rest;
    } else if (Array.isArray(delta[s.field])) {
      (delta[s.field] as unknown[]).push({ type: 'text', text: rest });
    } else {
      delta[s.field] = (typeof delta[s.field] === 'string' ? delta[s.field] : '') + rest;
    }
    return true;
  }

  /**
   * Token logprobs of a streamed field go out with the text they spell: the entries of this chunk
   * join the field's queue, and the chunk carries those whose text the channel has decided, with
   * redacted text replaced in their `token` (and their alternatives dropped).
   */
  private logprobsOf(c: Json, key: string, field: string, given: string): boolean {
    const lp = isObj(c.logprobs) ? c.logprobs : null;
    const entries = lp && Array.isArray(lp[field]) ? (lp[field] as unknown[]) : null;
    const s = this.slots.get(key)!;
    if (!entries && !s.logprobs) return false;
    s.logprobs ??= new TokenLogprobs();
    s.logprobs.add(entries ?? [], given.length);
    const out = s.logprobs.release(s.ch, false);
    if (lp) lp[field] = out;
    else if (out.length) c.logprobs = { [field]: out };
    return true;
  }

  private flushOllama(obj: Json): boolean {
    let changed = false;
    for (const [key, s] of this.slots) {
      if (!key.startsWith('o:')) continue;
      const rest = s.ch.flush();
      if (!rest) continue;
      changed = true;
      if (s.field === 'response') obj.response = (typeof obj.response === 'string' ? obj.response : '') + rest;
      else {
        const m = isObj(obj.message) ? obj.message : (obj.message = { role: 'assistant' } as Json);
        m[s.field] = (typeof m[s.field] === 'string' ? m[s.field] : '') + rest;
      }
    }
    return changed;
  }

  /** True while some field still holds text back. */
  get holding(): boolean {
    for (const s of this.slots.values()) if (s.ch.held > 0 || (s.logprobs?.size ?? 0) > 0) return true;
    return false;
  }

  /**
   * Flushes every channel into one synthetic chunk shaped like the last chunk seen (same id,
   * model, created), or returns null when nothing was held.
   */
  pendingChunks(): Json[] {
    const typed = this.typed.pending();
    const c = this.pendingChunk();
    return c ? [...typed, c] : typed;
  }

  private pendingChunk(): Json | null {
    if (!this.holding) { for (const s of this.slots.values()) s.ch.flush(); return null; }
    const last = this.last ?? {};
    const out: Json = {};
    for (const k of ['id', 'object', 'created', 'model', 'system_fingerprint', 'created_at']) if (k in last) out[k] = last[k];
    const choices = new Map<number, Json>();
    let ollama = false;
    for (const [key, s] of this.slots) {
      if (key.startsWith('o:')) { ollama = true; continue; }
      if (s.ch.held === 0) continue;
      let c = choices.get(s.choice);
      if (!c) { c = { index: s.choice, delta: {}, finish_reason: null }; choices.set(s.choice, c); }
      if (s.field === 'text') delete c.delta;
      this.flushChoice(c, s.choice);
    }
    if (choices.size) out.choices = [...choices.values()];
    if (ollama) {
      out.done = false;
      if (!('message' in last) && 'response' in last) out.response = '';
      else out.message = { role: 'assistant', content: '' };
      this.flushOllama(out);
    }
    return out;
  }
}
