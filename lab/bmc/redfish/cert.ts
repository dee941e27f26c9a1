// A self-signed certificate for a lab Redfish BMC, made with openssl at lab start (as a real BMC ships one from the
// factory): EC P-256, valid 30 days, CN and subjectAltName = the BMC's address.
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface LabCert { keyFile: string; certFile: string; key: Buffer; cert: Buffer; /** SHA-256, "AB:CD:…" as openssl and RackSeed print it */ sha256: string }

/** Generate key.pem and cert.pem in `dir` (overwriting: every start is a new certificate unless `reuse`). */
export function makeSelfSignedCert(dir: string, address: string, opts: { reuse?: boolean; name?: string } = {}): LabCert {
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, `${opts.name ?? 'tls'}-key.pem`);
  const certFile = join(dir, `${opts.name ?? 'tls'}-cert.pem`);
  let have = false;
  if (opts.reuse) { try { readFileSync(certFile); readFileSync(keyFile); have = true; } catch { have = false; } }
  if (!have) {
    const san = isIP(address) ? `IP:${address}` : `DNS:${address}`;
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', `/O=RackSeed Lab BMC/CN=${address}`, '-addext', `subjectAltName=${san}`],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  }
  const cert = readFileSync(certFile);
  return { keyFile, certFile, key: readFileSync(keyFile), cert, sha256: certFingerprint(cert) };
}

/** SHA-256 fingerprint of a PEM certificate, upper-case colon hex. */
export function certFingerprint(pem: Buffer | string): string {
  const der = new X509Certificate(pem).raw;
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}
