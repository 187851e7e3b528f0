/**
 * RFC 9449 §4.3, one small function per numbered check. Each throws the refusal of its
 * check (a `DpopError` whose `detail` names it) or returns what later checks need; none
 * knows Koa: the door hands in the method, the URI and the header. `verifier.ts` runs them
 * in the RFC's order, except that the payload is parsed only once the signature is good.
 */
import * as crypto from 'node:crypto';
import { createHash, KeyObject, verify as cryptoVerify } from 'node:crypto';

/** `crypto.hash` (Node >= 20.12): a third of createHash's cost for one small input. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash;
import { decodeJsonSegment, isSignatureValid } from '../jws';
import { invalidProof } from './errors';
import { htuMatches } from './htu';
import { importProofKey, jwkProblem, ProofKey } from './jwk';
import type { DpopConfig } from './options';

/** Proofs longer than this are refused before any parsing (an RSA-4096 proof is about 1.6 kB). */
export const MAX_PROOF_LENGTH = 8192;
/** A jti longer than this is refused (it is stored in the replay cache). */
export const MAX_JTI_LENGTH = 256;

/** A proof split into its parts (step 2); the payload is still encoded. */
export interface ProofParts {
  headerSegment: string;
  payloadSegment: string;
  signingInput: string;
  signature: Buffer;
}

/** What the header decides, the same for every proof with that header (cached by its segment). */
export interface ProofHeader extends ProofKey {
  alg: string;
}

/** The claims of §4.2, typed. */
export interface ProofClaims {
  jti: string;
  htm: string;
  htu: string;
  iat: number;
  ath?: unknown;
  nonce?: unknown;
}

/** Step 1: there is not more than one DPoP HTTP request header field (Node joins repeated ones with ', '). */
export function singleDpopHeader(value: string | string[] | undefined, config: DpopConfig): string {
  if (value === undefined) throw invalidProof(config.algorithms, 'the request has no DPoP header');
  const proof = Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
  if (proof === undefined || proof.includes(',')) throw invalidProof(config.algorithms, 'more than one DPoP header');
  return proof;
}

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/;

/**
 * Step 2: the DPoP header field value is a single and well-formed JWT: three segments, bounded.
 * The header and payload segments are checked as base64url JSON when they are decoded (the
 * header once per distinct header); the signature here (an empty one, alg none, is left for step 5).
 */
export function wellFormedJwt(proof: string, config: DpopConfig): ProofParts {
  if (proof.length > MAX_PROOF_LENGTH) throw invalidProof(config.algorithms, 'the proof is too long');
  const first = proof.indexOf('.');
  const second = first < 0 ? -1 : proof.indexOf('.', first + 1);
  const signature = second < 0 ? '' : proof.slice(second + 1);
  if (second < 0 || signature.includes('.') || !BASE64URL_SEGMENT.test(signature) || signature.length % 4 === 1) {
    throw invalidProof(config.algorithms, 'the proof is not a compact JWS');
  }
  return {
    headerSegment: proof.slice(0, first),
    payloadSegment: proof.slice(first + 1, second),
    signingInput: proof.slice(0, second),
    signature: Buffer.from(signature, 'base64url'),
  };
}

/** Steps 2–3 for the header: a JSON object with `typ`, `alg` and `jwk`. */
function headerParameters(segment: string, config: DpopConfig): Record<string, unknown> {
  let header: Record<string, unknown>;
  try {
    header = decodeJsonSegment(segment, 'header');
  } catch {
    throw invalidProof(config.algorithms, 'the proof header is not a JSON object');
  }
  for (const name of ['typ', 'alg', 'jwk']) {
    if (header[name] === undefined) throw invalidProof(config.algorithms, `the proof header has no ${name}`);
  }
  if (header.crit !== undefined) throw invalidProof(config.algorithms, 'the proof header has crit');
  return header;
}

/** Step 4: the typ JOSE header parameter has the value dpop+jwt (a media type: any case, `application/` optional). */
export function typIsDpopJwt(typ: unknown, config: DpopConfig): void {
  const value = typeof typ === 'string' ? typ.toLowerCase() : undefined;
  if (value !== 'dpop+jwt' && value !== 'application/dpop+jwt') throw invalidProof(config.algorithms, 'the proof typ is not dpop+jwt');
}

/** Step 5: alg is an asymmetric signature algorithm, not none, and allowed here (`dpop.algorithms`). */
export function algIsAllowed(alg: unknown, config: DpopConfig): string {
  if (typeof alg !== 'string' || !config.algorithmSet.has(alg)) throw invalidProof(config.algorithms, 'the proof alg is not allowed');
  return alg;
}

/** Step 7 (before the key is used for step 6): the jwk holds no private key, and is a key of the kind alg needs. */
export function jwkIsPublic(jwk: unknown, alg: string, config: DpopConfig): ProofKey {
  const problem = jwkProblem(jwk, alg);
  if (problem !== undefined) throw invalidProof(config.algorithms, problem);
  const key = importProofKey(jwk as Record<string, unknown>, alg);
  if (key === undefined) throw invalidProof(config.algorithms, 'the jwk is not a valid public key');
  return key;
}

/** Steps 3, 4, 5 and 7 on the header: what every proof with this header shares. */
export function proofHeader(segment: string, config: DpopConfig): ProofHeader {
  const header = headerParameters(segment, config);
  typIsDpopJwt(header.typ, config);
  const alg = algIsAllowed(header.alg, config);
  return { alg, ...jwkIsPublic(header.jwk, alg, config) };
}

function isEdDsaValid(key: KeyObject, signingInput: string, signature: Buffer): boolean {
  try {
    return cryptoVerify(null, Buffer.from(signingInput), key, signature);
  } catch {
    return false;
  }
}

/** Step 6: the JWT signature verifies with the public key in the jwk header. */
export function signatureVerifies(header: ProofHeader, parts: ProofParts, config: DpopConfig): void {
  const valid = header.alg === 'EdDSA'
    ? isEdDsaValid(header.key, parts.signingInput, parts.signature)
    : isSignatureValid(header.alg, header.key, parts.signingInput, parts.signature);
  if (!valid) throw invalidProof(config.algorithms, 'the proof signature does not verify with its jwk');
}

/** Step 3 for the payload: jti, htm, htu and iat are there and of their types. */
export function requiredClaims(payloadSegment: string, config: DpopConfig): ProofClaims {
  let claims: Record<string, unknown>;
  try {
    claims = decodeJsonSegment(payloadSegment, 'payload');
  } catch {
    throw invalidProof(config.algorithms, 'the proof payload is not a JSON object');
  }
  const { jti, htm, htu, iat } = claims;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw invalidProof(config.algorithms, 'the proof has no valid jti');
  if (typeof htm !== 'string') throw invalidProof(config.algorithms, 'the proof has no htm');
  if (typeof htu !== 'string') throw invalidProof(config.algorithms, 'the proof has no htu');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalidProof(config.algorithms, 'the proof has no numeric iat');
  return claims as unknown as ProofClaims;
}

/** Step 8: htm matches the request's method (case-sensitive, as methods are). */
export function htmMatches(htm: string, method: string, config: DpopConfig): void {
  if (htm !== method) throw invalidProof(config.algorithms, 'htm does not match the request method');
}

/** Step 9: htu matches the request's URI, both normalised, the proof's query and fragment ignored. */
export function htuMatchesRequest(htu: string, requestUri: string, config: DpopConfig): void {
  if (!htuMatches(htu, requestUri)) throw invalidProof(config.algorithms, 'htu does not match the request URI');
}

/** Step 11: `now − proofMaxAge − leeway ≤ iat ≤ now + leeway` (seconds). */
export function iatWithinWindow(iat: number, nowSeconds: number, leeway: number, config: DpopConfig): void {
  if (iat > nowSeconds + leeway) throw invalidProof(config.algorithms, 'the proof iat is in the future');
  if (iat < nowSeconds - config.proofMaxAgeSeconds - leeway) throw invalidProof(config.algorithms, 'the proof is too old (iat)');
}

/**
 * base64url(SHA-256(token)), the `ath` of a proof sent with `token`.
 *
 * @example accessTokenHash(token) // 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo'
 */
export function accessTokenHash(token: string): string {
  return oneShotHash ? oneShotHash('sha256', token, 'base64url') : createHash('sha256').update(token).digest('base64url');
}

/** Step 12, first half: with an access token, ath is the hash of that token. */
export function athMatches(ath: unknown, token: string, config: DpopConfig): void {
  if (typeof ath !== 'string' || ath !== accessTokenHash(token)) throw invalidProof(config.algorithms, 'ath does not match the token');
}

/** Step 12, second half: the key the token is bound to (cnf.jkt) is the proof's key. */
export function keyMatchesBinding(thumbprint: string, boundTo: string, config: DpopConfig): void {
  if (thumbprint !== boundTo) throw invalidProof(config.algorithms, 'the proof key is not the key the token is bound to');
}
