// Redaction across typed stream events: OpenAI Responses API (response.*.delta) and Anthropic-style Messages (content_block_delta).
import { TextChannel, type KindSink } from './channel.js';
import type { DetectorSet } from './scan.js';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Responses API delta events whose `delta` is streamed text; their `.done` event closes the text. */
const RESPONSES_DELTA = /^response\.(output_text|refusal|reasoning_text|reasoning_summary_text|function_call_arguments|custom_tool_call_input|audio_transcript|code_interpreter_call_code|mcp_call_arguments)\.delta$/;
/** Anthropic delta types and the field that carries their text (signatures are not text: left alone). */
const MESSAGES_DELTA: Record<string, string> = { text_delta: 'text', thinking_delta: 'thinking', input_json_delta: 'partial_json', citations_delta: '' };

interface Slot { ch: TextChannel; template: Json; field: string }

/**
 * One channel per streamed text (Responses: item, content part and kind; Messages: block index),
 * so a secret split across events is reassembled and redacted as one text. What a channel still
 * holds when its text closes (`.done`, `content_block_stop`, end of stream) goes out first in a
 * synthetic delta event of the same shape. Whole texts repeated in closing events (`text`,
 * `arguments`, `response.output`) are redacted as a whole: the same result as the deltas.
 */
export class TypedEventRedactor {
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly set: DetectorSet, private readonly sink: KindSink, private readonly atomic: (s: string) => string) {}

  /** True when `obj` is an event of a shape this redactor knows. */
  static knows(obj: Json): boolean {
    const t = obj.type;
    return typeof t === 'string' && (t.startsWith('response.') || t.startsWith('message_') || t.startsWith('content_block_') || t === 'ping' || t === 'error');
  }

  /**
   * Redacts `obj` in place; returns synthetic events that must be sent before it (held text of a
   * closing stream), and whether `obj` changed.
   */
  process(obj: Json): { before: Json[]; changed: boolean } {
    const t = obj.type as string;
    const before: Json[] = [];
    let changed = false;
    const take = (key: string, field: string, template: Json, value: string): string => {
      let s = this.slots.get(key);
      if (!s) { s = { ch: new TextChannel(this.set, this.sink), template, field }; this.slots.set(key, s); }
      s.template = template;
      const out = s.ch.push(value);
      if (out !== value) changed = true;
      return out;
    };
    if (RESPONSES_DELTA.test(t) && typeof obj.delta === 'string') {
      const key = `r:${t}:${String(obj.item_id ?? obj.output_index)}:${String(obj.content_index ?? obj.summary_index ?? '')}`;
      obj.delta = take(key, 'delta', obj, obj.delta);
      return { before, changed };
    }
    if (t.startsWith('response.') && t.endsWith('.done')) {
      const key = `r:${t.slice(0, -'.done'.length)}.delta:${String(obj.item_id ?? obj.output_index)}:${String(obj.content_index ?? obj.summary_index ?? '')}`;
      this.close(key, before);
    }
    if (t === 'content_block_delta' && isObj(obj.delta) && typeof obj.delta.type === 'string') {
      const field = MESSAGES_DELTA[obj.delta.type];
      if (field && typeof obj.delta[field] === 'string') {
        const key = `m:${String(obj.index)}:${obj.delta.type}`;
        obj.delta[field] = take(key, field, obj, obj.delta[field] as string);
        return { before, changed };
      }
    }
    if (t === 'content_block_stop' || t === 'message_stop' || t === 'response.completed' || t === 'response.incomplete' || t === 'response.failed') {
      for (const key of [...this.slots.keys()]) {
        if (t === 'content_block_stop' ? key.startsWith(`m:${String(obj.index)}:`) : true) this.close(key, before);
      }
    }
    // Everything else that carries text (whole texts in closing events, errors, starting blocks) is judged whole.
    for (const k of Object.keys(obj)) {
      if (k === 'type' || k === 'item_id' || k === 'id' || k === 'signature' || typeof obj[k] === 'number') continue;
      const v = this.deep(obj[k]);
      if (v.changed) { obj[k] = v.value; changed = true; }
    }
    return { before, changed: changed || before.length > 0 };
  }

  /** Synthetic events for every text still held (end of stream). */
  pending(): Json[] {
    const out: Json[] = [];
    for (const key of [...this.slots.keys()]) this.close(key, out);
    return out;
  }

  private close(key: string, out: Json[]): void {
    const s = this.slots.get(key);
    if (!s) return;
    this.slots.delete(key);
    const rest = s.ch.flush();
    if (!rest) return;
    const ev = structuredClone(s.template);
    if (key.startsWith('m:') && isObj(ev.delta)) ev.delta[s.field] = rest;
    else ev[s.field] = rest;
    out.push(ev);
  }

  private deep(v: unknown): { value: unknown; changed: boolean } {
    if (typeof v === 'string') { const r = this.atomic(v); return { value: r, changed: r !== v }; }
    if (Array.isArray(v)) {
      let changed = false;
      const value = v.map((x) => { const r = this.deep(x); changed ||= r.changed; return r.value; });
      return { value, changed };
    }
    if (isObj(v)) {
      let changed = false;
      for (const k of Object.keys(v)) {
        if (k === 'signature' || k === 'id' || k === 'type') continue;
        const r = this.deep(v[k]);
        if (r.changed) { v[k] = r.value; changed = true; }
      }
      return { value: v, changed };
    }
    return { value: v, changed: false };
  }
}
