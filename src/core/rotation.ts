/**
 * Refresh-token rotation (RFC 9700 §4.14.2): the presented refresh token is marked used in
 * its family, atomically in the store, and a new pair in the same family is the answer.
 *
 * Single successor. A retry or a concurrent rotation with the same token inside
 * `reuseIntervalSeconds` gets the *same* two token strings, so two tabs refreshing at once both
 * end up with a working pair. Why sealed rather than derived: a pair re-derived from the parent
 * (jti and times from a keyed hash) gives the same strings only where signing is deterministic
 * (HMAC, RSA PKCS#1 v1.5, EdDSA), not with ES* or PS*, and only while every claims loader answers
 * alike. So each caller mints a candidate pair, the store's one atomic step (a Lua script on
 * Redis: one round trip) keeps the winner's sealed (AES-256-GCM, key derived from the signing
 * key and the used jti: reading Redis hands out no live token) for the interval only (`PX`),
 * and every other caller within it gets that one back and writes nothing. A losing candidate is
 * never recorded nor handed out. The family's state is a fixed set of fields (newest jti, parent,
 * when), never a record per rotation.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { nowSeconds } from './claims';
import { publishRefreshReuse, publishRevocation } from './diagnostics';
import { ExpiredTokenError, JwtUsageError, RevokedTokenError } from './errors';
import { AccessTokenOptions, recordEntryOf, RefreshTokenOptions, signToken, storeRecords } from './issue';
import { boundThumbprint } from './dpop/binding';
import { noteRotation } from './refresh-scope';
import type { JwtConfig } from './options';
import type { Loaders, TokenPayload } from './responses';
import { checkSession, CUTOFF_CLAIM, familyOf, keepUntilCovering, keepUntilOutliving, sessionStartOf } from './sessions';
import { callStore, isBuiltInStore, isRefreshUseAnswer, unavailable } from './store-call';
import type { RefreshTokenUse, StoreEntry } from '../store/token-store';
import { checkRequirement, REFRESH } from './verify';

/** What `rotateRefreshToken()` resolves with. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

/**
 * The store-facing options of one rotation (the presented refresh token and the successor pair).
 */
export interface RotateOptions {
  /** Options of the new access token (never fresh: it comes from a refresh). */
  access?: Omit<AccessTokenOptions, 'fresh'>;
  /** Options of the new refresh token. */
  refresh?: RefreshTokenOptions;
}

/**
 * The key sealing a family's newest rotation answer: only this app (its signing key) opens it, for
 * this family (a retry of any of its recently rotated tokens gets that answer).
 */
function answerKey(config: JwtConfig, family: string): Buffer {
  const signing = config.keys.signing.key!;
  const material = signing.type === 'secret' ? signing.export() : signing.export({ format: 'der', type: 'pkcs8' });
  return createHmac('sha256', material).update(`koa-jwt-extended rotation answer\0family\0${family}`).digest();
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

/** What a record needs of one token of the pair. */
interface Signed {
  payload: TokenPayload;
  identity: string;
}

/** The payload of a token this app signed (it came out of an answer only this app's key opens). */
function signedOf(config: JwtConfig, token: string): Signed {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as TokenPayload;
  return { payload, identity: String(payload[config.identityClaim]) };
}

/**
 * Allowlist: the records of a rotated pair (none in blocklist mode, or for an unchecked type),
 * each to be stored only when absent (never overwriting, extending or un-revoking a record
 * already there): the winner and every retry write the same records, in any order.
 */
function pairRecords(config: JwtConfig, [access, refresh]: Signed[]): StoreEntry[] {
  return [
    recordEntryOf(config, 'access', access!.identity, access!.payload, { keepExisting: true }),
    recordEntryOf(config, 'refresh', refresh!.identity, refresh!.payload, { keepExisting: true }),
  ].filter((entry): entry is StoreEntry => entry !== undefined);
}

/**
 * Rotates the verified refresh token `presented`: the new pair, the same pair again for a retry
 * inside the reuse interval, or `RevokedTokenError` (reuse, or a revoked family).
 *
 * @example const { accessToken, refreshToken } = await rotate(config, manager, payload)
 */
export async function rotate(
  config: JwtConfig, loaders: Partial<Loaders>, presented: TokenPayload, options: RotateOptions = {},
): Promise<TokenPair> {
  const revocation = config.revocation;
  if (!revocation?.refreshRotation) {
    throw new JwtUsageError('rotateRefreshToken() needs refresh rotation: configure revocation: { store, refreshRotation: true }');
  }
  checkRequirement(presented, REFRESH);
  const startedAt = sessionStartOf(presented);
  if (revocation.maxSessionLifetime !== undefined && nowSeconds() >= startedAt + revocation.maxSessionLifetime) {
    throw new ExpiredTokenError(presented); // the session has reached its absolute end
  }
  // the guard has checked it already (then the tier answers at once); a token or payload passed in by hand has not
  await checkSession(config, revocation, presented);
  const identity = presented[config.identityClaim];
  const family = familyOf(presented, revocation)!;
  // a DPoP-bound refresh token (its proof checked by the guard) passes its key on to the new pair
  const jkt = boundThumbprint(presented);
  const binding = jkt === undefined ? {} : { dpopJkt: jkt };
  const generation = typeof presented[CUTOFF_CLAIM] === 'number' ? (presented[CUTOFF_CLAIM] as number) : undefined;
  const inherited = { family, generation, startedAt };
  const access = await signToken(config, loaders, 'access', identity, { ...options.access, fresh: false, ...binding }, inherited);
  const refresh = await signToken(config, loaders, 'refresh', identity, { ...options.refresh, ...binding }, inherited);
  const pair: TokenPair = { accessToken: access.token, refreshToken: refresh.token };
  const jti = presented.jti as string;
  const reuseIntervalMs = revocation.reuseIntervalSeconds * 1000;
  const key = reuseIntervalMs > 0 ? answerKey(config, family) : undefined;
  const use: RefreshTokenUse = {
    family, jti, successor: refresh.payload.jti as string, now: Date.now(), reuseIntervalMs,
    // kept as long as the presented token and the new pair can live, even past the configured lifetimes
    answer: key ? seal(pair, key) : '', keepUntil: keepUntilCovering(config, [presented, access.payload, refresh.payload]),
    reuseKeepUntil: keepUntilOutliving(config, presented),
  };
  // allowlist: the new pair's records, which a built-in store writes in the same atomic step (Redis on one server: one
  // round trip); any other store (a composite one calling a built-in store's useRefreshToken included) stores them with its add()
  const records = pairRecords(config, [access, refresh]);
  if (records.length > 0 && isBuiltInStore(revocation.store)) use.records = records;
  noteRotation(presented, 'attempted'); // a store that cannot answer is a 503, never reuse
  const result = await callStore('useRefreshToken', () => revocation.store.useRefreshToken!(use), unavailable, isRefreshUseAnswer, revocation.storeTimeoutMs);
  if (result.outcome === 'rotated') {
    noteRotation(presented, 'rotated');
    // allowlist: only the pair handed out is recorded (a losing candidate never is), keeping a record a retry stored first;
    // both go out together, and the pair is handed out only once both are in (a failure of either: 503)
    if (result.recorded !== true) await storeRecords(config, records);
    return pair;
  }
  if (result.outcome === 'retry' && key !== undefined) {
    let answer: TokenPair;
    try {
      answer = open(result.answer, key);
    } catch (error) {
      throw unavailable(error); // an answer this key cannot open: the signing key changed, or the store was tampered with
    }
    noteRotation(presented, 'retry');
    // the winner records the pair after its store step, or fails to: a retry records it too, keeping what is there, so the
    // pair it hands out works once this resolves (a record the store cannot take is a 503, never a pair that does not work)
    await storeRecords(config, pairRecords(config, [answer.accessToken, answer.refreshToken].map((token) => signedOf(config, token))));
    return answer;
  }
  if (result.outcome === 'reused') {
    // the store revoked the family in the same atomic step
    publishRefreshReuse(presented, family);
    publishRevocation({ kind: 'family', family });
  }
  throw new RevokedTokenError(presented);
}
