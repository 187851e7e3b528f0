/**
 * A JWK Set server in its own process, for event-loop measurements: building and writing a
 * set of many megabytes must not stall the process under test, or the lag measured would
 * be the server's. It serves `count` copies of one JWK under distinct kids.
 */
import { ChildProcess, spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';

const SERVER = `
const http = require('node:http');
const { JWK, COUNT, CHUNKED, SHAPE } = process.env;
const parts = [];
for (let i = 0; i < Number(COUNT); i += 1) parts.push('{"kid":"k' + i + '",' + JWK.slice(1));
const key = '{"kid":"k0",' + JWK.slice(1);
const names = (count, from) => '{' + Array.from({ length: count }, (_, i) => '"n' + (from + i).toString(36) + '":1').join(',') + '}';
const shapes = {
  keys: () => '{"keys":[' + parts.join(',') + ']}',
  deep: () => '{"keys":' + '['.repeat(500000) + ']'.repeat(500000) + '}',
  deepAfterKeys: () => '{"keys":[' + Array(1000).fill('{}').join(',') + ',' + '['.repeat(495000) + ']'.repeat(495000) + ']}',
  wideMember: () => '{"keys":[' + key + ',' + names(60000, 0) + ']}',
  distinctNames: () => '{"keys":[' + key + ',' + Array.from({ length: 19 }, (_, i) => names(1000, i * 1000 + Math.floor(Math.random() * 1e9))).join(',') + ']}',
};
const body = Buffer.from(shapes[SHAPE || 'keys']());
const server = http.createServer((req, res) => {
  if (CHUNKED === '1') {
    res.writeHead(200, { 'content-type': 'application/json' });
    let at = 0;
    const more = () => { while (at < body.length) { const ok = res.write(body.subarray(at, at += 65536)); if (!ok) return res.once('drain', more); } res.end(); };
    res.on('error', () => {});
    return more();
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.on('error', () => {});
  res.end(body);
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port, bytes: body.length })));
`;

/**
 * What the server sends: `count` copies of the key (`keys`), or a body shaped to make
 * `JSON.parse` slow within 1 MiB: 500 000 nested arrays (`deep`), 1 000 empty keys then
 * nesting (`deepAfterKeys`), the key beside a member of 60 000 properties (`wideMember`),
 * the key beside 19 000 distinct member names, just within the shape bounds (`distinctNames`).
 */
export type RemoteShape = 'keys' | 'deep' | 'deepAfterKeys' | 'wideMember' | 'distinctNames';

export interface RemoteJwks {
  url: string;
  bytes: number;
  stop(): void;
}

/** Starts the server process. @example const jwks = await startRemoteJwks(key, 100_000, false) */
export function startRemoteJwks(key: KeyObject, count: number, chunked: boolean, alg = 'ES256', shape: RemoteShape = 'keys'): Promise<RemoteJwks> {
  const jwk = JSON.stringify({ ...(key.export({ format: 'jwk' }) as object), alg, use: 'sig' });
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER], {
    env: { JWK: jwk, COUNT: String(count), CHUNKED: chunked ? '1' : '0', SHAPE: shape }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (line: Buffer) => {
      const { port, bytes } = JSON.parse(line.toString()) as { port: number; bytes: number };
      resolve({ url: `http://127.0.0.1:${port}/.well-known/jwks.json`, bytes, stop: () => child.kill() });
    });
  });
}
