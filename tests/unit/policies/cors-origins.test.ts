// security.cors.origins: what the loader accepts is what the CORS stage (policies/cors.ts) matches; what it refuses
// would not match the Origin a browser sends, and the value its message says to write does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import { loadPolicy, PolicyError } from '../../../policies/load.js';
import { createCors } from '../../../policies/cors.js';
import type { CorsSection } from '../../../kernel/policy.js';

const dir = mkdtempSync(join(tmpdir(), 'cors-origins-'));
let n = 0;
/** Loads a policy listing `origin`: the section, or the refusal's message. */
function load(origin: string): { section: CorsSection } | { message: string } {
  const f = join(dir, `p${n++}.toml`);
  writeFileSync(f, `[security.cors]\norigins = [${JSON.stringify(origin)}]\n`);
  try {
    return { section: loadPolicy([f], {}).raw.security.cors };
  } catch (e) {
    assert.ok(e instanceof PolicyError, String(e));
    assert.equal(e.problems.length, 1, e.message);
    assert.equal(e.problems[0].path, 'security.cors.origins.0');
    assert.equal(e.problems[0].line, 2);
    return { message: e.problems[0].message };
  }
}

/** The Access-Control-Allow-Origin the CORS stage answers a simple GET from `origin` with. */
function allowed(section: CorsSection, origin: string): string | undefined {
  const headers = new Map<string, unknown>();
  const res = { statusCode: 200, setHeader: (k: string, v: unknown) => headers.set(k.toLowerCase(), v), getHeader: (k: string) => headers.get(k.toLowerCase()), end() {} };
  const req = { method: 'GET', headers: { origin } };
  createCors(section)!(req as unknown as Request, res as unknown as Response, () => undefined);
  return headers.get('access-control-allow-origin') as string | undefined;
}

// What browsers send for a page at these places (the Origin header: scheme://host[:port], lowercase, no default port).
const BROWSER: Record<string, string> = {
  'https://app.example.com': 'https://app.example.com',
  'https://app.example.com/': 'https://app.example.com',
  'http://localhost:5173': 'http://localhost:5173',
  'http://[::1]:8080': 'http://[::1]:8080',
  'chrome-extension://abcdefghijklmnop': 'chrome-extension://abcdefghijklmnop',
  'app.example.com': 'https://app.example.com',
  'https://app.example.com/chat': 'https://app.example.com',
  'https://APP.example.com': 'https://app.example.com',
  'https://app.example.com:443': 'https://app.example.com',
  'http://app.example.com:80/': 'http://app.example.com',
  'https://*.example.com': 'https://app.example.com',
  'localhost:3000': 'http://localhost:3000',
};

test('accepted origins are matched by the CORS stage; refused ones are not, and the fix they name is', () => {
  for (const [given, browser] of Object.entries(BROWSER)) {
    const r = load(given);
    if ('section' in r) {
      assert.equal(allowed(r.section, browser), browser, `${given} accepted: the stage must allow ${browser}`);
      continue;
    }
    assert.match(r.message, /scheme:\/\/host\[:port\]/, given);
    const base = { ...(load('https://app.example.com') as { section: CorsSection }).section };
    assert.equal(allowed({ ...base, origins: [given] }, browser), undefined, `${given} refused: the stage would not allow ${browser} either`);
    const fix = /(?:write|e\.g\.) "([^"]+)"/.exec(r.message)?.[1];
    assert.equal(fix, browser, `${given}: ${r.message}`);
    const fixed = load(fix);
    assert.ok('section' in fixed, `the fix ${fix} is accepted`);
    assert.equal(allowed(fixed.section, browser), browser);
  }
});

test('"null" is matched by the stage but refused: any page can send it', () => {
  const base = (load('https://app.example.com') as { section: CorsSection }).section;
  assert.equal(allowed({ ...base, origins: ['null'] }, 'null'), 'null');
  const r = load('null');
  assert.ok('message' in r);
  assert.match(r.message, /^"null" is the Origin of sandboxed iframes, file:\/\/ pages and cross-origin redirects, which any site can produce/);
  assert.match(r.message, /list the page's real origin, e.g\. "https:\/\/app\.example\.com"$/);
});

test('"*" stays accepted (without credentials), as do the origins of the shipped policies', () => {
  assert.ok('section' in load('*'));
  for (const o of ['http://localhost', 'http://127.0.0.1', 'http://localhost:3000', 'http://localhost:5173']) assert.ok('section' in load(o), o);
});
