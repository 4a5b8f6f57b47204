// Runs the response filters in their pipeline order over one answer: head, then the body or its pieces.
import type { ServerResponse } from 'node:http';
import type { Body, Exchange, PieceFilter, Replacement, ResponseFilter } from './filter.js';

const NOTHING: Buffer = Buffer.alloc(0);

const gone = (res: ServerResponse): boolean => res.writableEnded || res.destroyed;

export class ResponseChain {
  constructor(readonly filters: readonly ResponseFilter[]) {}

  /**
   * The head, filter by filter. 'gone': the answer is over on our side (the client left, the proxy already
   * answered): later filters do not run, but the ones before (the breaker's verdict) did.
   */
  head(x: Exchange): Replacement | 'gone' | undefined {
    for (const f of this.filters) {
      const r = f.onHead?.(x);
      if (r) return r;
      if (gone(x.res)) return 'gone';
    }
    return undefined;
  }

  holds(x: Exchange): boolean {
    return this.filters.some((f) => f.holds?.(x) === true);
  }

  body(x: Exchange, body: Body): Replacement | undefined {
    for (const f of this.filters) {
      const r = f.onBody?.(x, body);
      if (r) return r;
    }
    return undefined;
  }

  /** The filters over the pieces, composed: each one's output is the next one's input. null when none. */
  pieces(x: Exchange, head: Buffer): PieceFilter | null {
    const parts: PieceFilter[] = [];
    for (const f of this.filters) {
      const p = f.onPieces?.(x, head);
      if (p) parts.push(p);
    }
    if (parts.length === 0) return null;
    const trailer = parts.find((p) => p.errorTrailer);
    return {
      push(c) {
        for (const p of parts) {
          if (c.length === 0) return c;
          c = p.push(c);
        }
        return c;
      },
      end() {
        let carry: Buffer = NOTHING;
        for (const p of parts) {
          const a = carry.length > 0 ? p.push(carry) : NOTHING;
          const b = p.end();
          carry = a.length === 0 ? b : b.length === 0 ? a : Buffer.concat([a, b]);
        }
        return carry;
      },
      errorTrailer: trailer ? () => trailer.errorTrailer!() : undefined,
    };
  }
}
