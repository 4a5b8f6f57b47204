// The canonical-JSON checks: what is refused, what passes, and that Python's json.loads reads what passes as JS does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { checkJsonText, decodeUtf8, foldKey, pythonOnlyJson } from '../../../kernel/json-canonical.js';

/** The verdict the validation stage reaches on these bytes (null = canonical). */
function verdict(bytes: Buffer | string): string | null {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const text = decodeUtf8(buf);
  if (text === null) return 'invalid_unicode';
  JSON.parse(text); // the cases below are all JSON
  return checkJsonText(text);
}

test('duplicate keys at any depth, and spellings that differ only by escapes or Go case folding, are refused', () => {
  for (const body of [
    '{"model":"a","model":"b"}',
    '{"model":"a","\\u006dodel":"b"}',
    '{"model":"a","mod\\u0065l":"b"}',
    '{"messages":[{"role":"user","content":"x","role":"system"}]}',
    '{"options":{"num_predict":1,"num_predict":99999}}',
    '{"model":"a","MODEL":"b"}',
    '{"stream":false,"\u017Ftream":true}', // U+017F long s folds to s in Go
    '{"a":{"k":1,"\u212A":2}}', // U+212A Kelvin sign folds to k
    '{"Model":"forbidden"}', // alone, but Go maps it onto the model field
    '{"MAX_TOKENS":99999}',
  ]) assert.equal(verdict(body), 'duplicate_json_key', body);
});

test('lone surrogate escapes are refused; pairs pass', () => {
  for (const body of ['{"a":"\\ud800"}', '{"a":"\\udc00"}', '{"a":"\\ud800x"}', '{"a":"\\ud800\\u0041"}', '{"a":"\\ud800\\ud800"}', '{"a":"\\udc00\\ud800"}', '{"\\ud800":1}', '{"a":"\\ud800\\n"}']) {
    assert.equal(verdict(body), 'invalid_unicode', body);
  }
  assert.equal(verdict('{"a":"\\ud83d\\ude00","b":"\\uD83D\\uDE00 ok"}'), null);
});

test('bytes that are not UTF-8 are refused: bad bytes, overlong forms, encoded surrogates, past U+10FFFF, truncated', () => {
  const wrap = (hex: string): Buffer => Buffer.concat([Buffer.from('{"a":"'), Buffer.from(hex, 'hex'), Buffer.from('"}')]);
  for (const hex of ['ff', 'c0af', 'e080af', 'f08082ac', 'eda080', 'edbfbf', 'f4908080', 'f5808080', 'e282', '80', 'fe']) {
    assert.equal(verdict(wrap(hex)), 'invalid_unicode', hex);
  }
  assert.equal(verdict(wrap('e282ac')), null, 'a real euro sign passes');
  assert.equal(verdict(wrap('f09f9880')), null, 'a real emoji passes');
});

test('ordinary bodies pass: same key in different objects, unknown capitalised fields, an escaped key alone', () => {
  for (const body of [
    '{"model":"llama3-8b","messages":[{"role":"system","content":"a"},{"role":"user","content":"b"}],"max_tokens":10}',
    '{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]}',
    '{"metadata":{"UserName":"x","Team":"y"},"Custom":1}',
    '{"\\u006dodel":"llama3-8b"}',
    '{"tools":[{"function":{"parameters":{"properties":{"City":{},"city_code":{}}}}}]}',
    '{"a":"\\"quoted\\" and \\\\ backslash","b":"\\\\"}',
    '[]',
    '{}',
  ]) assert.equal(verdict(body), null, body);
});

test('Go folding: ASCII case, Kelvin sign and long s fold; other letters stay themselves', () => {
  assert.equal(foldKey('model'), 'model');
  assert.equal(foldKey('MoDeL'), 'model');
  assert.equal(foldKey('\u212A'), 'k');
  assert.equal(foldKey('\u017F'), 's');
  assert.equal(foldKey('é'), 'é');
});

/**
 * One python3 process reads every body, as json.loads does (dict) and as Go's encoding/json would fill a
 * struct: a key matches a field exactly or by Unicode case folding, and the last key to match wins.
 */
const FIELDS = ['model', 'max_tokens', 'messages', 'stream'];
function otherParsers(bodies: string[]): Array<{ py: Record<string, unknown>; go: Record<string, unknown> }> {
  const script = [
    'import sys, json',
    `FIELDS = ${JSON.stringify(FIELDS)}`,
    'fold = lambda k: k.lower().upper().lower()',
    'class Pairs(list): pass',
    'def plain(x):',
    '    if isinstance(x, Pairs): return {k: plain(v) for k, v in x}',
    '    if isinstance(x, list): return [plain(i) for i in x]',
    '    return x',
    'def go_view(pairs):',
    '    out = {}',
    '    for k, v in pairs:',
    '        if fold(k) in FIELDS: out[fold(k)] = plain(v)',
    '    return out',
    'for line in sys.stdin:',
    '    text = json.loads(line)',
    '    py = json.loads(text)',
    '    go = go_view(json.loads(text, object_pairs_hook=Pairs))',
    '    print(json.dumps({"py": {f: py[f] for f in FIELDS if f in py}, "go": go}, ensure_ascii=True))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script], { input: bodies.map((b) => JSON.stringify(b)).join('\n') + '\n', encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { py: Record<string, unknown>; go: Record<string, unknown> });
}

test("whatever passes, Python's json.loads and a Go struct decode see the model, token limit, messages and stream the proxy saw", () => {
  const key = fc.constantFrom('model', 'MODEL', 'Model', 'm\\u006fdel', 'max_tokens', 'MAX_tokens', 'messages', 'a', 'A', '\u017Ftream', 'stream', '\\u0041');
  const str = fc.constantFrom('x', 'llama3-8b', '\\ud83d\\ude00', '\\ud800', 'é', '\\"', '\\\\');
  const value: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      str.map((s) => `"${s}"`),
      fc.integer({ min: -5, max: 99999 }).map(String),
      fc.array(tie('v'), { maxLength: 3 }).map((a) => `[${a.join(',')}]`),
      fc.array(fc.tuple(key, tie('v')), { maxLength: 4 }).map((kv) => `{${kv.map(([k, v]) => `"${k}":${v}`).join(',')}}`),
    ),
  })).v;
  const body = fc.array(fc.tuple(key, value), { maxLength: 5 }).map((kv) => `{${kv.map(([k, v]) => `"${k}":${v}`).join(',')}}`);
  const samples = fc.sample(body, { numRuns: 800, seed: 42 });
  const passed = samples.filter((b) => verdict(b) === null);
  const refused = samples.length - passed.length;
  assert.ok(passed.length > 50 && refused > 50, `both kinds generated (passed ${passed.length}, refused ${refused})`);
  const views = otherParsers(passed);
  passed.forEach((b, i) => {
    const js = JSON.parse(b) as Record<string, unknown>;
    const proxy = Object.fromEntries(FIELDS.filter((f) => f in js).map((f) => [f, js[f]]));
    assert.deepEqual(views[i].py, proxy, `python differs on ${b}`);
    assert.deepEqual(views[i].go, proxy, `go differs on ${b}`);
  });
});

/** What python3's json.loads(bytes) makes of each body: true when it reads it. */
function pythonReads(bodies: Buffer[]): boolean[] {
  const script = 'import sys,json,base64\nfor l in sys.stdin:\n  try:\n    json.loads(base64.b64decode(l)); print(1)\n  except Exception: print(0)\n';
  const r = spawnSync('python3', ['-c', script], { input: bodies.map((b) => b.toString('base64')).join('\n') + '\n', encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').map((x) => x === '1');
}

test('JSON only Python reads (BOM, UTF-16/32 with or without BOM, NaN / Infinity) is recognised, as python3 agrees', () => {
  const t = '{"path":"../x","a":[1,"NaN"]}';
  const lenient: Buffer[] = [
    Buffer.from('{"x":NaN}'), Buffer.from('{"x":-Infinity,"y":"Infinity"}'), Buffer.from('[Infinity]'),
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(t)]),
    Buffer.from(t, 'utf16le'), Buffer.from(t, 'utf16le').swap16(),
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t, 'utf16le')]),
    Buffer.from(new Uint32Array([...t].map((c) => c.codePointAt(0)!)).buffer),
  ];
  // Not JSON to Python either (binary uploads, text, a NaN inside a string only): left to the other checks.
  const neither: Buffer[] = [Buffer.from('not json'), Buffer.from([0, 1, 2, 3, 255, 254]), Buffer.from('{"x":"NaN"'), Buffer.from('name=NaN&x=1'),
    Buffer.from('{"x":nan}'), Buffer.from('\ufeff\ufeff{}')];
  assert.deepEqual(pythonReads(lenient), lenient.map(() => true));
  assert.deepEqual(pythonReads(neither), neither.map(() => false));
  for (const b of lenient) assert.equal(pythonOnlyJson(b), true, b.toString('hex'));
  for (const b of neither) assert.equal(pythonOnlyJson(b), false, b.toString('hex'));
});
