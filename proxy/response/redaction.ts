// security.information_disclosure.redact_responses: the answer's JSON fields, its text, or its stream, redacted.
import { mayBeOneDocument, streamFormat } from '../../kernel/media-type.js';
import type { RequestContext } from '../../kernel/context.js';
import { streamErrorTrailer, type Redactor, type StreamRedactor } from '../../policies/disclosure/index.js';
import { noteRedactions } from '../../policies/disclosure/prompt.js';
import type { PieceFilter, ResponseFilter } from './filter.js';
import { exactNumbers, stringifyExact, type ExactNumbers } from '../../kernel/json-exact.js';
import { checkJsonText } from '../../kernel/json-canonical.js';

const NOTHING = Buffer.alloc(0);

/** null when answers are not redacted (the section or the key is off). `maxHeld` bounds a held document. */
export function createResponseRedaction(redactor: Redactor | undefined, redactResponses: boolean, maxHeld = Infinity): ResponseFilter | null {
  if (!redactor || !redactResponses) return null;
  /** The same value with a new identity, which tells the forwarder to write it anew (the copy holds what the original held, so its exact numbers, kernel/json-exact.ts, are its own too). */
  const reparsed = (json: unknown, numbers: ExactNumbers | undefined): unknown => {
    if (json === null || typeof json !== 'object') return json;
    const copy = Array.isArray(json) ? [...json] : { ...(json as object) };
    const held = numbers?.get(json);
    if (held !== undefined) numbers!.set(copy, held);
    return copy;
  };
  /** A JSON value redacted field by field; undefined when nothing was found (the original stands). */
  const redactJson = (ctx: RequestContext, json: unknown, numbers: ExactNumbers | undefined): unknown => {
    const { body: out, records } = redactor.redactResponseJson(json);
    if (records.length === 0) return undefined;
    noteRedactions(ctx, records);
    // Redaction works in place: a new identity tells the forwarder to re-serialise.
    return reparsed(out, numbers);
  };
  const redactText = (ctx: RequestContext, text: string): string => {
    const { text: out, kinds } = redactor.redactText(text);
    for (const [kind, count] of kinds) ctx.redactions.push({ kind, direction: 'response', location: 'body', count });
    return out;
  };
  /**
   * A stream requested, but the answer says application/json: NDJSON (LoLLMS streams it so) or one document
   * (an upstream that ignored stream:true). The first line tells: a whole JSON value followed by another line
   * is a stream; anything else is one document, held to its end and redacted as JSON.
   */
  const documentOrLines = (ctx: RequestContext): PieceFilter => {
    let lines: StreamRedactor | undefined;
    let document = false;
    const held: Buffer[] = [];
    let size = 0;
    return {
      push(c) {
        if (lines) return lines.push(c);
        held.push(c);
        size += c.length;
        if (size > maxHeld) throw new Error('a held JSON answer above upstream.max_buffered_response_bytes');
        if (document || !c.includes(0x0a)) return NOTHING;
        const all = Buffer.concat(held);
        const text = all.toString('utf8').replace(/^\uFEFF/, '');
        const start = text.trimStart();
        const nl = start.indexOf('\n');
        // One document with a trailing newline is still one document: wait for a second line to begin.
        if (nl < 0 || start.slice(nl + 1).trim() === '') return NOTHING;
        if (!isJsonValue(start.slice(0, nl))) {
          document = true;
          return NOTHING;
        }
        held.length = 0;
        lines = redactor.createStreamRedactor('ndjson', (r) => noteRedactions(ctx, [r]));
        return lines.push(all);
      },
      end() {
        if (lines) return lines.end();
        if (size === 0) return NOTHING;
        const raw = Buffer.concat(held);
        const text = raw.toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          const out = redactText(ctx, text);
          return out === text ? raw : Buffer.from(out);
        }
        const numbers = exactNumbers(text, parsed);
        // A key twice: written as parsed, as onBody does.
        const out = redactJson(ctx, parsed, numbers) ?? (checkJsonText(text) !== null ? parsed : undefined);
        return out === undefined ? raw : Buffer.from(stringifyExact(out, numbers));
      },
      errorTrailer: () => streamErrorTrailer('ndjson'),
    };
  };
  return {
    name: 'redaction of the answer',
    // A non-streamed answer is redacted whole; a stream piece by piece.
    holds: (x) => !x.streamed,
    onBody({ ctx }, body) {
      if (body.json !== undefined) {
        const out = redactJson(ctx, body.json, body.numbers);
        if (out !== undefined) body.json = out;
        // A key twice: the copy JSON.parse dropped was never redacted, yet it is in the upstream's bytes (black-box
        // round 12). The answer then goes out as parsed (last key wins, as in JS, Python and Go clients). Any problem
        // of the text counts: the check stops at its first one (a lone surrogate before the duplicate, say).
        else if (checkJsonText(body.text) !== null) body.json = reparsed(body.json, body.numbers);
        return undefined;
      }
      body.text = redactText(ctx, body.text);
      return undefined;
    },
    onPieces({ ctx, type, streamed }, head) {
      if (!streamed) return null;
      if (mayBeOneDocument(ctx.path, type)) return documentOrLines(ctx);
      const format = streamFormat(ctx.path, type, head);
      const sr = redactor.createStreamRedactor(format, (r) => noteRedactions(ctx, [r]));
      return { push: (c) => sr.push(c), end: () => sr.end(), errorTrailer: () => streamErrorTrailer(format) };
    },
  };
}

function isJsonValue(line: string): boolean {
  const t = line.trim();
  if (t === '') return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}
