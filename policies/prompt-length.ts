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

/** Validation refuses bodies deeper than max_json_depth before parsing; this bound only keeps the walk finite. */
const MAX_DEPTH = 64;

function chars(v: unknown, depth: number): number {
  if (typeof v === 'string') return v.length;
  if (depth >= MAX_DEPTH || v === null || typeof v !== 'object') return 0;
  let n = 0;
  if (Array.isArray(v)) for (const x of v) n += chars(x, depth + 1);
  else for (const k of NESTED) n += chars((v as Record<string, unknown>)[k], depth + 1);
  return n;
}

/** Prompt characters of a parsed JSON body (token-id arrays and images count 0: they are not characters). */
export function promptLength(body: Record<string, unknown>): number {
  let n = 0;
  for (const f of PROMPT_FIELDS) n += chars(body[f], 0);
  return n;
}
