// HTTPS listener options from [security.tls]: files, minimum version, cipher suites, client certificates.
import { readFileSync } from 'node:fs';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { TlsSection } from '../policies/compiled.js';

/** IANA TLS 1.2 suite names (what the policy uses) to OpenSSL's (what Node takes). TLS 1.3 names are the same in both. */
const IANA_TO_OPENSSL: Record<string, string> = {
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_DHE_RSA_WITH_AES_256_GCM_SHA384: 'DHE-RSA-AES256-GCM-SHA384',
  TLS_DHE_RSA_WITH_AES_128_GCM_SHA256: 'DHE-RSA-AES128-GCM-SHA256',
};

export function cipherList(section: TlsSection): string {
  const v12 = section.min_version === '1.3' ? [] : section.ciphers.tls12.map((c) => IANA_TO_OPENSSL[c] ?? c);
  return [...section.ciphers.tls13, ...v12].join(':');
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`security.tls.${what} "${file}" cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}); fix the path or set security.tls.enabled = false`);
  }
}

export function tlsServerOptions(section: TlsSection): TlsOptions & SecureContextOptions {
  const verify = section.client.verify_mode;
  return {
    cert: read(section.cert_file, 'cert_file'),
    key: read(section.key_file, 'key_file'),
    ...(verify !== 'none' ? { ca: read(section.ca_file, 'ca_file') } : {}),
    minVersion: section.min_version === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
    ciphers: cipherList(section),
    honorCipherOrder: true,
    requestCert: verify !== 'none',
    rejectUnauthorized: verify === 'required',
  };
}

/** Normalised fingerprint: lower-case hex without colons. */
export function normalizeFingerprint(f: string): string {
  return f.replace(/:/g, '').toLowerCase();
}
