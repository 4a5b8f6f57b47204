// Every string of a request is scrubbed, not only the prompt fields: the shapes black-box round 12 got a secret through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDisclosure } from '../../../../policies/disclosure/index.js';
import { baseDisclosure } from '../../../helpers/corpus.js';

const r = compileDisclosure(baseDisclosure);
const GH = 'ghp_' + 'Zq3Lm8Rt2Vw6Xy1Nb5Kc9Pd4Hf7Js0GaUe3I';
const STRIPE = 'sk_live_' + '51HqLmT2xV8wYcZr4NbK9pQd';

const SHAPES: Array<[string, Record<string, unknown>]> = [
  ['Responses function_call_output.output', { model: 'm', input: [{ type: 'function_call_output', call_id: 'c', output: `{"token":"${STRIPE}"}` }] }],
  ['Responses function_call.arguments', { model: 'm', input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: JSON.stringify({ key: GH }) }] }],
  ['legacy messages[].function_call.arguments', { model: 'm', messages: [{ role: 'assistant', content: null, function_call: { name: 'f', arguments: JSON.stringify({ key: GH }) } }] }],
  ['Anthropic tool_use input', { model: 'm', messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: { key: GH } }] }] }],
  ['tools[].function.description and parameters default', { model: 'm', messages: [], tools: [{ type: 'function', function: { name: 'f', description: `use ${GH}`, parameters: { type: 'object', properties: { k: { type: 'string', default: STRIPE } } } } }] }],
  ['response_format.json_schema', { model: 'm', messages: [], response_format: { type: 'json_schema', json_schema: { name: 's', schema: { description: GH } } } }],
  ['metadata, stop, name, user', { model: 'm', messages: [{ role: 'user', name: GH, content: 'hi' }], metadata: { k: STRIPE }, stop: [GH], user: GH }],
  ['prediction.content', { model: 'm', messages: [], prediction: { type: 'content', content: `x ${GH}` } }],
  ['Ollama options.stop and template', { model: 'm', prompt: 'hi', template: `{{ .Prompt }} ${GH}`, options: { stop: [STRIPE] } }],
  ['rerank documents', { model: 'm', query: 'q', documents: [`doc ${GH}`] }],
  ['content as an object', { model: 'm', messages: [{ role: 'user', content: { text: GH } }] }],
  ['an unknown top-level field', { model: 'm', messages: [], context: `ctx ${STRIPE}` }],
  // Review of the change: what the first version of the walk still skipped.
  ['a pasted SSE line (a string that starts with "data:")', { model: 'm', messages: [{ role: 'user', content: `data: {"key":"${GH}"}` }] }],
  ['a text data: URL', { model: 'm', messages: [{ role: 'user', content: `data:text/plain,${GH}` }] }],
  ['an image URL with a key in its query', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `https://x.example/a.png?api_key=${STRIPE}` } }] }] }],
  ['ids anywhere but the top-level model', { model: 'm', messages: [], metadata: { id: GH, call_id: STRIPE } }],
];

for (const [name, body] of SHAPES) {
  test(`request redaction reaches ${name}`, () => {
    const { body: out, records } = r.redactRequestBody(structuredClone(body));
    const text = JSON.stringify(out);
    assert.ok(!text.includes(GH) && !text.includes(STRIPE), text);
    assert.ok(records.length > 0);
    assert.equal(JSON.stringify(r.redactRequestBody(structuredClone(out)).body), text, 'nothing more to find');
  });
}

test('the model, enums, ids and base64 media are left as they are', () => {
  const image = 'data:image/png;base64,' + 'iVBORw0KGgo' + 'A'.repeat(4000);
  const body = {
    model: 'ghp_looking_model_name_0123456789abcdefghij', messages: [
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: image } }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(4000) } }] },
      { role: 'tool', tool_call_id: 'call_' + 'x1Y2z3'.repeat(6), content: 'ok' },
    ],
  };
  const copy = structuredClone(body);
  const { records } = r.redactRequestBody(copy);
  assert.deepEqual(records, []);
  assert.deepEqual(copy, body);
});
