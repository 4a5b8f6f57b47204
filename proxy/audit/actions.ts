// The catalogue of audit actions (ECS kind/category/type, severity, event class) and which class each denial code belongs to.
import type { EventClass, EventOutcome, Severity } from './types.js';

export interface ActionDefaults {
  readonly eventClass: EventClass;
  readonly kind: 'event' | 'alert';
  readonly category: readonly string[];
  readonly type: readonly string[];
  readonly severity: Severity;
  readonly outcome: EventOutcome;
}

const d = (
  eventClass: EventClass, kind: 'event' | 'alert', category: string[], type: string[], severity: Severity, outcome: EventOutcome,
): ActionDefaults => Object.freeze({ eventClass, kind, category: Object.freeze(category), type: Object.freeze(type), severity, outcome });

/**
 * Known security event actions. ECS category/type pairs follow the ECS 8.11 allowed-values table
 * (e.g. "denied" is valid under network and intrusion_detection, not under web or authentication).
 */
export const ACTIONS: Readonly<Record<string, ActionDefaults>> = Object.freeze({
  auth_failure: d('authentication', 'event', ['authentication'], ['start'], 'warning', 'failure'),
  lockout: d('authentication', 'alert', ['authentication', 'intrusion_detection'], ['denied'], 'warning', 'failure'),
  stale_key: d('authentication', 'event', ['authentication'], ['info'], 'warning', 'success'),
  expired_key: d('authentication', 'event', ['authentication'], ['start'], 'warning', 'failure'),
  access_denied: d('authorization', 'event', ['network'], ['denied'], 'warning', 'failure'),
  would_deny: d('authorization', 'event', ['network'], ['allowed', 'info'], 'warning', 'success'),
  validation_failure: d('validation_failures', 'event', ['web', 'network'], ['denied'], 'warning', 'failure'),
  rate_limit_exceeded: d('rate_limit_exceeded', 'event', ['network'], ['denied'], 'warning', 'failure'),
  connection_refused: d('rate_limit_exceeded', 'event', ['network'], ['denied'], 'warning', 'failure'),
  ban: d('rate_limit_exceeded', 'alert', ['network', 'intrusion_detection'], ['denied'], 'warning', 'failure'),
  redaction: d('redactions', 'event', ['web'], ['info'], 'info', 'success'),
  configuration_start: d('configuration_changes', 'event', ['configuration'], ['info'], 'info', 'success'),
  configuration_reload: d('configuration_changes', 'event', ['configuration'], ['change'], 'info', 'success'),
  configuration_reload_failed: d('configuration_changes', 'event', ['configuration'], ['change'], 'error', 'failure'),
  configuration_change: d('configuration_changes', 'event', ['configuration'], ['change'], 'info', 'success'),
  tls_reload: d('configuration_changes', 'event', ['configuration'], ['change'], 'info', 'success'),
  tls_reload_failed: d('configuration_changes', 'event', ['configuration'], ['change'], 'error', 'failure'),
  bypass_enabled: d('configuration_changes', 'event', ['configuration'], ['change'], 'warning', 'success'),
  store_outage: d('system', 'event', ['database'], ['error'], 'error', 'failure'),
  store_recovered: d('system', 'event', ['database'], ['info'], 'info', 'success'),
  store_switched: d('system', 'event', ['database'], ['change'], 'warning', 'success'),
  audit_write_failure: d('system', 'event', ['file'], ['info'], 'error', 'failure'),
  audit_recovered: d('system', 'event', ['file'], ['info'], 'warning', 'success'),
  oidc_keys_loaded: d('system', 'event', ['authentication'], ['info'], 'info', 'success'),
  oidc_keys_unavailable: d('system', 'event', ['authentication'], ['info'], 'error', 'failure'),
});

/** Defaults for an action nobody catalogued: written whatever the switches (class "system"). */
export const UNKNOWN_ACTION: ActionDefaults = d('system', 'event', ['web'], ['info'], 'info', 'unknown');

/** Which switchable class a denial code belongs to (a denied request is written if that class is on). */
const CODE_CLASS: Readonly<Record<string, EventClass>> = Object.freeze({
  missing_api_key: 'authentication', invalid_api_key: 'authentication', expired_api_key: 'authentication',
  client_locked_out: 'authentication',
  token_expired: 'authentication', token_not_yet_valid: 'authentication', token_wrong_audience: 'authentication',
  token_unknown_key: 'authentication', token_bad_signature: 'authentication', token_algorithm_not_allowed: 'authentication',
  token_invalid: 'authentication', token_role_unmapped: 'authentication', token_verifier_unavailable: 'authentication',
  route_not_allowed: 'authorization', model_not_allowed: 'authorization', max_tokens_exceeded: 'authorization',
  method_not_allowed: 'authorization',
  invalid_json: 'validation_failures', body_not_object: 'validation_failures', json_too_deep: 'validation_failures',
  unsupported_media_type: 'validation_failures', body_too_large: 'validation_failures', body_timeout: 'validation_failures',
  headers_too_large: 'validation_failures', bad_request: 'validation_failures', input_too_long: 'validation_failures',
  null_bytes: 'validation_failures', invalid_user_id: 'validation_failures', url_not_allowed: 'validation_failures',
  sensitive_data_blocked: 'validation_failures', path_not_allowed: 'validation_failures', cross_site_request: 'authorization',
  upgrade_not_supported: 'validation_failures', invalid_websocket_handshake: 'validation_failures',
  unsupported_websocket_version: 'validation_failures',
  rate_limited: 'rate_limit_exceeded', token_budget_exceeded: 'rate_limit_exceeded', temporarily_banned: 'rate_limit_exceeded',
  rate_limit_unavailable: 'rate_limit_exceeded', too_many_connections: 'rate_limit_exceeded',
  headers_timeout: 'validation_failures', duplicate_json_key: 'validation_failures', invalid_unicode: 'validation_failures',
});

export function classOfCode(code: string | undefined): EventClass | undefined {
  return code === undefined ? undefined : CODE_CLASS[code];
}
