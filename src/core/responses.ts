/**
 * Loaders turn a refused request into a response. Each returns `{ status, body }`
 * (sync or async), sent exactly as returned; one that throws, or returns
 * something that is not a response, falls back to the default answer.
 */
import { JwtError } from './errors';
import type { JwtPayload } from './payload';

/**
 * What a response loader answers: the status and the JSON body, sent as they are.
 */
export interface LoaderResponse {
  status: number;
  body: unknown;
}

type MaybePromise<T> = T | Promise<T>;
/** The internal name of a verified payload (an alias, so code written against it keeps compiling). */
export type TokenPayload = JwtPayload;

/**
 * The Koa context of the refused request, given to response loaders as their second
 * argument (typed loosely here: the core knows nothing of Koa). `undefined` for a
 * direct method call outside any request (the testing kit).
 */
export type RequestContextArg = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The replaceable callbacks: response loaders (refusals) and the loaders that build or look up tokens and users. Give them to `configure()` or set them on the manager.
 */
export interface Loaders {
  /**
   * Extra claims for every new token (fje's `additional_claims_loader`): gets what was given to
   * `createAccessToken()`, the user object itself when `userIdentityLoader` mapped one, else the
   * identity (a number only with `verifySub: false`). Typed loosely so `(identity: string)` and
   * `(user: User)` both compile: annotate the parameter as your app passes it.
   */
  userClaimsLoader(identityOrUser: any): MaybePromise<Record<string, unknown>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * Maps a user object given to `createAccessToken()` / `createRefreshToken()` to its string
   * identity (fje's `user_identity_loader`). Not called for an identity given as a string.
   */
  userIdentityLoader(user: any): MaybePromise<string>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The 401 for a missing token, scheme or CSRF token. */
  unauthorizedLoader(reason: string, ctx?: RequestContextArg): MaybePromise<LoaderResponse>;
  /** Every 422, including a token of the wrong type. */
  invalidTokenLoader(reason: string, ctx?: RequestContextArg): MaybePromise<LoaderResponse>;
  expiredTokenLoader(payload: TokenPayload, ctx?: RequestContextArg): MaybePromise<LoaderResponse>;
  needsFreshTokenLoader(payload: TokenPayload, ctx?: RequestContextArg): MaybePromise<LoaderResponse>;
  revokedTokenLoader(payload: TokenPayload, ctx?: RequestContextArg): MaybePromise<LoaderResponse>;
  /** The 503 when the revocation store cannot answer. */
  storeUnavailableLoader(reason: string, ctx?: RequestContextArg): MaybePromise<LoaderResponse>;
  /** The 403 when a route's `roles` or `claimsCheck` refuse a verified token. */
  forbiddenLoader(payload: TokenPayload, ctx?: RequestContextArg): MaybePromise<LoaderResponse>;
  /** The answer when `userLookupLoader` finds no user (default 401 `Error loading the user <identity>`). */
  userLookupErrorLoader(payload: TokenPayload, ctx?: RequestContextArg): MaybePromise<LoaderResponse>;
  /** The answer when `tokenVerificationLoader` returns false (default 400 `User claims verification failed`). */
  tokenVerificationFailedLoader(payload: TokenPayload, ctx?: RequestContextArg): MaybePromise<LoaderResponse>;
  /** Loads the user of a verified token for `getCurrentUser()`; `null`/`undefined` = no such user. */
  userLookupLoader(payload: TokenPayload): MaybePromise<unknown>;
  /** A global check after verification (fje's `token_verification_loader`); `false` refuses with 400. */
  tokenVerificationLoader(payload: TokenPayload): MaybePromise<boolean>;
  /** Extra JOSE header fields for every new token: gets the identity as a string, or the user object as `userClaimsLoader` does. */
  additionalHeadersLoader(identityOrUser: any): MaybePromise<Record<string, unknown>>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export type ResponseLoaderName =
  | 'unauthorizedLoader' | 'invalidTokenLoader' | 'expiredTokenLoader' | 'needsFreshTokenLoader'
  | 'revokedTokenLoader' | 'storeUnavailableLoader' | 'forbiddenLoader' | 'userLookupErrorLoader'
  | 'tokenVerificationFailedLoader';

const LOADER_FOR_KIND: Record<JwtError['kind'], ResponseLoaderName> = {
  unauthorized: 'unauthorizedLoader',
  invalid: 'invalidTokenLoader',
  expired: 'expiredTokenLoader',
  needsFresh: 'needsFreshTokenLoader',
  revoked: 'revokedTokenLoader',
  storeUnavailable: 'storeUnavailableLoader',
  forbidden: 'forbiddenLoader',
  userLookup: 'userLookupErrorLoader',
  verificationFailed: 'tokenVerificationFailedLoader',
};

/** A body Koa can send as is: a string, a Buffer, or JSON (`null`/`undefined` would turn the status into 204). */
function isSendable(body: unknown): boolean {
  if (typeof body === 'string' || Buffer.isBuffer(body)) return true;
  if (body === null || body === undefined) return false;
  try {
    return JSON.stringify(body) !== undefined; // BigInt and cycles throw; functions and symbols give undefined
  } catch {
    return false;
  }
}

function isLoaderResponse(value: unknown): value is LoaderResponse {
  const status = (value as LoaderResponse | undefined)?.status;
  return typeof value === 'object' && value !== null && Number.isInteger(status) && status! >= 100 && status! <= 599
    && isSendable((value as LoaderResponse).body);
}

/** The answer when no loader is set (or it failed): `{ [errorMessageKey]: message }`. */
export function defaultResponse(error: JwtError, errorMessageKey: string): LoaderResponse {
  return { status: error.status, body: { [errorMessageKey]: error.message } };
}

/**
 * The response a refused request gets: the loader's, or the default. The loader gets
 * the payload (or the reason) and the Koa context, so it can set headers or clear cookies.
 *
 * @example await errorResponse(new ExpiredTokenError(payload), manager, 'msg', ctx)
 */
export async function errorResponse(
  error: JwtError,
  loaders: Partial<Loaders>,
  errorMessageKey: string,
  ctx?: RequestContextArg,
): Promise<LoaderResponse> {
  const loader = loaders[LOADER_FOR_KIND[error.kind]] as ((arg: unknown, ctx: unknown) => MaybePromise<unknown>) | undefined;
  if (loader) {
    try {
      const argument = error.payload ?? error.message;
      const answer = await loader(argument, ctx);
      if (isLoaderResponse(answer)) return { status: answer.status, body: answer.body };
    } catch {
      // a broken loader must not turn a refusal into a 500: fall back to the default
    }
  }
  return defaultResponse(error, errorMessageKey);
}
