// Stream redactors for SSE, NDJSON and unframed text: parse the framing, redact the text, re-emit well-formed bytes.
import { StringDecoder } from 'node:string_decoder';
import { LineFramer, MAX_FRAME } from '../../kernel/framing.js';
import { TextChannel, type KindSink } from './channel.js';
import { ChunkRedactor } from './chunk.js';
import type { DetectorSet } from './scan.js';
import { exactNumbers, stringifyExact, type ExactNumbers } from '../../kernel/json-exact.js';

export type { StreamFormat } from '../../kernel/media-type.js';

/** Bytes safe to send now; throwing means the caller must end the stream with an error (fail closed). */
export interface StreamRedactor { push(chunk: Buffer): Buffer; end(): Buffer }

/** An SSE event or NDJSON line longer than kernel/framing's MAX_FRAME is refused (the stream fails closed). */
export { MAX_FRAME } from '../../kernel/framing.js';

/** The exact numbers (kernel/json-exact.ts) of each parsed event, by the event's object: written back as they came. */
const EXACT = new WeakMap<object, ExactNumbers>();
const parseJsonObject = (s: string): Record<string, unknown> | null => {
  const t = s.trimStart();
  if (!t.startsWith('{')) return null;
  try {
    const v: unknown = JSON.parse(s);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
    const exact = exactNumbers(s, v);
    if (exact !== undefined) EXACT.set(v, exact);
    return v as Record<string, unknown>;
  } catch { return null; }
};
/** An event's JSON as the upstream wrote its numbers. */
const json = (v: unknown): string => stringifyExact(v, typeof v === 'object' && v !== null ? EXACT.get(v) : undefined);

export class TextStreamRedactor implements StreamRedactor {
  private readonly decoder = new StringDecoder('utf8');
  private readonly ch: TextChannel;
  constructor(set: DetectorSet, sink: KindSink) { this.ch = new TextChannel(set, sink); }
  push(chunk: Buffer): Buffer { return Buffer.from(this.ch.push(this.decoder.write(chunk)), 'utf8'); }
  end(): Buffer { return Buffer.from(this.ch.push(this.decoder.end()) + this.ch.flush(), 'utf8'); }
}

export class SseStreamRedactor implements StreamRedactor {
  private readonly decoder = new StringDecoder('utf8');
  private readonly lines = new LineFramer('any');
  /** The event being read: its lines, and its exact text so far (re-emitted as is when nothing changes). */
  private eventLines: string[] = [];
  private eventRaw = '';
  private readonly chunks: ChunkRedactor;
  /** Data that is not a JSON object streams through this channel, made when first needed (most streams are JSON). */
  private rawChannel: TextChannel | null = null;
  private eol = '\n';

  constructor(private readonly set: DetectorSet, private readonly sink: KindSink, private readonly atomic: (s: string) => string) {
    this.chunks = new ChunkRedactor(set, sink, atomic);
  }

  private get raw(): TextChannel { return (this.rawChannel ??= new TextChannel(this.set, this.sink)); }

  push(chunk: Buffer): Buffer { return Buffer.from(this.take(this.decoder.write(chunk), false), 'utf8'); }

  end(): Buffer {
    let out = this.take(this.decoder.end(), true);
    out += this.flushAll();
    return Buffer.from(out, 'utf8');
  }

  private take(text: string, final: boolean): string {
    let out = '';
    this.lines.push(text, (line, eol) => {
      this.eol = eol;
      this.eventRaw += line + eol;
      if (line === '') {
        out += this.event(this.eventLines, this.eventRaw);
        this.eventLines = [];
        this.eventRaw = '';
      } else this.eventLines.push(line);
    }, final);
    if (final) {
      const rest = this.eventRaw + this.lines.take();
      const tail = rest.split(/\r\n|\r|\n/).filter((l) => l !== '');
      if (rest) out += tail.length ? this.event(tail, rest + this.eol + this.eol) : rest;
      this.eventLines = [];
      this.eventRaw = '';
    }
    if (this.eventRaw.length + this.lines.held > MAX_FRAME) throw new Error(`SSE event longer than ${MAX_FRAME} bytes`);
    return out;
  }

  /** Re-emits one event; `raw` is its exact text including the blank line that ended it. */
  private event(lines: string[], raw: string): string {
    const named = this.fields(lines);
    if (named !== lines) { lines = named; raw = lines.join(this.eol) + this.eol + this.eol; }
    const dataIdx: number[] = [];
    const values: string[] = [];
    lines.forEach((l, k) => {
      if (l.startsWith('data')) {
        const c = l.indexOf(':');
        const name = c < 0 ? l : l.slice(0, c);
        if (name !== 'data') return;
        let v = c < 0 ? '' : l.slice(c + 1);
        if (v.startsWith(' ')) v = v.slice(1);
        dataIdx.push(k); values.push(v);
      }
    });
    if (dataIdx.length === 0) return raw;
    const data = values.join('\n');
    if (data.trim() === '[DONE]') return this.flushAll() + raw;
    const obj = parseJsonObject(data);
    let payload: string;
    let prefix = '';
    if (obj) {
      const changed = this.chunks.process(obj);
      prefix = this.chunks.takeBefore().map((c) => this.frame(c, lines)).join('');
      if (!changed) return prefix + raw;
      payload = json(obj);
    } else {
      prefix = this.flushChunks();
      payload = this.raw.push(data);
      if (payload === data) return prefix + raw;
    }
    const dataLines = payload.split(/\r\n|\r|\n/).map((p) => `data: ${p}`);
    const outLines = lines.filter((_, k) => !dataIdx.includes(k));
    outLines.splice(dataIdx[0], 0, ...dataLines);
    return prefix + outLines.join(this.eol) + this.eol + this.eol;
  }

  /**
   * Comments, `event:`, `id:` and unknown fields reach raw logs and page scripts (`lastEventId`):
   * each value is redacted as a whole. A line that is only a field name becomes a comment when it
   * held a secret. Returns `lines` itself when nothing changed.
   */
  private fields(lines: string[]): string[] {
    let out = lines;
    lines.forEach((l, k) => {
      if (l.startsWith('data:') || l === 'data') return;
      const c = l.indexOf(':');
      const r = c < 0 ? this.atomic(l) : l.slice(0, c + 1) + this.atomic(l.slice(c + 1));
      if (r === l) return;
      if (out === lines) out = lines.slice();
      out[k] = c < 0 ? `: ${r}` : r;
    });
    return out;
  }

  /** A synthetic event: typed events (Responses, Messages) get the `event:` line their clients dispatch on. */
  private frame(c: Record<string, unknown>, lines: string[] = []): string {
    const named = typeof c.type === 'string' && (lines.length === 0 || lines.some((l) => l.startsWith('event:')));
    return `${named && typeof c.type === 'string' ? `event: ${c.type}${this.eol}` : ''}data: ${json(c)}${this.eol}${this.eol}`;
  }

  private flushChunks(): string {
    return this.chunks.pendingChunks().map((c) => this.frame(c)).join('');
  }

  private flushAll(): string {
    let out = this.flushChunks();
    const rest = this.rawChannel ? this.rawChannel.flush() : '';
    if (rest) out += rest.split(/\r\n|\r|\n/).map((p) => `data: ${p}`).join(this.eol) + this.eol + this.eol;
    return out;
  }
}

export class NdjsonStreamRedactor implements StreamRedactor {
  private readonly decoder = new StringDecoder('utf8');
  private readonly lines = new LineFramer('lf');
  /** The current line is not JSON: it streams through the text channel. */
  private inText = false;
  private readonly chunks: ChunkRedactor;
  /** Lines that are not JSON stream through this channel, made when first needed. */
  private textChannel: TextChannel | null = null;

  constructor(private readonly set: DetectorSet, private readonly sink: KindSink, atomic: (s: string) => string) {
    this.chunks = new ChunkRedactor(set, sink, atomic);
  }

  private get text(): TextChannel { return (this.textChannel ??= new TextChannel(this.set, this.sink)); }

  push(chunk: Buffer): Buffer { return Buffer.from(this.take(this.decoder.write(chunk)), 'utf8'); }

  end(): Buffer {
    let out = this.take(this.decoder.end());
    const last = this.lines.take();
    if (last.length) {
      const obj = this.inText ? null : parseJsonObject(last);
      if (obj) {
        this.chunks.process(obj);
        for (const c of this.chunks.takeBefore()) out += (out.endsWith('\n') || out === '' ? '' : '\n') + json(c) + '\n';
        out += json(obj);
      } else out += this.text.push(last);
    }
    for (const c of this.chunks.pendingChunks()) out += (out.endsWith('\n') || out === '' ? '' : '\n') + json(c) + '\n';
    if (this.textChannel) out += this.textChannel.flush();
    return Buffer.from(out, 'utf8');
  }

  private take(s: string): string {
    let out = '';
    this.lines.push(s, (line, eol) => {
      out += this.line(line + eol);
      this.inText = false;
    });
    // A line that does not open a JSON object is text: it streams now rather than waiting for its end.
    const held = this.lines.peek();
    if (held.length > 0) {
      if (this.inText) out += this.text.push(this.lines.take());
      else if (held.trimStart().length > 0 && !held.trimStart().startsWith('{')) {
        this.inText = true;
        out += this.text.push(this.lines.take());
      }
    }
    if (this.lines.held > MAX_FRAME) throw new Error(`NDJSON line longer than ${MAX_FRAME} bytes`);
    return out;
  }

  /** One complete line, newline included. */
  private line(l: string): string {
    if (this.inText) return this.text.push(l);
    const eol = l.endsWith('\r\n') ? '\r\n' : '\n';
    const body = l.slice(0, l.length - eol.length);
    const obj = parseJsonObject(body);
    if (!obj) return body.trim() === '' ? l : this.text.push(l);
    let prefix = this.textChannel?.held ? this.textChannel.flush() : '';
    const changed = this.chunks.process(obj);
    for (const c of this.chunks.takeBefore()) prefix += json(c) + eol;
    return prefix + (changed ? json(obj) + eol : l);
  }
}
