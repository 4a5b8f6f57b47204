// Path normalisation and path tokens, run directly: hostile spellings, and properties over any path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodePath, normalizePath } from '../../../proxy/normalize-path.js';
import { redactPathTokens } from '../../../proxy/path-tokens.js';

/** [raw path, normalised path or null = refused (400)] */
const TABLE: ReadonlyArray<readonly [string, string | null]> = [
  ['/v1/models', '/v1/models'],
  ['/', '/'],
  ['', null],
  ['v1/models', null],
  // dot segments, plain and encoded (any case)
  ['/v1/../admin', '/admin'],
  ['/v1/./models', '/v1/models'],
  ['/../../etc/passwd', '/etc/passwd'],
  ['/v1/%2e%2e/admin', '/admin'],
  ['/v1/%2E%2E/admin', '/admin'],
  ['/v1/.%2e/admin', '/admin'],
  ['/v1/.../admin', '/admin'],
  // encoded slashes and backslashes are separators like any other
  ['/v1%2fmodels', '/v1/models'],
  ['/v1%2Fmodels', '/v1/models'],
  ['/v1\\..\\admin', '/admin'],
  ['/v1%5c..%5cadmin', '/admin'],
  // double encoding is refused rather than guessed
  ['/v1/%252e%252e/admin', null],
  ['/v1%252fmodels', null],
  // NUL and other control characters
  ['/v1/models%00', null],
  ['/v1/models\u0000', null],
  ['/v1/mo%0adels', null],
  ['/v1/models%7f', null],
  // malformed and overlong UTF-8 cannot be decoded: refused
  ['/v1/%c0%ae%c0%ae/admin', null],
  ['/v1/%e0%80%ae', null],
  ['/v1/%ff', null],
  ['/v1/%', null],
  ['/v1/%zz', null],
  // trailing dots and spaces dropped, as Windows-style servers do
  ['/admin.', '/admin'],
  ['/admin..', '/admin'],
  ['/admin%20', '/admin'],
  ['/admin. . ', '/admin'],
  ['/v1.0/models', '/v1.0/models'],
  // repeated slashes collapse; one trailing slash is kept
  ['//v1//models', '/v1/models'],
  ['///', '/'],
  ['/v1/models/', '/v1/models/'],
  ['/v1/models//', '/v1/models/'],
  // what is not special stays
  ['/v1/caf%C3%A9', '/v1/café'],
  ['/ws/dm/abc', '/ws/dm/abc'],
];

test('path normalisation: hostile spellings give the expected path or a refusal', () => {
  for (const [raw, want] of TABLE) assert.equal(normalizePath(raw), want, `normalizePath(${JSON.stringify(raw)})`);
});

test('path normalisation: the table can fail (a flipped row is caught)', () => {
  assert.throws(() => assert.equal(normalizePath('/v1/%2e%2e/admin'), '/v1/%2e%2e/admin'));
  assert.throws(() => assert.equal(normalizePath('/v1/%252e%252e/admin'), '/v1/%2e%2e/admin'));
});

/** Path-ish text: segments of letters, dots, encoded dots and slashes, backslashes, spaces, unicode. */
const piece = fc.constantFrom('a', 'v1', 'admin', '.', '..', '...', '%2e', '%2E', '%2f', '%5c', '\\', ' ', '%20', 'é', '%C3%A9', '@', ':', '~', '-', '_');
const rawPath = fc.array(fc.oneof(piece, fc.constant('/'), fc.stringMatching(/^[a-z0-9._~-]{1,6}$/)), { maxLength: 16 }).map((a) => '/' + a.join(''));

test('path normalisation: idempotent, never a dot-dot segment, always rooted', () => {
  fc.assert(
    fc.property(rawPath, (raw) => {
      const p = normalizePath(raw);
      if (p === null) return;
      assert.ok(p.startsWith('/'));
      assert.ok(!p.split('/').some((s) => s === '..' || s === '.' || /^\.{3,}$/.test(s)), p);
      assert.ok(!p.includes('//'), p);
      assert.ok(!p.includes('\\'), p);
      // What rules match cannot be read again as something else.
      assert.equal(normalizePath(p), p);
    }),
    { numRuns: 2000 },
  );
});

test('path normalisation: what matches is what is forwarded (encodePath round trip)', () => {
  fc.assert(
    fc.property(rawPath, (raw) => {
      const p = normalizePath(raw);
      if (p === null) return;
      const sent = encodePath(p);
      // The upstream decodes what is sent back to exactly the path the rules saw.
      assert.equal(decodeURIComponent(sent), p);
      assert.equal(normalizePath(sent), p);
    }),
    { numRuns: 2000 },
  );
});

test('path normalisation: the properties can fail (a normaliser that keeps dot segments is caught)', () => {
  const keepsDots = (raw: string): string | null => decodeURIComponent(raw).replace(/\/+/g, '/');
  assert.throws(() =>
    fc.assert(
      fc.property(rawPath, (raw) => {
        const p = keepsDots(raw);
        if (p !== null) assert.ok(!p.split('/').includes('..'));
      }),
      { numRuns: 2000 },
    ),
  );
});

test('path tokens: credential segments are hidden, ordinary paths untouched', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';
  const rows: ReadonlyArray<readonly [string, string]> = [
    ['/ws/dm/abc', '/ws/dm/{token}'],
    ['/WS/DM/abc', '/ws/dm/{token}'],
    ['/ws/dm/', '/ws/dm/'],
    ['/v1/models', '/v1/models'],
    [`/v1/files/${jwt}`, '/v1/files/{token}'],
    ['/v1/a/sk1234567890abcdefghijklmnopqrstuv', '/v1/a/{token}'],
    ['/v1/a/abcdefghijklmnopqrstuvwxyzabcdefghij', '/v1/a/abcdefghijklmnopqrstuvwxyzabcdefghij'],
    ['', ''],
  ];
  for (const [p, want] of rows) assert.equal(redactPathTokens(p), want, p);
  assert.throws(() => assert.equal(redactPathTokens('/ws/dm/secret'), '/ws/dm/secret'));
});
