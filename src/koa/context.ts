/**
 * The request context: the verified token of the request being served, reachable
 * anywhere in its async call chain through AsyncLocalStorage.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { JwtUsageError } from '../core/errors';
import { JwtManager } from '../core/manager';
import type { JwtPayload } from '../core/payload';
import type { TokenPayload } from '../core/responses';

export interface JwtRequestContext {
  /** The raw token the request carried (or `withToken` gave), if any. */
  token: string | undefined;
  /** The verified payload; `undefined` until authorized, or on an anonymous `@JwtOptional()` call. */
  payload: TokenPayload | undefined;
  /** The guard already enforced for this context (a decorated method re-checks under any other). */
  guard: object | undefined;
}

export const requestContext = new AsyncLocalStorage<JwtRequestContext>();

function authorizedContext(caller: string): JwtRequestContext {
  const context = requestContext.getStore();
  if (!context?.guard) {
    if (JwtManager.isConfigured && !JwtManager.instance.config.requestContext) {
      throw new JwtUsageError(`${caller} needs the request context, which is off (requestContext: false): use @Identity(), @Claims() or ctx.state.jwt`);
    }
    throw new JwtUsageError(
      `${caller} was called outside a protected request: use it inside a method decorated with @JwtRequired(), @FreshJwtRequired(), @RefreshRequired() or @JwtOptional()`,
    );
  }
  return context;
}

/**
 * The identity of the current request's token (`undefined` on an anonymous `@JwtOptional()` request).
 *
 * @example const username = getJwtIdentity()
 */
export function getJwtIdentity(): string | undefined {
  const payload = authorizedContext('getJwtIdentity()').payload;
  return payload?.[JwtManager.instance.config.identityClaim] as string | undefined;
}

/**
 * The verified payload of the current request's token, custom claims at the top level
 * (typed by `C`; the standard claims always are). On an anonymous `@JwtOptional()`
 * request it is `{}`, as Flask-JWT-Extended's `get_jwt()` answers: check `getJwtIdentity()` first there.
 *
 * @example const { roles, jti } = getJwtClaims<{ roles: string[] }>()
 */
export function getJwtClaims<C extends object = Record<string, unknown>>(): JwtPayload<C> {
  return (authorizedContext('getJwtClaims()').payload ?? {}) as JwtPayload<C>;
}
