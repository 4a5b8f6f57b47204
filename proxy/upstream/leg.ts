// One request to the upstream as undici's dispatch handler; the answer's body as a small emitter, not a stream.
//
// Why not undici's request(): it wraps every exchange in an AbortSignal, an AsyncResource, a promise and a
// Readable body stream (with its buffering and state machine), and parses the answer's headers into an object
// that proxy/upstream/forward.ts then copied again. The guard reads the body as it arrives either way. Measured
// in-process (the client's CPU per JSON request, 32 concurrent, 4 rounds of 10,000 against a local server):
// request() 87-193 µs, dispatch() 46-81 µs (docs/performance.md, "Fifth round").
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';

/** What the answer's readers use of it; a Readable offers the same (the decoded answer is one). */
export interface AnswerSource {
  on(event: 'data', fn: (chunk: Buffer) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  on(event: 'error', fn: (e: Error & { code?: string }) => void): unknown;
  removeAllListeners(event: 'data'): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(): unknown;
}

/** Why a leg was cut on our side (the client left, a filter refused): undici ends the request with it. */
class Abandoned extends Error {
  readonly code = 'UND_ERR_ABORTED';
}

export interface LegEvents {
  /** The answer's head (a 1xx is skipped); the body's events follow on the leg. */
  head(status: number, headers: IncomingHttpHeaders): void;
  /** The request failed before an answer's head. */
  failed(err: Error & { code?: string }): void;
}

/**
 * undici's handler contract (onConnect, onHeaders, onData, onComplete, onError), and the answer body in one
 * object: 'data', 'end' and 'error' events; pause() and resume() are the socket's back-pressure; destroy()
 * aborts the request. Every callback of undici runs inside its parser, so nothing here may throw into it.
 */
export class Leg extends EventEmitter implements AnswerSource {
  private abortFn: ((e: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  private paused = false;
  private cut = false;
  private headSeen = false;
  /** The answer was read to its end, or the request failed: nothing more will come. */
  done = false;

  constructor(private readonly events: LegEvents) {
    super();
    this.on('error', () => {}); // an error with no reader is not the process's: its reader handles it, or none cares
  }

  // undici's side

  onConnect(abort: (e: Error) => void): void {
    if (this.cut) return abort(new Abandoned('abandoned before it was sent'));
    this.abortFn = abort;
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (status < 200) return true; // 100 Continue, 103 Early Hints: the answer is still to come
    this.resumeFn = resume;
    this.headSeen = true;
    this.events.head(status, headerObject(raw));
    return !this.paused;
  }

  onData(chunk: Buffer): boolean {
    this.emit('data', chunk);
    return !this.paused;
  }

  onComplete(): void {
    this.done = true;
    this.emit('end');
  }

  onError(err: Error & { code?: string }): void {
    this.done = true;
    if (this.cut) return; // our own abort: whoever cut it has answered already, as for a destroyed stream
    if (this.headSeen) this.emit('error', err);
    else this.events.failed(err);
  }

  // the readers' side

  pause(): void { this.paused = true; }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeFn?.();
  }

  /** Ends the request now (before it is sent, it is not sent). No-op once the answer is complete. */
  destroy(): void {
    if (this.done || this.cut) return;
    this.cut = true;
    this.abortFn?.(new Abandoned('abandoned'));
  }

  /** The same body as a Readable, for what needs a stream (the decoders of a compressed answer). */
  toReadable(): Readable {
    const r = new Readable({
      read: () => this.resume(),
      destroy: (e, done) => { this.destroy(); done(e); },
    });
    this.on('data', (c: Buffer) => { if (!r.push(c)) this.pause(); });
    this.on('end', () => r.push(null));
    this.on('error', (e: Error) => r.destroy(e));
    return r;
  }
}

/**
 * The answer's raw headers as node's own parser gives them: lower-case names, a repeated header as one
 * value joined with ", " (cookies stay a list; the proxy drops them), no prototype to collide with.
 */
function headerObject(raw: Buffer[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = Object.create(null);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    const had = out[name];
    if (had === undefined) out[name] = value;
    else if (Array.isArray(had)) had.push(value);
    else out[name] = name === 'set-cookie' ? [had, value] : `${had}, ${value}`;
  }
  return out as IncomingHttpHeaders;
}
