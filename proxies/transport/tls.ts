// TLS for the replication port (and HTTPS for clients, serving/http.ts): with a certificate and key,
// peers connect over node:tls, the server's certificate checked against --tls-ca (or the system's CAs)
// and its name or IP address; with --tls-ca, the replication server asks each peer for a certificate
// too (mutual TLS). The cluster key's handshake runs inside, unchanged: TLS hides the stream, the key
// proves membership. Without TLS options, plain TCP as before.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  /** The CA that signs the peers' certificates: verify servers against it, and ask peers for theirs. */
  ca?: Buffer;
}

export function readTlsFiles(files: { cert?: string; key?: string; ca?: string }): TlsFiles | undefined {
  if (!files.cert && !files.key && !files.ca) return undefined;
  if (!files.cert || !files.key) throw new Error('TLS needs both --tls-cert and --tls-key (and --tls-ca to verify peers with your own CA).');
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(`Cannot read ${flag} '${file}': ${(error as Error).message}`);
    }
  };
  return { cert: read('--tls-cert', files.cert), key: read('--tls-key', files.key), ca: files.ca ? read('--tls-ca', files.ca) : undefined };
}

/** A connection to a replication peer: TLS when configured (its certificate checked), else plain TCP. */
export function connectPeer(host: string, port: number, files?: TlsFiles): net.Socket {
  if (!files) return net.connect({ host, port });
  return tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, cert: files.cert, key: files.key, ca: files.ca, minVersion: 'TLSv1.2' });
}

/**
 * A replication listener over TLS: peers' certificates required and verified with a CA. It gives up on
 * a TLS handshake after `handshakeTimeoutMs`; the replication server counts and limits connections from
 * the TCP connection on (its 'connection' event), before TLS.
 */
export function serverTls(files: TlsFiles, onSecure: (socket: tls.TLSSocket) => void, handshakeTimeoutMs = 5_000): tls.Server {
  const server = tls.createServer(
    { cert: files.cert, key: files.key, ca: files.ca, requestCert: files.ca !== undefined, rejectUnauthorized: files.ca !== undefined, minVersion: 'TLSv1.2', handshakeTimeout: handshakeTimeoutMs },
    onSecure,
  );
  // A peer that fails the TLS handshake never reaches onSecure: its socket is closed.
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  return server;
}
