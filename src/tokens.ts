/**
 * The seed's module-level functions, each delegating to the configured manager.
 */
import type { AccessTokenOptions, RefreshTokenOptions } from './core/issue';
import { JwtManager } from './core/manager';
import type { TokenPayload } from './core/responses';
import type { StoredToken } from './store/token-store';

/**
 * Creates an access token (and records it when access tokens are checked).
 *
 * @example const accessToken = await createAccessToken(username, { fresh: true })
 */
export function createAccessToken(identity: unknown, options?: AccessTokenOptions): Promise<string> {
  return JwtManager.instance.createAccessToken(identity, options);
}

/** @example const refreshToken = await createRefreshToken(username) */
export function createRefreshToken(identity: unknown, options?: RefreshTokenOptions): Promise<string> {
  return JwtManager.instance.createRefreshToken(identity, options);
}

/**
 * Fully verifies a token (signature, claims, times) without asking the store.
 *
 * @example const payload = await decodeToken(token, { allowExpired: true })
 */
export function decodeToken(token: string, options?: { allowExpired?: boolean }): Promise<TokenPayload> {
  return JwtManager.instance.decodeToken(token, options);
}

/** Revokes a stored token; rejects with `TokenNotFoundError` for an unknown jti. @example await revokeToken(jti) */
export function revokeToken(jti: string): Promise<void> {
  return JwtManager.instance.revokeToken(jti);
}

/** @example await unrevokeToken(jti) */
export function unrevokeToken(jti: string): Promise<void> {
  return JwtManager.instance.unrevokeToken(jti);
}

/** @example const { token, revoked } = await getStoredToken(jti) */
export function getStoredToken(jti: string): Promise<StoredToken> {
  return JwtManager.instance.getStoredToken(jti);
}

/** @example const mine = await getStoredTokens(getJwtIdentity()!) */
export function getStoredTokens(identity: string): Promise<StoredToken[]> {
  return JwtManager.instance.getStoredTokens(identity);
}

/** @example const all = await getAllStoredTokens() */
export function getAllStoredTokens(): Promise<StoredToken[]> {
  return JwtManager.instance.getAllStoredTokens();
}
