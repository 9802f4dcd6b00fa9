// Certificates for the TLS tests, made with openssl for each run: a CA, a node certificate it signs (for
// 127.0.0.1 and localhost, for servers and clients alike), and a rogue CA with a certificate of its own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCertificates {
  dir: string;
  /** Paths of the PEM files. */
  files: { ca: string; cert: string; key: string; rogueCa: string; rogueCert: string; rogueKey: string };
  read(file: keyof TestCertificates['files']): Buffer;
}

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const extensions = path.join(dir, 'node.ext');
  writeFileSync(extensions, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  for (const ca of ['ca', 'rogue-ca']) {
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=durable ${ca} for tests`);
  }
  for (const [name, ca] of [
    ['node', 'ca'],
    ['rogue', 'rogue-ca'],
  ]) {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', extensions);
  }
  const files = {
    ca: path.join(dir, 'ca.crt'),
    cert: path.join(dir, 'node.crt'),
    key: path.join(dir, 'node.key'),
    rogueCa: path.join(dir, 'rogue-ca.crt'),
    rogueCert: path.join(dir, 'rogue.crt'),
    rogueKey: path.join(dir, 'rogue.key'),
  };
  return { dir, files, read: (file) => readFileSync(files[file]) };
}
