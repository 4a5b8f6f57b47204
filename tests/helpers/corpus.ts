// The labelled redaction corpus and the disclosure options the redaction tests start from.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DisclosureOptions } from '../../policies/disclosure/index.js';
import { REPO_ROOT } from '../../dev/paths.js';

export interface CorpusItem { id: string; category: 'credential' | 'pii' | 'benign'; kind: string; secrets: string[]; text: string }

export const corpus: { items: CorpusItem[] } = JSON.parse(readFileSync(join(REPO_ROOT, 'tests/fixtures/redaction-corpus.json'), 'utf8'));

/** Built-in detectors as the reference policy switches them, no extra patterns. */
export const baseDisclosure: DisclosureOptions = {
  enabled: true, redact_requests: true, redact_responses: true, replacement: '[REDACTED:{kind}]',
  sanitize_errors: true, hide_versions: true,
  filters: { redact_api_keys: true, remove_stack_traces: true, remove_file_paths: true, remove_internal_ips: true, remove_usernames: false, redact_emails: true },
  patterns: {},
};
