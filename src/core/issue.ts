/**
 * Token creation: the payload `{ sub, type, fresh, jti, iat, nbf, exp, ...claims }`,
 * signed with the ring's signing key, and recorded in the revocation store when
 * that token type is checked. Resolves only once the record is stored.
 */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { nowSeconds, reservedClaims, TokenType } from './claims';
import { needsCsrfClaim } from './csrf';
import { parseDuration, describe } from './duration';
import { JwtUsageError, TokenStoreError } from './errors';
import { isPlainObject } from './jws';
import type { JwtConfig } from './options';
import type { Loaders, TokenPayload } from './responses';

export interface AccessTokenOptions {
  /** Marks the token fresh (just logged in with a password). Default false. */
  fresh?: boolean;
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
}

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

async function resolveIdentity(identity: unknown, loaders: Partial<Loaders>): Promise<string> {
  const resolved = typeof identity === 'string' || !loaders.userIdentityLoader ? identity : await loaders.userIdentityLoader(identity);
  if (typeof resolved !== 'string' || resolved === '') {
    throw new JwtUsageError(`the identity must be a non-empty string (got ${describe(resolved)}); set userIdentityLoader to map a user object to one`);
  }
  return resolved;
}

/**
 * Creates, signs and (when checked) stores a token.
 *
 * @example await issueToken(config, loaders, 'access', 'alice', { fresh: true })
 */
export async function issueToken(
  config: JwtConfig,
  loaders: Partial<Loaders>,
  type: TokenType,
  identityOrUser: unknown,
  options: AccessTokenOptions = {},
): Promise<string> {
  const signing = config.keys.signing;
  if (!signing.key) throw new JwtUsageError('this configuration has a publicKey only: it verifies tokens but cannot create them (give privateKey)');
  const identity = await resolveIdentity(identityOrUser, loaders);
  const seconds = lifetime(config, type, options.expiresIn);
  const reserved = reservedClaims(config);
  const loaded = type === 'access' && loaders.userClaimsLoader ? await loaders.userClaimsLoader(identity) : undefined;
  const claims = { ...checkCustomClaims(loaded, reserved, 'userClaimsLoader result'), ...checkCustomClaims(options.claims, reserved, 'claims') };
  const now = nowSeconds();
  const payload = { [config.identityClaim]: identity, type } as TokenPayload; // jti and the times follow, in the seed's claim order
  if (type === 'access') payload.fresh = options.fresh === true;
  Object.assign(payload, { jti: randomUUID(), iat: now, nbf: now });
  if (seconds !== false) payload.exp = now + seconds;
  if (config.audienceClaim !== undefined) payload.aud = config.audienceClaim;
  if (config.issuer !== undefined) payload.iss = config.issuer;
  if (needsCsrfClaim(config, options.csrf)) payload.csrf = randomUUID();
  Object.assign(payload, claims);
  const signOptions: jwt.SignOptions = { algorithm: signing.algorithm }; // keeps our own iat
  if (signing.kid !== undefined) signOptions.keyid = signing.kid;
  const token = jwt.sign(payload, signing.key, signOptions);
  await recordToken(config, type, identity, payload);
  return token;
}

async function recordToken(config: JwtConfig, type: TokenType, identity: string, payload: TokenPayload): Promise<void> {
  const revocation = config.revocation;
  if (!revocation || (revocation.checks === 'refresh' && type !== 'refresh')) return;
  const exp = payload.exp as number | undefined;
  const entry = { jti: payload.jti as string, identity, expiresAt: exp === undefined ? undefined : exp + config.leeway, record: { token: payload, revoked: false } };
  try {
    await revocation.store.add(entry);
  } catch (error) {
    throw new TokenStoreError('The token could not be recorded in the revocation store; it was not issued', error);
  }
}
