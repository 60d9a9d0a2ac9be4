// One request to the management API over node:http or node:https. Against
// the gateway on this machine over HTTPS, the certificate is checked against
// the fingerprint the gateway published in api.json before a byte of the
// request (and so the token) is sent: that holds for a self-signed
// certificate, and for one whose names do not include 127.0.0.1. Anything
// else is verified the usual way (the system's CAs, NODE_EXTRA_CA_CERTS).
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface HttpReply {
  readonly status: number;
  readonly text: string;
}

export interface HttpRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
  /** The SHA-256 fingerprint ("AB:CD:…") the server's certificate must have; the chain and names are then not checked. */
  readonly certificateSha256?: string;
}

/** The server answered with another certificate than the one pinned. */
export class CertificateMismatchError extends Error {
  override readonly name = 'CertificateMismatchError';
}

export async function send(url: URL, request: HttpRequest): Promise<HttpReply> {
  const deadline = AbortSignal.timeout(request.timeoutMs);
  // Node sends a DELETE's body neither chunked nor with a length unless told its length.
  const length = request.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(request.body)) };
  const options = { method: request.method, headers: { ...request.headers, ...length }, signal: deadline };
  let req: ClientRequest;
  if (url.protocol === 'https:' && request.certificateSha256 !== undefined) {
    const socket = await pinnedConnection(url, request.certificateSha256, deadline);
    // HTTP over the TLS socket made here: node:https would open one of its own.
    req = httpRequest({
      ...options,
      host: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      createConnection: () => socket,
    });
  } else {
    req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options);
  }
  return new Promise<HttpReply>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.end(request.body);
  });
}

function pinnedConnection(url: URL, fingerprint: string, signal: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443), rejectUnauthorized: false });
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    const abort = () => fail(signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      signal.removeEventListener('abort', abort);
      socket.off('error', fail);
      const presented = socket.getPeerCertificate().fingerprint256;
      if (presented !== fingerprint) {
        fail(
          new CertificateMismatchError(
            `the server at ${url.host} presented the certificate ${presented}, not the gateway's ${fingerprint}`,
          ),
        );
        return;
      }
      resolve(socket);
    });
  });
}
