// One stream of text redacted as it arrives: emits what can no longer be part of a secret, holds a bounded rest.
import { NfaScanner } from './regex/nfa.js';
import { isPlaceholder } from './validators.js';
import { CUSTOM_MATCH_CAP, mergeFindings, TOKEN_CONTINUATION, type DetectorSet, type Finding } from './scan.js';

/** Characters of already-sent text kept as look-behind context. */
const CONTEXT = 256;
const TOKEN_CHAR = /[A-Za-z0-9_\-+/=.~%]/;

export type KindSink = (kinds: Map<string, number>) => void;

export class TextChannel {
  private ctx = '';
  private pending = '';
  /** Offset of pending[0] in everything pushed to this channel. */
  private base = 0;
  private swallowing = false;
  private readonly nfas: NfaScanner[];
  private readonly spans: Finding[] = [];

  constructor(private readonly set: DetectorSet, private readonly sink: KindSink) {
    this.nfas = set.customs.map((c) => new NfaScanner(c.prog, CUSTOM_MATCH_CAP));
  }

  /** Characters currently held back. */
  get held(): number { return this.pending.length; }

  /** Adds text; returns the redacted text that is safe to send now. */
  push(text: string): string {
    if (text.length === 0) return '';
    if (this.swallowing) {
      TOKEN_CONTINUATION.lastIndex = 0;
      const k = TOKEN_CONTINUATION.exec(text)![0].length;
      if (k > 0) {
        for (const n of this.nfas) n.feed(text, 0, k);
        this.ctx = (this.ctx + text.slice(0, k)).slice(-CONTEXT);
        this.base += k;
        text = text.slice(k);
      }
      if (text.length === 0) return '';
      this.swallowing = false;
    }
    this.pending += text;
    for (const n of this.nfas) n.feed(text);
    return this.decide(false);
  }

  /** Ends the channel: everything held is redacted and returned. */
  flush(): string {
    for (const n of this.nfas) n.finish(-1);
    const out = this.pending.length ? this.decide(true) : '';
    this.swallowing = false;
    return out;
  }

  private decide(final: boolean): string {
    const set = this.set;
    const off = this.ctx.length;
    const text = this.ctx + this.pending;
    const len = text.length;
    const found: Finding[] = [];
    set.findBuiltins(text, off, found);
    this.collectCustomSpans();
    for (const s of this.spans) {
      const start = Math.max(off, s.start - this.base + off);
      const end = s.end - this.base + off;
      if (end > start && !isPlaceholder(text.slice(start, end))) found.push({ start, end, kind: s.kind, priority: s.priority });
    }
    let cut = len;
    if (!final) {
      cut = set.holdStart(text, off);
      for (const n of this.nfas) {
        const live = n.minLiveStart();
        if (live !== Infinity) cut = Math.min(cut, Math.max(off, live - this.base + off));
      }
    }
    const merged = found.length ? mergeFindings(found) : found;
    for (let i = merged.length - 1; i >= 0; i--) {
      const f = merged[i];
      if (f.start < cut && f.end > cut) { cut = Math.max(off, Math.min(f.start, f.anchor ?? f.start)); break; }
      if (f.end <= cut) break;
    }
    // A finding longer than any hold (an over-long token) is sent redacted; its tail is swallowed.
    if (!final && len - cut > set.holdMax + 1024) cut = len;
    const emitted = merged.filter((f) => f.end <= cut);
    const kinds = new Map<string, number>();
    const out = set.apply(text, off, cut, emitted, kinds);
    if (kinds.size) this.sink(kinds);
    const last = emitted[emitted.length - 1];
    if (!final && last && last.end === len && cut === len && TOKEN_CHAR.test(text[len - 1])) this.swallowing = true;
    const consumed = cut - off;
    this.ctx = text.slice(Math.max(0, cut - CONTEXT), cut);
    this.pending = this.pending.slice(consumed);
    this.base += consumed;
    for (let i = this.spans.length - 1; i >= 0; i--) if (this.spans[i].end <= this.base) this.spans.splice(i, 1);
    return out;
  }

  private collectCustomSpans(): void {
    this.nfas.forEach((n, i) => {
      const s = n.spans;
      const c = this.set.customs[i];
      for (let j = 0; j < s.length; j += 2) this.spans.push({ start: s[j], end: s[j + 1], kind: c.kind, priority: c.priority });
      if (s.length) n.spans = [];
    });
  }
}
