/**
 * The seed's module-level functions, each delegating to the configured manager.
 */
import type { AccessTokenOptions, RefreshTokenOptions } from './core/issue';
import { JwtManager } from './core/manager';
import type { JwtPayload } from './core/payload';
import type { StoredToken } from './store/token-store';

/**
 * Creates an access token (and records it when access tokens are checked). The identity
 * is a string, or a user object that `userIdentityLoader` maps to one.
 *
 * @example const accessToken = await createAccessToken(username, { fresh: true })
 */
export function createAccessToken(identity: string | object, options?: AccessTokenOptions): Promise<string> {
  return JwtManager.instance.createAccessToken(identity, options);
}

/** @example const refreshToken = await createRefreshToken(username) */
export function createRefreshToken(identity: string | object, options?: RefreshTokenOptions): Promise<string> {
  return JwtManager.instance.createRefreshToken(identity, options);
}

/**
 * Fully verifies a token (signature, claims, times) without asking the store.
 * `C` types your custom claims (they are not checked: type what you put in).
 *
 * @example const { jti, roles } = await decodeToken<{ roles: string[] }>(token, { allowExpired: true })
 */
export function decodeToken<C extends object = Record<string, unknown>>(token: string, options?: { allowExpired?: boolean }): Promise<JwtPayload<C>> {
  return JwtManager.instance.decodeToken<C>(token, options);
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
