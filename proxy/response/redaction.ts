// security.information_disclosure.redact_responses: the answer's JSON fields, its text, or its stream, redacted.
import { streamFormat } from '../../kernel/media-type.js';
import { streamErrorTrailer, type Redactor } from '../../policies/disclosure/index.js';
import { noteRedactions } from '../../policies/disclosure/prompt.js';
import type { ResponseFilter } from './filter.js';

/** null when answers are not redacted (the section or the key is off). */
export function createResponseRedaction(redactor: Redactor | undefined, redactResponses: boolean): ResponseFilter | null {
  if (!redactor || !redactResponses) return null;
  return {
    name: 'redaction of the answer',
    // A non-streamed answer is redacted whole; a stream piece by piece.
    holds: (x) => !x.streamed,
    onBody({ ctx }, body) {
      if (body.json !== undefined) {
        const { body: out, records } = redactor.redactResponseJson(body.json);
        if (records.length === 0) return undefined;
        noteRedactions(ctx, records);
        // Redaction works in place: a new identity tells the forwarder to re-serialise.
        body.json = out !== null && typeof out === 'object' ? (Array.isArray(out) ? [...out] : { ...(out as object) }) : out;
        return undefined;
      }
      const { text, kinds } = redactor.redactText(body.text);
      for (const [kind, count] of kinds) ctx.redactions.push({ kind, direction: 'response', location: 'body', count });
      body.text = text;
      return undefined;
    },
    onPieces({ ctx, type, streamed }, head) {
      if (!streamed) return null;
      const format = streamFormat(ctx.path, type, head);
      const sr = redactor.createStreamRedactor(format, (r) => noteRedactions(ctx, [r]));
      return { push: (c) => sr.push(c), end: () => sr.end(), errorTrailer: () => streamErrorTrailer(format) };
    },
  };
}
