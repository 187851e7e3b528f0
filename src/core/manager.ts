/**
 * The manager singleton: one validated configuration, one key ring, one verifier,
 * the loaders, and the seed's token and revocation API.
 */
import { JwtConfigurationError, JwtUsageError, TokenNotFoundError, TokenStoreError } from './errors';
import { AccessTokenOptions, issueToken, RefreshTokenOptions } from './issue';
import { publicJwks } from './keys';
import { JwtOptions, resolveOptions, JwtConfig } from './options';
import type { JwtPayload } from './payload';
import type { Loaders } from './responses';
import { TokenVerifier } from './verify';
import type { StoredToken, TokenStore } from '../store/token-store';

let current: JwtManager | undefined;

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

  private constructor(config: JwtConfig) {
    this.config = config;
    this.verifier = new TokenVerifier(config);
    Object.assign(this, config.loaders);
  }

  /**
   * Creates (or replaces) the singleton. Every problem with `options` is listed
   * in one `JwtConfigurationError`, thrown here at start-up.
   *
   * @example JwtManager.configure({ secret: process.env.JWT_SECRET!, accessTokenExpires: '5m' })
   */
  static configure(options: JwtOptions): JwtManager {
    current = new JwtManager(resolveOptions(options));
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
  }

  /** @example const token = await manager.createAccessToken('alice', { fresh: true }) */
  createAccessToken(identity: string | object, options: AccessTokenOptions = {}): Promise<string> {
    return issueToken(this.config, this, 'access', identity, options);
  }

  /** @example const token = await manager.createRefreshToken('alice') */
  createRefreshToken(identity: string | object, options: RefreshTokenOptions = {}): Promise<string> {
    return issueToken(this.config, this, 'refresh', identity, { ...options, fresh: undefined });
  }

  /** Full verification (signature, claims, times) without the store. @example manager.decodeToken(token) */
  async decodeToken<C extends object = Record<string, unknown>>(token: string, options: { allowExpired?: boolean } = {}): Promise<JwtPayload<C>> {
    return this.verifier.verify(token, options) as JwtPayload<C>;
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

  private async storeCall<T>(what: string, call: (store: TokenStore) => Promise<T>): Promise<T> {
    const store = this.store;
    try {
      return await call(store);
    } catch (error) {
      throw new TokenStoreError(`The revocation store failed to ${what}`, error);
    }
  }

  private async setRevoked(jti: string, revoked: boolean): Promise<void> {
    if (typeof jti !== 'string' || jti === '') throw new TokenNotFoundError(String(jti));
    const record = await this.storeCall(revoked ? 'revoke the token' : 'unrevoke the token', (s) => s.setRevoked(jti, revoked));
    if (!record) throw new TokenNotFoundError(jti);
  }

  /** Marks a stored token revoked; resolves once the store has it. @example await manager.revokeToken(jti) */
  revokeToken(jti: string): Promise<void> {
    return this.setRevoked(jti, true);
  }

  /** @example await manager.unrevokeToken(jti) */
  unrevokeToken(jti: string): Promise<void> {
    return this.setRevoked(jti, false);
  }

  /** @example const { token, revoked } = await manager.getStoredToken(jti) */
  async getStoredToken(jti: string): Promise<StoredToken> {
    if (typeof jti !== 'string' || jti === '') throw new TokenNotFoundError(String(jti));
    const record = await this.storeCall('read the token', (s) => s.find(jti));
    if (!record) throw new TokenNotFoundError(jti);
    return record;
  }

  /** @example await manager.getStoredTokens('alice') */
  getStoredTokens(identity: string): Promise<StoredToken[]> {
    return this.storeCall('list the tokens of an identity', (s) => s.findByIdentity(identity));
  }

  /** @example await manager.getAllStoredTokens() */
  getAllStoredTokens(): Promise<StoredToken[]> {
    return this.storeCall('list all tokens', (s) => s.findAll());
  }
}

export { JwtConfigurationError };
