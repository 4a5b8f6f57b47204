// One stream of text redacted as it arrives: sends what no later text can change, holds a bounded rest.
import { NfaScanner } from './regex/nfa.js';
import { isPlaceholder } from './validators.js';
import { CUSTOM_MATCH_CAP, mergeFindings, TOKEN_CONTINUATION, uniteSpans, type DetectorSet, type Finding } from './scan.js';
import { lowestBit, scanBuiltin, scanShort, SHORT_SCAN, type Match } from './builtin-scan.js';
import type { TriggerCache } from './prefilter.js';
import { hasInvisible, splitInvisible } from './invisible.js';

/** Invisible characters a channel holds at most; past it, held runs are dropped (see hide). */
const HIDDEN_LIMIT = 65536;
/** Characters of already-sent text kept as look-behind context (longer than any detector's look-behind). */
const CONTEXT = 256;
const TOKEN_CHAR = /[A-Za-z0-9_\-+/=.~%]/;

export type KindSink = (kinds: Map<string, number>) => void;

/**
 * Why the result equals redacting the whole text at once: every detector keeps its own scan
 * cursor, exactly where a scan of the whole text would be. A match is taken only when no match
 * attempt from the cursor up to it can change with more text (the detector's hold regex says where
 * the rest of the text could still grow into a match); the scan then resumes at that match's end,
 * as a global scan does, whether the match validated or not. Text is sent up to the earliest
 * position any detector could still redact, never from inside a finding. Operator patterns run in
 * one automaton per pattern fed the whole stream; a span is final once no live thread can touch it.
 * The one departure: a match longer than the hold bound is sent redacted at the bound and the rest
 * of its token is swallowed, so nothing leaks (docs/redaction.md, "Hold-back bound").
 */
export class TextChannel {
  /** Text from `bufStart` (absolute offset) on; the part before `sent` is look-behind context. */
  private buf = '';
  private bufStart = 0;
  private sent = 0;
  private swallowing = false;
  /** Per built-in detector: absolute position its scan resumes from. */
  private readonly cursors: number[];
  /** Absolute end of the text the last decision saw: only text after it is new to the detectors. */
  private seen = 0;
  /** Scratch: the detectors to run now (DetectorSet.startsIn: those the new text can start, and the held ones). */
  private readonly due: Int32Array;
  /** The detectors whose cursor is before the end of the text the last decision saw (they hold text back). */
  private heldBy: Int32Array;
  private heldNext: Int32Array;
  /** Built-in findings taken but not sent yet (absolute offsets). */
  private found: Finding[] = [];
  /** Per operator pattern: reported spans [start, end) not sent yet (absolute, flat pairs). */
  private readonly spans: number[][];
  private readonly nfas: NfaScanner[];
  private readonly matches: Match[] = [];
  /** Input characters dropped while swallowing the tail of an over-long token. */
  private swallowed = 0;
  /**
   * A finding that reached the end of the text while its match could still grow (a value longer than the hold
   * bound), with its detector: until sent, it takes in the rest of its token as that arrives, so a hold of
   * another detector that keeps it back cannot let the tail out unredacted.
   */
  private growing: { f: Finding; k: number } | null = null;
  /**
   * Invisible characters taken out of the text the detectors read (invisible.ts), not sent yet: each run with
   * the absolute position in that text it stands before. A run goes out with the text around it, is dropped
   * when inside a finding, and goes out before the marker when just before one: as redactText maps a finding.
   */
  private hidden: Array<[number, string]> = [];
  /** Invisible characters sent or dropped so far (input offsets count them; the channel's do not). */
  private hiddenOut = 0;
  /** Invisible characters in `hidden`. */
  private hiddenHeld = 0;
  /** A high surrogate that ended the last push: with its low half it may be an invisible tag character. */
  private highTail = '';
  /** Redacted spans sent so far, in input offsets, as [start, end, marker] (for token logprobs); the owner trims it. */
  readonly redacted: Array<[number, number, string]> = [];

  constructor(private readonly set: DetectorSet, private readonly sink: KindSink) {
    this.nfas = set.customs.map((c) => new NfaScanner(c.prog, CUSTOM_MATCH_CAP));
    this.cursors = set.builtins.map(() => 0);
    this.spans = set.customs.map(() => []);
    this.due = new Int32Array(set.maskWords);
    this.heldBy = new Int32Array(set.maskWords);
    this.heldNext = new Int32Array(set.maskWords);
  }

  /** Characters currently held back. */
  get held(): number { return this.bufStart + this.buf.length - this.sent + this.highTail.length + this.hiddenHeld; }

  /** How many input characters are decided (sent or swallowed). */
  get decided(): number { return this.sent + this.swallowed + this.hiddenOut; }

  /** Adds text; returns the redacted text that is safe to send now. */
  push(text: string): string {
    if (this.highTail !== '') { text = this.highTail + text; this.highTail = ''; }
    if (text.length === 0) return '';
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.highTail = text.slice(-1);
      text = text.slice(0, -1);
      if (text.length === 0) return '';
    }
    let runs: Array<[number, string]> | null = null;
    if (hasInvisible(text)) ({ visible: text, runs } = splitInvisible(text));
    let k = 0;
    if (this.swallowing) {
      TOKEN_CONTINUATION.lastIndex = 0;
      k = TOKEN_CONTINUATION.exec(text)![0].length;
      this.swallowed += k;
      text = text.slice(k);
      if (text.length > 0) this.swallowing = false;
    }
    if (runs !== null) this.hide(runs, k);
    if (text.length === 0) return '';
    this.buf += text;
    for (const n of this.nfas) n.feed(text);
    return this.decide(false);
  }

  /** Keeps the invisible runs of pushed text by their place in the visible text; those inside swallowed text go. */
  private hide(runs: Array<[number, string]>, swallowed: number): void {
    const end = this.bufStart + this.buf.length;
    for (const [at, run] of runs) {
      // Past the bound, held invisible runs are dropped (they show nothing): memory stays bounded and the held
      // visible text is still decided as always. Forcing it out instead let a detector's partial match go unredacted.
      if (at < swallowed || this.hiddenHeld + run.length > HIDDEN_LIMIT) { this.swallowed += run.length; continue; }
      this.hiddenHeld += run.length;
      const pos = end + at - swallowed, last = this.hidden[this.hidden.length - 1];
      if (last !== undefined && last[0] === pos) last[1] += run;
      else this.hidden.push([pos, run]);
    }
  }

  /** Ends the channel: everything held is redacted and returned. */
  flush(): string {
    if (this.highTail !== '') {
      // A lone high surrogate at the very end: plain text, as redactText sees it.
      this.buf += this.highTail;
      for (const n of this.nfas) n.feed(this.highTail);
      this.highTail = '';
    }
    for (const n of this.nfas) n.finish(-1);
    const out = this.held > 0 || this.spans.some((s) => s.length) ? this.decide(true) : '';
    this.swallowing = false;
    return out;
  }

  private decide(final: boolean): string {
    const set = this.set, text = this.buf, base = this.bufStart, len = text.length;
    const from = this.sent - base;
    let cut = len;
    let overflow = false;
    const cache: TriggerCache = new Map();
    let cacheFrom = len;
    const grows = this.grow(text, base);
    // A detector none of whose starting characters is in the new text, and that held nothing back, has
    // nothing new to find or hold: it is not run, and its cursor is taken to be the end of the text.
    // Most detectors start with a rare literal ("sk-", "ghp_"), so a few-character event runs a dozen of
    // the hundred (dev/bench/stream.ts: 50 → 24 µs of CPU per event); visiting only the set bits of the
    // mask instead of every detector, 20-21 → 17-19 µs.
    const fresh = Math.max(0, this.seen - base), due = this.due, held = this.heldBy, words = due.length;
    due.fill(0);
    set.startsIn(text, fresh, len, due);
    for (let w = 0; w < words; w++) due[w] |= held[w];
    // The cursor of a detector that held nothing back is the end of the text it last saw.
    const cursor = (k: number): number => Math.max(this.cursors[k] - base, (held[k >> 5] & (1 << (k & 31))) === 0 ? fresh : 0);
    for (let w = 0; w < words; w++) {
      for (let bits = due[w]; bits !== 0; bits &= bits - 1) {
        const c = cursor(lowestBit(w, bits));
        if (c < cacheFrom && len - c > SHORT_SCAN) cacheFrom = c;
      }
    }
    const now = this.heldNext;
    now.fill(0);
    this.seen = base + len;
    for (let w = 0; w < words; w++) {
      for (let bits = due[w]; bits !== 0; bits &= bits - 1) {
        const k = lowestBit(w, bits), d = set.builtins[k];
        let cur = cursor(k);
        if (cur >= len) continue;
        const ms = this.matches;
        ms.length = 0;
        if (len - cur <= SHORT_SCAN) scanShort(d, text, cur, ms);
        else scanBuiltin(d, text, cur, cache, ms, cacheFrom);
        let hold = final ? len : this.set.holdOf(d, text, cur);
        for (const m of ms) {
          if (m.anchor >= hold) break; // an attempt before it could still change: decided later
          if (m.valid) {
            const f = { start: m.start + base, end: m.fend + base, kind: d.kind, priority: d.priority };
            this.found.push(f);
            if (!final && m.fend === len && set.growsAt(d, text, m.anchor)) { overflow = true; this.growing = { f, k }; }
          }
          cur = m.end;
          if (hold < cur) hold = this.set.holdOf(d, text, cur);
        }
        const next = Math.max(cur, hold);
        this.cursors[k] = base + next;
        if (next < len) now[w] |= 1 << (k & 31);
        if (hold < cut) cut = hold;
      }
    }
    this.heldNext = held;
    this.heldBy = now;
    const customs: Finding[] = [];
    set.customs.forEach((c, k) => {
      const n = this.nfas[k], pairs = this.spans[k];
      for (const x of n.spans) pairs.push(x);
      if (n.spans.length) n.spans = [];
      const live = final ? Infinity : n.minLiveStart() - base;
      if (live < cut) cut = Math.max(from, live);
      const united = uniteSpans(pairs);
      for (let j = 0; j < united.length; j += 2) {
        const s0 = united[j] - base;
        const s = Math.max(s0, from), e = united[j + 1] - base;
        // A later match that touches this span would join it (and could make it a placeholder).
        if (e >= live) { if (s < cut) cut = s; continue; }
        // The placeholder test reads the whole match, as the buffered redaction does, not just its part after `from`.
        if (e > s && !isPlaceholder(text.slice(Math.max(s0, 0), e))) customs.push({ start: s, end: e, kind: c.kind, priority: c.priority });
      }
    });
    const all = this.found.map((f) => ({ ...f, start: f.start - base, end: f.end - base }));
    const merged = mergeFindings(customs.length ? all.concat(customs) : all);
    for (let i = merged.length - 1; i >= 0; i--) {
      const f = merged[i];
      if (f.start < cut && f.end > cut) { cut = f.start; break; }
      if (f.end <= cut) break;
    }
    // Bounded memory: past the bound, everything held goes out redacted as far as it is known.
    if (!final && len - cut > set.holdMax + 1024) return this.force(text, base, from, len, merged);
    const sendable = merged.filter((f) => f.end <= cut);
    const out = this.emit(text, from, cut, sendable, final);
    const last = sendable[sendable.length - 1];
    if ((overflow || grows) && cut === len && last && last.end === len && TOKEN_CHAR.test(text[len - 1])) this.swallowing = true;
    this.advance(cut);
    return out;
  }

  /** Sends everything held, with every span known so far (also undecided ones) redacted. */
  private force(text: string, base: number, from: number, len: number, merged: Finding[]): string {
    const extra: Finding[] = [];
    this.set.customs.forEach((c, k) => {
      const united = uniteSpans(this.spans[k]);
      for (let j = 0; j < united.length; j += 2) {
        const s = Math.max(united[j] - base, from), e = united[j + 1] - base;
        if (e > s) extra.push({ start: s, end: e, kind: c.kind, priority: c.priority });
      }
    });
    const all = extra.length ? mergeFindings(merged.concat(extra)) : merged;
    const out = this.emit(text, from, len, all, false);
    const last = all[all.length - 1];
    if (last && last.end === len && TOKEN_CHAR.test(text[len - 1])) this.swallowing = true;
    this.advance(len);
    for (let k = 0; k < this.cursors.length; k++) if (this.cursors[k] < base + len) this.cursors[k] = base + len;
    this.heldBy.fill(0);
    return out;
  }

  /** Extends the growing finding over the token text that arrived after it; true while it still reaches the end. */
  private grow(text: string, base: number): boolean {
    const g = this.growing;
    if (g === null) return false;
    const at = g.f.end - base;
    TOKEN_CONTINUATION.lastIndex = at;
    g.f.end += TOKEN_CONTINUATION.exec(text)![0].length;
    if (this.cursors[g.k] < g.f.end) this.cursors[g.k] = g.f.end;
    if (g.f.end - base < text.length) this.growing = null;
    return this.growing !== null;
  }

  /** text[from, cut) with `findings` replaced; at the end of the stream (`final`), the invisible runs after the last character too. */
  private emit(text: string, from: number, cut: number, findings: Finding[], final: boolean): string {
    const kinds = new Map<string, number>();
    if (this.hidden.length > 0) return this.emitHidden(text, from, cut, findings, final, kinds);
    const out = this.set.apply(text, from, cut, findings, kinds);
    if (kinds.size) {
      this.sink(kinds);
      const shift = this.bufStart + this.swallowed + this.hiddenOut;
      for (const f of findings) this.redacted.push([f.start + shift, f.end + shift, this.set.marker(f.kind)]);
    }
    return out;
  }

  /** emit() with invisible runs held: each is put back where it was, or dropped inside a finding. */
  private emitHidden(text: string, from: number, cut: number, findings: Finding[], final: boolean, kinds: Map<string, number>): string {
    const base = this.bufStart, hidden = this.hidden;
    let h = 0;
    // text[a, b) with the runs that stand before its characters (and before b too, when `through`).
    const plain = (a: number, b: number, through: boolean): string => {
      let out = '';
      for (; h < hidden.length && (hidden[h][0] - base < b || (through && hidden[h][0] - base === b)); h++) {
        const at = hidden[h][0] - base;
        out += text.slice(a, at) + hidden[h][1];
        this.hiddenOut += hidden[h][1].length;
        a = at;
      }
      return out + text.slice(a, b);
    };
    let out = '';
    let at = from;
    for (const f of findings) {
      out += plain(at, f.start, true);
      const start = base + f.start + this.swallowed + this.hiddenOut;
      for (; h < hidden.length && hidden[h][0] - base < f.end; h++) this.hiddenOut += hidden[h][1].length;
      const marker = this.set.marker(f.kind);
      out += marker;
      kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
      this.redacted.push([start, base + f.end + this.swallowed + this.hiddenOut, marker]);
      at = f.end;
    }
    out += plain(at, cut, final);
    for (let i = 0; i < h; i++) this.hiddenHeld -= hidden[i][1].length;
    hidden.splice(0, h);
    if (kinds.size) this.sink(kinds);
    return out;
  }

  /** Marks text before `cut` (relative to the buffer) as sent and drops what no scan needs any more. */
  private advance(cut: number): void {
    const abs = this.bufStart + cut;
    this.sent = abs;
    if (this.found.length) this.found = this.found.filter((f) => f.start >= abs);
    if (this.growing && this.growing.f.start < abs) this.growing = null;
    for (const pairs of this.spans) {
      let w = 0;
      for (let j = 0; j < pairs.length; j += 2) if (pairs[j + 1] > abs) { pairs[w++] = pairs[j]; pairs[w++] = pairs[j + 1]; }
      pairs.length = w;
    }
    const keep = Math.max(0, cut - CONTEXT);
    if (keep > 0) {
      this.buf = this.buf.slice(keep);
      this.bufStart += keep;
    }
  }
}
