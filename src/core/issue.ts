/**
 * Token creation: the payload `{ sub, type, fresh, jti, iat, nbf, exp, ...claims }`,
 * signed with the ring's signing key, and (allowlist mode) recorded in the revocation store
 * when that token type is checked. Resolves only once the record is stored. With revocation on,
 * a checked token also carries its identity's cut-off generation (`gen`) and, with refresh
 * rotation, its family (`fam`): see sessions.ts.
 */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { nowSeconds, reservedClaims, TokenType } from './claims';
import { needsCsrfClaim } from './csrf';
import { parseDuration, describe } from './duration';
import { JwtUsageError } from './errors';
import { isPlainObject, signEdDsa } from './jws';
import type { JwtConfig } from './options';
import type { Loaders, TokenPayload } from './responses';
import { withoutCsrf } from './payload';
import { cappedExpiry, CUTOFF_CLAIM, FAMILY_CLAIM, isCheckedType, SESSION_START_CLAIM } from './sessions';
import { callStore, isCutoffAnswer, storeFailure } from './store-call';
import { continuedSession } from './refresh-scope';
import type { StoreEntry } from '../store/token-store';

/**
 * Options of one new access token: freshness, lifetime, extra claims and header fields.
 */
export interface AccessTokenOptions {
  /**
   * Marks the token fresh (just logged in with a password). Default false. A duration
   * (seconds or `'15m'`) makes it fresh until then: `fresh` is written as that NumericDate.
   */
  fresh?: boolean | number | string;
  /** Seconds (negative gives an already expired token), `'15m'`-style, or `false` (never, if so configured). */
  expiresIn?: number | string | false;
  /** Custom claims, at the top level of the payload. */
  claims?: Record<string, unknown>;
  /**
   * Adds the `csrf` claim the cookie double submit checks. Default: when `tokenLocation`
   * includes 'cookies'. Set it for tokens you put in cookies for routes whose own
   * `locations` read cookies.
   */
  csrf?: boolean;
  /** Extra JOSE header fields (never `alg`, `typ`, `kid`, `crit`, `jku`, `x5u`, `jwk`, `x5c`). */
  headers?: Record<string, unknown>;
  /**
   * Binds the token to a DPoP key (RFC 9449 §6): its RFC 7638 thumbprint, as `verifyDpopProof(ctx)`
   * resolves it. Written as `cnf: { jkt }`; the token is then accepted only with a proof by that key.
   */
  dpopJkt?: string;
}

/**
 * Options of one new refresh token: those of an access token without `fresh`.
 */
export type RefreshTokenOptions = Omit<AccessTokenOptions, 'fresh'>;

function lifetime(config: JwtConfig, type: TokenType, expiresIn: unknown): number | false {
  const configured = type === 'access' ? config.accessTokenExpires : config.refreshTokenExpires;
  if (expiresIn === undefined) return configured;
  const parsed = parseDuration(expiresIn);
  if ('problem' in parsed) throw new JwtUsageError(`expiresIn ${parsed.problem}`);
  if (parsed.seconds === false && configured !== false) {
    throw new JwtUsageError(`expiresIn: false is only allowed when ${type}TokenExpires is configured as false`);
  }
  return parsed.seconds;
}

/** The `fresh` claim: a boolean, or now + a duration (timed freshness, as fje 4 writes it). */
function freshClaim(fresh: unknown, now: number): boolean | number {
  if (fresh === undefined || typeof fresh === 'boolean') return fresh === true;
  const parsed = parseDuration(fresh);
  if ('problem' in parsed || parsed.seconds === false) {
    throw new JwtUsageError(`fresh must be true, false, or a duration like 900 or '15m' (got ${describe(fresh)})`);
  }
  return now + parsed.seconds;
}

function checkCustomClaims(claims: unknown, reserved: ReadonlySet<string>, source: string): Record<string, unknown> {
  if (claims === undefined || claims === null) return {};
  if (!isPlainObject(claims)) throw new JwtUsageError(`${source} must be a plain object, got ${describe(claims)}`);
  for (const name of Object.keys(claims)) {
    if (reserved.has(name)) throw new JwtUsageError(`${source}: the claim '${name}' is reserved and cannot be overwritten`);
  }
  try {
    JSON.stringify(claims);
  } catch (error) {
    throw new JwtUsageError(`${source} must be JSON-serializable: ${(error as Error).message}`);
  }
  return claims;
}

/** Header fields the library decides (or that would make verifiers fetch or trust keys): never user-set. */
const RESERVED_HEADERS = new Set(['alg', 'typ', 'kid', 'crit', 'jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256', 'b64', '__proto__']);

function checkHeaders(headers: unknown, source: string): Record<string, unknown> {
  if (headers === undefined || headers === null) return {};
  if (!isPlainObject(headers)) throw new JwtUsageError(`${source} must be a plain object, got ${describe(headers)}`);
  for (const name of Object.keys(headers)) {
    if (RESERVED_HEADERS.has(name)) throw new JwtUsageError(`${source}: the header '${name}' is reserved and cannot be set`);
  }
  return headers;
}

const JKT = /^[A-Za-z0-9_-]{43}$/;

/** A SHA-256 JWK thumbprint (43 base64url characters), as `verifyDpopProof()` resolves it. */
function checkedJkt(jkt: unknown): string {
  if (typeof jkt !== 'string' || !JKT.test(jkt)) throw new JwtUsageError(`dpopJkt must be a JWK SHA-256 thumbprint (43 base64url characters) as verifyDpopProof(ctx) resolves it, got ${describe(jkt)}`);
  return jkt;
}

/** A non-empty string; with `verifySub: false` a finite number too (fje apps with integer user ids). */
function isIdentity(value: unknown, verifySub: boolean): value is string | number {
  return (typeof value === 'string' && value !== '') || (!verifySub && typeof value === 'number' && Number.isFinite(value));
}

/**
 * The identity to write, and what the claims and headers loaders receive: the object given
 * when `userIdentityLoader` mapped it (fje's `additional_claims_loader(user)`), else the
 * identity. An identity given as such (a string; a number with `verifySub: false`) is never
 * passed to `userIdentityLoader`, so rotation and string logins keep working with one set.
 */
async function resolveIdentity(given: unknown, loaders: Partial<Loaders>, verifySub: boolean): Promise<{ identity: string | number; subject: unknown }> {
  if (isIdentity(given, verifySub)) return { identity: given, subject: given };
  const resolved = loaders.userIdentityLoader ? await loaders.userIdentityLoader(given) : given;
  if (!isIdentity(resolved, verifySub)) {
    const fix = loaders.userIdentityLoader ? 'userIdentityLoader must return one' : 'set userIdentityLoader to map a user object to one';
    throw new JwtUsageError(`the identity must be a non-empty string (got ${describe(resolved)}); ${fix}`);
  }
  return { identity: resolved, subject: given };
}

/**
 * Creates, signs and (when checked) stores a token.
 *
 * `session` (internal, from `rotateRefreshToken`) puts the token in an existing refresh-token family.
 *
 * @example await issueToken(config, loaders, 'access', 'alice', { fresh: true })
 */
export async function issueToken(
  config: JwtConfig,
  loaders: Partial<Loaders>,
  type: TokenType,
  identityOrUser: unknown,
  options: AccessTokenOptions = {},
  session?: InheritedSession,
): Promise<string> {
  const { token, payload, identity } = await signToken(config, loaders, type, identityOrUser, options, session);
  await recordToken(config, type, identity, payload);
  return token;
}

/**
 * An access and a refresh token for one identity (a login): both signed first, then their
 * records (when checked) stored together, one round trip on a Redis server where two
 * `issueToken` calls take two. Neither is handed out unless both are stored.
 *
 * @example const { accessToken, refreshToken } = await issueTokenPair(config, loaders, 'alice', { access: { fresh: true } })
 */
export async function issueTokenPair(
  config: JwtConfig, loaders: Partial<Loaders>, identityOrUser: unknown, options: TokenPairOptions = {},
): Promise<{ accessToken: string; refreshToken: string }> {
  const access = await signToken(config, loaders, 'access', identityOrUser, options.access ?? {});
  // the cut-off the access token carries (read once), for the refresh token of the same identity
  const generation = access.payload[CUTOFF_CLAIM];
  const known = typeof generation === 'number' ? { identity: access.identity, generation } : undefined;
  const refresh = await signToken(config, loaders, 'refresh', identityOrUser, { ...options.refresh, fresh: undefined }, undefined, known);
  await storeRecords(config, [
    recordEntryOf(config, 'access', access.identity, access.payload), recordEntryOf(config, 'refresh', refresh.identity, refresh.payload),
  ]);
  return { accessToken: access.token, refreshToken: refresh.token };
}

/** Options of `createTokenPair()`: the access token's and the refresh token's. */
export interface TokenPairOptions {
  access?: AccessTokenOptions;
  refresh?: RefreshTokenOptions;
}

/** A cut-off generation already read for `identity` (a pair's second token): not read again. */
interface KnownCutoff {
  identity: string;
  generation: number;
}

/** What a rotated token inherits from the token it replaces (see sessions.ts). */
export interface InheritedSession {
  family: string;
  /** The presented token's cut-off generation: it passed the check, so it is the current one (no store read). */
  generation: number | undefined;
  /** Unix seconds: when the family's first refresh token was issued (`maxSessionLifetime` counts from it). */
  startedAt: number;
}

/**
 * Creates and signs a token without recording it (rotation records only the pair it hands out).
 *
 * @example const { token, payload } = await signToken(config, loaders, 'refresh', 'alice', {}, inherited)
 */
export async function signToken(
  config: JwtConfig,
  loaders: Partial<Loaders>,
  type: TokenType,
  identityOrUser: unknown,
  options: AccessTokenOptions = {},
  session?: InheritedSession,
  known?: KnownCutoff,
): Promise<{ token: string; payload: TokenPayload; identity: string }> {
  const signing = config.keys.signing;
  if (!signing.key) throw new JwtUsageError(config.jwks || config.decodeKeyLoader
    ? 'this configuration verifies tokens with jwksUri or decodeKeyLoader and has no key to create them (give privateKey or secret)'
    : 'this configuration has a publicKey only: it verifies tokens but cannot create them (give privateKey)');
  const { identity, subject } = await resolveIdentity(identityOrUser, loaders, config.verifySub);
  const seconds = lifetime(config, type, options.expiresIn);
  const reserved = reservedClaims(config);
  const wantsClaims = type === 'access' || config.claimsInRefreshTokens;
  const loaded = wantsClaims && loaders.userClaimsLoader ? await loaders.userClaimsLoader(subject as string) : undefined;
  const headersSubject = typeof subject === 'object' ? subject : String(identity);
  const loadedHeaders = loaders.additionalHeadersLoader ? await loaders.additionalHeadersLoader(headersSubject as string) : undefined;
  const headers = { ...checkHeaders(loadedHeaders, 'additionalHeadersLoader result'), ...checkHeaders(options.headers, 'headers') };
  const claims = { ...checkCustomClaims(loaded, reserved, 'userClaimsLoader result'), ...checkCustomClaims(options.claims, reserved, 'claims') };
  const now = nowSeconds();
  const payload = { [config.identityClaim]: identity, type } as TokenPayload; // jti and the times follow, in the seed's claim order
  if (type === 'access') payload.fresh = freshClaim(options.fresh, now);
  Object.assign(payload, { jti: randomUUID(), iat: now });
  if (config.encodeNbf) payload.nbf = now;
  // minted while a refresh token of this identity is used: the same session (refresh-scope.ts)
  const started = session ?? continuedSession(config, String(identity));
  const exp = cappedExpiry(config, type, seconds === false ? undefined : now + seconds, now, started);
  if (exp !== undefined) payload.exp = exp;
  if (config.audienceClaim !== undefined) payload.aud = config.audienceClaim;
  if (config.issuerClaim !== undefined) payload.iss = config.issuerClaim;
  if (needsCsrfClaim(config, options.csrf)) payload.csrf = randomUUID();
  if (options.dpopJkt !== undefined) payload.cnf = { jkt: checkedJkt(options.dpopJkt) };
  const generation = session?.generation ?? (known?.identity === String(identity) ? known.generation : undefined);
  Object.assign(payload, claims, await sessionClaims(config, type, String(identity), now, session, started?.startedAt, generation));
  const signOptions: jwt.SignOptions = { algorithm: signing.algorithm as jwt.Algorithm }; // keeps our own iat
  if (signing.kid !== undefined) signOptions.keyid = signing.kid;
  if (Object.keys(headers).length > 0) signOptions.header = { ...headers, alg: signing.algorithm } as jwt.JwtHeader;
  // jsonwebtoken 9 has no EdDSA: that one is signed with node:crypto, in the same header layout
  const token = signing.algorithm === 'EdDSA'
    ? signEdDsa(payload, signing.key, { kid: signing.kid, header: signOptions.header as Record<string, unknown> | undefined })
    : jwt.sign(payload, signing.key, signOptions);
  return { token, payload, identity: String(identity) };
}

/** `gen` for a checked token (when the store keeps cut-offs); `fam` and `fst` under refresh rotation. */
async function sessionClaims(
  config: JwtConfig, type: TokenType, identity: string, now: number, session: InheritedSession | undefined, startedAt: number | undefined,
  generation: number | undefined,
): Promise<Record<string, unknown>> {
  const revocation = config.revocation;
  if (!revocation) return {};
  const claims: Record<string, unknown> = {};
  const store = revocation.store;
  if (isCheckedType(revocation, type) && revocation.storeHas.cutoff) {
    const failed = (error: unknown) => storeFailure('The cut-off of the identity could not be read from the revocation store; the token was not issued', error);
    claims[CUTOFF_CLAIM] = generation ?? await callStore('cutoff', () => store.cutoff!(identity), failed, isCutoffAnswer, revocation.storeTimeoutMs);
  }
  if (session !== undefined) claims[FAMILY_CLAIM] = session.family;
  else if (revocation.refreshRotation && type === 'refresh') claims[FAMILY_CLAIM] = randomUUID();
  // fst whenever a session start can matter: rotation, or a bound to count from (a refresh route minting a new refresh token)
  if ((revocation.refreshRotation || revocation.maxSessionLifetime !== undefined) && type === 'refresh') claims[SESSION_START_CLAIM] = startedAt ?? now;
  return claims;
}

/**
 * Allowlist mode: the record a checked token is stored with (before it is handed out);
 * `undefined` when nothing is recorded for it (blocklist, or its type is not checked).
 */
export function recordEntryOf(
  config: JwtConfig, type: TokenType, identity: string, payload: TokenPayload, options: { keepExisting?: boolean } = {},
): StoreEntry | undefined {
  const revocation = config.revocation;
  if (!isCheckedType(revocation, type) || revocation.mode !== 'allowlist') return undefined;
  const exp = payload.exp as number | undefined;
  const entry: StoreEntry = { jti: payload.jti as string, identity, expiresAt: exp === undefined ? undefined : exp + config.leeway, record: { token: withoutCsrf(payload), revoked: false } };
  if (options.keepExisting) entry.keepExisting = true;
  return entry;
}

/** Stores `entry` (see `recordEntryOf`); a store that cannot take it rejects: the token is not handed out. */
export async function storeRecord(config: JwtConfig, entry: StoreEntry): Promise<void> {
  const revocation = config.revocation!;
  const failed = (error: unknown) => storeFailure('The token could not be recorded in the revocation store; it was not issued', error);
  await callStore('add', () => revocation.store.add(entry), failed, undefined, revocation.storeTimeoutMs);
}

/**
 * Stores several records at once: every write goes out together (one round trip on a Redis
 * server), and this rejects, after all have settled, when any failed (none is handed out).
 */
export async function storeRecords(config: JwtConfig, entries: (StoreEntry | undefined)[]): Promise<void> {
  const writes = entries.filter((entry): entry is StoreEntry => entry !== undefined).map((entry) => storeRecord(config, entry));
  const failed = (await Promise.allSettled(writes)).find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** Allowlist mode: the record of a checked token, written before the token is handed out. */
export async function recordToken(
  config: JwtConfig, type: TokenType, identity: string, payload: TokenPayload, options: { keepExisting?: boolean } = {},
): Promise<void> {
  const entry = recordEntryOf(config, type, identity, payload, options);
  if (entry !== undefined) await storeRecord(config, entry);
}
