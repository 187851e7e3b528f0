/**
 * A JWK Set served over real HTTP for the remote-key specs: the set can change
 * (rotation), the server can fail, hang or answer garbage, and it counts fetches.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';

export type JwksMode = 'ok' | 'error' | 'garbage' | 'hang';

export class JwksServer {
  fetches = 0;
  mode: JwksMode = 'ok';
  private keys: Record<string, unknown>[] = [];
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => {
      this.fetches += 1;
      if (this.mode === 'hang') return; // never answers: the client's timeout must end it
      if (this.mode === 'error') return void res.writeHead(500).end('upstream down');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(this.mode === 'garbage' ? '<html>not a key set</html>' : JSON.stringify({ keys: this.keys }));
    });
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

  /** Publishes exactly these public keys, each under its kid. */
  publish(entries: { kid: string; key: KeyObject; alg?: string }[]): void {
    this.keys = entries.map(({ kid, key, alg = 'RS256' }) => ({ ...(key.export({ format: 'jwk' }) as object), kid, alg, use: 'sig' }));
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
