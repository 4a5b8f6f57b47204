// Certificate and key files re-read on SIGHUP and on change: new connections get them, connections in flight keep theirs.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import tls from 'node:tls';
import type { TlsSection } from '../kernel/policy.js';
import { cipherKeyProblem, tlsServerOptions } from './tls.js';

export interface TlsReloadResult {
  readonly changed: boolean;
  /** Why the files on disk were not taken (the previous certificate stays in force). */
  readonly problem?: string;
}

export interface TlsReloader {
  /** Re-reads the files; applies them when they differ from those in force and make a valid context. */
  reload(): TlsReloadResult;
  close(): void;
}

export interface TlsReloadDeps {
  /** Told after every attempt that found new files on disk. */
  readonly onResult: (r: TlsReloadResult & { trigger: string }) => void;
  /** Watch the files' directories (default true). */
  readonly watch?: boolean;
}

/**
 * `setSecureContext` swaps the context only for handshakes that start afterwards, so connections in flight are
 * never cut. What is applied is checked first: a context must build from the pair (a key that does not match
 * its certificate fails here), and the TLS 1.2 suites must be able to use the key. Directories are watched, not
 * files: certbot renews by moving symlinks and Kubernetes swaps a `..data` link, which a watch on the old file
 * would never see; any event there re-reads and compares digests, so unrelated files cost one read.
 */
export function createTlsReloader(server: tls.Server, section: TlsSection, deps: TlsReloadDeps): TlsReloader {
  const files = [section.cert_file, section.key_file, ...(section.client.verify_mode !== 'none' ? [section.ca_file] : [])];
  const digest = (): string => {
    const h = createHash('sha256');
    for (const f of files) h.update(readFileSync(f)).update('\0');
    return h.digest('hex');
  };
  let current = digest();

  function reload(): TlsReloadResult {
    let next: string;
    try {
      next = digest();
    } catch (e) {
      return { changed: false, problem: `TLS files cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}); the previous certificate stays in force` };
    }
    if (next === current) return { changed: false };
    let opts: ReturnType<typeof tlsServerOptions>;
    try {
      opts = tlsServerOptions(section);
      tls.createSecureContext(opts);
    } catch (e) {
      current = next; // reported once; the next change on disk is tried again
      return { changed: false, problem: `new TLS files refused (${clean((e as Error).message)}); the previous certificate stays in force` };
    }
    const mismatch = cipherKeyProblem(section, opts.cert as Buffer);
    if (mismatch) {
      current = next;
      return { changed: false, problem: `new TLS files refused: ${mismatch}; the previous certificate stays in force` };
    }
    server.setSecureContext(opts);
    current = next;
    return { changed: true };
  }

  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  if (deps.watch !== false) {
    const dirs = new Map<string, Set<string>>();
    for (const f of files) {
      const abs = resolvePath(f);
      if (!dirs.has(dirname(abs))) dirs.set(dirname(abs), new Set());
      dirs.get(dirname(abs))!.add(basename(abs));
    }
    for (const dir of dirs.keys()) {
      try {
        const w = watch(dir, { persistent: false }, () => {
          // Renewals write several files one after the other: wait for them to settle.
          clearTimeout(timer);
          timer = setTimeout(() => {
            const r = reload();
            if (r.changed || r.problem) deps.onResult({ ...r, trigger: 'file change' });
          }, 300);
          timer.unref();
        });
        w.on('error', () => w.close());
        watchers.push(w);
      } catch {
        /* a directory that cannot be watched still reloads on SIGHUP */
      }
    }
  }
  return {
    reload,
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}

/** OpenSSL messages name no path or secret, but keep them short and on one line. */
function clean(m: string): string {
  return m.replace(/\s+/g, ' ').slice(0, 200);
}
