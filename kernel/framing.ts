// The one line framer for streamed answers (SSE, NDJSON, line-wise reading): complete lines out, the rest held.

/** An SSE event or NDJSON line held longer than this is not a frame any reader waits for. */
export const MAX_FRAME = 8 * 1024 * 1024;

/**
 * Splits decoded text into lines. 'lf' breaks on \n only (NDJSON; a \r stays in the line); 'any' on \r\n,
 * \n or a lone \r (SSE, WHATWG event-stream). A \r that ends a push may be half of \r\n: it is held
 * until the next push, or taken as a break by a final one.
 */
export class LineFramer {
  private rest = '';

  constructor(private readonly breaks: 'lf' | 'any') {}

  /** Characters held: the unfinished line. */
  get held(): number {
    return this.rest.length;
  }

  /** The unfinished line, still held. */
  peek(): string {
    return this.rest;
  }

  /** The unfinished line, no longer held. */
  take(): string {
    const r = this.rest;
    this.rest = '';
    return r;
  }

  push(text: string, each: (line: string, eol: string) => void, final = false): void {
    const buf = this.rest.length > 0 ? this.rest + text : text;
    let i = 0;
    if (this.breaks === 'lf') {
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n', i)) {
        each(buf.slice(i, nl), '\n');
        i = nl + 1;
      }
    } else {
      while (i < buf.length) {
        const at = nextBreak(buf, i);
        if (at < 0) break;
        if (buf.charCodeAt(at) === 13 && at === buf.length - 1 && !final) break;
        const width = buf.charCodeAt(at) === 13 && buf.charCodeAt(at + 1) === 10 ? 2 : 1;
        const line = buf.slice(i, at);
        const eol = buf.slice(at, at + width);
        i = at + width;
        each(line, eol);
      }
    }
    this.rest = i === 0 ? buf : buf.slice(i);
  }
}

/** Index of the next \n or \r at or after `from`, -1 when none yet. */
function nextBreak(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return -1;
}
