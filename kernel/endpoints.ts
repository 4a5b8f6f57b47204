// What an endpoint is (generating or not, which API family) and which token-limit fields its server reads, by upstream kind.

/** The API an endpoint belongs to, by path: decides the token field and the error shape its clients parse. */
export type RouteFamily = 'openai' | 'ollama' | 'lollms';

/** The kinds of upstream `upstream.kind` names. */
export type UpstreamKind = 'lollms' | 'openai' | 'ollama';

/** Generating endpoints (the only ones that get a token field written); everything else is 'other'. */
export type Endpoint = 'chat' | 'completions' | 'responses' | 'messages' | 'native_generate' | 'ollama_generate' | 'other';

/**
 * Error shape family: Ollama-style `/api/*`, OpenAI-style (any path with a `/v1/` segment, and `/v1` prefixed
 * groups such as `/ollama/v1/...`), native LoLLMS for the rest (`/lollms_generate`, `/generate`, `/list_models`...).
 */
export function routeFamily(path: string): RouteFamily {
  if (path.startsWith('/api/') || path === '/api') return 'ollama';
  if (path.startsWith('/v1/') || path === '/v1' || path.includes('/v1/')) return 'openai';
  return 'lollms';
}

/** Which generating endpoint a path is, if any (suffix match, so `/lollms/v1/chat/completions` counts). */
export function endpointOf(path: string): Endpoint {
  if (path.startsWith('/lollms_generate')) return 'native_generate';
  if (path === '/api/chat' || path === '/api/generate') return 'ollama_generate';
  if (path.endsWith('/chat/completions')) return 'chat';
  if (path.endsWith('/v1/completions') || path === '/completions') return 'completions';
  if (path.endsWith('/v1/responses') || path === '/responses') return 'responses';
  if (path.endsWith('/v1/messages') || path === '/messages') return 'messages';
  return 'other';
}

/** A token field: top level, or `options.num_predict` (Ollama). */
export type TokenField = 'max_tokens' | 'max_completion_tokens' | 'max_output_tokens' | 'n_predict' | 'options.num_predict';

export const TOKEN_FIELDS: readonly TokenField[] = ['max_tokens', 'max_completion_tokens', 'max_output_tokens', 'n_predict', 'options.num_predict'];

/**
 * How the cap is made to hold on one endpoint of one kind of server.
 * `enough`: fields this server honours on its own; one of them present (and checked) means the cap holds.
 * `write`: otherwise every one of these that is missing is written (with the client's own smaller limit, or the cap).
 */
export interface CapRule {
  readonly enough: readonly TokenField[];
  readonly write: readonly TokenField[];
}

const NONE: CapRule = { enough: [], write: [] };

/**
 * The table docs/clients.md prints. OpenAI's reasoning models refuse `max_tokens` on chat, so OpenAI chat
 * gets `max_completion_tokens`; LoLLMS servers read `max_tokens` only (a client's `max_completion_tokens`
 * alone would leave them uncapped, so `max_tokens` is added beside it); LoLLMS' Ollama-style routes are
 * read by clients that send either `options.num_predict` or `max_tokens` (lollms_client does the latter).
 */
const SAME: Record<Endpoint, CapRule> = {
  chat: { enough: ['max_tokens'], write: ['max_tokens'] },
  completions: { enough: ['max_tokens'], write: ['max_tokens'] },
  responses: { enough: ['max_output_tokens'], write: ['max_output_tokens'] },
  messages: { enough: ['max_tokens'], write: ['max_tokens'] },
  native_generate: { enough: ['n_predict'], write: ['n_predict'] },
  ollama_generate: { enough: ['options.num_predict'], write: ['options.num_predict'] },
  other: NONE,
};
/** Each kind differs from SAME in one endpoint at most. */
const RULES: Record<UpstreamKind, Record<Endpoint, CapRule>> = {
  openai: { ...SAME, chat: { enough: ['max_completion_tokens', 'max_tokens'], write: ['max_completion_tokens'] } },
  lollms: { ...SAME, ollama_generate: { enough: [], write: ['options.num_predict', 'max_tokens'] } },
  ollama: SAME,
};

export function capRule(kind: UpstreamKind, endpoint: Endpoint): CapRule {
  return RULES[kind][endpoint];
}

/** Does this endpoint produce completion tokens (token budgets charge a completion cap only for these)? */
export const generates = (endpoint: Endpoint): boolean => endpoint !== 'other';
