/**
 * Token cookies for browsers, written through Koa's own `ctx.cookies`: the token
 * in an HttpOnly cookie, and (for the CSRF double submit) its `csrf` claim in a
 * cookie the page's script can read and echo in the `X-CSRF-TOKEN` header.
 *
 * Secure cookies and plain HTTP: Koa refuses to write a `Secure` cookie on a
 * request it does not see as HTTPS. Behind a TLS-terminating proxy, set
 * `app.proxy = true` so Koa trusts `X-Forwarded-Proto`. When the request still
 * looks like plain HTTP, these functions write `Secure` anyway (as
 * Flask-JWT-Extended does, and never a 500): the browser then keeps the cookie
 * only on HTTPS or on localhost.
 *
 * Lifetimes: Koa writes a persistent cookie's lifetime as an `Expires` date
 * (now + the lifetime); a session cookie (`sessionCookie: true`, the default)
 * has none.
 */
import type { Context } from 'koa';
import type { SetOption } from 'cookies';
import { nowSeconds, TokenType } from '../core/claims';
import { parseDuration } from '../core/duration';
import { JwtError, JwtUsageError } from '../core/errors';
import { JwtManager } from '../core/manager';
import type { JwtConfig } from '../core/options';
import type { TokenPayload } from '../core/responses';

/** A token that never expires gets a persistent cookie of 2^31 seconds, as in Flask-JWT-Extended. */
const NEVER_EXPIRES_SECONDS = 2 ** 31;

interface CookieNames {
  token: string;
  tokenPath: string;
  csrf: string;
  csrfPath: string;
}

function cookieNames(config: JwtConfig, type: TokenType): CookieNames {
  return type === 'access'
    ? { token: config.accessCookieName, tokenPath: config.accessCookiePath, csrf: config.accessCsrfCookieName, csrfPath: config.accessCsrfCookiePath }
    : { token: config.refreshCookieName, tokenPath: config.refreshCookiePath, csrf: config.refreshCsrfCookieName, csrfPath: config.refreshCsrfCookiePath };
}

/** Per-call cookie options (fje's `domain=` and `max_age=`). */
export interface SetCookiesOptions {
  /** This call's cookie `Domain` instead of `cookieDomain` (e.g. one tenant's host). */
  domain?: string;
  /** The cookie's lifetime (seconds or `'15m'`); a given `maxAge` always makes the cookie persistent. */
  maxAge?: number | string;
}

/** Per-call options for the unset functions: the `Domain` the cookies were set with. */
export interface UnsetCookiesOptions {
  /** The `Domain` the cookies were set with, when it was not `cookieDomain`. */
  domain?: string;
}

/** A host name or IP a `Domain` attribute can hold (leading dot allowed): nothing that could end or add an attribute. */
const COOKIE_DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

function cookieDomain(config: JwtConfig, domain: unknown, caller: string): string | undefined {
  if (domain === undefined) return config.cookieDomain;
  if (typeof domain !== 'string' || domain.length > 253 || !COOKIE_DOMAIN.test(domain)) {
    throw new JwtUsageError(`${caller}: domain must be a host name such as 'example.com' or '.example.com'`);
  }
  return domain;
}

/** 0.2's third argument was `maxAge` alone; it still is, as a number or a string. */
function setOptions(options: SetCookiesOptions | number | string | undefined, caller: string): SetCookiesOptions {
  if (options === undefined) return {};
  if (typeof options === 'number' || typeof options === 'string') return { maxAge: options };
  if (typeof options !== 'object' || options === null) throw new JwtUsageError(`${caller}: options must be { domain?, maxAge? }`);
  return options;
}

function sharedAttributes(config: JwtConfig, domain: string | undefined): SetOption {
  // unsigned: a JWT is signed already, and extraction reads it unsigned even when app.keys is set
  return { domain, sameSite: config.cookieSameSite, secure: config.cookieSecure, signed: false, overwrite: true };
}

function writesCsrfCookie(config: JwtConfig): boolean {
  return config.csrfInCookies && config.cookieCsrfProtect;
}

/** Writes through `ctx.cookies`, letting a configured `Secure` through on a request Koa sees as plain HTTP. */
function writeCookies(ctx: Context, config: JwtConfig, write: () => void): void {
  const cookies = ctx.cookies;
  if (!config.cookieSecure || cookies.secure) return write();
  const wasSecure = cookies.secure;
  cookies.secure = true;
  try {
    write();
  } finally {
    cookies.secure = wasSecure;
  }
}

function readToken(token: string, type: TokenType, caller: string): TokenPayload {
  if (typeof token !== 'string' || token === '') throw new JwtUsageError(`${caller}: the token must be a non-empty string`);
  let payload: TokenPayload;
  try {
    payload = JwtManager.instance.verifier.verify(token);
  } catch (error) {
    if (error instanceof JwtError) throw new JwtUsageError(`${caller}: the token does not verify (${error.message})`);
    throw error;
  }
  if (payload.type !== type) throw new JwtUsageError(`${caller}: expected a ${type} token, got a ${String(payload.type)} token`);
  return payload;
}

/** Milliseconds for Koa's `maxAge`, or `undefined` for a session cookie. */
function cookieLifetime(config: JwtConfig, payload: TokenPayload, maxAge: number | string | undefined, caller: string): number | undefined {
  if (maxAge !== undefined) {
    const parsed = parseDuration(maxAge);
    if ('problem' in parsed || parsed.seconds === false || parsed.seconds <= 0) {
      throw new JwtUsageError(`${caller}: maxAge must be a positive number of seconds or a string like '15m'`);
    }
    return parsed.seconds * 1000;
  }
  if (config.sessionCookie) return undefined;
  const exp = payload.exp as number | undefined;
  const seconds = exp === undefined ? NEVER_EXPIRES_SECONDS : Math.max(exp - nowSeconds(), 1);
  return seconds * 1000;
}

function setTokenCookies(ctx: Context, type: TokenType, token: string, given: SetCookiesOptions | number | string | undefined, caller: string): void {
  const manager = JwtManager.instance;
  const config = manager.config;
  const options = setOptions(given, caller);
  const domain = cookieDomain(config, options.domain, caller);
  const payload = readToken(token, type, caller);
  const csrf = payload.csrf;
  if (writesCsrfCookie(config) && typeof csrf !== 'string') {
    throw new JwtUsageError(`${caller}: the token has no csrf claim; add 'cookies' to tokenLocation, or create it with { csrf: true }`);
  }
  const names = cookieNames(config, type);
  const attributes = { ...sharedAttributes(config, domain), maxAge: cookieLifetime(config, payload, options.maxAge, caller) };
  writeCookies(ctx, config, () => {
    ctx.cookies.set(names.token, token, { ...attributes, path: names.tokenPath, httpOnly: true });
    if (writesCsrfCookie(config)) ctx.cookies.set(names.csrf, csrf as string, { ...attributes, path: names.csrfPath, httpOnly: false });
  });
}

function unsetTokenCookies(ctx: Context, type: TokenType, options: UnsetCookiesOptions | undefined, caller: string): void {
  const config = JwtManager.instance.config;
  const names = cookieNames(config, type);
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw new JwtUsageError(`${caller}: options must be { domain? }`);
  const attributes = sharedAttributes(config, cookieDomain(config, options?.domain, caller));
  writeCookies(ctx, config, () => {
    // an empty value makes Koa write an Expires date in 1970: the browser drops the cookie
    ctx.cookies.set(names.token, null, { ...attributes, path: names.tokenPath, httpOnly: true });
    if (writesCsrfCookie(config)) ctx.cookies.set(names.csrf, null, { ...attributes, path: names.csrfPath, httpOnly: false });
  });
}

/**
 * Sets the access token cookie (HttpOnly) and, when `csrfInCookies` and
 * `cookieCsrfProtect` are on, the `csrf_access_token` cookie scripts can read.
 * A persistent cookie (`sessionCookie: false`) lives as long as the token, or
 * `maxAge` (seconds or `'15m'`) when given; a given `maxAge` always makes it persistent.
 * `domain` sets this call's cookie `Domain` instead of `cookieDomain` (fje's `domain=`).
 * A bare number or string as the third argument is `maxAge`, as in 0.2.
 *
 * @example
 * ```ts
 * @Post('/login')
 * async login(@Ctx() ctx: Context) {
 *   setAccessCookies(ctx, await createAccessToken('alice', { fresh: true }), { domain: 'app.example.com' });
 *   return { login: true };
 * }
 * ```
 */
export function setAccessCookies(ctx: Context, token: string, options?: SetCookiesOptions | number | string): void {
  setTokenCookies(ctx, 'access', token, options, 'setAccessCookies()');
}

/**
 * Sets the refresh token cookie (HttpOnly, on `refreshCookiePath`) and its
 * `csrf_refresh_token` cookie; lifetime and `domain` as in `setAccessCookies()`.
 *
 * @example
 * ```ts
 * setRefreshCookies(ctx, await createRefreshToken('alice'), { maxAge: '30d' });
 * ```
 */
export function setRefreshCookies(ctx: Context, token: string, options?: SetCookiesOptions | number | string): void {
  setTokenCookies(ctx, 'refresh', token, options, 'setRefreshCookies()');
}

/**
 * Expires the access token cookie and its CSRF cookie; give the `domain` they were
 * set with when it was not `cookieDomain` (a browser keeps cookies per domain).
 *
 * @example
 * ```ts
 * unsetAccessCookies(ctx); // e.g. when the access token was revoked
 * unsetAccessCookies(ctx, { domain: 'app.example.com' });
 * ```
 */
export function unsetAccessCookies(ctx: Context, options?: UnsetCookiesOptions): void {
  unsetTokenCookies(ctx, 'access', options, 'unsetAccessCookies()');
}

/**
 * Expires the refresh token cookie and its CSRF cookie (`domain` as in `unsetAccessCookies()`).
 *
 * @example
 * ```ts
 * unsetRefreshCookies(ctx, { domain: 'app.example.com' });
 * ```
 */
export function unsetRefreshCookies(ctx: Context, options?: UnsetCookiesOptions): void {
  unsetTokenCookies(ctx, 'refresh', options, 'unsetRefreshCookies()');
}

/**
 * Expires every token and CSRF cookie: a logout (`domain` as in `unsetAccessCookies()`).
 *
 * @example
 * ```ts
 * @Post('/logout')
 * logout(@Ctx() ctx: Context) {
 *   unsetJwtCookies(ctx);
 *   return { logout: true };
 * }
 * ```
 */
export function unsetJwtCookies(ctx: Context, options?: UnsetCookiesOptions): void {
  unsetTokenCookies(ctx, 'access', options, 'unsetJwtCookies()');
  unsetTokenCookies(ctx, 'refresh', options, 'unsetJwtCookies()');
}
