/**
 * Loaders turn a refused request into a response. Each returns `{ status, body }`
 * (sync or async), sent exactly as returned; one that throws, or returns
 * something that is not a response, falls back to the default answer.
 */
import { JwtError } from './errors';
import type { JwtPayload } from './payload';

export interface LoaderResponse {
  status: number;
  body: unknown;
}

type MaybePromise<T> = T | Promise<T>;
/** The internal name of a verified payload (an alias, so code written against it keeps compiling). */
export type TokenPayload = JwtPayload;

export interface Loaders {
  /** Extra claims for every new token of `identity` (the seed's `user_claims_loader`). */
  userClaimsLoader(identity: string): MaybePromise<Record<string, unknown>>;
  /** Maps a user object given to `createAccessToken` to its string identity. */
  userIdentityLoader(user: unknown): MaybePromise<string>;
  /** The 401 for a missing token, scheme or CSRF token. */
  unauthorizedLoader(reason: string): MaybePromise<LoaderResponse>;
  /** Every 422, including a token of the wrong type. */
  invalidTokenLoader(reason: string): MaybePromise<LoaderResponse>;
  expiredTokenLoader(payload: TokenPayload): MaybePromise<LoaderResponse>;
  needsFreshTokenLoader(payload: TokenPayload): MaybePromise<LoaderResponse>;
  revokedTokenLoader(payload: TokenPayload): MaybePromise<LoaderResponse>;
  /** The 503 when the revocation store cannot answer. */
  storeUnavailableLoader(reason: string): MaybePromise<LoaderResponse>;
}

export type ResponseLoaderName =
  | 'unauthorizedLoader' | 'invalidTokenLoader' | 'expiredTokenLoader' | 'needsFreshTokenLoader'
  | 'revokedTokenLoader' | 'storeUnavailableLoader';

const LOADER_FOR_KIND: Record<JwtError['kind'], ResponseLoaderName> = {
  unauthorized: 'unauthorizedLoader',
  invalid: 'invalidTokenLoader',
  expired: 'expiredTokenLoader',
  needsFresh: 'needsFreshTokenLoader',
  revoked: 'revokedTokenLoader',
  storeUnavailable: 'storeUnavailableLoader',
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
 * The response a refused request gets: the loader's, or the default.
 *
 * @example await errorResponse(new ExpiredTokenError(payload), manager.loaders, 'msg')
 */
export async function errorResponse(error: JwtError, loaders: Partial<Loaders>, errorMessageKey: string): Promise<LoaderResponse> {
  const loader = loaders[LOADER_FOR_KIND[error.kind]] as ((arg: unknown) => MaybePromise<unknown>) | undefined;
  if (loader) {
    try {
      const argument = error.payload ?? error.message;
      const answer = await loader(argument);
      if (isLoaderResponse(answer)) return { status: answer.status, body: answer.body };
    } catch {
      // a broken loader must not turn a refusal into a 500: fall back to the default
    }
  }
  return defaultResponse(error, errorMessageKey);
}
