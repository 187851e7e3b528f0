/**
 * Micro measurement of the DPoP step (issue 24/27): the cost the guard adds for a DPoP-bound
 * ES256 proof (confirmSender: header cache hit, one ES256 verify, payload parse, htm/htu/iat,
 * ath SHA-256, the in-memory replay record), against one crypto.verify of an ES256 signature.
 * Proofs are made before timing (a unique jti each). Run: npx ts-node --transpile-only bench/dpop-micro.ts
 */
import 'reflect-metadata';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { JwtManager } from '../src';
import { confirmSender } from '../src/core/dpop/binding';
import { dpopProof, dpopThumbprint, fakeAccessToken } from '../src/testing';

const N = Number(process.env.N ?? 8000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);

function perCall(fn: (i: number) => unknown, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / n / 1000;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  JwtManager.configure({ secret: 'a-bench-secret-that-is-long-enough-for-hs256!' });
  const config = JwtManager.instance.config;
  const uri = 'https://api.example.com/me';
  const verifyRatio: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // a key per round: one key may have at most 10 000 live proofs in the replay cache
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(privateKey) });
    const payload = await JwtManager.instance.decodeToken(token);
    const data = Buffer.from('x'.repeat(420)); // about a proof's signing input
    const signature = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const proofs = await Promise.all(Array.from({ length: N }, () => dpopProof(privateKey, { htm: 'GET', htu: uri, token })));
    const dpop = perCall((i) => confirmSender(config, token, payload, { dpopScheme: true, request: { method: 'GET', uri, dpop: proofs[i] } }), N);
    const es256 = perCall(() => verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature), N);
    verifyRatio.push(dpop / es256);
    console.log(`round ${round}: DPoP step ${dpop.toFixed(1)} us, one ES256 crypto.verify ${es256.toFixed(1)} us, ratio ${(dpop / es256).toFixed(3)}`);
  }
  console.log(`median ratio (DPoP step / one ES256 verify) over ${ROUNDS} rounds of ${N}: ${median(verifyRatio).toFixed(3)} (node ${process.version})`);
}

void main();
