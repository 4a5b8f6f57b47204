// Generated from config/policy.schema.json by scripts/schema-types.mjs. Do not edit.

/** WebSocket upgrades (Socket.IO, /ws/..., realtime APIs). An upgrade is authorised like a GET on its path by the roles' allow lists; every other upgrade token (h2c...) is refused. See docs/websocket.md. */
export interface WebSocketSection {
  /** Accept WebSocket upgrades that a role allows (as a GET on the path). false refuses every upgrade with 400 upgrade_not_supported. */
  readonly "enabled": boolean;
  /** A connection with no byte in either direction for this long is closed (Socket.IO pings every 25 s by default). */
  readonly "idle_timeout_seconds": number;
  /** A connection is closed this long after it opened, however busy (clients such as Socket.IO reconnect and are authorised again). */
  readonly "max_lifetime_seconds": number;
  /** Query parameter that may carry the API key on an upgrade, for browsers that cannot set headers; removed before forwarding, never logged. "" accepts keys only in headers or the Sec-WebSocket-Protocol value. */
  readonly "query_key_param": string;
  /** Path templates whose {placeholder} segments are credentials (e.g. "/ws/dm/{token}"): audit lines and metrics of matching upgrades show the template, never the segment. Not regular expressions: literal segments and whole-segment {name} placeholders, each standing for one path segment ("^/ws/[a-f0-9]+$" is refused; write "/ws/{token}"). */
  readonly "secret_paths": Array<string>;
}

/** Listener of the proxy. */
export interface ServerSection {
  /** Address to bind. Loopback by default; env LOLLMSBOT_HOST. */
  readonly "host": string;
  /** TCP port to listen on (0 = any free port); env LOLLMSBOT_PORT. */
  readonly "port": number;
  /** CIDRs (or single addresses) of reverse proxies whose X-Forwarded-For is believed. Others' XFF is ignored. */
  readonly "trust_proxy": Array<string>;
  /** Largest accepted request body: a larger declared Content-Length gets 413 before any body byte is read; a chunked body is counted while reading and gets 413 (connection closed) once past it. */
  readonly "max_body_bytes": number;
  /** Largest accepted request header block: larger gets 431. */
  readonly "max_header_bytes": number;
  /** A connection must deliver a complete request head within this of connecting, and an idle keep-alive connection is closed after it (at most 5 s); enforced to a quarter second (slowloris guard), else 408 headers_timeout. */
  readonly "headers_timeout_seconds": number;
  /** The whole request body must arrive within this of the request head, else 408 body_timeout and the connection closes. */
  readonly "body_timeout_seconds": number;
  /** Most TCP connections one client address may hold open at once (IPv6: one /64); beyond it a new connection gets 429 too_many_connections (plain HTTP) or is closed (TLS). Peers in trust_proxy are not capped. 0 = no cap. */
  readonly "max_connections_per_ip": number;
  /** Upper bound for a whole request, a long LLM stream included. */
  readonly "request_timeout_seconds": number;
  /** On SIGTERM, in-flight requests and streams get this long to finish. */
  readonly "shutdown_grace_seconds": number;
  /** Directory for small state: generated admin key digest, audit chain head. */
  readonly "state_dir": string;
  /** WebSocket upgrades (Socket.IO, /ws/..., realtime APIs). An upgrade is authorised like a GET on its path by the roles' allow lists; every other upgrade token (h2c...) is refused. See docs/websocket.md. */
  readonly "websocket": WebSocketSection;
}

/** Stops hammering a failing upstream. */
export interface CircuitBreakerSection {
  /** Open the circuit after consecutive failures. */
  readonly "enabled": boolean;
  /** Consecutive upstream failures (refused, reset, timeout, 5xx) that open the circuit. */
  readonly "failure_threshold": number;
  /** An open circuit answers 503 at once for this long, then lets one probe through. */
  readonly "recovery_timeout_seconds": number;
}

/** The LLM server behind the proxy. */
export interface UpstreamSection {
  /** Base URL of the LoLLMS / OpenAI-compatible server (http or https); env LOLLMS_HOST_ADDRESS. */
  readonly "url": string;
  /** What kind of server the upstream is; decides which token-limit field a role's max_tokens cap is written into (docs/clients.md). "lollms": legacy lollms-webui or new lollms (max_tokens on OpenAI-style routes, n_predict on /lollms_generate). "openai": OpenAI or a current OpenAI-compatible server (max_completion_tokens on chat, which reasoning models require; max_output_tokens on /v1/responses). "ollama": Ollama (options.num_predict on /api/*, max_tokens on /v1/*). */
  readonly "kind": "lollms" | "openai" | "ollama";
  /** Name of the environment variable whose value is sent upstream as "Authorization: Bearer <value>". Client credentials are never forwarded. */
  readonly "api_key_env": string;
  /** No upstream byte for this long: 504. */
  readonly "timeout_seconds": number;
  /** Upper bound of sockets to the upstream. */
  readonly "max_connections": number;
  /** Idle keep-alive sockets kept open to the upstream. Accepted for compatibility but has no effect since the HTTP leg runs on an undici pool: idle connections are bounded by max_connections and closed after keepalive_expiry_seconds (docs/performance.md). */
  readonly "max_keepalive_connections": number;
  /** An idle keep-alive socket is closed after this long. */
  readonly "keepalive_expiry_seconds": number;
  /** Largest non-streamed answer the proxy holds in memory to redact it (only answers that need checking are held; others stream straight through). A larger answer is cut with 502 response_too_large. */
  readonly "max_buffered_response_bytes": number;
  /** Stops hammering a failing upstream. */
  readonly "circuit_breaker": CircuitBreakerSection;
}

/** ApiKeyEntry */
export interface ApiKeyEntry {
  /** Stable name of the key; appears in the audit log as user.id. */
  readonly "id": string;
  /** Lower-case hex SHA-256 of the key (lollms-guard hash-key). */
  readonly "sha256": string;
  /** Role granted to the key; defaults to authorization.default_role. */
  readonly "role"?: string;
  /** Date the key was issued (TOML date); used by api_key_rotation_days. */
  readonly "created"?: string;
  /** After this instant the key is refused (401, audited as expired). */
  readonly "expires"?: string;
  /** A disabled key is refused like an unknown one. */
  readonly "disabled": boolean;
}

/** One trusted issuer: where its keys come from, what its tokens must say, and how their claims become a principal. */
export interface OidcIssuer {
  /** The issuer URL exactly as tokens carry it in "iss" (https; http only on loopback). */
  readonly "issuer": string;
  /** A token's "aud" must contain one of these (e.g. the API's client id or "api://lollms-guard"). */
  readonly "audiences": Array<string>;
  /** Where the issuer's signing keys are; empty: read from <issuer>/.well-known/openid-configuration. */
  readonly "jwks_uri": string;
  /** A local JWKS file instead of fetching keys (air-gapped sites); read when the policy loads. */
  readonly "jwks_file": string;
  /** Signature algorithms accepted. "none" is never accepted; HS256/384/512 only together with hmac_secret_env. */
  readonly "algorithms": Array<"RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "ES512" | "EdDSA" | "HS256" | "HS384" | "HS512">;
  /** Name of the environment variable holding the shared secret for HS256/384/512 tokens; empty: no HS* algorithm may be listed. */
  readonly "hmac_secret_env": string;
  /** Tolerance on exp and nbf for clocks that disagree. */
  readonly "clock_skew_seconds": number;
  /** Claim that names the principal (its key id in audit, rate limits and token budgets): "sub" for users, "client_id" or "azp" for services. A dotted path reaches into objects. */
  readonly "subject_claim": string;
  /** Claim holding a string or a list of strings looked up in role_map ("groups", "roles", "realm_access.roles"); empty: every token gets default_role. */
  readonly "role_claim": string;
  /** Claim value -> role. When a token carries several mapped values, the first entry of this table (in file order) that matches wins: list the most privileged first. */
  readonly "role_map": Record<string, string>;
  /** Role of a token whose claims map to no role; empty: such a token is refused (403 token_role_unmapped). */
  readonly "default_role": string;
  /** How often the keys (discovery, JWKS) are re-read in the background; a failed read keeps the keys already known. */
  readonly "refresh_interval_seconds": number;
  /** A token signed with an unknown key id triggers a re-read of the keys at most this often. */
  readonly "refresh_cooldown_seconds": number;
  /** Time limit on each discovery or JWKS request. */
  readonly "fetch_timeout_seconds": number;
}

/** Who is calling. */
export interface AuthenticationSection {
  /** Every request (but /health and CORS preflights) must carry a valid key. false is refused at start unless server.host is loopback-only or unsafe_allow_unauthenticated_network_access = true. */
  readonly "require_api_key": boolean;
  /** DANGER: with require_api_key = false, let the proxy listen on a non-loopback address anyway, so anyone who reaches it can call every route the default role allows. Leave false; use keys instead. */
  readonly "unsafe_allow_unauthenticated_network_access": boolean;
  /** Headers read for the key: "Authorization" (as "Bearer <key>") and/or "X-API-Key". */
  readonly "api_key_headers": Array<"Authorization" | "X-API-Key" | "authorization" | "x-api-key">;
  /** Presented keys shorter than this are rejected without lookup. */
  readonly "api_key_min_length": number;
  /** A key older than this (by its created date) still works but is audited as stale. 0 = never. */
  readonly "api_key_rotation_days": number;
  /** Failed authentications from one client IP, within lockout_duration_minutes, that lock the IP out (429). 0 = never. */
  readonly "max_failed_attempts": number;
  /** How long a locked-out IP gets 429, even with a valid key. */
  readonly "lockout_duration_minutes": number;
  /** API keys, as SHA-256 hex digests (lollms-guard gen-key prints the block). */
  readonly "keys": Array<ApiKeyEntry>;
  /** Trusted OpenID Connect / OAuth 2 issuers, one table each: an "Authorization: Bearer" value that is a JWT (three base64url parts) whose "iss" is listed here is verified as an access token instead of being looked up as an API key (docs/sso.md). */
  readonly "oidc": Array<OidcIssuer>;
}

/** A role: the routes it may call, the models it may use, and its token cap. */
export interface RoleSection {
  /** Routes as "METHOD /path-glob" ("*" = everything; "GET /v1/*"; "* /api/**"). Matched after path normalisation. */
  readonly "allow": Array<string>;
  /** Routes denied even if allowed (checked first). */
  readonly "deny": Array<string>;
  /** Globs matched against the request body's "model" (and "model_name"). Unless the list holds "*", an OpenAI, Anthropic or Ollama generation request that names no model is refused (the server would pick its default); native LoLLMS generation, which names none, passes. */
  readonly "models": Array<string>;
  /** Cap on max_tokens / max_completion_tokens / n_predict: above it 403; absent or -1 gets the cap written into the forwarded body. */
  readonly "max_tokens"?: number;
}

/** What each role may do. */
export interface AuthorizationSection {
  /** Check roles' allow lists, model globs and token caps. */
  readonly "enable_rbac": boolean;
  /** Role of keys that name none. */
  readonly "default_role": string;
  /** Roles by name. Default (only when no role is defined): user (OpenAI-compatible chat, completions, embeddings, models) and admin (everything). */
  readonly "roles": Record<string, RoleSection>;
}

/** Browser access (the cors package). */
export interface CorsSection {
  /** Answer CORS; with false no Access-Control-* header is ever sent. */
  readonly "enabled": boolean;
  /** Allowed origins, exact ("https://app.example.com") or "*" for any (not with credentials); env LOLLMSBOT_CORS_ORIGINS (comma-separated). Each is scheme://host[:port] as browsers send it in the Origin header (lowercase host, no default port, no path; a trailing "/" is ignored); no wildcards inside a host, and not "null" (sandboxed iframes and file:// pages send it). */
  readonly "origins": Array<string>;
  /** Allowed methods. */
  readonly "methods": Array<string>;
  /** Request headers a browser may send. The default adds the X-Stainless-* headers the official openai SDK sends from a browser (docs/clients.md). */
  readonly "allowed_headers": Array<string>;
  /** Response headers a browser script may read. */
  readonly "exposed_headers": Array<string>;
  /** Send Access-Control-Allow-Credentials. */
  readonly "credentials": boolean;
  /** Preflight cache lifetime. */
  readonly "max_age_seconds": number;
}

/** Security headers on every answer, errors included. */
export interface HeadersSection {
  /** Add helmet's headers and the values below. */
  readonly "enabled": boolean;
  /** Header name = value, set after helmet's so they win. A policy that sets this table replaces these defaults whole. */
  readonly "values": Record<string, string>;
}

/** How to reach the shared store when store = "redis": one server, a Sentinel-managed master, or a Cluster. The rate limits and the authentication lockout share this one connection. */
export interface RedisConnectionSection {
  /** standalone (the URL in redis_url_env) | sentinel (ask sentinels for master_name's master, follow failovers) | cluster (seed nodes; keys of one decision share a hash tag). */
  readonly "mode": "standalone" | "sentinel" | "cluster";
  /** Sentinel addresses (host:port), for mode = "sentinel"; at least one. */
  readonly "sentinels": Array<string>;
  /** The master's name as the sentinels know it (sentinel monitor <name> ...), for mode = "sentinel". */
  readonly "master_name": string;
  /** Cluster seed nodes (host:port), for mode = "cluster"; at least one (the rest are discovered). */
  readonly "nodes": Array<string>;
  /** Name of the env var holding the Redis password (used for the data nodes in every mode, and for sentinels); empty = none, or the one in the URL. */
  readonly "password_env": string;
  /** CA bundle (PEM) to verify Redis' TLS certificate; set = connect with TLS (sentinel and cluster modes: to every node). In standalone mode a rediss:// URL also turns TLS on. */
  readonly "tls_ca_file": string;
  /** Prefix of every key in Redis; empty = security.rate_limiting.key_prefix. When both are set this one wins. In cluster mode the prefix becomes the hash tag {prefix}. */
  readonly "key_prefix": string;
}

/** All clients together. */
export interface GlobalLimit {
  /** Requests per window_seconds. */
  readonly "rate": number;
  /** Bucket size (token_bucket only). */
  readonly "burst": number;
  /** Window length. */
  readonly "window_seconds": number;
}

/** Each key (or IP). */
export interface PerUserLimit {
  /** Requests per window_seconds. */
  readonly "rate": number;
  /** Bucket size (token_bucket only). */
  readonly "burst": number;
  /** Window length. */
  readonly "window_seconds": number;
  /** api_key | ip. */
  readonly "track_by": "api_key" | "ip";
}

/** Defaults for paths no [[endpoints]] rule matches. */
export interface PerEndpointLimit {
  /** Requests per window_seconds per client. */
  readonly "default_rate": number;
  /** Bucket size (token_bucket only). */
  readonly "default_burst": number;
  /** Window length. */
  readonly "window_seconds": number;
}

/** EndpointLimit */
export interface EndpointLimit {
  /** Path glob, e.g. "/v1/chat/completions" or "/api/*". */
  readonly "path": string;
  /** Requests per window_seconds per client. */
  readonly "rate": number;
  /** Bucket size (token_bucket only). */
  readonly "burst"?: number;
  /** Window length; defaults to per_endpoint.window_seconds. */
  readonly "window_seconds"?: number;
}

/** LLM token budgets. */
export interface TokenBudget {
  /** LLM tokens per key per rolling minute; 0 = off. */
  readonly "per_user_per_minute": number;
}

/** What repeated violations cost. */
export interface Penalties {
  /** throttle: 429 with Retry-After. */
  readonly "first_violation": "throttle";
  /** temporary_ban: ban the key or IP for ban_duration_minutes; throttle: keep throttling. */
  readonly "repeated_violations": "temporary_ban" | "throttle";
  /** Violations within ban_duration_minutes that start a ban. */
  readonly "violations_before_ban": number;
  /** Ban length (and the window violations are counted in). */
  readonly "ban_duration_minutes": number;
}

/** Request and token limits. */
export interface RateLimitingSection {
  /** Apply the limits below. */
  readonly "enabled": boolean;
  /** token_bucket (burst, then rate per window refill) | sliding_window | fixed_window. */
  readonly "algorithm": "token_bucket" | "sliding_window" | "fixed_window";
  /** memory (one instance) | redis (shared by every instance). */
  readonly "store": "memory" | "redis";
  /** Name of the env var holding the Redis URL, e.g. redis://127.0.0.1:6379/0. */
  readonly "redis_url_env": string;
  /** Store unreachable: fail_open (local limits, audited) | fail_closed (503). */
  readonly "on_store_failure": "fail_open" | "fail_closed";
  /** Prefix of every key the limiter writes in the store. */
  readonly "key_prefix": string;
  /** How to reach the shared store when store = "redis": one server, a Sentinel-managed master, or a Cluster. The rate limits and the authentication lockout share this one connection. */
  readonly "redis": RedisConnectionSection;
  /** All clients together. */
  readonly "global": GlobalLimit;
  /** Each key (or IP). */
  readonly "per_user": PerUserLimit;
  /** Defaults for paths no [[endpoints]] rule matches. */
  readonly "per_endpoint": PerEndpointLimit;
  /** Per-path rules; the first whose glob matches applies. */
  readonly "endpoints": Array<EndpointLimit>;
  /** LLM token budgets. */
  readonly "tokens": TokenBudget;
  /** What repeated violations cost. */
  readonly "penalties": Penalties;
}

/** SSRF guard for URLs inside request bodies that the model host might fetch. */
export interface UrlValidation {
  /** Check image_url / file URLs in bodies. */
  readonly "enabled": boolean;
  /** Allowed URL schemes. */
  readonly "allowed_schemes": Array<string>;
  /** Allowed host names (a leading "*." allows subdomains); empty = any public host. */
  readonly "allowed_domains": Array<string>;
  /** Refuse loopback, link-local and cloud metadata addresses. */
  readonly "deny_local_addresses": boolean;
  /** Refuse RFC 1918 / ULA addresses; names are resolved before the check. */
  readonly "deny_private_ranges": boolean;
}

/** Request body checks. */
export interface ValidationSection {
  /** Run the checks below. */
  readonly "enabled": boolean;
  /** Characters of prompt text, all messages together. */
  readonly "max_input_length": number;
  /** 400 on a NUL character anywhere in the body. */
  readonly "reject_null_bytes": boolean;
  /** NFC-normalise strings before checks and forwarding. */
  readonly "normalize_unicode": boolean;
  /** Regular expression the body's "user" field must match, when present. Compiled with the "u" flag; must be anchored at both ends ("^...$") and free of nested repeats such as "(a+)+", since it runs on every request. */
  readonly "user_id_pattern": string;
  /** POST/PUT/PATCH bodies must be well-formed JSON objects: 400 (415 for another content type) otherwise. */
  readonly "json_only": boolean;
  /** Deeper nesting: 400. */
  readonly "max_json_depth": number;
  /** SSRF guard for URLs inside request bodies that the model host might fetch. */
  readonly "urls": UrlValidation;
}

/** Built-in detectors, each switchable. */
export interface DisclosureFilters {
  /** Provider credentials, JWTs, private keys, bearer tokens, passwords. */
  readonly "redact_api_keys": boolean;
  /** Stack trace lines (Python, Node, Java, .NET, Go). */
  readonly "remove_stack_traces": boolean;
  /** Absolute file paths. */
  readonly "remove_file_paths": boolean;
  /** Private, loopback and link-local addresses. */
  readonly "remove_internal_ips": boolean;
  /** User names in home-directory paths and user@host text. */
  readonly "remove_usernames": boolean;
  /** E-mail addresses. */
  readonly "redact_emails": boolean;
  /** Payment cards (Luhn), IBANs (mod-97), US SSNs. */
  readonly "redact_pii": boolean;
}

/** Redaction of secrets and internals, both directions. */
export interface InformationDisclosureSection {
  /** Run the detectors. */
  readonly "enabled": boolean;
  /** Scrub prompts before they reach the LLM. */
  readonly "redact_requests": boolean;
  /** What a detection in a request does: redact (scrub and forward) | block (403 naming the kind). */
  readonly "request_action": "redact" | "block";
  /** Scrub completions, streamed or not. */
  readonly "redact_responses": boolean;
  /** Replacement text; {kind} is replaced by the detector name. */
  readonly "replacement": string;
  /** Upstream 5xx bodies become a generic JSON error; 4xx bodies with internals are scrubbed. */
  readonly "sanitize_errors": boolean;
  /** Drop Server, X-Powered-By and similar headers from upstream answers. */
  readonly "hide_versions": boolean;
  /** Built-in detectors, each switchable. */
  readonly "filters": DisclosureFilters;
  /** Extra detectors: name = regular expression. Patterns that can backtrack catastrophically are refused. */
  readonly "patterns": Record<string, string>;
}

/** Cipher suites by TLS version (IANA names). */
export interface TlsCiphers {
  /** TLS 1.2 suites. At least one must suit the certificate key (ECDHE_RSA: RSA; ECDHE_ECDSA: ECDSA) or every TLS 1.2 client fails; validate and the start report it. */
  readonly "tls12": Array<string>;
  /** TLS 1.3 suites. */
  readonly "tls13": Array<string>;
}

/** TlsIdentity */
export interface TlsIdentity {
  /** Name used as user.id. */
  readonly "id": string;
  /** SHA-256 fingerprint of the certificate (hex, colons allowed). */
  readonly "fingerprint_sha256"?: string;
  /** Certificate subject CN to match instead of a fingerprint. */
  readonly "subject"?: string;
  /** Role granted. */
  readonly "role"?: string;
}

/** Client certificates (mTLS). */
export interface TlsClient {
  /** none | optional | required (against ca_file). */
  readonly "verify_mode": "none" | "optional" | "required";
  /** Client certificates that stand for an API key. */
  readonly "identities": Array<TlsIdentity>;
}

/** HTTPS on the listener. */
export interface TlsSection {
  /** Serve HTTPS with the files below. */
  readonly "enabled": boolean;
  /** Lowest TLS version accepted. */
  readonly "min_version": "1.2" | "1.3";
  /** PEM certificate chain. Re-read on change and on SIGHUP; new connections get it, connections in flight keep theirs; unusable files are refused and reported. */
  readonly "cert_file": string;
  /** PEM private key (reloaded with cert_file). */
  readonly "key_file": string;
  /** PEM CA bundle for client certificates. */
  readonly "ca_file": string;
  /** Cipher suites by TLS version (IANA names). */
  readonly "ciphers": TlsCiphers;
  /** Client certificates (mTLS). */
  readonly "client": TlsClient;
}

/** Everything the proxy enforces. */
export interface SecuritySection {
  /** Master switch. false behaves like mode = "disabled". */
  readonly "enabled": boolean;
  /** enforce: deny what the policy denies. permissive: audit would-be denials (outcome would_deny) and let them pass. disabled: pure proxy, still audited. */
  readonly "mode": "enforce" | "permissive" | "disabled";
  /** Write a security event for each violation. */
  readonly "log_violations": boolean;
  /** How much each audit record carries: minimal | normal | verbose. */
  readonly "audit_level": "minimal" | "normal" | "verbose";
  /** Who is calling. */
  readonly "authentication": AuthenticationSection;
  /** What each role may do. */
  readonly "authorization": AuthorizationSection;
  /** Browser access (the cors package). */
  readonly "cors": CorsSection;
  /** Security headers on every answer, errors included. */
  readonly "headers": HeadersSection;
  /** Request and token limits. */
  readonly "rate_limiting": RateLimitingSection;
  /** Request body checks. */
  readonly "validation": ValidationSection;
  /** Redaction of secrets and internals, both directions. */
  readonly "information_disclosure": InformationDisclosureSection;
  /** HTTPS on the listener. */
  readonly "tls": TlsSection;
}

/** Shipping to an HTTP collector (output = "http"). */
export interface AuditHttpSection {
  /** Collector URL. */
  readonly "url": string;
  /** hec (Splunk HEC envelope) | ndjson. */
  readonly "format": "hec" | "ndjson";
  /** Env var with the collector token. */
  readonly "token_env": string;
  /** Records per request. */
  readonly "batch_size": number;
  /** Send at least this often. */
  readonly "flush_interval_ms": number;
  /** On-disk queue while the collector is away. */
  readonly "spool_dir": string;
  /** Spool bound. */
  readonly "spool_max_mb": number;
}

/** Event classes, each switchable. */
export interface AuditEvents {
  /** One record for every request, allowed or denied. */
  readonly "requests": boolean;
  /** Authentication failures, lockouts, stale and expired keys. */
  readonly "authentication": boolean;
  /** Authorization denials. */
  readonly "authorization": boolean;
  /** Validation denials. */
  readonly "validation_failures": boolean;
  /** 429s and bans. */
  readonly "rate_limit_exceeded": boolean;
  /** Redactions (kind and place, never the value). */
  readonly "redactions": boolean;
  /** Start, reload, reload failures. */
  readonly "configuration_changes": boolean;
}

/** The audit log a SIEM ingests. */
export interface AuditSection {
  /** Write audit records. */
  readonly "enabled": boolean;
  /** Lowest severity written. */
  readonly "level": "debug" | "info" | "warning" | "error";
  /** ecs (Elastic Common Schema) | json (the seed's flat format). */
  readonly "format": "ecs" | "json";
  /** file | stdout | both | http. */
  readonly "output": "file" | "stdout" | "both" | "http";
  /** Audit file. */
  readonly "file_path": string;
  /** Rotate when the file reaches this size in MB (fractions allowed); files also rotate at each UTC day change. A line is never split across files. */
  readonly "max_size_mb": number;
  /** Delete rotated files older than this. */
  readonly "max_age_days": number;
  /** gzip rotated files. */
  readonly "compress": boolean;
  /** Chain each record to the previous one (verify-audit checks it). */
  readonly "hash_chain": boolean;
  /** Env var holding the chain HMAC key; without it a warning and a plain SHA-256 chain. */
  readonly "hash_chain_key_env": string;
  /** Keyed hashes instead of client IPs and key ids. */
  readonly "anonymize": boolean;
  /** Audit unwritable: fail_open (serve; /health shows the audit degraded, stderr says so at the first failure and then at most once a minute, lines wait in memory up to 10000 and are then counted as dropped) | fail_closed (503 audit_unavailable until it writes again). */
  readonly "on_failure": "fail_open" | "fail_closed";
  /** Shipping to an HTTP collector (output = "http"). */
  readonly "http": AuditHttpSection;
  /** Event classes, each switchable. */
  readonly "events": AuditEvents;
}

/** Logs. */
export interface LoggingSection {
  /** The audit log a SIEM ingests. */
  readonly "security": AuditSection;
}

/** Prometheus metrics. */
export interface MonitoringSection {
  /** Serve /metrics on its own listener. */
  readonly "metrics_enabled": boolean;
  /** Metrics listener address. */
  readonly "metrics_host": string;
  /** Metrics listener port. */
  readonly "metrics_port": number;
}

/** Development switches; never in production. */
export interface DebugSection {
  /** Allow the switches below to act. */
  readonly "enabled": boolean;
  /** Add the denying rule to error messages (never a stack trace). */
  readonly "verbose_errors": boolean;
  /** Skip rate limits (needs enabled = true); audited at start. */
  readonly "bypass_rate_limits": boolean;
}

/** lollms-guard policy: one TOML file (or several overlaid) that decides what reaches the LLM server. */
export interface Policy {
  /** Listener of the proxy. */
  readonly "server": ServerSection;
  /** The LLM server behind the proxy. */
  readonly "upstream": UpstreamSection;
  /** Everything the proxy enforces. */
  readonly "security": SecuritySection;
  /** Logs. */
  readonly "logging": LoggingSection;
  /** Prometheus metrics. */
  readonly "monitoring": MonitoringSection;
  /** Development switches; never in production. */
  readonly "debug": DebugSection;
}

/** A dotted key path of the policy (what `config show --origin` annotates); a map's entry is ${string}. */
export type PolicyKey =
  | `server`
  | `server.host`
  | `server.port`
  | `server.trust_proxy`
  | `server.max_body_bytes`
  | `server.max_header_bytes`
  | `server.headers_timeout_seconds`
  | `server.body_timeout_seconds`
  | `server.max_connections_per_ip`
  | `server.request_timeout_seconds`
  | `server.shutdown_grace_seconds`
  | `server.state_dir`
  | `server.websocket`
  | `server.websocket.enabled`
  | `server.websocket.idle_timeout_seconds`
  | `server.websocket.max_lifetime_seconds`
  | `server.websocket.query_key_param`
  | `server.websocket.secret_paths`
  | `upstream`
  | `upstream.url`
  | `upstream.kind`
  | `upstream.api_key_env`
  | `upstream.timeout_seconds`
  | `upstream.max_connections`
  | `upstream.max_keepalive_connections`
  | `upstream.keepalive_expiry_seconds`
  | `upstream.max_buffered_response_bytes`
  | `upstream.circuit_breaker`
  | `upstream.circuit_breaker.enabled`
  | `upstream.circuit_breaker.failure_threshold`
  | `upstream.circuit_breaker.recovery_timeout_seconds`
  | `security`
  | `security.enabled`
  | `security.mode`
  | `security.log_violations`
  | `security.audit_level`
  | `security.authentication`
  | `security.authentication.require_api_key`
  | `security.authentication.unsafe_allow_unauthenticated_network_access`
  | `security.authentication.api_key_headers`
  | `security.authentication.api_key_min_length`
  | `security.authentication.api_key_rotation_days`
  | `security.authentication.max_failed_attempts`
  | `security.authentication.lockout_duration_minutes`
  | `security.authentication.keys`
  | `security.authentication.oidc`
  | `security.authorization`
  | `security.authorization.enable_rbac`
  | `security.authorization.default_role`
  | `security.authorization.roles`
  | `security.authorization.roles.${string}.allow`
  | `security.authorization.roles.${string}.deny`
  | `security.authorization.roles.${string}.models`
  | `security.authorization.roles.${string}.max_tokens`
  | `security.cors`
  | `security.cors.enabled`
  | `security.cors.origins`
  | `security.cors.methods`
  | `security.cors.allowed_headers`
  | `security.cors.exposed_headers`
  | `security.cors.credentials`
  | `security.cors.max_age_seconds`
  | `security.headers`
  | `security.headers.enabled`
  | `security.headers.values`
  | `security.headers.values.${string}`
  | `security.rate_limiting`
  | `security.rate_limiting.enabled`
  | `security.rate_limiting.algorithm`
  | `security.rate_limiting.store`
  | `security.rate_limiting.redis_url_env`
  | `security.rate_limiting.on_store_failure`
  | `security.rate_limiting.key_prefix`
  | `security.rate_limiting.redis`
  | `security.rate_limiting.redis.mode`
  | `security.rate_limiting.redis.sentinels`
  | `security.rate_limiting.redis.master_name`
  | `security.rate_limiting.redis.nodes`
  | `security.rate_limiting.redis.password_env`
  | `security.rate_limiting.redis.tls_ca_file`
  | `security.rate_limiting.redis.key_prefix`
  | `security.rate_limiting.global`
  | `security.rate_limiting.global.rate`
  | `security.rate_limiting.global.burst`
  | `security.rate_limiting.global.window_seconds`
  | `security.rate_limiting.per_user`
  | `security.rate_limiting.per_user.rate`
  | `security.rate_limiting.per_user.burst`
  | `security.rate_limiting.per_user.window_seconds`
  | `security.rate_limiting.per_user.track_by`
  | `security.rate_limiting.per_endpoint`
  | `security.rate_limiting.per_endpoint.default_rate`
  | `security.rate_limiting.per_endpoint.default_burst`
  | `security.rate_limiting.per_endpoint.window_seconds`
  | `security.rate_limiting.endpoints`
  | `security.rate_limiting.tokens`
  | `security.rate_limiting.tokens.per_user_per_minute`
  | `security.rate_limiting.penalties`
  | `security.rate_limiting.penalties.first_violation`
  | `security.rate_limiting.penalties.repeated_violations`
  | `security.rate_limiting.penalties.violations_before_ban`
  | `security.rate_limiting.penalties.ban_duration_minutes`
  | `security.validation`
  | `security.validation.enabled`
  | `security.validation.max_input_length`
  | `security.validation.reject_null_bytes`
  | `security.validation.normalize_unicode`
  | `security.validation.user_id_pattern`
  | `security.validation.json_only`
  | `security.validation.max_json_depth`
  | `security.validation.urls`
  | `security.validation.urls.enabled`
  | `security.validation.urls.allowed_schemes`
  | `security.validation.urls.allowed_domains`
  | `security.validation.urls.deny_local_addresses`
  | `security.validation.urls.deny_private_ranges`
  | `security.information_disclosure`
  | `security.information_disclosure.enabled`
  | `security.information_disclosure.redact_requests`
  | `security.information_disclosure.request_action`
  | `security.information_disclosure.redact_responses`
  | `security.information_disclosure.replacement`
  | `security.information_disclosure.sanitize_errors`
  | `security.information_disclosure.hide_versions`
  | `security.information_disclosure.filters`
  | `security.information_disclosure.filters.redact_api_keys`
  | `security.information_disclosure.filters.remove_stack_traces`
  | `security.information_disclosure.filters.remove_file_paths`
  | `security.information_disclosure.filters.remove_internal_ips`
  | `security.information_disclosure.filters.remove_usernames`
  | `security.information_disclosure.filters.redact_emails`
  | `security.information_disclosure.filters.redact_pii`
  | `security.information_disclosure.patterns`
  | `security.information_disclosure.patterns.${string}`
  | `security.tls`
  | `security.tls.enabled`
  | `security.tls.min_version`
  | `security.tls.cert_file`
  | `security.tls.key_file`
  | `security.tls.ca_file`
  | `security.tls.ciphers`
  | `security.tls.ciphers.tls12`
  | `security.tls.ciphers.tls13`
  | `security.tls.client`
  | `security.tls.client.verify_mode`
  | `security.tls.client.identities`
  | `logging`
  | `logging.security`
  | `logging.security.enabled`
  | `logging.security.level`
  | `logging.security.format`
  | `logging.security.output`
  | `logging.security.file_path`
  | `logging.security.max_size_mb`
  | `logging.security.max_age_days`
  | `logging.security.compress`
  | `logging.security.hash_chain`
  | `logging.security.hash_chain_key_env`
  | `logging.security.anonymize`
  | `logging.security.on_failure`
  | `logging.security.http`
  | `logging.security.http.url`
  | `logging.security.http.format`
  | `logging.security.http.token_env`
  | `logging.security.http.batch_size`
  | `logging.security.http.flush_interval_ms`
  | `logging.security.http.spool_dir`
  | `logging.security.http.spool_max_mb`
  | `logging.security.events`
  | `logging.security.events.requests`
  | `logging.security.events.authentication`
  | `logging.security.events.authorization`
  | `logging.security.events.validation_failures`
  | `logging.security.events.rate_limit_exceeded`
  | `logging.security.events.redactions`
  | `logging.security.events.configuration_changes`
  | `monitoring`
  | `monitoring.metrics_enabled`
  | `monitoring.metrics_host`
  | `monitoring.metrics_port`
  | `debug`
  | `debug.enabled`
  | `debug.verbose_errors`
  | `debug.bypass_rate_limits`;
