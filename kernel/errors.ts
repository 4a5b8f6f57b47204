// The one error catalogue: every denial the proxy can answer, with its stable code, status and OpenAI error type.

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error';

export interface CatalogueEntry {
  readonly status: number;
  readonly type: OpenAIErrorType;
  readonly message: string;
}

/** Stable codes. Adding one: add it here and to docs/errors.md (a test checks both ways). */
export const ERRORS = {
  missing_api_key: { status: 401, type: 'authentication_error', message: 'No API key was provided. Send "Authorization: Bearer <key>" or "X-API-Key: <key>".' },
  invalid_api_key: { status: 401, type: 'authentication_error', message: 'The API key is not valid.' },
  expired_api_key: { status: 401, type: 'authentication_error', message: 'The API key has expired. Ask an operator for a new one.' },
  token_expired: { status: 401, type: 'authentication_error', message: 'The access token has expired. Get a new one from your identity provider.' },
  token_not_yet_valid: { status: 401, type: 'authentication_error', message: 'The access token is not valid yet (nbf). Check the clocks or retry shortly.' },
  token_wrong_audience: { status: 401, type: 'authentication_error', message: 'The access token was issued for another audience.' },
  token_unknown_key: { status: 401, type: 'authentication_error', message: 'The access token is signed with a key this service does not know.' },
  token_bad_signature: { status: 401, type: 'authentication_error', message: 'The access token signature is not valid.' },
  token_algorithm_not_allowed: { status: 401, type: 'authentication_error', message: 'The access token is signed with an algorithm this service does not accept.' },
  token_invalid: { status: 401, type: 'authentication_error', message: 'The access token is malformed or lacks a required claim.' },
  token_role_unmapped: { status: 403, type: 'permission_error', message: 'The access token carries no group or role that grants access here.' },
  token_verifier_unavailable: { status: 503, type: 'api_error', message: 'Access tokens of this issuer cannot be checked right now. Try again later.' },
  client_locked_out: { status: 429, type: 'rate_limit_error', message: 'Too many failed authentication attempts from this address. Try again later.' },
  route_not_allowed: { status: 403, type: 'permission_error', message: 'This key may not call this endpoint.' },
  model_not_allowed: { status: 403, type: 'permission_error', message: 'This key may not use the requested model.' },
  max_tokens_exceeded: { status: 403, type: 'permission_error', message: 'The requested token limit is above what this key may ask for.' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', message: 'This method is not allowed.' },
  not_found: { status: 404, type: 'not_found_error', message: 'Not found.' },
  invalid_json: { status: 400, type: 'invalid_request_error', message: 'The request body is not valid JSON.' },
  body_not_object: { status: 400, type: 'invalid_request_error', message: 'The request body must be a JSON object.' },
  json_too_deep: { status: 400, type: 'invalid_request_error', message: 'The request body is nested too deeply.' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', message: 'The request body must be sent as application/json.' },
  body_too_large: { status: 413, type: 'invalid_request_error', message: 'The request body is too large.' },
  body_timeout: { status: 408, type: 'invalid_request_error', message: 'The request body did not arrive in time.' },
  headers_timeout: { status: 408, type: 'invalid_request_error', message: 'The request headers did not arrive in time.' },
  headers_too_large: { status: 431, type: 'invalid_request_error', message: 'The request headers are too large.' },
  bad_request: { status: 400, type: 'invalid_request_error', message: 'The request could not be read.' },
  duplicate_json_key: { status: 400, type: 'invalid_request_error', message: 'The request body has a JSON object with the same key twice.' },
  invalid_unicode: { status: 400, type: 'invalid_request_error', message: 'The request body is not valid UTF-8 (or has a lone surrogate escape).' },
  input_too_long: { status: 400, type: 'invalid_request_error', message: 'The prompt text is longer than allowed.' },
  null_bytes: { status: 400, type: 'invalid_request_error', message: 'The request body contains NUL characters.' },
  invalid_user_id: { status: 400, type: 'invalid_request_error', message: 'The "user" field has an invalid format.' },
  url_not_allowed: { status: 400, type: 'invalid_request_error', message: 'The request refers to a URL that is not allowed.' },
  path_not_allowed: { status: 400, type: 'invalid_request_error', message: 'A path, folder, file or database name in the request is not allowed (no "..", absolute paths, backslashes, file: URLs or control characters; no shell characters where the server runs a command).' },
  cross_site_request: { status: 403, type: 'permission_error', message: 'Requests that change state are not accepted from another site.' },
  sensitive_data_blocked: { status: 403, type: 'permission_error', message: 'The request contains sensitive data and was blocked.' },
  rate_limited: { status: 429, type: 'rate_limit_error', message: 'Rate limit exceeded. Retry after the time in the Retry-After header.' },
  token_budget_exceeded: { status: 429, type: 'rate_limit_error', message: 'Token budget exceeded. Retry after the time in the Retry-After header.' },
  temporarily_banned: { status: 429, type: 'rate_limit_error', message: 'Too many limit violations: temporarily banned. Retry after the time in the Retry-After header.' },
  too_many_connections: { status: 429, type: 'rate_limit_error', message: 'Too many open connections from this address. Close some and retry.' },
  rate_limit_unavailable: { status: 503, type: 'api_error', message: 'The rate limit store is unavailable. Try again later.' },
  upstream_unavailable: { status: 502, type: 'api_error', message: 'The model server could not be reached.' },
  upstream_error: { status: 502, type: 'api_error', message: 'The model server failed to answer.' },
  upstream_rejected: { status: 400, type: 'invalid_request_error', message: 'The model server rejected the request.' },
  upstream_timeout: { status: 504, type: 'api_error', message: 'The model server did not answer in time.' },
  circuit_open: { status: 503, type: 'api_error', message: 'The model server is failing; requests are paused briefly. Try again later.' },
  response_too_large: { status: 502, type: 'api_error', message: 'The model server\'s answer is larger than this service can check.' },
  redaction_failed: { status: 500, type: 'api_error', message: 'The response was cut off because it could not be checked for sensitive data.' },
  request_timeout: { status: 504, type: 'api_error', message: 'The request took longer than this service allows.' },
  audit_unavailable: { status: 503, type: 'api_error', message: 'The service cannot record requests right now. Try again later.' },
  upgrade_not_supported: { status: 400, type: 'invalid_request_error', message: 'Only WebSocket upgrades are accepted: a GET without a body, with "Upgrade: websocket", on an endpoint this key may open.' },
  invalid_websocket_handshake: { status: 400, type: 'invalid_request_error', message: 'The WebSocket handshake is malformed: it needs HTTP/1.1, a Host and a Sec-WebSocket-Key that is the base64 of 16 bytes (RFC 6455).' },
  unsupported_websocket_version: { status: 426, type: 'invalid_request_error', message: 'Only WebSocket version 13 (RFC 6455) is spoken here: send "Sec-WebSocket-Version: 13".' },
  shutting_down: { status: 503, type: 'api_error', message: 'The service is shutting down.' },
  internal_error: { status: 500, type: 'api_error', message: 'Internal error.' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERRORS;

/** Which clients read the error: OpenAI SDKs, Ollama clients (`/api/*`), native LoLLMS clients. */
export type ErrorShape = 'openai' | 'ollama' | 'lollms';

/** Header that carries the stable code on every shape (Ollama clients read only the message). */
export const ERROR_CODE_HEADER = 'X-Error-Code';

/**
 * The JSON body of an error answer in the shape the route's clients parse; same status and code everywhere.
 * openai: `{"error":{"message","type","code"}}` (the SDKs' APIError); ollama: `{"error":"<message>","code"}`
 * (ollama-js throws ResponseError(error)); lollms: `{"status":false,"error":"<message>","code"}`, the shape
 * lollms-webui's own endpoints answer failures with and lollms_client hands back.
 */
export function errorBody(code: ErrorCode, detail?: string, shape: ErrorShape = 'openai'): string {
  const e = ERRORS[code];
  const message = detail ? `${e.message} ${detail}` : e.message;
  if (shape === 'ollama') return JSON.stringify({ error: message, code });
  if (shape === 'lollms') return JSON.stringify({ status: false, error: message, code });
  return JSON.stringify({ error: { message, type: e.type, code } });
}
