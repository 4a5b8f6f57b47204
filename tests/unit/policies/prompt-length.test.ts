// policies/prompt-length.ts: one prompt count for every client shape; validation's input cap and the token budget agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promptLength } from '../../../policies/prompt-length.js';
import { promptChars } from '../../../policies/rate-limit/tokens.js';
import type { RequestContext } from '../../../kernel/context.js';

const s = (n: number, c = 'x'): string => c.repeat(n);

/** [client shape, body, prompt characters]. */
const TABLE: [string, Record<string, unknown>, number][] = [
  ['OpenAI chat, string content', { model: 'm', messages: [{ role: 'system', content: s(3) }, { role: 'user', content: s(5) }] }, 8],
  ['OpenAI chat, content parts (text counted, image not)', {
    messages: [{ role: 'user', content: [{ type: 'text', text: s(4) }, { type: 'image_url', image_url: { url: `data:image/png;base64,${s(99)}` } }] }],
  }, 4],
  ['OpenAI chat, null content and earlier tool calls', {
    messages: [
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get', arguments: s(6) } }] },
      { role: 'tool', tool_call_id: 'c1', content: s(2) },
      { role: 'assistant', content: null, function_call: { name: 'old', arguments: s(3) } },
    ],
  }, 11],
  ['OpenAI completions, prompt and suffix', { model: 'm', prompt: s(7), suffix: s(2) }, 9],
  ['OpenAI completions, prompt array', { prompt: [s(2), s(3)] }, 5],
  ['OpenAI completions, token-id prompt: each id as many characters as the estimate gives a token', { prompt: [1, 2, 3] }, 12],
  ['OpenAI completions, batch of token-id prompts', { prompt: [[1, 2], [3]] }, 12],
  ['OpenAI embeddings, token-id input', { input: [5, 6, 7, 8] }, 16],
  ['OpenAI embeddings, input array', { input: [s(3), s(4)] }, 7],
  ['Responses, string input and instructions', { input: s(6), instructions: s(4) }, 10],
  ['Responses, input items', {
    input: [
      { role: 'user', content: [{ type: 'input_text', text: s(5) }, { type: 'input_image', image_url: `data:${s(50)}` }] },
      { type: 'function_call', call_id: 'c', name: 'f', arguments: s(3) },
      { type: 'function_call_output', call_id: 'c', output: s(4) },
    ],
  }, 12],
  ['Anthropic messages, system blocks and tool_result', {
    system: [{ type: 'text', text: s(3) }],
    messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: s(2) }] }, { type: 'text', text: s(1) }] }],
  }, 6],
  ['Ollama /api/chat (images not counted)', { model: 'm', messages: [{ role: 'user', content: s(4), images: [s(40)] }] }, 4],
  ['Ollama /api/generate', { model: 'm', prompt: s(5), system: s(2), suffix: s(1), images: [s(30)], context: [1, 2] }, 8],
  ['LoLLMS /lollms_generate', { prompt: s(9), n_predict: 10, personality: -1 }, 9],
  ['LoLLMS text endpoint (/lollms_embed, /lollms_tokenize)', { text: s(6) }, 6],
  ['no prompt fields', { model: 'm', stream: true, user: s(5), tools: [{ type: 'function', function: { name: 'f', description: s(20) } }] }, 0],
  ['characters, not bytes or code units of escapes', { prompt: 'é€' }, 2],
];

test('prompt length: every client shape the proxy knows', () => {
  for (const [shape, body, n] of TABLE) assert.equal(promptLength(body), n, shape);
});

test('the token budget counts with the same function when validation did not count, and reads its count when it did', () => {
  const ctx = (json: Record<string, unknown>, counted: number) => ({ json, promptChars: counted }) as unknown as RequestContext;
  for (const [shape, body, n] of TABLE) assert.equal(promptChars(ctx(body, 0)), n, shape);
  assert.equal(promptChars(ctx({ prompt: s(3) }, 40)), 40, 'validation already counted: not counted again');
  assert.equal(promptChars({ promptChars: 0 } as unknown as RequestContext), 0);
});

test('a hostile nesting depth ends the walk instead of the stack', () => {
  let deep: unknown = s(1);
  for (let i = 0; i < 10_000; i++) deep = { content: deep };
  assert.equal(promptLength({ messages: [deep] }), 0);
});
