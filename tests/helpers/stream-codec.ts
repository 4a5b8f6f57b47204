// Builds streams (SSE, OpenAI and Ollama NDJSON, raw text) from text pieces, feeds them to a stream redactor, reads them back.
import assert from 'node:assert/strict';
import type { RedactionRecord, Redactor } from '../../policies/disclosure/index.js';

export type Format = 'sse' | 'ndjson-openai' | 'ndjson-ollama' | 'text';
export const FORMATS: Format[] = ['sse', 'ndjson-openai', 'ndjson-ollama', 'text'];

/** Cuts `text` at the given (code-unit) points. */
export function pieces(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let at = 0;
  for (const p of points) { out.push(text.slice(at, p)); at = p; }
  out.push(text.slice(at));
  return out;
}

const ID = 'chatcmpl-test123';
const chunk = (delta: object, finish: string | null): string =>
  JSON.stringify({ id: ID, object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] });

/** The bytes an upstream would send for `parts` of the answer text. */
export function encode(format: Format, parts: string[]): string {
  if (format === 'text') return parts.join('');
  if (format === 'sse') {
    return [chunk({ role: 'assistant', content: '' }, null), ...parts.map((p) => chunk({ content: p }, null)), chunk({}, 'stop')]
      .map((c, i) => `id: ${i}\ndata: ${c}\n\n`).join('') + 'data: [DONE]\n\n';
  }
  if (format === 'ndjson-openai') return [...parts.map((p) => chunk({ content: p }, null)), chunk({}, 'stop')].join('\n') + '\n';
  return parts.map((p) => JSON.stringify({ model: 'm', created_at: 't', message: { role: 'assistant', content: p }, done: false }) + '\n').join('')
    + JSON.stringify({ model: 'm', created_at: 't', message: { role: 'assistant', content: '' }, done: true }) + '\n';
}

/** Feeds `bytes` cut at `byteCuts` (UTF-8 sequences may be split) and returns the output. */
export function run(r: Redactor, format: Format, bytes: Buffer, byteCuts: number[], records: RedactionRecord[] = []): string {
  const kind = format === 'sse' ? 'sse' : format === 'text' ? 'text' : 'ndjson';
  const s = r.createStreamRedactor(kind, (rec) => records.push(rec));
  const points = [...new Set(byteCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) { out.push(s.push(bytes.subarray(at, p))); at = p; }
  out.push(s.end());
  return Buffer.concat(out).toString('utf8');
}

/** Decodes a stream back to its text, asserting the framing stayed well formed. */
export function decode(format: Format, out: string): string {
  if (format === 'text') return out;
  if (format === 'sse') {
    assert.ok(out.endsWith('data: [DONE]\n\n'), 'stream ends with [DONE]');
    let text = '';
    for (const ev of out.split('\n\n').filter((e) => e !== '')) {
      const data = ev.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (data === '[DONE]') continue;
      const obj = JSON.parse(data);
      assert.equal(obj.id, ID);
      text += obj.choices[0]?.delta?.content ?? '';
    }
    return text;
  }
  let text = '';
  for (const line of out.split('\n').filter((l) => l !== '')) {
    const obj = JSON.parse(line);
    text += format === 'ndjson-ollama' ? obj.message?.content ?? '' : obj.choices[0]?.delta?.content ?? '';
  }
  return text;
}
