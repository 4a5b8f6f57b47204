// HTTPS listener options from [security.tls]: files, minimum version, cipher suites, client certificates.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { TlsSection } from '../kernel/policy.js';

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

/** The key type a TLS 1.2 suite needs in the certificate: "rsa" (ECDHE_RSA, DHE_RSA), "ec" (ECDHE_ECDSA), or unknown. */
function suiteNeeds(suite: string): 'rsa' | 'ec' | undefined {
  const s = suite.toUpperCase().replace(/-/g, '_');
  if (/_ECDSA_/.test(`_${s}_`)) return 'ec';
  if (/_RSA_/.test(`_${s}_`)) return 'rsa';
  return undefined;
}

/** What suites to suggest for a key type (IANA names, as the policy writes them). */
const SUGGEST: Record<'rsa' | 'ec', string[]> = {
  rsa: ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
  ec: ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
};

/** The certificate's key type as TLS 1.2 sees it (Ed25519/Ed448 sign through the ECDSA suites). */
export function certKeyType(pem: Buffer | string): 'rsa' | 'ec' | string {
  const t = new X509Certificate(pem).publicKey.asymmetricKeyType ?? 'unknown';
  return t === 'rsa' || t === 'rsa-pss' ? 'rsa' : t === 'ec' || t === 'ed25519' || t === 'ed448' ? 'ec' : t;
}

/**
 * With TLS 1.2 allowed, at least one listed TLS 1.2 suite must be able to use the certificate's key, or every
 * TLS 1.2 client fails its handshake (an ECDSA certificate with only ECDHE_RSA suites, the seed's list).
 * Returns the problem with its fix, or undefined.
 */
export function cipherKeyProblem(section: TlsSection, certPem: Buffer | string): string | undefined {
  if (section.min_version === '1.3') return undefined;
  let type: string;
  try {
    type = certKeyType(certPem);
  } catch {
    return `security.tls.cert_file "${section.cert_file}" is not a PEM certificate; fix the file`;
  }
  if (type !== 'rsa' && type !== 'ec') return undefined;
  const list = section.ciphers.tls12;
  const needs = list.map(suiteNeeds);
  if (needs.some((n) => n === type || n === undefined)) return undefined;
  const name = type === 'ec' ? 'ECDSA' : 'RSA';
  return `security.tls.ciphers.tls12 lists no suite that can use the ${name} key of cert_file "${section.cert_file}": every TLS 1.2 client will fail its handshake. Add ${SUGGEST[type].map((s) => `"${s}"`).join(', ')} to security.tls.ciphers.tls12, or set security.tls.min_version = "1.3"`;
}
