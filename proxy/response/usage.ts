// Last response filter: usage and answer length, read from what the client receives (after redaction).
import { isJsonType } from '../../kernel/media-type.js';
import { StreamObserver, observeBody } from '../upstream/observe.js';
import { PassObserver } from '../upstream/pass-observe.js';
import type { ResponseFilter } from './filter.js';

const NOTHING: Buffer = Buffer.alloc(0);

export function createUsageObservation(): ResponseFilter {
  return {
    name: 'usage observation',
    onBody({ ctx }, body) {
      if (body.json !== undefined) observeBody(ctx, body.json);
      else ctx.completionChars += body.text.length;
      return undefined;
    },
    onPieces({ ctx, type, streamed }) {
      // A stream is read line by line; a whole answer relayed unbuffered keeps a bounded copy on the side.
      const o = streamed ? new StreamObserver(ctx) : new PassObserver(ctx, isJsonType(type));
      return {
        push(c) {
          o.push(c);
          return c;
        },
        end() {
          o.end();
          return NOTHING;
        },
      };
    },
  };
}
