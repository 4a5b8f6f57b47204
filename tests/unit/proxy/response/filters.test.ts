// Each response filter on a head or body of its own, no listener: breaker verdict, sanitising, headers, redaction, usage; the chain and the framer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse, type IncomingHttpHeaders } from 'node:http';
import { Socket } from 'node:net';
import { loadPolicy } from '../../../../policies/load.js';
import { compileDisclosure } from '../../../../policies/disclosure/index.js';
import { REFERENCE_POLICY } from '../../../../dev/paths.js';
import type { CompiledPolicy } from '../../../../kernel/policy.js';
import type { RequestContext } from '../../../../kernel/context.js';
import { LineFramer } from '../../../../kernel/framing.js';
import { isJsonType, isStreamedAnswer, mayBeOneDocument, streamFormat } from '../../../../kernel/media-type.js';
import { CircuitBreaker } from '../../../../proxy/upstream/circuit.js';
import { createBreakerVerdict } from '../../../../proxy/response/breaker.js';
import { createSanitize } from '../../../../proxy/response/sanitize.js';
import { createHeaderJudge, createResponseHeaders } from '../../../../proxy/response/headers.js';
import { createResponseRedaction } from '../../../../proxy/response/redaction.js';
import { createUsageObservation } from '../../../../proxy/response/usage.js';
import { ResponseChain } from '../../../../proxy/response/chain.js';
import type { Body, Exchange, ResponseFilter } from '../../../../proxy/response/filter.js';

const policy: CompiledPolicy = loadPolicy([REFERENCE_POLICY], {});
const d = policy.raw.security.information_disclosure;
const redactor = compileDisclosure({ ...d, filters: { ...d.filters }, patterns: { ...d.patterns } });
const AWS = 'AKIA' + 'Q3EGRT7LMNPV2XKD';

function exchange(status: number, headers: IncomingHttpHeaders = {}, over: Partial<RequestContext> = {}): Exchange {
  const ctx = { path: '/v1/chat/completions', usage: {}, completionChars: 0, redactions: [], decisions: [], ...over } as unknown as RequestContext;
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  const type = headers['content-type'];
  return { ctx, res, status, headers, type, streamed: isStreamedAnswer(ctx, type), copied: [] };
}
const body = (text: string, json = true): Body => ({ raw: Buffer.from(text), text, json: json ? JSON.parse(text) : undefined });

test('breaker verdict: a 5xx counts against the upstream, anything else for it', () => {
  const b = new CircuitBreaker(2, 60_000, true);
  const f = createBreakerVerdict(b);
  f.onHead!(exchange(503));
  f.onHead!(exchange(200));
  f.onHead!(exchange(502));
  assert.equal(b.current, 'closed', 'a success in between resets the count');
  f.onHead!(exchange(500));
  assert.equal(b.current, 'open');
});

test('sanitise: a 5xx is replaced at its head; a 4xx is held and replaced only when it shows internals', () => {
  const f = createSanitize(policy, (t) => redactor.looksSensitiveError(t))!;
  assert.deepEqual(f.onHead!(exchange(502)), { code: 'upstream_error', outcome: 'modify', rule: 'security.information_disclosure.sanitize_errors' });
  assert.equal(f.onHead!(exchange(404)), undefined);
  assert.equal(f.holds!(exchange(404)), true);
  assert.equal(f.holds!(exchange(200)), false);
  const leak = '{"detail":"Traceback (most recent call last):\\n  File \\"/srv/app/main.py\\", line 3"}';
  assert.deepEqual(f.onBody!(exchange(422), body(leak)), { code: 'upstream_rejected', outcome: 'modify', rule: 'security.information_disclosure.sanitize_errors', status: 422 });
  assert.equal(f.onBody!(exchange(422), body('{"detail":"field required"}')), undefined);
  const off = { ...policy, raw: { ...policy.raw, security: { ...policy.raw.security, information_disclosure: { ...d, sanitize_errors: false } } } } as CompiledPolicy;
  assert.equal(createSanitize(off, () => true), null);
});

test('response headers: hop-by-hop, cookies, versions and internal addresses dropped; Location made local', () => {
  const x = exchange(302, {
    connection: 'x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5', 'set-cookie': ['a=b'], server: 'uvicorn', 'x-powered-by': 'py',
    location: 'http://localhost:9600/v1/models?x=1', 'x-backend': 'http://10.1.2.3:8000/', 'x-kept': 'yes', 'content-type': 'application/json',
    'access-control-allow-origin': '*',
  });
  x.res.setHeader('x-kept', 'ours');
  createResponseHeaders(policy).onHead!(x);
  assert.equal(x.res.statusCode, 302);
  assert.deepEqual(Object.keys(x.res.getHeaders()).sort(), ['content-type', 'location', 'x-kept']);
  assert.equal(x.res.getHeader('location'), '/v1/models?x=1');
  assert.equal(x.res.getHeader('x-kept'), 'ours', 'a header the proxy set wins');
  const y = exchange(302, { location: 'https://example.com/elsewhere' });
  createResponseHeaders(policy).onHead!(y);
  assert.equal(y.res.getHeader('location'), 'https://example.com/elsewhere');
});

test('redaction: a held JSON answer gets a new identity when a field changed, text is scrubbed, a stream piece by piece', () => {
  const f = createResponseRedaction(redactor, true)!;
  const x = exchange(200, { 'content-type': 'application/json' });
  const clean = body('{"choices":[{"message":{"content":"hello"}}]}');
  const before = clean.json;
  f.onBody!(x, clean);
  assert.equal(clean.json, before, 'nothing found: same object, the upstream bytes go out as they came');
  const dirty = body(JSON.stringify({ choices: [{ message: { content: `key ${AWS}` } }] }));
  const was = dirty.json;
  f.onBody!(x, dirty);
  assert.notEqual(dirty.json, was);
  assert.doesNotMatch(JSON.stringify(dirty.json), /AKIA/);
  assert.ok(x.ctx.redactions.length > 0);
  const t = body(`plain ${AWS}`, false);
  f.onBody!(exchange(200, { 'content-type': 'text/plain' }), t);
  assert.doesNotMatch(t.text, /AKIA/);
  const s = exchange(200, { 'content-type': 'text/event-stream' });
  const first = Buffer.from(`data: {"choices":[{"delta":{"content":"${AWS.slice(0, 6)}`);
  const p = f.onPieces!(s, first)!;
  const out = Buffer.concat([p.push(first), p.push(Buffer.from(`${AWS.slice(6)} done"}}]}\n\n`)), p.end()]).toString();
  assert.doesNotMatch(out, /AKIA/);
  assert.match(out, /^data: /);
  assert.equal(f.onPieces!(exchange(200, { 'content-type': 'application/json' }), Buffer.alloc(0)), null, 'a whole answer is held, not streamed');
  assert.equal(createResponseRedaction(redactor, false), null);
});

test('usage: read from the held body, or from the pieces of a stream or a relayed answer', () => {
  const f = createUsageObservation();
  const x = exchange(200, { 'content-type': 'application/json' });
  f.onBody!(x, body('{"choices":[{"message":{"content":"hello"}}],"usage":{"prompt_tokens":4,"completion_tokens":2}}'));
  assert.deepEqual(x.ctx.usage, { input: 4, output: 2 });
  assert.equal(x.ctx.completionChars, 5);
  const s = exchange(200, { 'content-type': 'text/event-stream' });
  const p = f.onPieces!(s, Buffer.alloc(0))!;
  const sent = 'data: {"choices":[{"delta":{"content":"ab"}}]}\r\n\r\ndata: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":9}}\n\ndata: [DONE]\n\n';
  for (const piece of [sent.slice(0, 10), sent.slice(10, 49), sent.slice(49)]) assert.equal(p.push(Buffer.from(piece)).toString(), piece, 'observing changes no byte');
  p.end();
  assert.deepEqual(s.ctx.usage, { input: 1, output: 9 });
  assert.equal(s.ctx.completionChars, 2);
});

test('chain: head stops at the first replacement or once the answer is gone; pieces compose in order, end carries through', () => {
  const seen: string[] = [];
  const mark = (name: string, extra: Partial<ResponseFilter> = {}): ResponseFilter => ({ name, onHead: () => void seen.push(name), ...extra });
  const x = exchange(200);
  const chain = new ResponseChain([mark('a'), mark('b', { onHead: () => ({ code: 'upstream_error', outcome: 'modify', rule: 'security.information_disclosure.sanitize_errors' as const }) }), mark('c')]);
  assert.equal((chain.head(x) as { code: string }).code, 'upstream_error');
  assert.deepEqual(seen, ['a']);
  seen.length = 0;
  const gone = exchange(200);
  gone.res.destroy();
  assert.equal(new ResponseChain([mark('first'), mark('later')]).head(gone), 'gone');
  assert.deepEqual(seen, ['first'], 'the verdict before the check still counted');
  const upper: ResponseFilter = { name: 'upper', onPieces: () => ({ push: (c) => Buffer.from(c.toString().toUpperCase()), end: () => Buffer.from('!') }) };
  const got: string[] = [];
  const record: ResponseFilter = { name: 'record', onPieces: () => ({ push: (c) => (got.push(c.toString()), c), end: () => Buffer.from('.') }) };
  const p = new ResponseChain([upper, record]).pieces(x, Buffer.alloc(0))!;
  assert.equal(p.push(Buffer.from('ab')).toString(), 'AB');
  assert.equal(p.end().toString(), '!.', "the first filter's tail goes through the second before its own end");
  assert.deepEqual(got, ['AB', '!']);
  assert.equal(new ResponseChain([mark('x')]).pieces(x, Buffer.alloc(0)), null);
});

test('framer: lines with their terminators, a \\r\\n split across pieces, the rest held', () => {
  const lines = (f: LineFramer, pieces: string[], final = false): string[] => {
    const out: string[] = [];
    pieces.forEach((p, i) => f.push(p, (l, e) => out.push(l + '|' + JSON.stringify(e)), final && i === pieces.length - 1));
    return out;
  };
  const any = new LineFramer('any');
  assert.deepEqual(lines(any, ['a\r', '\nb\rc\n', 'd']), ['a|"\\r\\n"', 'b|"\\r"', 'c|"\\n"']);
  assert.equal(any.peek(), 'd');
  assert.deepEqual(lines(new LineFramer('any'), ['x\r'], true), ['x|"\\r"'], 'a final \\r ends its line');
  const lf = new LineFramer('lf');
  assert.deepEqual(lines(lf, ['{"a":1}\r', '\n{"b"']), ['{"a":1}\r|"\\n"']);
  assert.equal(lf.take(), '{"b"');
  assert.equal(lf.held, 0);
});

test('media types: JSON, streamed answers and their framing decided in one place', () => {
  assert.ok(isJsonType('application/json; charset=utf-8') && isJsonType('application/problem+json') && isJsonType('text/json'));
  assert.ok(!isJsonType('text/plain') && !isJsonType(undefined) && !isJsonType('application/jsonl'));
  const ctx = (json: Record<string, unknown> | undefined, path = '/v1/chat/completions') => ({ json, path });
  assert.ok(isStreamedAnswer(ctx({ stream: true }), 'application/json'));
  assert.ok(isStreamedAnswer(ctx(undefined), 'text/event-stream'));
  assert.ok(isStreamedAnswer(ctx({}, '/api/chat'), 'application/json'), "Ollama's default");
  assert.ok(!isStreamedAnswer(ctx({ stream: false }, '/api/chat'), 'application/json'));
  assert.equal(streamFormat('/lollms_generate', 'text/event-stream', Buffer.from('data: x')), 'text');
  assert.equal(streamFormat('/v1/chat/completions', 'text/event-stream', Buffer.from('hi')), 'sse');
  assert.equal(streamFormat('/api/chat', 'application/x-ndjson', Buffer.from('{')), 'ndjson');
  assert.equal(streamFormat('/x', undefined, Buffer.from('data: {}\n\n')), 'sse');
});

test('response headers: a value carrying a credential, a stack frame or a server path is dropped (disclosure on)', () => {
  const judge = createHeaderJudge(redactor)!;
  const benign = {
    'content-type': 'application/json',
    etag: 'W/"5e1a8b3c9f0d4e2a7b6c"',
    'x-ratelimit-remaining-tokens': '149984',
    'openai-processing-ms': '312',
    'x-model': 'llama3-8b',
    'cache-control': 'no-cache, must-revalidate',
  };
  const x = exchange(200, {
    ...benign,
    'x-debug': `key ${AWS}`,
    'x-trace': 'File "/home/lollms/lollms_core/lollms/server.py", line 412, in lollms_generate',
    'x-error': 'Error: boom\n    at handler (/srv/app/index.js:3:9)',
  });
  createResponseHeaders(policy, judge).onHead!(x);
  for (const [k, v] of Object.entries(benign)) assert.equal(x.res.getHeader(k), v, k);
  for (const k of ['x-debug', 'x-trace', 'x-error']) assert.equal(x.res.hasHeader(k), false, k);
  assert.deepEqual(x.ctx.redactions.map((r) => r.location).sort(), ['header:x-debug', 'header:x-error', 'header:x-trace']);
  // Without the judge (the disclosure section off) the header passes: the check above is the judge's doing.
  const plain = exchange(200, { 'x-debug': `key ${AWS}` });
  createResponseHeaders(policy).onHead!(plain);
  assert.equal(plain.res.getHeader('x-debug'), `key ${AWS}`);
  assert.equal(createHeaderJudge(undefined), undefined);
});

test('redaction: a stream:true request answered with one JSON document stays one document; NDJSON under application/json stays a stream', () => {
  const f = createResponseRedaction(redactor, true, 1 << 20)!;
  const run = (type: string, pieces: string[]): string => {
    const x = exchange(200, { 'content-type': type }, { json: { stream: true } } as Partial<RequestContext>);
    assert.ok(x.streamed);
    const p = f.onPieces!(x, Buffer.from(pieces[0]!))!;
    return Buffer.concat([...pieces.map((c) => p.push(Buffer.from(c))), p.end()]).toString();
  };
  const doc = JSON.stringify({ choices: [{ message: { role: 'assistant', content: `key ${AWS} end` } }] });
  for (const pieces of [[doc], [doc.slice(0, 30), doc.slice(30)], [doc + '\n'], [JSON.stringify(JSON.parse(doc), null, 2)]]) {
    const out = run('application/json', pieces);
    assert.ok(!out.includes(AWS), out);
    assert.equal((JSON.parse(out) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content.endsWith(' end'), true, out);
  }
  const line = (c: string) => JSON.stringify({ message: { role: 'assistant', content: c }, done: false }) + '\n';
  const lines = run('application/json', [line('a '), line(`key ${AWS}`), JSON.stringify({ done: true }) + '\n']);
  assert.ok(!lines.includes(AWS), lines);
  assert.ok(lines.split('\n').filter(Boolean).length >= 3, lines);
  const small = createResponseRedaction(redactor, true, 16)!;
  const x = exchange(200, { 'content-type': 'application/json' }, { json: { stream: true } } as Partial<RequestContext>);
  const p = small.onPieces!(x, Buffer.from(doc))!;
  assert.throws(() => p.push(Buffer.from(doc)), /max_buffered_response_bytes/, 'a held document is bounded: the stream fails closed');
  assert.ok(mayBeOneDocument('/v1/chat/completions', 'application/json; charset=utf-8'));
  assert.ok(!mayBeOneDocument('/v1/chat/completions', 'application/x-ndjson') && !mayBeOneDocument('/v1/chat/completions', 'text/event-stream'));
  assert.ok(!mayBeOneDocument('/lollms_generate', 'application/json'));
});
