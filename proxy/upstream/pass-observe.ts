// Usage and answer length of a non-streamed answer relayed unbuffered: a bounded copy on the side, never the whole answer.
import type { RequestContext } from '../../kernel/context.js';
import { observeBody, takeUsage } from './observe.js';

/** Answers up to this size are parsed whole once relayed; bigger ones (embedding batches) keep only a tail. */
const WHOLE = 1 << 20;
/** The tail kept of a bigger answer: OpenAI-shaped bodies end with their `usage` object. */
const TAIL = 64 << 10;

export class PassObserver {
  private chunks: Buffer[] = [];
  private size = 0;
  private tail: Buffer | undefined;

  constructor(private readonly ctx: RequestContext, private readonly json: boolean) {}

  push(c: Buffer): void {
    this.size += c.length;
    if (this.tail === undefined && this.size <= WHOLE) {
      this.chunks.push(c);
      return;
    }
    const joined = Buffer.concat(this.tail ? [this.tail, c] : [...this.chunks, c]);
    this.chunks = [];
    this.tail = joined.length > TAIL ? joined.subarray(joined.length - TAIL) : joined;
  }

  end(): void {
    const ctx = this.ctx;
    if (this.tail === undefined) {
      const text = Buffer.concat(this.chunks).toString('utf8');
      this.chunks = [];
      if (this.json) {
        try {
          observeBody(ctx, JSON.parse(text));
          return;
        } catch {
          /* not JSON after all: counted as text */
        }
      }
      ctx.completionChars += text.length;
      return;
    }
    // A large answer: its usage, if it has one near the end; its size as text only when it is text.
    const usage = this.json ? lastUsage(this.tail.toString('utf8')) : undefined;
    if (usage) takeUsage(ctx, { usage });
    else if (!this.json) ctx.completionChars += this.size;
    this.tail = undefined;
  }
}

/** The last `"usage": {...}` object in a JSON text, found by balancing braces outside strings. */
export function lastUsage(text: string): Record<string, unknown> | undefined {
  const at = text.lastIndexOf('"usage"');
  if (at < 0) return undefined;
  const open = text.indexOf('{', at);
  if (open < 0 || text.slice(at + 7, open).trim() !== ':') return undefined;
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) {
      try {
        const o: unknown = JSON.parse(text.slice(open, i + 1));
        return o && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
