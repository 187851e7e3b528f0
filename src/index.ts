/**
 * koa-jwt-extended: Flask-JWT-Extended's feature set for routing-controllers on Koa.
 * Import `reflect-metadata` once, before your controllers.
 */
export { JwtManager } from './core/manager';
export type { JwtOptions, TokenLocation, RevocationChecks } from './core/options';
export type { Loaders, LoaderResponse, TokenPayload } from './core/responses';
export type { AccessTokenOptions, RefreshTokenOptions } from './core/issue';
export type { Algorithm, KeyInput, VerificationKeyOptions } from './core/keys';
export {
  JwtError, NoAuthorizationError, CsrfError, InvalidTokenError, ExpiredTokenError, FreshTokenRequiredError,
  RevokedTokenError, StoreUnavailableError, TokenNotFoundError, TokenStoreError, JwtConfigurationError, JwtUsageError,
} from './core/errors';
export {
  createAccessToken, createRefreshToken, decodeToken, revokeToken, unrevokeToken, getStoredToken, getStoredTokens,
  getAllStoredTokens,
} from './tokens';
export { JwtRequired, FreshJwtRequired, RefreshRequired, JwtOptional, Identity, Claims, JwtHttpError } from './decorators';
export type { GuardOptions } from './koa/guard';
export { getJwtIdentity, getJwtClaims } from './koa/context';
export { setAccessCookies, setRefreshCookies, unsetJwtCookies, unsetAccessCookies, unsetRefreshCookies } from './koa/cookies';
export type { TokenStore, StoredToken, StoreEntry } from './store/token-store';
export { MemoryTokenStore } from './store/memory';
export type { MemoryTokenStoreOptions } from './store/memory';
export { RedisTokenStore } from './store/redis';
export type { RedisTokenStoreOptions } from './store/redis';
export { TieredTokenStore } from './store/tiered';
export type { TieredTokenStoreOptions } from './store/tiered';
// package issue (#15): typed payloads
export type { JwtPayload, StandardClaims } from './core/payload';
