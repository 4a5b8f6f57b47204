// Characters of prompt text in a request body: one count for the input cap (validation) and the token budget.

/**
 * Top-level fields that carry prompt text, over the client shapes the proxy knows: OpenAI chat (messages),
 * completions (prompt, suffix), embeddings (input), Responses (input, instructions), Anthropic messages
 * (messages, system), Ollama /api/chat (messages) and /api/generate (prompt, system, suffix), LoLLMS
 * /lollms_generate (prompt) and its text endpoints (text). The same list the redactor scrubs.
 */
export const PROMPT_FIELDS = ['messages', 'prompt', 'input', 'text', 'system', 'suffix', 'instructions'] as const;

/**
 * Inside a message, content part or input item: what the model reads. `text` and `content` (strings, part
 * arrays, nested blocks such as Anthropic tool_result), Responses `output` (function_call_output) and the
 * arguments of earlier tool calls (chat `tool_calls[].function`, legacy `function_call`, Responses function_call).
 */
const NESTED = ['text', 'content', 'output', 'arguments', 'tool_calls', 'function', 'function_call'] as const;

/**
 * Characters a token id stands for (OpenAI completions and embeddings take `prompt` / `input` as token ids):
 * the estimate's own characters per token, so a token-id prompt is charged its length in tokens and meets
 * max_input_length as text of that many tokens would. Counted 0 before, which let such a prompt of any length
 * past the input cap and the token budget (black-box round 11).
 */
export const CHARS_PER_TOKEN = 4;

/** Validation refuses bodies deeper than max_json_depth before parsing; this bound only keeps the walk finite. */
const MAX_DEPTH = 64;

function chars(v: unknown, depth: number): number {
  if (typeof v === 'string') return v.length;
  if (depth >= MAX_DEPTH || v === null || typeof v !== 'object') return 0;
  let n = 0;
  if (Array.isArray(v)) for (const x of v) n += typeof x === 'number' ? CHARS_PER_TOKEN : chars(x, depth + 1);
  else for (const k of NESTED) n += chars((v as Record<string, unknown>)[k], depth + 1);
  return n;
}

/** Prompt characters of a parsed JSON body (a token id in an array counts CHARS_PER_TOKEN; images count 0). */
export function promptLength(body: Record<string, unknown>): number {
  let n = 0;
  for (const f of PROMPT_FIELDS) n += chars(body[f], 0);
  return n;
}
