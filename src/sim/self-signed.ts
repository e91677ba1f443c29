/**
 * A throwaway self-signed certificate for the simulator's TLS (tests, benchmarks, `sendgate
 * simulate --tls`), valid for 127.0.0.1, ::1 and localhost. Made with the `openssl` command:
 * Node can sign nothing X.509 itself, and a library for one local certificate is not worth it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  /** PEM private key. */
  key: string;
  /** PEM certificate; also what a client trusts as its CA. */
  cert: string;
}

export function selfSignedPair(days = 2): KeyPair {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', String(days), '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
    ], { stdio: 'ignore' });
    return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
