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
  ForbiddenError, UserLookupError, TokenVerificationError,
} from './core/errors';
export {
  createAccessToken, createRefreshToken, decodeToken, revokeToken, unrevokeToken, getStoredToken, getStoredTokens,
  getAllStoredTokens,
} from './tokens';
export { JwtRequired, FreshJwtRequired, RefreshRequired, JwtOptional, Identity, Claims, CurrentJwtUser, JwtHttpError } from './decorators';
export type { GuardOptions } from './koa/guard';
export { jwtContext, jwtRequired, verifyJwtInRequest } from './koa/middleware';
export { jwtAuthorizationChecker, jwtCurrentUserChecker } from './decorators/checkers';
export {
  getJwtIdentity, getJwtClaims, getJwtHeader, getJwtRequestLocation, getCurrentUser, getUnverifiedJwtHeaders, getJti,
} from './koa/context';
export {
  REFUSED_CHANNEL, ALLOWED_CHANNEL, STORE_ERROR_CHANNEL, STORE_CALL_CHANNEL, REVOCATION_CHANNEL, REUSE_CHANNEL, JWKS_FETCH_CHANNEL,
} from './core/diagnostics';
export type {
  RefusedMessage, AllowedMessage, StoreErrorMessage, StoreCallMessage, RevocationMessage, RevocationKind, RefreshReuseMessage,
  JwksFetchMessage,
} from './core/diagnostics';
export { setAccessCookies, setRefreshCookies, unsetJwtCookies, unsetAccessCookies, unsetRefreshCookies } from './koa/cookies';
export type { SetCookiesOptions, UnsetCookiesOptions } from './koa/cookies';
export type { TokenStore, StoredToken, StoreEntry } from './store/token-store';
export { MemoryTokenStore } from './store/memory';
export type { MemoryTokenStoreOptions } from './store/memory';
export { RedisTokenStore } from './store/redis';
export type { RedisTokenStoreOptions } from './store/redis';
export { TieredTokenStore } from './store/tiered';
export type { TieredTokenStoreOptions } from './store/tiered';
// interop: Flask-JWT-Extended 4 and outside issuers (issue 14)
export { KeySetUnavailableError } from './core/jwks';
export type { DecodeKeyLoader } from './core/key-source';
// OpenAPI (0.2 F)
export { addJwtSecurity, openApiStorage } from './openapi';
export type { OpenApiDocument } from './openapi';
// --- issue 13 (sessions): blocklist mode, log out everywhere, refresh rotation ---
export { revokeAllTokens, rotateRefreshToken } from './tokens';
export type { RotateRefreshTokenOptions } from './tokens';
export type { RevocationTarget, RevokeTokenOptions } from './core/manager';
export type { TokenPair, RotateOptions } from './core/rotation';
export type { RevocationMode, RevocationOptions } from './core/options';
export type {
  TokenQuery, TokenState, FamilyState, RefreshTokenUse, RefreshTokenUseOutcome,
} from './store/token-store';
// package issue (#15): typed payloads
export type { JwtPayload, StandardClaims } from './core/payload';
// --- issue 24: DPoP (RFC 9449) sender-constrained tokens ---
export { verifyDpopProof, getDpopThumbprint } from './koa/dpop';
export { DpopError } from './core/dpop/errors';
export type { DpopOptions, ProofAlgorithm } from './core/dpop/options';
export type { OnceEntry, OnceOutcome } from './store/token-store';
