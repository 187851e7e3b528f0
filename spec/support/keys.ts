/**
 * Test keys, generated once per process (RSA 2048 takes a while) and shared by
 * the key specs. Each pair is offered as PEM strings and as KeyObjects.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';

export interface TestKeyPair {
  privatePem: string;
  publicPem: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

type KeyName = 'rsaA' | 'rsaB' | 'rsa1024' | 'p256' | 'p256b' | 'p384' | 'p521' | 'ed25519' | 'ed25519b' | 'ed448';

const cache = new Map<KeyName, TestKeyPair>();

function generate(name: KeyName): TestKeyPair {
  const curves: Partial<Record<KeyName, string>> = { p256: 'P-256', p256b: 'P-256', p384: 'P-384', p521: 'P-521' };
  const curve = curves[name];
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const edwards = name === 'ed448' ? 'ed448' : name.startsWith('ed25519') ? 'ed25519' : undefined;
  const pair = edwards
    ? generateKeyPairSync(edwards as 'ed25519', { publicKeyEncoding, privateKeyEncoding })
    : curve
    ? generateKeyPairSync('ec', { namedCurve: curve, publicKeyEncoding, privateKeyEncoding })
    : generateKeyPairSync('rsa', { modulusLength: name === 'rsa1024' ? 1024 : 2048, publicKeyEncoding, privateKeyEncoding });
  return {
    privatePem: pair.privateKey,
    publicPem: pair.publicKey,
    privateKey: createPrivateKey(pair.privateKey),
    publicKey: createPublicKey(pair.publicKey),
  };
}

/** The named key pair, generated on first use. @example testKey('rsaA').privatePem */
export function testKey(name: KeyName): TestKeyPair {
  let pair = cache.get(name);
  if (!pair) {
    pair = generate(name);
    cache.set(name, pair);
  }
  return pair;
}

/** The key pair an asymmetric algorithm is tested with (RS/PS share one RSA key). */
export function keyFor(algorithm: string): TestKeyPair {
  if (algorithm === 'EdDSA') return testKey('ed25519');
  if (algorithm.startsWith('ES')) return testKey(({ ES256: 'p256', ES384: 'p384', ES512: 'p521' } as const)[algorithm as 'ES256']);
  return testKey('rsaA');
}

/** A 64-byte HMAC secret: long enough for HS512 (RFC 7518 §3.2). */
export const TEST_SECRET = 'a-test-secret-that-is-long-enough-for-hs512-use!-at-least-64-byt';
