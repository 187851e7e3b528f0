/**
 * The interop options of issue 14, resolved for `configure()`: split `aud`/`iss`
 * (`encodeAudience`/`decodeAudience`, `encodeIssuer`/`decodeIssuer`), and where
 * verification keys come from (`jwksUri`, `decodeKeyLoader`). Problems are pushed,
 * never thrown, so `configure()` lists every one at once.
 */
import { describe, parseDuration } from './duration';
import { buildKeyRing, isHmac, keyRingWithoutLocalKeys, KeyRing, SUPPORTED_ALGORITHMS } from './keys';
import type { Defaulted, JwtConfig, JwtOptions } from './options';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** `jwksUri`: an absolute https URL (http only to a loopback host: keys must not travel in clear). */
function jwksUriOption(value: unknown, problems: string[]): URL | undefined {
  let uri: URL | undefined;
  try {
    uri = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    uri = undefined;
  }
  const secureEnough = uri !== undefined && (uri.protocol === 'https:' || (uri.protocol === 'http:' && LOOPBACK_HOSTS.has(uri.hostname)));
  if (!secureEnough) problems.push(`jwksUri must be an absolute https:// URL (http:// only for localhost), got ${describe(value)}`);
  return secureEnough ? uri : undefined;
}

/** Where verification keys come from besides the ring: a JWK Set URL, or the app's loader (never both). */
function keySourceProblems(merged: JwtOptions, problems: string[]): void {
  const remote = merged.jwksUri !== undefined ? 'jwksUri' : merged.decodeKeyLoader !== undefined ? 'decodeKeyLoader' : undefined;
  if (merged.decodeKeyLoader !== undefined && typeof merged.decodeKeyLoader !== 'function') problems.push('decodeKeyLoader must be a function (header, payload) => key');
  if (merged.jwksUri !== undefined && merged.decodeKeyLoader !== undefined) problems.push('give jwksUri or decodeKeyLoader, not both');
  const remoteSource = merged.jwksUri !== undefined ? 'jwksUri' : 'issuerDiscovery';
  if (remote !== undefined && merged.verificationKeys !== undefined) problems.push(`verificationKeys cannot be used with ${remote}: it picks the verification keys`);
  const remoteSets = merged.jwksUri !== undefined || merged.issuerDiscovery === true || Array.isArray(merged.issuers);
  if (!remoteSets && merged.jwksCacheMaxAge !== undefined) problems.push('jwksCacheMaxAge needs jwksUri (or issuerDiscovery, or issuers)');
  if (merged.jwksUri === undefined && merged.issuerDiscovery !== true) return;
  const verifiedWith = Array.isArray(merged.algorithms) ? merged.algorithms : [merged.algorithm ?? 'HS256'];
  const hmac = verifiedWith.filter((algorithm) => isHmac(algorithm));
  if (hmac.length > 0) problems.push(`${remoteSource} needs asymmetric algorithms (RS/PS/ES/EdDSA): ${hmac.join(', ')} is never published in a JWK Set; e.g. algorithms: ['RS256']`);
  if (merged.secret !== undefined) problems.push(`${remoteSource} cannot be used with secret: HMAC secrets are never published in a JWK Set`);
  if (merged.publicKey !== undefined) problems.push(`${remoteSource} cannot be used with publicKey: the key set gives the verification keys`);
}

/** The resolved interop options: split aud/iss, remote keys, the key loader. */
export function interopOptions(merged: Defaulted & JwtOptions, problems: string[]): Pick<JwtConfig, 'audienceClaim' | 'issuer' | 'issuerClaim' | 'jwks' | 'decodeKeyLoader'> {
  if (merged.audience !== undefined && (merged.encodeAudience !== undefined || merged.decodeAudience !== undefined)) {
    problems.push('give audience (both ways), or encodeAudience / decodeAudience, not both');
  }
  if (merged.issuer !== undefined && (merged.encodeIssuer !== undefined || merged.decodeIssuer !== undefined)) {
    problems.push('give issuer (both ways), or encodeIssuer / decodeIssuer, not both');
  }
  keySourceProblems(merged, problems);
  let jwks: JwtConfig['jwks'];
  if (merged.jwksUri !== undefined) {
    const uri = jwksUriOption(merged.jwksUri, problems);
    const parsed = parseDuration(merged.jwksCacheMaxAge ?? '10m');
    const seconds = 'problem' in parsed ? false : parsed.seconds;
    if (seconds === false || seconds <= 0) problems.push(`jwksCacheMaxAge ${'problem' in parsed ? parsed.problem : 'must be a positive duration'}`);
    if (uri && seconds) jwks = { uri, cacheMaxAgeSeconds: seconds };
  }
  return {
    audienceClaim: merged.encodeAudience ?? merged.audience,
    issuer: merged.decodeIssuer ?? merged.issuer,
    issuerClaim: merged.encodeIssuer ?? merged.issuer,
    jwks,
    decodeKeyLoader: typeof merged.decodeKeyLoader === 'function' ? merged.decodeKeyLoader : undefined,
  };
}

/** The key ring; with remote or loaded keys and no key of its own, a ring with the allow-list only. */
export function buildKeys(merged: Defaulted & JwtOptions, problems: string[]): KeyRing | undefined {
  const ownKeys = merged.secret !== undefined || merged.privateKey !== undefined || merged.publicKey !== undefined;
  const otherKeys = merged.jwksUri !== undefined || merged.decodeKeyLoader !== undefined || merged.issuerDiscovery === true || Array.isArray(merged.issuers);
  if (!ownKeys && otherKeys) return keyRingWithoutLocalKeys(merged.algorithm);
  return buildKeyRing(merged, problems);
}

/** The problem with an `algorithm` that is not one name: the signing algorithm is one, the allow-list is `algorithms`. */
export function algorithmListProblem(algorithm: unknown): string | undefined {
  if (!Array.isArray(algorithm)) return undefined;
  return "algorithm is the one algorithm tokens are signed with, not a list: give the algorithms tokens may be verified with as algorithms: ['RS256', 'ES256'] (and algorithm: 'RS256' if this app signs tokens)";
}

/**
 * `algorithms`, the verification allow-list (RFC 8725 §3.1): default the algorithms of the
 * configured keys (`algorithm` and any `verificationKeys`). Given explicitly, it must hold
 * every algorithm a configured key verifies with, or tokens signed here would be refused.
 */
export function allowListOption(merged: JwtOptions, keys: KeyRing | undefined, problems: string[]): ReadonlySet<string> | undefined {
  const { algorithms } = merged;
  if (algorithms === undefined) return keys?.algorithms;
  const valid = Array.isArray(algorithms) && algorithms.length > 0 && algorithms.every((a) => typeof a === 'string' && SUPPORTED_ALGORITHMS.includes(a));
  if (!valid) {
    problems.push(`algorithms must be a non-empty list among ${SUPPORTED_ALGORITHMS.join(', ')} ('none' is never allowed), got ${describe(algorithms)}`);
    return undefined;
  }
  if (new Set(algorithms).size !== algorithms.length) problems.push('algorithms lists an algorithm twice');
  const hasLocalKeys = keys !== undefined && (keys.current?.key !== undefined || keys.byKid.size > 0);
  const left = hasLocalKeys ? [...keys.algorithms].filter((a) => !algorithms.includes(a as never)) : [];
  if (left.length > 0) problems.push(`algorithms leaves out ${left.join(', ')}, which the configured keys verify with (add it, or remove that key)`);
  return new Set(algorithms);
}
