// Makes a throwaway CA, a server certificate for 127.0.0.1 and a client certificate with openssl (for TLS tests).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  readonly dir: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** Hex SHA-256 fingerprint of the client certificate (colons, upper case, as openssl prints it). */
  readonly clientFingerprint: string;
}

export function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-certs-'));
  const f = (n: string): string => join(dir, n);
  const run = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=lollms-guard test CA');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  run('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('server.ext'));
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', '/CN=batch-worker');
  run('x509', '-req', '-in', f('client.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('client.crt'), '-days', '2', '-extfile', f('client.ext'));
  const fp = run('x509', '-in', f('client.crt'), '-noout', '-fingerprint', '-sha256').trim().split('=')[1];
  void readFileSync;
  return { dir, ca: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key'), clientFingerprint: fp };
}

export interface ServerCert {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint as Node's getPeerCertificate().fingerprint256 prints it. */
  readonly fingerprint: string;
}

/** Another server certificate for 127.0.0.1 from the same CA: EC P-256 or RSA 2048, in its own files. */
export function makeServerCert(c: TestCerts, name: string, kind: 'ec' | 'rsa' = 'ec'): ServerCert {
  const f = (n: string): string => join(c.dir, `${name}.${n}`);
  const run = (...args: string[]): string => execFileSync('openssl', args, { cwd: c.dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const keyArgs = kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  run('req', ...keyArgs, '-nodes', '-keyout', f('key'), '-out', f('csr'), '-subj', `/CN=127.0.0.1/O=${name}`);
  run('x509', '-req', '-in', f('csr'), '-CA', c.ca, '-CAkey', join(c.dir, 'ca.key'), '-CAcreateserial', '-out', f('crt'), '-days', '2', '-extfile', join(c.dir, 'server.ext'));
  const fp = run('x509', '-in', f('crt'), '-noout', '-fingerprint', '-sha256').trim().split('=')[1];
  return { cert: f('crt'), key: f('key'), fingerprint: fp };
}
