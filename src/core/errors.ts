/**
 * Typed errors. The core throws these; the loaders turn them into responses.
 * Each carries the HTTP status it stands for, a message fit to show a client,
 * and (where there is one) the cause for the log.
 */
import { withoutCsrf } from './payload';

/** Which loader answers an error. */
export type JwtErrorKind =
  | 'unauthorized' // no token, or the wrong scheme: 401
  | 'invalid' // malformed, bad signature, bad claims, wrong type: 422
  | 'expired' // 401
  | 'needsFresh' // 401
  | 'revoked' // 401
  | 'storeUnavailable' // 503
  | 'forbidden' // roles or claimsCheck failed: 403
  | 'userLookup' // userLookupLoader found no user: 401
  | 'verificationFailed'; // tokenVerificationLoader said no: 400

/** The `errorMessageKey` of the configured manager (set by it), `'msg'` before any configuration. */
let messageKey = 'msg';

/** The status of a refused token (`invalidTokenStatus`): 422 (fje), or 401 for RFC 6750 clients. */
let invalidTokenStatus = 422;

/** Called by `JwtManager.configure()`: every `InvalidTokenError` made afterwards carries this status. */
export function setInvalidTokenStatus(status: 422 | 401): void {
  invalidTokenStatus = status;
}

/** Called by `JwtManager.configure()` so an error's `toJSON()` answers with the configured key. */
export function setErrorMessageKey(key: string): void {
  messageKey = key;
}

/**
 * Base class of every error a request can be refused with. Thrown out of a
 * routing-controllers action (or a plain Koa handler behind `jwtRequired()`) it answers
 * through the loaders, like a guard refusal; elsewhere its `httpCode` / `toJSON()` give
 * the default answer, and Koa's error handling sees `status` and `expose: true`.
 * Never a 500 and never a stack.
 *
 * @example if (error instanceof JwtError) { ctx.status = error.status; ctx.body = error.toJSON(); }
 */
export class JwtError extends Error {
  /** Koa sends the message of an exposed error to the client. */
  readonly expose = true;
  /** A stable machine-readable code, e.g. `ERR_JWT_EXPIRED`. */
  readonly code: string;
  readonly kind: JwtErrorKind;
  readonly status: number;
  /**
   * The verified payload, for the loaders that receive it (expired, needs fresh, revoked), without
   * its `csrf` claim: an error is logged, and the double-submit value must not be (0.3 G).
   */
  readonly payload?: Record<string, unknown>;

  constructor(
    kind: JwtErrorKind,
    code: string,
    status: number,
    message: string,
    options: { payload?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.code = code;
    this.status = status;
    if (options.payload !== undefined) this.payload = withoutCsrf(options.payload);
  }

  /** The status for routing-controllers' error handler. */
  get httpCode(): number {
    return this.status;
  }

  /** The default response body, `{ msg: message }` (with the configured `errorMessageKey`). */
  toJSON(): Record<string, string> {
    return { [messageKey]: this.message };
  }
}

/**
 * No token where one was required (401, `unauthorizedLoader`).
 *
 * @example throw new NoAuthorizationError('Missing Authorization Header')
 */
export class NoAuthorizationError extends JwtError {
  constructor(message: string, code = 'ERR_JWT_MISSING') {
    super('unauthorized', code, 401, message);
  }
}

/**
 * A CSRF double-submit failure (401, `unauthorizedLoader`, as Flask-JWT-Extended answers it).
 *
 * @example if (error instanceof CsrfError) log.warn('CSRF header missing or wrong')
 */
export class CsrfError extends JwtError {
  constructor(message: string) {
    super('unauthorized', 'ERR_JWT_CSRF', 401, message);
  }
}

/**
 * Anything wrong with the token itself or the header carrying it (422, `invalidTokenLoader`).
 *
 * @example decodeKeyLoader: (header) => keys.get(header.kid as string) ?? Promise.reject(new InvalidTokenError('Unknown tenant'))
 */
export class InvalidTokenError extends JwtError {
  constructor(message: string, code = 'ERR_JWT_INVALID', cause?: unknown) {
    super('invalid', code, invalidTokenStatus, message, { cause });
  }
}

/**
 * A well-signed token past its `exp` (401, `expiredTokenLoader`).
 *
 * @example await decodeToken(token).catch((e) => { if (e instanceof ExpiredTokenError) return decodeToken(token, { allowExpired: true }); throw e; })
 */
export class ExpiredTokenError extends JwtError {
  constructor(payload: Record<string, unknown>) {
    super('expired', 'ERR_JWT_EXPIRED', 401, 'Token has expired', { payload });
  }
}

/**
 * A non-fresh access token on a fresh-only route (401, `needsFreshTokenLoader`).
 *
 * @example if (error instanceof FreshTokenRequiredError) ctx.redirect('/login?fresh=1')
 */
export class FreshTokenRequiredError extends JwtError {
  constructor(payload: Record<string, unknown>) {
    super('needsFresh', 'ERR_JWT_NOT_FRESH', 401, 'Fresh token required', { payload });
  }
}

/**
 * A revoked token, or a checked token the store does not know (401, `revokedTokenLoader`).
 *
 * @example if (error instanceof RevokedTokenError) unsetJwtCookies(ctx)
 */
export class RevokedTokenError extends JwtError {
  constructor(payload: Record<string, unknown>) {
    super('revoked', 'ERR_JWT_REVOKED', 401, 'Token has been revoked', { payload });
  }
}

/**
 * The revocation store could not answer: fail closed (503).
 *
 * @example if (error instanceof StoreUnavailableError) ctx.set('Retry-After', '5')
 */
export class StoreUnavailableError extends JwtError {
  constructor(cause?: unknown) {
    super('storeUnavailable', 'ERR_JWT_STORE_UNAVAILABLE', 503, 'Token revocation store unavailable', {
      cause,
    });
  }
}

/**
 * The roles or the `claimsCheck` of a route refused a verified token (403, `forbiddenLoader`).
 *
 * @example claimsCheck: (payload) => payload.plan === 'pro' // anything else answers ForbiddenError's 403
 */
export class ForbiddenError extends JwtError {
  constructor(payload: Record<string, unknown>) {
    super('forbidden', 'ERR_JWT_FORBIDDEN', 403, 'Insufficient permissions', { payload });
  }
}

/**
 * A verified token that lacks a scope the route's `scopes` option requires (403, `forbiddenLoader`;
 * the guard adds RFC 6750 §3.1's `insufficient_scope` challenge naming `scopes`).
 *
 * @example throw new InsufficientScopeError(payload, ['api:write'])
 */
export class InsufficientScopeError extends JwtError {
  constructor(payload: Record<string, unknown>, readonly scopes: readonly string[]) {
    super('forbidden', 'ERR_JWT_INSUFFICIENT_SCOPE', 403, 'Insufficient scope', { payload });
  }
}

/**
 * `userLookupLoader` found no user for a verified token (401, `userLookupErrorLoader`).
 *
 * @example if (error instanceof UserLookupError) log.info('token of a deleted user', error.payload?.sub)
 */
export class UserLookupError extends JwtError {
  constructor(payload: Record<string, unknown>, identity: unknown) {
    super('userLookup', 'ERR_JWT_USER_LOOKUP', 401, `Error loading the user ${String(identity)}`, { payload });
  }
}

/**
 * `tokenVerificationLoader` returned false (400, `tokenVerificationFailedLoader`).
 *
 * @example tokenVerificationLoader: (payload) => payload.aud === 'orders' // false answers TokenVerificationError's 400
 */
export class TokenVerificationError extends JwtError {
  constructor(payload: Record<string, unknown>) {
    super('verificationFailed', 'ERR_JWT_VERIFICATION_FAILED', 400, 'User claims verification failed', { payload });
  }
}

/**
 * `getStoredToken(jti)` and friends on a jti the store does not hold (404 when it escapes an action).
 *
 * @example await revokeToken(jti).catch((e) => { if (!(e instanceof TokenNotFoundError)) throw e; })
 */
export class TokenNotFoundError extends Error {
  readonly code = 'ERR_JWT_TOKEN_NOT_FOUND';
  readonly status = 404;
  readonly expose = true;
  constructor(readonly jti: string) {
    super(`Token not found: ${jti}`);
    this.name = 'TokenNotFoundError';
  }

  get httpCode(): number {
    return this.status;
  }

  toJSON(): Record<string, string> {
    return { [messageKey]: 'Token not found' };
  }
}

/**
 * A token store write or read that failed outside a request's check (creation, revoke,
 * listing). Escaping an action it answers 503 with a fixed message: the cause is for
 * the log, never for the client.
 *
 * @example await createAccessToken('alice').catch((e) => { if (e instanceof TokenStoreError) return retryLater(); throw e; })
 */
export class TokenStoreError extends Error {
  readonly code = 'ERR_JWT_STORE';
  readonly status = 503;
  readonly expose = false;
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TokenStoreError';
  }

  get httpCode(): number {
    return this.status;
  }

  toJSON(): Record<string, string> {
    return { [messageKey]: 'Token revocation store unavailable' };
  }
}

/**
 * `JwtManager.configure()` with bad options: every problem is listed in `problems`.
 *
 * @example try { JwtManager.configure(options) } catch (e) { if (e instanceof JwtConfigurationError) console.error(e.problems) }
 */
export class JwtConfigurationError extends Error {
  readonly code = 'ERR_JWT_CONFIGURATION';
  constructor(readonly problems: string[]) {
    super(`Invalid koa-jwt-extended configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'JwtConfigurationError';
  }
}

/**
 * Misuse of the library by the calling code (wrong argument, called outside a request...).
 *
 * @example getJwtIdentity() // outside a verified request: throws a JwtUsageError that names the fix
 */
export class JwtUsageError extends Error {
  readonly code = 'ERR_JWT_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'JwtUsageError';
  }
}
