/**
 * A JWK Set served over real HTTP for the remote-key specs: the set can change
 * (rotation), the server can fail, hang or answer garbage, and it counts fetches.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';

export type JwksMode = 'ok' | 'error' | 'garbage' | 'hang' | 'limited';

export class JwksServer {
  fetches = 0;
  /** When each fetch of the key set arrived (ms since the epoch). */
  fetchTimes: number[] = [];
  mode: JwksMode = 'ok';
  /** The Retry-After value sent in mode 'limited' (429). */
  retryAfter = '1';
  /** Send the set without Content-Length (chunked), as a streaming server would. */
  chunked = false;
  /** Discovery documents served beside the set, by path; each request counted in `metadataFetches`. */
  readonly documents = new Map<string, unknown>();
  metadataFetches = 0;
  private body = '{"keys":[]}';
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/.well-known/jwks.json') return this.document(path, res);
      this.fetches += 1;
      this.fetchTimes.push(Date.now());
      if (this.mode === 'hang') return; // never answers: the client's timeout must end it
      if (this.mode === 'error') return void res.writeHead(500).end('upstream down');
      if (this.mode === 'limited') return void res.writeHead(429, { 'retry-after': this.retryAfter }).end('slow down');
      const body = this.mode === 'garbage' ? '<html>not a key set</html>' : this.body;
      if (this.chunked) {
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let at = 0; at < body.length; at += 64 * 1024) res.write(body.slice(at, at + 64 * 1024));
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  }

  private document(path: string, res: import('node:http').ServerResponse): void {
    this.metadataFetches += 1;
    if (this.mode === 'hang') return;
    if (this.mode === 'error') return void res.writeHead(500).end('upstream down');
    const document = this.documents.get(path);
    if (document === undefined) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
  }

  /** The origin, e.g. `http://127.0.0.1:4000`. */
  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Publishes `count` copies of one JWK under distinct kids (a huge or over-long set). */
  publishMany(key: KeyObject, count: number, alg = 'ES256'): void {
    const jwk = JSON.stringify({ ...(key.export({ format: 'jwk' }) as object), alg, use: 'sig' }).slice(1, -1);
    const parts: string[] = [];
    for (let i = 0; i < count; i += 1) parts.push(`{"kid":"k${i}",${jwk}}`);
    this.body = `{"keys":[${parts.join(',')}]}`;
  }

  /** Bytes of the set as served. */
  get size(): number {
    return Buffer.byteLength(this.body);
  }

  /** Starts on a free loopback port. @example const jwks = await JwksServer.start() */
  static async start(): Promise<JwksServer> {
    const jwks = new JwksServer();
    await new Promise<void>((resolve) => jwks.server.listen(0, '127.0.0.1', resolve));
    return jwks;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  /** Publishes these JWKs exactly as given (weak, private or broken members included). */
  publishJwks(keys: readonly object[]): void {
    this.body = JSON.stringify({ keys });
  }

  /** Publishes exactly these public keys, each under its kid. */
  publish(entries: { kid: string; key: KeyObject; alg?: string }[]): void {
    this.body = JSON.stringify({ keys: entries.map(({ kid, key, alg = 'RS256' }) => ({ ...(key.export({ format: 'jwk' }) as object), kid, alg, use: 'sig' })) });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A loopback URL nothing listens on (a port just freed). */
export async function unreachableUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}/jwks.json`;
}
