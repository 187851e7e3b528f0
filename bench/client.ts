/**
 * A minimal HTTP/1.1 keep-alive client on one socket that sends requests strictly
 * one after another: every request finds the server idle, so the server does the
 * same work for each, which makes instruction counts repeatable.
 */
import { createPrivateKey, KeyObject } from 'node:crypto';
import { connect, Socket } from 'node:net';
import { dpopProof } from '../src/testing';

export interface SequentialClient {
  /** Sends `count` GET requests one after another; rejects on any status but 200. */
  send(count: number): Promise<void>;
  close(): void;
}

/** The length of the first complete response in `buffer`, or 0 when it is not complete yet. */
function completeResponseLength(buffer: Buffer): number {
  const headerEnd = buffer.indexOf('\r\n\r\n');
  if (headerEnd < 0) return 0;
  const head = buffer.subarray(0, headerEnd).toString('latin1');
  if (!head.startsWith('HTTP/1.1 200')) throw new Error(`unexpected response: ${head.split('\r\n')[0]}`);
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (!length) throw new Error('the bench client needs a Content-Length');
  const total = headerEnd + 4 + Number(length[1]);
  return buffer.length >= total ? total : 0;
}

const PROOF_BATCH = 50;

/** Makes `n` DPoP proofs for GET `htu` at once (each with its own jti and the current time). */
function proofMaker(key: KeyObject, htu: string, token: string): (n: number) => Promise<string[]> {
  return (n) => Promise.all(Array.from({ length: n }, () => dpopProof(key, { htm: 'GET', htu, token })));
}

/**
 * Connects to `127.0.0.1:port` and returns a client for `path` with a bearer `token` (with
 * `proofKeyPem`, a DPoP-bound token sent with a new proof by that key on every request).
 *
 * @example const client = await sequentialClient(port, '/protected', token); await client.send(1000);
 */
export function sequentialClient(port: number, path: string, token: string, proofKeyPem?: string): Promise<SequentialClient> {
  const fixed = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nConnection: keep-alive\r\n\r\n`);
  // DPoP: a fresh proof per request (the replay cache refuses a second use), made ahead in batches
  const proofs = proofKeyPem === undefined ? undefined : proofMaker(createPrivateKey(proofKeyPem), `http://127.0.0.1:${port}${path}`, token);
  const dpopRequest = (proof: string) => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: DPoP ${token}\r\nDPoP: ${proof}\r\nConnection: keep-alive\r\n\r\n`);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1', () => resolve({ send, close: () => socket.destroy() }));
    socket.setNoDelay(true);
    socket.once('error', reject);
    let pending: Buffer = Buffer.alloc(0);
    let onResponse: ((error?: Error) => void) | undefined;
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      try {
        const length = completeResponseLength(pending);
        if (length === 0) return;
        pending = pending.subarray(length);
        onResponse?.();
      } catch (error) {
        onResponse?.(error as Error);
      }
    });
    function once(request: Buffer): Promise<void> {
      return new Promise((done, fail) => {
        onResponse = (error) => (error ? fail(error) : done());
        socket.write(request);
      });
    }
    async function send(count: number): Promise<void> {
      if (proofs === undefined) {
        for (let index = 0; index < count; index += 1) await once(fixed);
        return;
      }
      for (let sent = 0; sent < count;) {
        const batch = await proofs(Math.min(PROOF_BATCH, count - sent));
        for (const proof of batch) await once(dpopRequest(proof));
        sent += batch.length;
      }
    }
  });
}
