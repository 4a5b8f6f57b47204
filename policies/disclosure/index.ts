// Disclosure policy factory: compiles [security.information_disclosure] once into a Redactor for the proxy.
import { DETECTORS, ERROR_FILTERS, FILTER_DEFAULTS } from './detectors.js';
import { redactRequestJson, redactResponseJson, type RedactionRecord } from './json-fields.js';
import { checkPatternSafety } from './safety.js';
import { visibleText } from './invisible.js';
import { editDistance } from '../edit-distance.js';
import { compileBuiltin, compileCustom, DetectorSet, type Finding } from './scan.js';
import { NdjsonStreamRedactor, SseStreamRedactor, TextStreamRedactor, type StreamFormat, type StreamRedactor } from './stream.js';

export { checkPatternSafety } from './safety.js';
export { detectStreamFormat, type StreamFormat } from '../../kernel/media-type.js';
export type { StreamRedactor } from './stream.js';
export { FILTER_DEFAULTS } from './detectors.js';
export type { RedactionRecord } from './json-fields.js';

/** Mirrors [security.information_disclosure]. */
export interface DisclosureOptions {
  enabled: boolean;
  redact_requests: boolean;
  redact_responses: boolean;
  /** Text put in place of a finding; `{kind}` is replaced by the detector kind. */
  replacement: string;
  /** What to do with a request whose prompt holds a finding: scrub it (default) or refuse it. */
  request_action?: 'redact' | 'block';
  sanitize_errors: boolean;
  hide_versions: boolean;
  filters: Record<string, boolean>;
  patterns: Record<string, string>;
}

export interface Redactor {
  redactText(text: string): { text: string; kinds: Map<string, number> };
  /** Longest text (in characters) a stream may hold back while deciding. */
  maxHold: number;
  redactRequestBody(body: unknown): { body: unknown; records: RedactionRecord[] };
  redactResponseJson(body: unknown): { body: unknown; records: RedactionRecord[] };
  createStreamRedactor(format: StreamFormat, onRecord: (r: RedactionRecord) => void): StreamRedactor;
  /** True when an upstream error body shows stack traces, file paths, internal addresses or credentials. */
  looksSensitiveError(text: string): boolean;
}

const NONE = new Map<string, number>();
const PASS: StreamRedactor = { push: (c) => c, end: () => Buffer.alloc(0) };

/** Every problem in the section, each naming the key and a fix; empty when valid. */
export function validateDisclosureOptions(opts: Partial<DisclosureOptions>): string[] {
  const problems: string[] = [];
  const known = Object.keys(FILTER_DEFAULTS);
  for (const key of Object.keys(opts.filters ?? {})) {
    if (!known.includes(key)) {
      const near = known.find((k) => editDistance(k, key) <= 3);
      problems.push(`filters.${key}: unknown filter${near ? `. Did you mean "${near}"?` : `; known: ${known.join(', ')}`}`);
    }
  }
  for (const [name, source] of Object.entries(opts.patterns ?? {})) {
    const p = checkPatternSafety(name, source);
    if (p) problems.push(`patterns.${p}`);
  }
  if (opts.replacement !== undefined && typeof opts.replacement !== 'string') problems.push('replacement: must be a string such as "[REDACTED:{kind}]"');
  if (opts.request_action !== undefined && opts.request_action !== 'redact' && opts.request_action !== 'block') {
    problems.push(`request_action: "${String(opts.request_action)}" is not one of "redact", "block"`);
  }
  return problems;
}

/** Compiles the section once; throws with every problem listed when it is invalid. */
export function compileDisclosure(opts: DisclosureOptions): Redactor {
  const problems = validateDisclosureOptions(opts);
  if (problems.length) throw new Error(`[security.information_disclosure] is invalid:\n- ${problems.join('\n- ')}`);
  const filters = { ...FILTER_DEFAULTS, ...opts.filters };
  const replacement = opts.replacement ?? '[REDACTED:{kind}]';
  const builtins = DETECTORS.filter((d) => filters[d.filter]).map(compileBuiltin);
  const customs = Object.entries(opts.patterns ?? {}).map(([name, src]) => compileCustom(name, src));
  const set = new DetectorSet(builtins, customs, replacement);
  const errorSet = new DetectorSet(DETECTORS.filter((d) => ERROR_FILTERS.includes(d.filter)).map(compileBuiltin), [], replacement);
  const active = opts.enabled !== false;
  const redact = (text: string) => set.redactText(text);
  const identity = (text: string) => ({ text, kinds: NONE });

  return {
    maxHold: set.holdMax,
    redactText: active ? redact : identity,
    redactRequestBody: (body) =>
      active && opts.redact_requests !== false ? redactRequestJson(body, redact) : { body, records: [] },
    redactResponseJson: (body) =>
      active && opts.redact_responses !== false ? redactResponseJson(body, redact) : { body, records: [] },
    createStreamRedactor(format, onRecord) {
      if (!active || opts.redact_responses === false) return PASS;
      const sink = (kinds: Map<string, number>) => {
        for (const [kind, count] of kinds) onRecord({ kind, direction: 'response', location: 'stream', count });
      };
      const atomic = (s: string) => {
        const r = set.redactText(s);
        sink(r.kinds);
        return r.text;
      };
      if (format === 'sse') return new SseStreamRedactor(set, sink, atomic);
      if (format === 'ndjson') return new NdjsonStreamRedactor(set, sink, atomic);
      return new TextStreamRedactor(set, sink);
    },
    looksSensitiveError(raw) {
      const text = visibleText(raw)?.text ?? raw;
      const found: Finding[] = [];
      errorSet.findBuiltins(text, 0, found);
      if (found.length) return true;
      set.findBuiltins(text, 0, found);
      set.findCustoms(text, 0, text.length, found);
      return found.length > 0 || /\b(?:Traceback|Exception|Error):?\s[\s\S]*\n\s+at\s/.test(text);
    },
  };
}

/** Bytes that end a stream whose redaction failed, in the stream's own framing. */
export function streamErrorTrailer(format: StreamFormat): Buffer {
  const body = JSON.stringify({ error: { message: 'The response was cut off because it could not be checked for sensitive data.', type: 'api_error', code: 'redaction_failed' } });
  if (format === 'sse') return Buffer.from(`event: error\ndata: ${body}\n\ndata: [DONE]\n\n`);
  if (format === 'ndjson') return Buffer.from(`\n${body}\n`);
  return Buffer.from('\n[response cut off: redaction failed]\n');
}
