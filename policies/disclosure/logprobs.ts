// Token logprobs of a streamed field, held with the text they spell and released with it, redacted where the text was.
import type { TextChannel } from './channel.js';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Queued { entry: unknown; start: number; end: number }

/**
 * Chat-completions `logprobs.content` / `logprobs.refusal` entries ({token, logprob, bytes,
 * top_logprobs}) of one field. Each entry is placed at the input offsets its token covers in the
 * field's text; it leaves once the channel has decided that text. An entry whose text was
 * redacted gets the replacement in its `token` (only the entry where the finding starts carries
 * the marker), matching `bytes`, and no alternatives: they could spell the secret too.
 */
export class TokenLogprobs {
  private readonly queue: Queued[] = [];
  private at = 0;

  /** Entries that arrived with `textLength` characters of the field's text. */
  add(entries: unknown[], textLength: number): void {
    const end = this.at + textLength;
    let p = this.at;
    entries.forEach((entry, i) => {
      const token = isObj(entry) && typeof entry.token === 'string' ? entry.token : '';
      const start = Math.min(p, end);
      const stop = i === entries.length - 1 ? end : Math.min(p + token.length, end);
      this.queue.push({ entry, start, end: stop });
      p = stop;
    });
    this.at = end;
  }

  get size(): number { return this.queue.length; }

  /** Entries whose text `ch` has decided (all of them when `all`), in order. */
  release(ch: TextChannel, all: boolean): unknown[] {
    const decided = ch.decided;
    const out: unknown[] = [];
    while (this.queue.length && (all || this.queue[0].end <= decided)) out.push(this.redact(this.queue.shift()!, ch.redacted));
    const next = this.queue.length ? this.queue[0].start : decided;
    let drop = 0;
    while (drop < ch.redacted.length && ch.redacted[drop][1] <= next) drop++;
    if (drop) ch.redacted.splice(0, drop);
    return out;
  }

  private redact(q: Queued, spans: ReadonlyArray<[number, number, string]>): unknown {
    const e = q.entry;
    if (!isObj(e) || typeof e.token !== 'string') return e;
    const text = e.token;
    let token = '';
    let p = q.start;
    let touched = false;
    for (const [a, b, marker] of spans) {
      if (b <= q.start || a >= q.end) continue;
      touched = true;
      token += text.slice(p - q.start, Math.max(a, q.start) - q.start);
      if (a >= q.start) token += marker;
      p = Math.min(b, q.end);
    }
    if (!touched) return e;
    token += text.slice(p - q.start);
    return { ...e, token, bytes: [...Buffer.from(token, 'utf8')], top_logprobs: [] };
  }
}
