// The response side's contract: filters see the upstream's head, then either its buffered body or each piece of it.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { RequestContext } from '../../kernel/context.js';
import type { ErrorCode } from '../../kernel/errors.js';
import type { PolicyKey } from '../../kernel/policy.js';
import type { ExactNumbers } from '../../kernel/json-exact.js';

/** One upstream answer as the filters see it. `res` is the client's answer, headers not yet sent. */
export interface Exchange {
  readonly ctx: RequestContext;
  readonly res: ServerResponse;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly type: string | undefined;
  /** The request or the content type says the answer streams (kernel/media-type.ts). */
  readonly streamed: boolean;
  /** Names of the upstream's headers put on the answer (response headers filter): an error answer removes them. */
  readonly copied: string[];
}

/** The answer is not relayed: the client gets this error instead (recorded with this outcome and rule). */
export interface Replacement {
  readonly code: ErrorCode;
  readonly outcome: 'deny' | 'modify';
  readonly rule: PolicyKey;
  /** The status to answer with, when not the catalogue's (a sanitised 4xx keeps the upstream's). */
  readonly status?: number;
}

/** A buffered answer. `json` is set when the content type is JSON and the text parses; filters replace fields. */
export interface Body {
  readonly raw: Buffer;
  text: string;
  json: unknown;
  /** Numbers of the parsed answer a double does not hold, as written (kernel/json-exact.ts). */
  readonly numbers?: ExactNumbers;
}

/** A filter over the pieces of a relayed answer. Throwing fails the answer closed. */
export interface PieceFilter {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
  /** Bytes that end the stream well-formed once a filter failed. */
  errorTrailer?(): Buffer;
}

export interface ResponseFilter {
  readonly name: string;
  /** On the upstream's status and headers. */
  onHead?(x: Exchange): Replacement | undefined;
  /** Must the whole answer be held before a byte goes out? */
  holds?(x: Exchange): boolean;
  /** On the whole answer (when some filter holds it). */
  onBody?(x: Exchange, body: Body): Replacement | undefined;
  /** A filter for the pieces of an answer relayed as it arrives; `head` is its first piece. */
  onPieces?(x: Exchange, head: Buffer): PieceFilter | null;
}
