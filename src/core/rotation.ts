/**
 * Refresh-token rotation (RFC 9700 §4.14.2): the presented refresh token is marked used in
 * its family, atomically in the store, and a new pair in the same family is the answer.
 *
 * The new pair is minted before the store decides, so a retry inside `reuseIntervalSeconds`
 * can be given the first answer: the store keeps it sealed (AES-256-GCM under a key derived
 * from the signing key and the used jti), so reading Redis does not hand out live tokens.
 * A pair minted by a call that loses the race is never handed out.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { publishRefreshReuse, publishRevocation } from './diagnostics';
import { JwtUsageError, RevokedTokenError } from './errors';
import { AccessTokenOptions, issueToken, RefreshTokenOptions } from './issue';
import type { JwtConfig } from './options';
import type { Loaders, TokenPayload } from './responses';
import { checkSession, familyOf, keepUntil } from './sessions';
import { callStore, unavailable } from './store-call';
import { checkRequirement, REFRESH } from './verify';

/** What `rotateRefreshToken()` resolves with. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

export interface RotateOptions {
  /** Options of the new access token (never fresh: it comes from a refresh). */
  access?: Omit<AccessTokenOptions, 'fresh'>;
  /** Options of the new refresh token. */
  refresh?: RefreshTokenOptions;
}

/** The key sealing the answer to one rotation: only this app (its signing key) and this jti open it. */
function answerKey(config: JwtConfig, jti: string): Buffer {
  const signing = config.keys.signing.key!;
  const material = signing.type === 'secret' ? signing.export() : signing.export({ format: 'der', type: 'pkcs8' });
  return createHmac('sha256', material).update(`koa-jwt-extended rotation answer\0${jti}`).digest();
}

function seal(pair: TokenPair, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(pair), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

function open(sealed: string, key: Buffer): TokenPair {
  const bytes = Buffer.from(sealed, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(12, 28));
  return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8')) as TokenPair;
}

/**
 * Rotates the verified refresh token `presented`: the new pair, the first answer again for a
 * retry inside the reuse interval, or `RevokedTokenError` (reuse, or a revoked family).
 *
 * @example const { accessToken, refreshToken } = await rotate(config, manager, payload)
 */
export async function rotate(config: JwtConfig, loaders: Partial<Loaders>, presented: TokenPayload, options: RotateOptions = {}): Promise<TokenPair> {
  const revocation = config.revocation;
  if (!revocation?.refreshRotation) {
    throw new JwtUsageError('rotateRefreshToken() needs refresh rotation: configure revocation: { store, refreshRotation: true }');
  }
  checkRequirement(presented, REFRESH);
  // the guard has checked it already; a token or payload passed in by hand has not (cheap when the tier knows it)
  await checkSession(config, revocation, presented);
  const identity = presented[config.identityClaim];
  const family = familyOf(presented, revocation)!;
  const access = { ...options.access, fresh: false };
  const pair: TokenPair = {
    accessToken: await issueToken(config, loaders, 'access', identity, access, family),
    refreshToken: await issueToken(config, loaders, 'refresh', identity, options.refresh, family),
  };
  const jti = presented.jti as string;
  const reuseIntervalMs = revocation.reuseIntervalSeconds * 1000;
  const key = reuseIntervalMs > 0 ? answerKey(config, jti) : undefined;
  const use = { family, jti, now: Date.now(), reuseIntervalMs, answer: key ? seal(pair, key) : '', keepUntil: keepUntil(config) };
  const result = await callStore('useRefreshToken', () => revocation.store.useRefreshToken!(use), unavailable);
  if (result.outcome === 'rotated') return pair;
  if (result.outcome === 'retry' && key !== undefined) {
    try {
      return open(result.answer, key);
    } catch (error) {
      throw unavailable(error); // an answer this key cannot open: the signing key changed, or the store was tampered with
    }
  }
  if (result.outcome === 'reused') {
    // the store revoked the family in the same atomic step
    publishRefreshReuse(presented, family);
    publishRevocation({ kind: 'family', family });
  }
  throw new RevokedTokenError(presented);
}
