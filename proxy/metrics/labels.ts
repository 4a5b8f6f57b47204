// Label bounding for the metrics: known routes verbatim, everything else folded so series counts stay small.
import { ERRORS } from '../../kernel/errors.js';

/** OpenAI-compatible and LoLLMS native endpoints that get their own `route` label value. */
export const KNOWN_ROUTES: ReadonlySet<string> = new Set([
  // OpenAI-compatible
  '/v1/chat/completions',
  '/v1/completions',
  '/v1/embeddings',
  '/v1/models',
  '/v1/moderations',
  '/v1/responses',
  '/v1/images/generations',
  '/v1/audio/speech',
  '/v1/audio/transcriptions',
  // Ollama-style (LoLLMS serves these too)
  '/api/chat',
  '/api/generate',
  '/api/tags',
  '/api/embeddings',
  // LoLLMS native
  '/lollms_generate',
  '/lollms_generate_with_images',
  '/lollms_embed',
  '/lollms_tokenize',
  '/lollms_detokenize',
  '/generate',
  '/list_models',
  '/get_active_model',
  '/get_generation_status',
  '/stop_gen',
  '/version',
  // WebSocket endpoints (Socket.IO of the legacy web UI; new lollms' direct messages, by template)
  '/socket.io',
  '/ws/dm/{token}',
  // the proxy's own
  '/health',
]);

/** `/v1/models/<id>` is one bucket whatever the model id. */
export const MODEL_ROUTE = '/v1/models/{model}';
export const OTHER = 'other';

/** The `route` label of a normalised path (no query). Trailing slashes are ignored. */
export function routeLabel(path: string | undefined): string {
  if (typeof path !== 'string' || path === '') return OTHER;
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (KNOWN_ROUTES.has(p)) return p;
  if (p.toLowerCase().startsWith('/ws/dm/')) return '/ws/dm/{token}';
  if (p.startsWith('/v1/models/') && p.indexOf('/', '/v1/models/'.length) === -1) return MODEL_ROUTE;
  return OTHER;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function methodLabel(method: string | undefined): string {
  const m = (method ?? '').toUpperCase();
  return METHODS.has(m) ? m : OTHER;
}

export function statusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : OTHER;
}

/** An error code from the catalogue, else "other". */
export function codeLabel(code: string | undefined): string {
  if (code === undefined || code === '') return 'none';
  return Object.prototype.hasOwnProperty.call(ERRORS, code) ? code : OTHER;
}

/** Free-form but code-chosen words (stage, scope, reason, redaction kind): short snake-case or "other". */
export function wordLabel(v: string | undefined): string {
  if (typeof v !== 'string') return OTHER;
  const w = v.trim().toLowerCase().replace(/[\s-]+/g, '_');
  return /^[a-z][a-z0-9_]{0,39}$/.test(w) ? w : OTHER;
}
