/**
 * The seed's module-level functions, each delegating to the configured manager.
 */
import type { AccessTokenOptions, RefreshTokenOptions, TokenPairOptions } from './core/issue';
import { JwtUsageError } from './core/errors';
import { JwtManager, type RevocationTarget, type RevokeTokenOptions } from './core/manager';
import type { TokenPayload } from './core/responses';
import { rotate, type RotateOptions, type TokenPair } from './core/rotation';
import { currentContext } from './koa/context';
import { getDpopThumbprint } from './koa/dpop';
import { boundThumbprint } from './core/dpop/binding';
import { invalidProof, proofRequired } from './core/dpop/errors';
import type { JwtPayload } from './core/payload';
import type { StoredToken } from './store/token-store';

/**
 * Creates an access token (and records it when access tokens are checked). The identity
 * is a string, or a user object that `userIdentityLoader` maps to one.
 *
 * @example const accessToken = await createAccessToken(username, { fresh: true })
 */
export function createAccessToken(identity: string | number | object, options?: AccessTokenOptions): Promise<string> {
  return JwtManager.instance.createAccessToken(identity, options);
}

/**
 * A signed refresh token for `identity` (stored when refresh tokens are checked).
 *
 * @example const refreshToken = await createRefreshToken(username)
 */
export function createRefreshToken(identity: string | number | object, options?: RefreshTokenOptions): Promise<string> {
  return JwtManager.instance.createRefreshToken(identity, options);
}

/**
 * An access and a refresh token for one identity (a login): both records (when checked) are
 * stored together, one Redis round trip instead of two; neither is handed out unless both are.
 *
 * @example const { accessToken, refreshToken } = await createTokenPair(username, { access: { fresh: true } })
 */
export function createTokenPair(identity: string | number | object, options?: TokenPairOptions): Promise<TokenPair> {
  return JwtManager.instance.createTokenPair(identity, options);
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

/**
 * Revokes a token, given the token string (verified first, expired allowed), its decoded
 * payload, or its jti. Allowlist mode: rejects with `TokenNotFoundError` for a token the store
 * does not hold. Blocklist mode: stores the revocation until the token's `exp`; a bare jti then
 * needs `{ identity, expiresAt }` (the token's identity and `exp`), else a `JwtUsageError`.
 *
 * @example
 * await revokeToken(getJwtClaims()) // the current request's token
 * await revokeToken(jti, { identity: 'alice', expiresAt: exp }) // blocklist mode, by jti
 */
export function revokeToken(target: RevocationTarget, options?: RevokeTokenOptions): Promise<void> {
  return JwtManager.instance.revokeToken(target, options);
}

/** Lifts a revocation (a stored record's flag); cut-offs and family revocations stay. @example await unrevokeToken(jti) */
export function unrevokeToken(target: RevocationTarget): Promise<void> {
  return JwtManager.instance.unrevokeToken(target);
}

/**
 * Log out everywhere: every token of `identity` created before this call is refused wherever
 * the store is checked; tokens created after it (same second included) are accepted.
 *
 * @example await revokeAllTokens(getJwtIdentity()!) // after a password change
 */
export function revokeAllTokens(identity: string): Promise<void> {
  return JwtManager.instance.revokeAllTokens(identity);
}

/** Options of {@link rotateRefreshToken}: the presented refresh token, when there is no request context. */
export interface RotateRefreshTokenOptions extends RotateOptions {
  /** The presented refresh token (verified here), when the request context is off. */
  token?: string;
  /** Its verified payload (e.g. from `@Claims()`), when the request context is off. */
  payload?: TokenPayload;
}

/**
 * Inside a `@RefreshRequired()` route with `revocation.refreshRotation`: marks the presented
 * refresh token used (exactly once, even under concurrent calls) and resolves with a new
 * `{ accessToken, refreshToken }` in the same family. A used refresh token presented again is
 * reuse: it is refused and its whole family revoked.
 *
 * @example
 * @Post('/refresh') @RefreshRequired()
 * async refresh() { return rotateRefreshToken(); }
 */
export async function rotateRefreshToken(options: RotateRefreshTokenOptions = {}): Promise<TokenPair> {
  const manager = JwtManager.instance;
  const { token, payload, ...rotateOptions } = options;
  const context = currentContext();
  const presented = payload ?? (token !== undefined ? await manager.decodeToken(token) : context?.payload);
  if (presented === undefined) {
    throw new JwtUsageError('rotateRefreshToken() found no refresh token: call it inside a @RefreshRequired() route, or pass { token } or { payload }');
  }
  requireProofOfBoundKey(presented as TokenPayload, manager);
  return rotate(manager.config, manager, presented as TokenPayload, rotateOptions);
}

/**
 * A DPoP-bound refresh token rotates only with a proof by its key in this request (the guard
 * checked one; a token passed in by hand outside a guard has none). With the request context
 * off, the guard of the route is what checked it.
 */
function requireProofOfBoundKey(presented: TokenPayload, manager: JwtManager): void {
  const jkt = boundThumbprint(presented);
  if (jkt === undefined || !manager.config.requestContext) return;
  const thumbprint = getDpopThumbprint();
  if (thumbprint === undefined) throw proofRequired(manager.config.dpop.algorithms);
  if (thumbprint !== jkt) throw invalidProof(manager.config.dpop.algorithms, 'the proof key is not the key the refresh token is bound to');
}

/**
 * The store's record of one token: its payload and whether it is revoked. Rejects with `TokenNotFoundError` for an unknown jti.
 *
 * @example const { token, revoked } = await getStoredToken(jti)
 */
export function getStoredToken(jti: string): Promise<StoredToken> {
  return JwtManager.instance.getStoredToken(jti);
}

/**
 * The store's records of one identity's tokens (in blocklist mode, its revocations).
 *
 * @example const mine = await getStoredTokens(getJwtIdentity()!)
 */
export function getStoredTokens(identity: string): Promise<StoredToken[]> {
  return JwtManager.instance.getStoredTokens(identity);
}

/**
 * Every record in the store (Redis: `SCAN` on every master, never `KEYS`).
 *
 * @example const all = await getAllStoredTokens()
 */
export function getAllStoredTokens(): Promise<StoredToken[]> {
  return JwtManager.instance.getAllStoredTokens();
}
