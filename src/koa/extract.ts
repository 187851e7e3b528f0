/**
 * Finds the token of a Koa request in the configured locations, in order of
 * precedence, with Flask-JWT-Extended's messages when it is not there.
 */
import type { Context } from 'koa';
import { CsrfError, InvalidTokenError, NoAuthorizationError } from '../core/errors';
import type { TokenType } from '../core/claims';
import type { JwtConfig, TokenLocation } from '../core/options';

export interface FoundToken {
  token: string;
  location: TokenLocation;
  /** For a cookie token on a CSRF-protected method: the header value to match (checked after verification). */
  csrfValue?: string;
}

const WHITESPACE_OR_COMMA = /[\s,]/;

/** The token in an auth header value (`undefined` when the header is absent), or the refusal Flask-JWT-Extended gives. */
export function tokenFromHeader(value: string | undefined, config: JwtConfig): string {
  const { headerName, headerType } = config;
  // hot path: exactly "<type> <token>", nothing else to search (same outcome as the general parse below)
  const typeLength = headerType.length;
  if (typeLength > 0 && value !== undefined && value.charCodeAt(typeLength) === 32 && value.startsWith(headerType)) {
    const token = value.slice(typeLength + 1);
    if (token !== '' && !WHITESPACE_OR_COMMA.test(token)) return token;
  }
  const header = (value ?? '').trim().replace(/^,+|,+$/g, '').trim();
  if (header === '') throw new NoAuthorizationError(`Missing ${headerName} Header`);
  if (headerType === '') {
    const parts = header.split(/\s+/);
    if (parts.length !== 1) throw new InvalidTokenError(`Bad ${headerName} header. Expected '${headerName}: <JWT>'`, 'ERR_JWT_BAD_HEADER');
    return parts[0];
  }
  // the scheme is case-insensitive (RFC 9110); a comma-separated list is searched for it
  const scheme = headerType.toLowerCase();
  const candidates = header.split(/\s*,\s*/).filter((field) => field.split(/\s+/)[0].toLowerCase() === scheme);
  if (candidates.length !== 1) {
    throw new NoAuthorizationError(`Missing '${headerType}' type in '${headerName}' header. Expected '${headerName}: ${headerType} <JWT>'`, 'ERR_JWT_SCHEME');
  }
  const parts = candidates[0].split(/\s+/);
  if (parts.length !== 2) {
    throw new InvalidTokenError(`Bad ${headerName} header. Expected '${headerName}: ${headerType} <JWT>'`, 'ERR_JWT_BAD_HEADER');
  }
  return parts[1];
}

/** The raw header value (Node lower-cases header names; a repeated header keeps the first). */
function headerValue(ctx: Context, name: string): string | undefined {
  const value = ctx.req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

function fromCookies(ctx: Context, config: JwtConfig, type: TokenType, method: string): FoundToken {
  const name = type === 'access' ? config.accessCookieName : config.refreshCookieName;
  const token = ctx.cookies.get(name, { signed: false }); // a JWT is signed already; app.keys must not demand a .sig cookie
  if (!token) throw new NoAuthorizationError(`Missing cookie "${name}"`);
  if (!config.cookieCsrfProtect || !config.csrfMethodSet.has(method)) return { token, location: 'cookies' };
  const headerName = type === 'access' ? config.accessCsrfHeaderName : config.refreshCsrfHeaderName;
  const csrfValue = ctx.get(headerName);
  if (csrfValue === '') throw new CsrfError('Missing CSRF token');
  return { token, location: 'cookies', csrfValue };
}

function fromQuery(ctx: Context, config: JwtConfig): FoundToken {
  const name = config.queryStringName;
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new InvalidTokenError(`Bad query string: "${name}" given more than once`, 'ERR_JWT_BAD_QUERY');
  if (!value) throw new NoAuthorizationError(`Missing "${name}" query parameter`);
  return { token: value, location: 'query' };
}

function fromJson(ctx: Context, config: JwtConfig, type: TokenType): FoundToken {
  const key = type === 'access' ? config.jsonKey : config.refreshJsonKey;
  if (!ctx.request.is('application/json', '+json')) {
    throw new NoAuthorizationError('Invalid content-type. Must be application/json.');
  }
  const body = (ctx.request as { body?: unknown }).body;
  const value = typeof body === 'object' && body !== null && Object.prototype.hasOwnProperty.call(body, key) ? (body as Record<string, unknown>)[key] : undefined;
  if (value === undefined || value === null || value === '') throw new NoAuthorizationError(`Missing "${key}" key in json data.`);
  if (typeof value !== 'string') throw new InvalidTokenError(`Invalid "${key}" in json data: must be a string`, 'ERR_JWT_BAD_JSON');
  return { token: value, location: 'json' };
}

function fromLocation(ctx: Context, config: JwtConfig, location: TokenLocation, type: TokenType, method: string): FoundToken {
  switch (location) {
    case 'headers':
      return { token: tokenFromHeader(headerValue(ctx, config.headerName), config), location };
    case 'cookies':
      return fromCookies(ctx, config, type, method);
    case 'query':
      return fromQuery(ctx, config);
    case 'json':
      return fromJson(ctx, config, type);
  }
}

/**
 * The token of a request. A location without a token is skipped; a malformed
 * one (bad header, missing CSRF) refuses at once, as Flask-JWT-Extended does.
 * `method` decides CSRF: the request's own, or that of a guarded method's route
 * when another handler calls it.
 *
 * @example const { token } = extractToken(ctx, config, ['cookies', 'headers'], 'access')
 */
export function extractToken(
  ctx: Context,
  config: JwtConfig,
  locations: readonly TokenLocation[],
  type: TokenType,
  method: string = ctx.method,
): FoundToken {
  const missing: string[] = [];
  for (const location of locations) {
    try {
      return fromLocation(ctx, config, location, type, method);
    } catch (error) {
      if (!(error instanceof NoAuthorizationError)) throw error;
      missing.push(error.message);
    }
  }
  if (locations.length === 1) throw new NoAuthorizationError(missing[0]);
  const names = `${locations.slice(0, -1).join(', ')} or ${locations[locations.length - 1]}`;
  throw new NoAuthorizationError(`Missing JWT in ${names} (${missing.join('; ')})`);
}
