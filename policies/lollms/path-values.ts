// LoLLMS path-value stage: path, folder, file and database fields (JSON, form, query, URL tail) refused when they escape; fetched URLs SSRF-checked.
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { UrlValidation } from '../../kernel/policy.js';
import { createUrlGuard } from '../url-guard.js';
import { deny } from '../../kernel/deny.js';
import { catalogue, unsafeCommandValue, unsafePathValue, type CompiledEntry } from './compile.js';

/** One field value found in a request, with where it was. */
interface Found { readonly where: string; readonly field: string; readonly value: string }

const MAX_DEPTH = 32;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Why a file or folder value is refused. On a LoLLMS upstream also any non-ASCII character: full-width `／` `＼` `．`,
 * `‥` or `¥` read as separators or dots after NFKC or a Windows best-fit code-page conversion (docs/lollms.md).
 */
function pathProblem(v: string, lollms: boolean): string | null {
  return unsafePathValue(v) ?? (lollms && NON_ASCII.test(v) ? 'non-ASCII character' : null);
}

const onLollms = (req: IncomingMessage): boolean => req.ctx.policy.raw.upstream.kind === 'lollms';
const MAX_PARTS = 1000;

/** Strings under the named keys, at any depth of a JSON value (arrays of strings included). */
function jsonValues(v: unknown, names: ReadonlySet<string>, out: Found[], key = '', depth = 0): void {
  if (depth > MAX_DEPTH) return;
  if (typeof v === 'string') {
    if (names.has(key)) out.push({ where: 'body', field: key, value: v });
  } else if (Array.isArray(v)) {
    for (const x of v) jsonValues(x, names, out, key, depth + 1);
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) jsonValues(x, names, out, k, depth + 1);
  }
}

/** Fields of a multipart/form-data body: named text fields, and every part's filename (always a path). */
function multipartValues(raw: Buffer, boundary: string, names: ReadonlySet<string>, out: Found[]): void {
  const text = raw.toString('latin1');
  const parts = text.split(`--${boundary}`);
  for (let i = 1; i < parts.length && i <= MAX_PARTS; i++) {
    const part = parts[i];
    if (part.startsWith('--')) break;
    const end = part.indexOf('\r\n\r\n');
    if (end < 0) continue;
    const head = part.slice(0, end);
    const disp = /content-disposition:[^\r\n]*/i.exec(head)?.[0] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disp)?.[1];
    const filename = /\bfilename\*?=(?:"([^"]*)"|([^;\r\n]*))/i.exec(disp);
    const fileValue = filename ? (filename[1] ?? filename[2] ?? '') : undefined;
    if (fileValue !== undefined) out.push({ where: 'form', field: 'filename', value: Buffer.from(fileValue, 'latin1').toString('utf8') });
    else if (name !== undefined && names.has(name)) {
      const body = part.slice(end + 4).replace(/\r\n$/, '');
      out.push({ where: 'form', field: name, value: Buffer.from(body, 'latin1').toString('utf8') });
    }
  }
}

function bodyValues(req: IncomingMessage, names: ReadonlySet<string>, out: Found[]): void {
  const ctx = req.ctx;
  if (ctx.json) return jsonValues(ctx.json, names, out);
  const raw = ctx.rawBody;
  if (!raw || raw.length === 0) return;
  const type = String(req.headers['content-type'] ?? '');
  if (/^application\/x-www-form-urlencoded\b/i.test(type)) {
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) if (names.has(k)) out.push({ where: 'form', field: k, value: v });
    return;
  }
  const b = /^multipart\/form-data\b.*?\bboundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
  if (b) multipartValues(raw, b[1] ?? b[2], names, out);
}

/** The request path as the client sent it, percent-decoded (the normalised path has already resolved `..`). */
function decodedRawPath(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const raw = q < 0 ? url : url.slice(0, q);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

const prefixEntries = (): Array<readonly [string, CompiledEntry]> =>
  catalogue().entries.flatMap((e) => e.prefixes.map((p) => [p, e] as const));

/**
 * Early stage (before authentication, so the answer does not depend on the role): a file path in the URL itself
 * (/personalities/<path>, judged on what the client sent, before `..` was resolved) and path fields in the query.
 */
export function createRequestLinePathGuard(): RequestHandler {
  const cat = catalogue();
  const prefixed = prefixEntries();
  return function lollmsRequestLinePaths(req, res, next) {
    const ctx = req.ctx;
    const lollms = onLollms(req);
    const sent = decodedRawPath(req);
    const lower = sent.replace(/\\/g, '/').replace(/\/{2,}/g, '/').toLowerCase();
    for (const [p, e] of prefixed) {
      if (!lower.startsWith(p)) continue;
      const tail = lower.slice(p.length);
      const why = sent.includes('\\') ? 'backslash' : /(^|\/)\s*\.{2,}\s*(\/|$)/.test(lower) ? '".." segment' : pathProblem(tail, lollms);
      if (why && deny(req, res, 'path_not_allowed', { stage: 'validation', reason: `lollms catalogue ${e.label} path in the URL: ${why}` })) return;
      break;
    }
    const entry = cat.lookup(ctx.path);
    if (entry && entry.pathFieldSet.size > 0 && ctx.query.length > 1) {
      for (const [k, v] of new URLSearchParams(ctx.query.slice(1))) {
        if (!entry.pathFieldSet.has(k)) continue;
        const why = pathProblem(v, lollms);
        if (why && deny(req, res, 'path_not_allowed', { stage: 'validation', reason: `lollms catalogue ${entry.label} query field "${k}": ${why}` })) return;
      }
    }
    next();
  };
}

/** Later stage (the body is read): path fields in JSON or form bodies, and fetched URLs in the query or a form. */
export function createPathValueGuard(urls: UrlValidation): RequestHandler {
  const cat = catalogue();
  const urlGuard = createUrlGuard(urls);
  const all = (e: CompiledEntry): ReadonlySet<string> => new Set([...e.pathFieldSet, ...e.commandFieldSet, ...e.urlFieldSet]);
  const fieldsOf = new Map(cat.entries.map((e) => [e, all(e)] as const));

  return async function lollmsPathValues(req, res, next) {
    const ctx = req.ctx;
    const entry = cat.lookup(ctx.path);
    if (!entry || (entry.pathFieldSet.size === 0 && entry.urlFieldSet.size === 0 && entry.commandFieldSet.size === 0)) return next();
    const found: Found[] = [];
    const names = fieldsOf.get(entry)!;
    if (ctx.query.length > 1) {
      for (const [k, v] of new URLSearchParams(ctx.query.slice(1))) if (entry.urlFieldSet.has(k) || entry.commandFieldSet.has(k)) found.push({ where: 'query', field: k, value: v });
    }
    bodyValues(req, names, found);
    const lollms = onLollms(req);
    for (const f of found) {
      if (entry.commandFieldSet.has(f.field)) {
        const why = unsafeCommandValue(f.value);
        if (why && deny(req, res, 'path_not_allowed', { stage: 'validation', reason: `lollms catalogue ${entry.label} ${f.where} field "${f.field}" reaches an OS command: ${why}` })) return;
        if (why) continue;
      }
      if (f.where !== 'query' && (entry.pathFieldSet.has(f.field) || f.field === 'filename')) {
        const why = pathProblem(f.value, lollms);
        if (why && deny(req, res, 'path_not_allowed', { stage: 'validation', reason: `lollms catalogue ${entry.label} ${f.where} field "${f.field}": ${why}` })) return;
        if (why) continue;
      }
      // JSON bodies already went through the validation stage's URL check; query and form values are checked here.
      if (entry.urlFieldSet.has(f.field) && urlGuard && f.where !== 'body') {
        const v = await urlGuard(f.value);
        if (!v.ok && deny(req, res, 'url_not_allowed', { stage: 'validation', rule: 'security.validation.urls', reason: `lollms catalogue ${entry.label} ${f.where} field "${f.field}": ${v.reason}` })) return;
      }
    }
    next();
  };
}
