/**
 * koa-jwt-extended: Flask-JWT-Extended's feature set for Koa, with routing-controllers
 * decorators or plain Koa middleware. Import `reflect-metadata` once, before your
 * controllers, when you use the decorators. The testing kit is `koa-jwt-extended/testing`.
 *
 * @packageDocumentation
 */

// Setup: one manager, configured once at start-up
export { JwtManager } from './core/manager';
export type { JwtOptions, JwtConfig, TokenLocation, RevocationChecks, RevocationMode, RevocationOptions } from './core/options';
export type { Duration } from './core/duration';
export type { Loaders, LoaderResponse, TokenPayload } from './core/responses';

// Guards: decorators, Koa middleware, the imperative check, routing-controllers' checkers
export { JwtRequired, FreshJwtRequired, RefreshRequired, JwtOptional, Identity, Claims, CurrentJwtUser, JwtHttpError } from './decorators';
export { jwtContext, jwtRequired, verifyJwtInRequest } from './koa/middleware';
export type { GuardOptions } from './koa/guard';
export { jwtAuthorizationChecker, jwtCurrentUserChecker } from './decorators/checkers';
export type { CheckerAction } from './decorators/checkers';

// Getters: the current request's token, identity and user
export {
  getJwtIdentity, getJwtClaims, getJwtHeader, getJwtRequestLocation, getCurrentUser, getUnverifiedJwtHeaders, getJti, runOutsideRequest,
} from './koa/context';

// Tokens: creating and decoding them
export { createAccessToken, createRefreshToken, createTokenPair, decodeToken } from './tokens';
export type { AccessTokenOptions, RefreshTokenOptions, TokenPairOptions } from './core/issue';
export type { JwtPayload, StandardClaims } from './core/payload';

// Revocation and sessions: revoke, log out everywhere, refresh-token rotation
export {
  revokeToken, unrevokeToken, revokeAllTokens, rotateRefreshToken, getStoredToken, getStoredTokens, getAllStoredTokens,
} from './tokens';
export type { RotateRefreshTokenOptions } from './tokens';
export type { RevocationTarget, RevokeTokenOptions } from './core/manager';
export type { TokenPair, RotateOptions } from './core/rotation';

// Stores: memory, Redis, tiered (LRU in front of Redis), and the interface for your own
export { MemoryTokenStore } from './store/memory';
export type { MemoryTokenStoreOptions } from './store/memory';
export { RedisTokenStore } from './store/redis';
export type { RedisTokenStoreOptions, RedisConnection } from './store/redis';
export { TieredTokenStore } from './store/tiered';
export type { TieredTokenStoreOptions } from './store/tiered';
export type {
  TokenStore, StoredToken, StoreEntry, TokenQuery, TokenState, FamilyState, RefreshTokenUse, RefreshTokenUseOutcome,
  OnceEntry, OnceOutcome,
} from './store/token-store';

// Cookies
export { setAccessCookies, setRefreshCookies, unsetJwtCookies, unsetAccessCookies, unsetRefreshCookies } from './koa/cookies';
export type { SetCookiesOptions, UnsetCookiesOptions } from './koa/cookies';

// Errors: every refusal and misuse is a typed error
export {
  JwtError, NoAuthorizationError, CsrfError, InvalidTokenError, ExpiredTokenError, FreshTokenRequiredError,
  RevokedTokenError, StoreUnavailableError, TokenNotFoundError, TokenStoreError, JwtConfigurationError, JwtUsageError,
  ForbiddenError, InsufficientScopeError, UserLookupError, TokenVerificationError,
} from './core/errors';
export type { JwtErrorKind } from './core/errors';

// Keys and outside identity providers
export type { Algorithm, KeyInput, VerificationKeyOptions } from './core/keys';
export type { DecodeKeyLoader } from './core/key-source';
export type { IssuerOptions, IssuerConfig } from './core/idp-options';
export { KeySetUnavailableError } from './core/jwks';

// Sender-constrained tokens: DPoP (RFC 9449)
export { verifyDpopProof, getDpopThumbprint } from './koa/dpop';
export { DpopError } from './core/dpop/errors';
export type { DpopOptions, ProofAlgorithm } from './core/dpop/options';

// Observability: diagnostics_channel names and their messages
export {
  REFUSED_CHANNEL, ALLOWED_CHANNEL, STORE_ERROR_CHANNEL, STORE_CALL_CHANNEL, REVOCATION_CHANNEL, REUSE_CHANNEL, JWKS_FETCH_CHANNEL,
} from './core/diagnostics';
export type {
  RefusedMessage, AllowedMessage, StoreErrorMessage, StoreCallMessage, RevocationMessage, RevocationKind, RefreshReuseMessage,
  JwksFetchMessage,
} from './core/diagnostics';

// OpenAPI: security entries for routing-controllers-openapi
export { addJwtSecurity, openApiStorage } from './openapi';
export type { OpenApiDocument } from './openapi';
