/**
 * Typed errors. The core throws these; the loaders turn them into responses.
 * Each carries the HTTP status it stands for, a message fit to show a client,
 * and (where there is one) the cause for the log.
 */

/** Which loader answers an error. */
export type JwtErrorKind =
  | 'unauthorized' // no token, or the wrong scheme: 401
  | 'invalid' // malformed, bad signature, bad claims, wrong type: 422
  | 'expired' // 401
  | 'needsFresh' // 401
  | 'revoked' // 401
  | 'storeUnavailable'; // 503

/** Base class of every error a request can be refused with. */
export class JwtError extends Error {
  /** A stable machine-readable code, e.g. `ERR_JWT_EXPIRED`. */
  readonly code: string;
  readonly kind: JwtErrorKind;
  readonly status: number;
  /** The verified payload, for the loaders that receive it (expired, needs fresh, revoked). */
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
    if (options.payload !== undefined) this.payload = options.payload;
  }
}

/** No token where one was required (401, `unauthorizedLoader`). */
export class NoAuthorizationError extends JwtError {
  constructor(message: string, code = 'ERR_JWT_MISSING') {
    super('unauthorized', code, 401, message);
  }
}

/** A CSRF double-submit failure (401, `unauthorizedLoader`, as Flask-JWT-Extended answers it). */
export class CsrfError extends JwtError {
  constructor(message: string) {
    super('unauthorized', 'ERR_JWT_CSRF', 401, message);
  }
}

/** Anything wrong with the token itself or the header carrying it (422, `invalidTokenLoader`). */
export class InvalidTokenError extends JwtError {
  constructor(message: string, code = 'ERR_JWT_INVALID', cause?: unknown) {
    super('invalid', code, 422, message, { cause });
  }
}

/** A well-signed token past its `exp` (401, `expiredTokenLoader`). */
export class ExpiredTokenError extends JwtError {
  constructor(payload: Record<string, unknown>) {
    super('expired', 'ERR_JWT_EXPIRED', 401, 'Token has expired', { payload });
  }
}

/** A non-fresh access token on a fresh-only route (401, `needsFreshTokenLoader`). */
export class FreshTokenRequiredError extends JwtError {
  constructor(payload: Record<string, unknown>) {
    super('needsFresh', 'ERR_JWT_NOT_FRESH', 401, 'Fresh token required', { payload });
  }
}

/** A revoked token, or a checked token the store does not know (401, `revokedTokenLoader`). */
export class RevokedTokenError extends JwtError {
  constructor(payload: Record<string, unknown>) {
    super('revoked', 'ERR_JWT_REVOKED', 401, 'Token has been revoked', { payload });
  }
}

/** The revocation store could not answer: fail closed (503). */
export class StoreUnavailableError extends JwtError {
  constructor(cause?: unknown) {
    super('storeUnavailable', 'ERR_JWT_STORE_UNAVAILABLE', 503, 'Token revocation store unavailable', {
      cause,
    });
  }
}

/** `getStoredToken(jti)` and friends on a jti the store does not hold. */
export class TokenNotFoundError extends Error {
  readonly code = 'ERR_JWT_TOKEN_NOT_FOUND';
  readonly status = 404;
  constructor(readonly jti: string) {
    super(`Token not found: ${jti}`);
    this.name = 'TokenNotFoundError';
  }
}

/** A token store write or read that failed outside a request (creation, revoke, listing). */
export class TokenStoreError extends Error {
  readonly code = 'ERR_JWT_STORE';
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TokenStoreError';
  }
}

/** `JwtManager.configure()` with bad options: every problem is listed in `problems`. */
export class JwtConfigurationError extends Error {
  readonly code = 'ERR_JWT_CONFIGURATION';
  constructor(readonly problems: string[]) {
    super(`Invalid koa-jwt-extended configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'JwtConfigurationError';
  }
}

/** Misuse of the library by the calling code (wrong argument, called outside a request...). */
export class JwtUsageError extends Error {
  readonly code = 'ERR_JWT_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'JwtUsageError';
  }
}
