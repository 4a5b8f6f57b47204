// The streamed text fields of one OpenAI-style delta (or message) of a chunk: each text goes through its
// held-back channel (`push`), every other string is judged whole (`rest`), as the same JSON answer would be.
type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const DELTA_FIELDS = ['content', 'reasoning_content', 'reasoning', 'refusal'] as const;
const NESTED = [['audio', 'transcript'], ['function_call', 'arguments']] as const;
const TEXT = new Set(['text']);
const ARGS = new Set(['arguments']);
const FUNCTION = new Set(['function']);
const DELTA_HANDLED = new Set([...DELTA_FIELDS, 'tool_calls', ...NESTED.map(([h]) => h)]);
const NONE: ReadonlySet<string> = new Set();

export interface DeltaIO {
  /** Sends `value` through the channel of `key`; returns what may go out now. */
  push(key: string, choice: number, field: string, value: string, tool?: number): string;
  /** Redacts, each whole, the strings of `v` outside `handled`; true when one changed. */
  rest(v: Json, handled: ReadonlySet<string>): boolean;
  /** Keeps the token logprobs of choice `c` in step with its redacted text; true when they changed. */
  logprobsOf(c: Json, key: string, field: string, given: string): boolean;
}

/** Redacts one delta of choice `c` (index `idx`) in place; true when anything but channel text changed. */
export function redactDelta(c: Json, delta: Json, idx: number, io: DeltaIO): boolean {
  let changed = false;
  for (const f of DELTA_FIELDS) {
    if (isObj(delta[f]) && io.rest(delta[f] as Json, NONE)) changed = true; // not a streamed text: judged whole
    if (typeof delta[f] !== 'string') continue;
    const given = delta[f] as string;
    delta[f] = io.push(`${idx}:${f}`, idx, f, given);
    if ((f === 'content' || f === 'refusal') && io.logprobsOf(c, `${idx}:${f}`, f, given)) changed = true;
  }
  // Content as parts (Mistral, some gateways): the text parts continue the same content text.
  if (Array.isArray(delta.content)) {
    const parts = delta.content;
    parts.forEach((part: unknown, j: number) => {
      if (typeof part === 'string') parts[j] = io.push(`${idx}:content`, idx, 'content', part);
      else if (isObj(part)) {
        if (typeof part.text === 'string') part.text = io.push(`${idx}:content`, idx, 'content', part.text);
        if (io.rest(part, TEXT)) changed = true;
      }
    });
  }
  // Streamed text under a sub-object: audio transcripts, legacy function_call arguments.
  for (const [holder, f] of NESTED) {
    const h = delta[holder];
    if (!isObj(h)) continue;
    if (typeof h[f] === 'string') h[f] = io.push(`${idx}:${holder}.${f}`, idx, `${holder}.${f}`, h[f] as string);
    if (io.rest(h, new Set([f]))) changed = true;
  }
  if (Array.isArray(delta.tool_calls)) {
    delta.tool_calls.forEach((tc: unknown, j: number) => {
      if (!isObj(tc)) return;
      const fn = isObj(tc.function) ? tc.function : null;
      if (fn && typeof fn.arguments === 'string') {
        const ti = typeof tc.index === 'number' ? tc.index : j;
        fn.arguments = io.push(`${idx}:tool:${ti}`, idx, 'arguments', fn.arguments, ti);
        if (io.rest(fn, ARGS)) changed = true;
      } else if (fn && io.rest(fn, NONE)) changed = true;
      if (io.rest(tc, FUNCTION)) changed = true;
    });
  }
  // Every other text of the delta (function names, annotations, unknown fields) is judged whole, as in a JSON answer.
  if (io.rest(delta, DELTA_HANDLED)) changed = true;
  return changed;
}
