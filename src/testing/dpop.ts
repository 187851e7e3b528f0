/**
 * The testing kit's DPoP client half: proofs (RFC 9449 §4) signed with a Node `KeyObject` or a
 * WebCrypto `CryptoKeyPair`, the algorithm taken from the key.
 */
import { constants, createPublicKey, KeyObject, randomUUID, sign, webcrypto } from 'node:crypto';
import { accessTokenHash } from '../core/dpop/checks';
import { jwkThumbprint } from '../core/dpop/jwk';
import { JwtUsageError } from '../core/errors';

/** A proof key: a private `KeyObject`, both halves as `KeyObject`s, or a WebCrypto key pair. */
export type DpopKey = KeyObject | { privateKey: KeyObject; publicKey: KeyObject } | webcrypto.CryptoKeyPair;

/**
 * What a test DPoP proof is made for: the request it accompanies and the token it is bound to.
 */
export interface DpopProofOptions {
  /** The request's method, e.g. `'GET'`. */
  htm: string;
  /** The request's URI (its query and fragment are ignored by the server), e.g. `'https://api.example.com/me'`. */
  htu: string;
  /** The access (or refresh) token the proof goes with: adds `ath`. */
  token?: string;
  /** The server's nonce (from its `DPoP-Nonce` header). */
  nonce?: string;
  /** Seconds since the epoch; default now. */
  iat?: number;
  /** Default a random UUID. */
  jti?: string;
}

interface Signer {
  alg: string;
  jwk: Record<string, unknown>;
  sign(input: Buffer): Promise<Buffer>;
}

const EC_ALGS: Record<string, string> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512', prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };
const HASH_OF: Record<string, string> = { ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' };

/** Where a DER element's content starts and where the element ends (definite lengths only). */
function derElement(der: Buffer, at: number): { content: number; end: number } {
  const first = der[at + 1];
  if (first < 0x80) return { content: at + 2, end: at + 2 + first };
  let length = 0;
  for (let i = 0; i < (first & 0x7f); i++) length = length * 256 + der[at + 2 + i];
  const content = at + 2 + (first & 0x7f);
  return { content, end: content + length };
}

/** n and e of an RSA-PSS public key (Node exports no JWK for it): its SPKI's BIT STRING is a PKCS#1 RSAPublicKey. */
function rsaPssPublicJwk(publicKey: KeyObject): Record<string, unknown> {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const spki = derElement(der, 0);
  const algorithm = derElement(der, spki.content);
  const bitString = derElement(der, algorithm.end);
  const rsaPublicKey = der.subarray(bitString.content + 1, bitString.end); // after the unused-bits byte
  return createPublicKey({ key: rsaPublicKey, format: 'der', type: 'pkcs1' }).export({ format: 'jwk' }) as Record<string, unknown>;
}

function nodeSigner(privateKey: KeyObject, publicKey: KeyObject): Signer {
  const type = privateKey.asymmetricKeyType;
  if (type === 'ec') {
    const alg = EC_ALGS[privateKey.asymmetricKeyDetails?.namedCurve ?? ''];
    if (alg === undefined) throw new JwtUsageError('dpopProof needs an EC key on P-256, P-384 or P-521');
    return { alg, jwk: publicKey.export({ format: 'jwk' }), sign: async (input) => sign(HASH_OF[alg], input, { key: privateKey, dsaEncoding: 'ieee-p1363' }) };
  }
  if (type === 'ed25519' || type === 'ed448') return { alg: 'EdDSA', jwk: publicKey.export({ format: 'jwk' }), sign: async (input) => sign(null, input, privateKey) };
  if (type === 'rsa') return { alg: 'RS256', jwk: publicKey.export({ format: 'jwk' }), sign: async (input) => sign('sha256', input, privateKey) };
  if (type === 'rsa-pss') {
    const pss = { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    return { alg: 'PS256', jwk: rsaPssPublicJwk(publicKey), sign: async (input) => sign('sha256', input, pss) };
  }
  throw new JwtUsageError(`dpopProof cannot sign with a ${String(type)} key (use P-256, Ed25519, RSA or RSA-PSS)`);
}

const SUBTLE_ALGS: Record<string, { alg: string; params: webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams | webcrypto.RsaPssParams }> = {
  ECDSA: { alg: 'ES256', params: { name: 'ECDSA', hash: 'SHA-256' } },
  Ed25519: { alg: 'EdDSA', params: { name: 'Ed25519' } },
  'RSASSA-PKCS1-v1_5': { alg: 'RS256', params: { name: 'RSASSA-PKCS1-v1_5' } },
  'RSA-PSS': { alg: 'PS256', params: { name: 'RSA-PSS', saltLength: 32 } as webcrypto.RsaPssParams },
};

async function webCryptoSigner(pair: webcrypto.CryptoKeyPair): Promise<Signer> {
  const algorithm = pair.privateKey.algorithm as webcrypto.KeyAlgorithm & { namedCurve?: string };
  const known = SUBTLE_ALGS[algorithm.name];
  if (known === undefined || (algorithm.name === 'ECDSA' && algorithm.namedCurve !== 'P-256')) {
    throw new JwtUsageError(`dpopProof cannot sign with a WebCrypto ${algorithm.name} key (use ECDSA P-256, Ed25519, RSASSA-PKCS1-v1_5 or RSA-PSS)`);
  }
  const { kty, crv, x, y, n, e } = await webcrypto.subtle.exportKey('jwk', pair.publicKey);
  const jwk = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined));
  const subtleSign = async (input: Buffer) => Buffer.from(await webcrypto.subtle.sign(known.params, pair.privateKey, input));
  return { alg: known.alg, jwk, sign: subtleSign };
}

function signerOf(key: DpopKey): Signer | Promise<Signer> {
  if (key instanceof KeyObject) {
    if (key.type !== 'private') throw new JwtUsageError('dpopProof needs the private key (a private KeyObject, or { privateKey, publicKey })');
    return nodeSigner(key, createPublicKey(key));
  }
  if (key.privateKey instanceof KeyObject) return nodeSigner(key.privateKey, key.publicKey as KeyObject);
  return webCryptoSigner(key as webcrypto.CryptoKeyPair);
}

const segment = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A DPoP proof (compact JWS, `typ: dpop+jwt`, the public key in `jwk`) for one request, as a
 * client sends it in the `DPoP` header. The algorithm comes from the key: P-256 → ES256,
 * Ed25519 → EdDSA, RSA → RS256, RSA-PSS → PS256.
 *
 * @example
 * const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
 * const proof = await dpopProof(privateKey, { htm: 'GET', htu: 'http://127.0.0.1/me', token });
 * await request(server).get('/me').set('Authorization', `DPoP ${token}`).set('DPoP', proof);
 */
export async function dpopProof(key: DpopKey, options: DpopProofOptions): Promise<string> {
  const signer = await signerOf(key);
  const claims: Record<string, unknown> = { jti: options.jti ?? randomUUID(), htm: options.htm, htu: options.htu, iat: options.iat ?? Math.floor(Date.now() / 1000) };
  if (options.token !== undefined) claims.ath = accessTokenHash(options.token);
  if (options.nonce !== undefined) claims.nonce = options.nonce;
  const input = `${segment({ typ: 'dpop+jwt', alg: signer.alg, jwk: signer.jwk })}.${segment(claims)}`;
  return `${input}.${(await signer.sign(Buffer.from(input))).toString('base64url')}`;
}

/**
 * The RFC 7638 thumbprint of a proof key (what `verifyDpopProof(ctx)` resolves, and what
 * `fakeAccessToken(id, { dpopJkt })` binds to).
 *
 * @example const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(privateKey) })
 */
export async function dpopThumbprint(key: DpopKey): Promise<string> {
  return jwkThumbprint((await signerOf(key)).jwk);
}
