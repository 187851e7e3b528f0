/**
 * The pieces the micro benchmarks compare, each runnable alone in its own process for an
 * instruction count (bench/micro-callgrind.ts): `node micro-pieces.js <piece>` sets the piece up,
 * warms it up, prints `WARM`, and on each line `go <n>` from stdin runs it n times, then prints
 * `DONE`. The parent counts what it ran between the two under callgrind.
 *   floor      HS256 floor: HMAC + base64url + JSON.parse (micro.ts's floor)
 *   miss       our verify on a cache miss (verifiedTokenCacheSize 0)
 *   hit        our verify on a cache hit
 *   es256 / eddsa / rs256   one crypto.verify of a proof-sized signing input (the DPoP floor)
 *   loop       the harness's own loop around nothing (subtracted from every piece)
 */
import 'reflect-metadata';
import { createHmac, createSecretKey, generateKeyPairSync, KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import { createInterface } from 'node:readline';
import jwt from 'jsonwebtoken';
import { JwtManager } from '../src';
import { BENCH_SECRET } from './secret';

export const MICRO_TOKEN_PAYLOAD = { sub: 'bench-user', type: 'access', fresh: false, jti: 'a1b2c3', iat: 1, nbf: 1, exp: 4102444800 };

/** The least any HS256 verify must do. */
export function hs256Floor(token: string, key: KeyObject): unknown {
  const dot = token.lastIndexOf('.');
  const expected = createHmac('sha256', key).update(token.slice(0, dot)).digest();
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  if (!timingSafeEqual(expected, given)) throw new Error('bad');
  return JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString());
}

/** One signature check as a DPoP proof needs it: about a proof's signing input (~420 bytes). */
function verifier(kind: 'es256' | 'eddsa' | 'rs256'): () => unknown {
  const data = Buffer.from('x'.repeat(420));
  if (kind === 'es256') {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signature = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return () => verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  }
  if (kind === 'eddsa') {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signature = sign(null, data, privateKey);
    return () => verify(null, data, publicKey, signature);
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signature = sign('sha256', data, privateKey);
  return () => verify('sha256', data, publicKey, signature);
}

function piece(name: string): () => unknown {
  const key = createSecretKey(Buffer.from(BENCH_SECRET));
  const token = jwt.sign(MICRO_TOKEN_PAYLOAD, key, { algorithm: 'HS256' });
  switch (name) {
    case 'floor':
      return () => hs256Floor(token, key);
    case 'miss': {
      const manager = JwtManager.configure({ secret: BENCH_SECRET, verifiedTokenCacheSize: 0 });
      return () => manager.verifier.verify(token);
    }
    case 'hit': {
      const manager = JwtManager.configure({ secret: BENCH_SECRET });
      return () => manager.verifier.verify(token);
    }
    case 'es256':
    case 'eddsa':
    case 'rs256':
      return verifier(name);
    case 'loop':
      return () => undefined;
    default:
      throw new Error(`unknown piece ${name}`);
  }
}

if (require.main === module) {
  const run = piece(process.argv[2]);
  const warmup = Number(process.argv[3] ?? 20000);
  let sink: unknown;
  for (let i = 0; i < warmup; i++) sink = run();
  process.stdout.write('WARM\n');
  createInterface({ input: process.stdin }).on('line', (line) => {
    const n = Number(line.split(' ')[1]);
    for (let i = 0; i < n; i++) sink = run();
    process.stdout.write(sink === Symbol.for('never') ? '' : 'DONE\n');
  });
}
