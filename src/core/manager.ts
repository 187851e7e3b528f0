/**
 * The manager singleton: one validated configuration, one key ring, one verifier,
 * the loaders, and the seed's token and revocation API.
 */
import { publishRevocation } from './diagnostics';
import { forgetOutages } from './store-health';
import { JwtConfigurationError, JwtUsageError, setErrorMessageKey, setInvalidTokenStatus, TokenNotFoundError } from './errors';
import { AccessTokenOptions, issueToken, issueTokenPair, RefreshTokenOptions, type TokenPairOptions } from './issue';
import { publicJwks } from './keys';
import { describeConfig, JwtOptions, resolveOptions, JwtConfig } from './options';
import type { Loaders, TokenPayload } from './responses';
import { showAs } from './safe-view';
import { refuseMintingWithUsedToken } from './refresh-scope';
import { rotate, RotateOptions, TokenPair } from './rotation';
import { clockMargin, keepSeconds } from './sessions';
import { callStore, isCutoffAnswer, isRecordAnswer, isRecordListAnswer, storeFailure } from './store-call';
import { type JwtPayload, withoutCsrf } from './payload';
import { TokenVerifier } from './verify';
import { CUTOFF_METHODS, missingMethods, type StoreEntry, type StoredToken, type TokenStore } from '../store/token-store';

/**
 * What `revokeToken()` accepts: a jti, a token string (verified, expired allowed), or a decoded
 * payload with any custom claims (`getJwtClaims()`, `decodeToken()`, `@Claims()`).
 */
export type RevocationTarget = string | JwtPayload<object>;

/** What a bare jti needs in blocklist mode: whose token it is and when it expires. */
export interface RevokeTokenOptions {
  /** The token's identity (its identity claim). */
  identity: string;
  /** The token's `exp`, in Unix seconds: the revocation is kept until then (plus leeway). */
  expiresAt: number;
}

let current: JwtManager | undefined;
/** Called after every `configure()` (the decorators install their route hooks then). */
const configureListeners: ((manager: JwtManager) => void)[] = [];

/** Runs `listener` after every future `configure()`. Internal. */
export function onConfigure(listener: (manager: JwtManager) => void): void {
  configureListeners.push(listener);
}

/**
 * The one manager of an app: its validated configuration, keys, store and loaders. Configure it once at start-up; the token functions, guards and getters use it.
 *
 * @example JwtManager.configure({ secret: process.env.JWT_SECRET!, revocation: { store: new MemoryTokenStore() } })
 */
export class JwtManager implements Partial<Loaders> {
  readonly config: JwtConfig;
  readonly verifier: TokenVerifier;
  userClaimsLoader?: Loaders['userClaimsLoader'];
  userIdentityLoader?: Loaders['userIdentityLoader'];
  unauthorizedLoader?: Loaders['unauthorizedLoader'];
  invalidTokenLoader?: Loaders['invalidTokenLoader'];
  expiredTokenLoader?: Loaders['expiredTokenLoader'];
  needsFreshTokenLoader?: Loaders['needsFreshTokenLoader'];
  revokedTokenLoader?: Loaders['revokedTokenLoader'];
  storeUnavailableLoader?: Loaders['storeUnavailableLoader'];
  forbiddenLoader?: Loaders['forbiddenLoader'];
  userLookupErrorLoader?: Loaders['userLookupErrorLoader'];
  tokenVerificationFailedLoader?: Loaders['tokenVerificationFailedLoader'];
  userLookupLoader?: Loaders['userLookupLoader'];
  tokenVerificationLoader?: Loaders['tokenVerificationLoader'];
  additionalHeadersLoader?: Loaders['additionalHeadersLoader'];

  private constructor(config: JwtConfig) {
    this.config = config;
    this.verifier = new TokenVerifier(config);
    Object.assign(this, config.loaders);
    // logging the manager shows its settings, never its keys, its verified tokens or its store's internals
    showAs(this, 'JwtManager', (manager) => ({ config: describeConfig(manager.config) }));
  }

  /**
   * Creates (or replaces) the singleton. Every problem with `options` is listed
   * in one `JwtConfigurationError`, thrown here at start-up.
   *
   * @example JwtManager.configure({ secret: process.env.JWT_SECRET!, accessTokenExpires: '5m' })
   */
  static configure(options: JwtOptions): JwtManager {
    current = new JwtManager(resolveOptions(options));
    setErrorMessageKey(current.config.errorMessageKey);
    setInvalidTokenStatus(current.config.invalidTokenStatus);
    for (const listener of configureListeners) listener(current);
    return current;
  }

  /** The configured singleton. @example JwtManager.instance.config.headerName */
  static get instance(): JwtManager {
    if (!current) throw new JwtUsageError('koa-jwt-extended is not configured: call JwtManager.configure({ secret }) at start-up');
    return current;
  }

  /** Whether `configure()` has been called (and not reset). */
  static get isConfigured(): boolean {
    return current !== undefined;
  }

  /** Drops the singleton (tests). @example afterEach(() => JwtManager.reset()) */
  static reset(): void {
    current = undefined;
    setErrorMessageKey('msg');
    setInvalidTokenStatus(422);
    forgetOutages();
  }

  /**
   * In a request a used refresh token authenticated (a retry inside the reuse interval), this is
   * reuse: the family is revoked and it rejects with `RevokedTokenError` (see refresh-scope.ts).
   *
   * @example const token = await manager.createAccessToken('alice', { fresh: true })
   */
  async createAccessToken(identity: string | number | object, options: AccessTokenOptions = {}): Promise<string> {
    await refuseMintingWithUsedToken(this.config);
    return issueToken(this.config, this, 'access', identity, options);
  }

  /**
   * Refused like `createAccessToken()` in a request a used refresh token authenticated.
   *
   * @example const token = await manager.createRefreshToken('alice')
   */
  async createRefreshToken(identity: string | number | object, options: RefreshTokenOptions = {}): Promise<string> {
    await refuseMintingWithUsedToken(this.config);
    return issueToken(this.config, this, 'refresh', identity, { ...options, fresh: undefined });
  }

  /**
   * An access and a refresh token for one identity (a login), their records (when checked)
   * stored together: one round trip on a Redis server where the two calls above take two.
   * Neither token is handed out unless both are stored. Refused like `createAccessToken()` in a
   * request a used refresh token authenticated.
   *
   * @example const { accessToken, refreshToken } = await manager.createTokenPair('alice', { access: { fresh: true } })
   */
  async createTokenPair(identity: string | number | object, options: TokenPairOptions = {}): Promise<TokenPair> {
    await refuseMintingWithUsedToken(this.config);
    return issueTokenPair(this.config, this, identity, options);
  }

  /** Full verification (signature, claims, times) without the store. @example manager.decodeToken(token) */
  async decodeToken<C extends object = Record<string, unknown>>(token: string, options: { allowExpired?: boolean } = {}): Promise<JwtPayload<C>> {
    return (await this.verifier.verifyNow(token, options)) as JwtPayload<C>;
  }

  /** The public keys as a JWK Set (empty for HMAC). @example ctx.body = manager.jwks() */
  jwks(): { keys: Record<string, unknown>[] } {
    return publicJwks(this.config.keys);
  }

  private get store(): TokenStore {
    const revocation = this.config.revocation;
    if (!revocation) throw new JwtUsageError('revocation is not enabled: configure revocation: { store, checks }');
    return revocation.store;
  }

  /** One call into the store: a failure, or an answer `isValid` refuses, is published and becomes a `TokenStoreError` saying its root cause. */
  private async storeCall<T>(what: string, operation: string, call: (store: TokenStore) => Promise<T>, isValid?: (answer: unknown) => boolean): Promise<T> {
    const store = this.store;
    return callStore(operation, () => call(store), (error) => storeFailure(`The revocation store failed to ${what}`, error), isValid);
  }

  /** The jti and (when known) the payload of what `revokeToken()` was given. */
  private async target(target: RevocationTarget): Promise<{ jti: string; payload: TokenPayload | undefined }> {
    if (typeof target === 'string' && target.includes('.')) {
      // a compact JWT: only ours count (with remote or loaded keys, verifying it may take a fetch)
      const payload = await this.verifier.verifyNow(target, { allowExpired: true });
      return { jti: payload.jti as string, payload };
    }
    if (typeof target === 'object' && target !== null && typeof target.jti === 'string' && target.jti !== '') {
      return { jti: target.jti, payload: target as TokenPayload };
    }
    if (typeof target !== 'string' || target === '') throw new TokenNotFoundError(String(target));
    return { jti: target, payload: undefined };
  }

  private async setRevoked(target: RevocationTarget, revoked: boolean, options?: RevokeTokenOptions): Promise<void> {
    const { jti, payload } = await this.target(target);
    const what = revoked ? 'revoke the token' : 'unrevoke the token';
    const isBlocklist = this.config.revocation?.mode === 'blocklist';
    // checked before the store is touched: a bare revocation kept for a guessed time could be dropped while its token lives
    const entry = revoked && isBlocklist ? this.revocationEntry(jti, payload, options) : undefined;
    const record = await this.storeCall(what, 'setRevoked', (s) => s.setRevoked(jti, revoked), isRecordAnswer);
    if (!record) {
      if (entry === undefined) throw new TokenNotFoundError(jti);
      await this.storeCall(what, 'add', (s) => s.add(entry));
    } else if (entry !== undefined && this.filedIdentity(record) !== entry.identity) {
      await this.storeCall(what, 'add', (s) => s.add(this.refiled(entry, record)));
    }
    if (revoked) publishRevocation({ kind: 'token', jti });
  }

  /** The identity a stored record is filed under (its token's identity claim). */
  private filedIdentity(record: StoredToken): string {
    const identity = record.token[this.config.identityClaim];
    return typeof identity === 'string' ? identity : String(identity ?? '');
  }

  /**
   * One jti revoked under two identities (a bare jti with someone else's identity, before or after
   * the token's own): the revocation is filed again under the identity given now, kept until the
   * later of the two expiries, so no identity's bound (a store folding that identity's revocations)
   * and no shorter `expiresAt` can make the token usable again. `MemoryTokenStore` never folds such
   * a contested revocation.
   */
  private refiled(entry: StoreEntry, existing: StoredToken): StoreEntry {
    const exp = existing.token.exp;
    // a record whose token has no exp is kept for ever, and so is its re-filing
    if (entry.expiresAt === undefined || typeof exp !== 'number' || !Number.isFinite(exp)) return { ...entry, expiresAt: undefined };
    // kept for the longer of the two, each with its leeway and clock margin (never less than the record it replaces)
    const expiresAt = Math.max(entry.expiresAt, exp + this.config.leeway + clockMargin(this.config));
    return { ...entry, expiresAt, record: { ...entry.record, token: { ...entry.record.token, exp: Math.max(exp, Number(entry.record.token.exp) || 0) } } };
  }

  /** Blocklist mode: a revocation kept until the token's real exp (plus leeway), under its identity. */
  private revocationEntry(jti: string, payload: TokenPayload | undefined, options: RevokeTokenOptions | undefined): StoreEntry {
    if (payload !== undefined) {
      const identity = payload[this.config.identityClaim];
      const exp = payload.exp;
      const expiresAt = typeof exp === 'number' ? exp + this.config.leeway + clockMargin(this.config) : undefined;
      return { jti, identity: typeof identity === 'string' ? identity : String(identity ?? ''), expiresAt, record: { token: withoutCsrf(payload), revoked: true } };
    }
    const { identity, expiresAt } = options ?? ({} as Partial<RevokeTokenOptions>);
    if (typeof identity !== 'string' || identity === '' || typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
      throw new JwtUsageError(
        'revokeToken(jti) in blocklist mode needs the token: pass the token or its payload, ' +
          'or revokeToken(jti, { identity, expiresAt }) with its identity and its exp in Unix seconds',
      );
    }
    const token = { [this.config.identityClaim]: identity, jti, exp: expiresAt } as TokenPayload;
    return { jti, identity, expiresAt: expiresAt + this.config.leeway + clockMargin(this.config), record: { token, revoked: true } };
  }

  /**
   * Revokes one token; resolves once the store has it. Allowlist
   * mode: a token the store does not hold rejects with `TokenNotFoundError`. Blocklist mode: the
   * revocation is stored until the token's `exp`; a bare jti needs `{ identity, expiresAt }`
   * (else a `JwtUsageError`): pass the token string or its payload when you have it. Those are
   * trusted as the token's: an `expiresAt` already past (beyond the leeway) stores nothing, but a
   * record the store holds for the jti is revoked whatever the options say, and never kept for
   * less than its own exp; a jti already revoked under another identity is filed under both, so
   * neither identity's store bound can forget it.
   *
   * @example await manager.revokeToken(token) // or its payload, or (jti, { identity: 'alice', expiresAt: payload.exp })
   */
  revokeToken(target: RevocationTarget, options?: RevokeTokenOptions): Promise<void> {
    return this.setRevoked(target, true, options);
  }

  /**
   * Clears the revoked flag of a stored record (allowlist: the token works again; blocklist:
   * the revocation is lifted). Cut-offs and family revocations are not undone.
   *
   * @example await manager.unrevokeToken(jti)
   */
  unrevokeToken(target: RevocationTarget): Promise<void> {
    return this.setRevoked(target, false);
  }

  /**
   * Refuses every token of `identity` created before this call, wherever the store is checked
   * (with `checks: 'refresh'`, access tokens run to their `exp`). Tokens created after it,
   * same second included, are accepted. Resolves once the cut-off is stored and announced.
   *
   * @example await manager.revokeAllTokens('alice') // after a password change
   */
  async revokeAllTokens(identity: string): Promise<void> {
    const store = this.store;
    const missing = missingMethods(store, CUTOFF_METHODS);
    if (missing.length > 0) throw new JwtUsageError(`revokeAllTokens() needs a store with ${missing.join(', ')}; this store lacks them`);
    if (typeof identity !== 'string' || identity === '') throw new JwtUsageError('revokeAllTokens() needs the identity, a non-empty string');
    await this.storeCall('revoke all tokens of the identity', 'revokeAll', (s) => s.revokeAll!(identity, keepSeconds(this.config)), isCutoffAnswer);
    publishRevocation({ kind: 'identity', identity });
  }

  /**
   * Rotates a verified refresh token (`refreshRotation` on): marks it used and resolves with a
   * new pair in its family; a used one presented again rejects with `RevokedTokenError`.
   *
   * @example const { accessToken, refreshToken } = await manager.rotateRefreshToken(payload)
   */
  rotateRefreshToken(presented: TokenPayload, options?: RotateOptions): Promise<TokenPair> {
    return rotate(this.config, this, presented, options);
  }

  /** @example const { token, revoked } = await manager.getStoredToken(jti) */
  async getStoredToken(jti: string): Promise<StoredToken> {
    if (typeof jti !== 'string' || jti === '') throw new TokenNotFoundError(String(jti));
    const record = await this.storeCall('read the token', 'find', (s) => s.find(jti), isRecordAnswer);
    if (!record) throw new TokenNotFoundError(jti);
    return record;
  }

  /** @example await manager.getStoredTokens('alice') */
  getStoredTokens(identity: string): Promise<StoredToken[]> {
    return this.storeCall('list the tokens of an identity', 'findByIdentity', (s) => s.findByIdentity(identity), isRecordListAnswer);
  }

  /** @example await manager.getAllStoredTokens() */
  getAllStoredTokens(): Promise<StoredToken[]> {
    return this.storeCall('list all tokens', 'findAll', (s) => s.findAll(), isRecordListAnswer);
  }
}

export { JwtConfigurationError };
