/**
 * Finds the token of a Koa request in the configured locations, in order of
 * precedence, with Flask-JWT-Extended's messages when it is not there.
 */
import type { Context } from 'koa';
import { CsrfError, InvalidTokenError, NoAuthorizationError } from '../core/errors';
import type { TokenType } from '../core/claims';
import type { JwtConfig, TokenLocation } from '../core/options';
import { csrfRequired } from '../core/csrf';

export interface FoundToken {
  token: string;
  location: TokenLocation;
  /** For a cookie token on a CSRF-protected method: the header value to match (checked after verification). */
  csrfValue?: string;
  /** The token came as `Authorization: DPoP <token>` (RFC 9449 §7.1). */
  dpopScheme?: boolean;
}

/** Where each refused token (or the malformed header, query or body meant to carry one) was found: for `WWW-Authenticate`. */
const REFUSED_AT = new WeakMap<object, TokenLocation>();

/** Records that `error` refused what was found at `location`. @example markRefusedAt(error, 'headers') */
export function markRefusedAt(error: unknown, location: TokenLocation): void {
  if (typeof error === 'object' && error !== null) REFUSED_AT.set(error, location);
}

/** Where the token (or carrier) `error` refused was found, if it was. @example refusedLocation(error) // 'headers' */
export function refusedLocation(error: object): TokenLocation | undefined {
  return REFUSED_AT.get(error);
}

const WHITESPACE_OR_COMMA = /[\s,]/;
const COMMA = 0x2c;

/** What the header hot path asks the verifier: whether it holds a token verified (so that token has no white space or comma). */
export interface VerifiedTokens {
  holdsVerified(token: string): boolean;
}

/** What `\s` and `String.prototype.trim()` count as white space (ECMAScript WhiteSpace and LineTerminator). */
function isWhitespace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029
    || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;
}

/** The first index in [from, to) that is not white space, or `to`. */
function skipWhitespace(text: string, from: number, to: number): number {
  while (from < to && isWhitespace(text.charCodeAt(from))) from++;
  return from;
}

/** The end of [from, to) once trailing white space is dropped. */
function trimmedEnd(text: string, from: number, to: number): number {
  while (to > from && isWhitespace(text.charCodeAt(to - 1))) to--;
  return to;
}

/** The end of the word starting at `from`: the first white space in [from, to), or `to`. */
function wordEnd(text: string, from: number, to: number): number {
  while (from < to && !isWhitespace(text.charCodeAt(from))) from++;
  return from;
}

/** [start, end) of a header value without surrounding white space, then one layer of commas, then white space. */
function headerBounds(text: string): [number, number] {
  let start = skipWhitespace(text, 0, text.length);
  let end = trimmedEnd(text, start, text.length);
  while (start < end && text.charCodeAt(start) === COMMA) start++;
  while (end > start && text.charCodeAt(end - 1) === COMMA) end--;
  start = skipWhitespace(text, start, end);
  return [start, trimmedEnd(text, start, end)];
}

/**
 * [start, end) of the one comma-separated field (white space trimmed) whose first
 * word is `scheme` in any case, or `undefined` when none or several are.
 */
function schemeField(text: string, start: number, end: number, scheme: string): [number, number] | undefined {
  let found: [number, number] | undefined;
  for (let fieldStart = start; fieldStart <= end;) {
    let fieldEnd = fieldStart;
    while (fieldEnd < end && text.charCodeAt(fieldEnd) !== COMMA) fieldEnd++;
    const from = skipWhitespace(text, fieldStart, fieldEnd);
    const to = trimmedEnd(text, from, fieldEnd);
    if (text.slice(from, wordEnd(text, from, to)).toLowerCase() === scheme) {
      if (found) return undefined;
      found = [from, to];
    }
    fieldStart = fieldEnd + 1;
  }
  return found;
}

/**
 * The token in an auth header value (`undefined` when the header is absent), or the
 * refusal Flask-JWT-Extended gives. One pass over the value with no regular
 * expression, so a long hostile header costs linear time.
 *
 * @example tokenFromHeader('Basic abc, Bearer eyJ...', config) // 'eyJ...'
 */
export function tokenFromHeader(value: string | undefined, config: JwtConfig): string {
  const { headerName, headerType } = config;
  // hot path: exactly "<type> <token>", nothing else to search (same outcome as the general parse below)
  const typeLength = headerType.length;
  if (typeLength > 0 && value !== undefined && value.charCodeAt(typeLength) === 32 && value.startsWith(headerType)) {
    const token = value.slice(typeLength + 1);
    if (token !== '' && !WHITESPACE_OR_COMMA.test(token)) return token;
  }
  const text = value ?? '';
  const [start, end] = headerBounds(text);
  if (start === end) throw new NoAuthorizationError(missingHeaderMessage(config));
  if (headerType === '') {
    if (wordEnd(text, start, end) !== end) throw new InvalidTokenError(`Bad ${headerName} header. Expected '${headerName}: <JWT>'`, 'ERR_JWT_BAD_HEADER');
    return text.slice(start, end);
  }
  // the scheme is case-insensitive (RFC 9110); a comma-separated list is searched for it
  const field = schemeField(text, start, end, headerType.toLowerCase());
  if (field === undefined) {
    throw new NoAuthorizationError(`Missing '${headerType}' type in '${headerName}' header. Expected '${headerName}: ${headerType} <JWT>'`, 'ERR_JWT_SCHEME');
  }
  // exactly "<scheme> <token>" (the field is trimmed, so one run of white space between two words)
  const [from, to] = field;
  const tokenStart = skipWhitespace(text, wordEnd(text, from, to), to);
  if (tokenStart === to || wordEnd(text, tokenStart, to) !== to) {
    throw new InvalidTokenError(`Bad ${headerName} header. Expected '${headerName}: ${headerType} <JWT>'`, 'ERR_JWT_BAD_HEADER');
  }
  return text.slice(tokenStart, to);
}

// Flask-JWT-Extended's texts for a location holding no token
const missingHeaderMessage = (config: JwtConfig) => `Missing ${config.headerName} Header`;
const missingCookieMessage = (name: string) => `Missing cookie "${name}"`;
// fje 4's text, misspelling included: clients match on it
const missingQueryMessage = (name: string) => `Missing '${name}' query paramater`;
const NOT_JSON_MESSAGE = 'Invalid content-type. Must be application/json.';

/** The raw auth header value (Node lower-cases header names: `config.headerKey`; repeated headers are joined). */
function headerValue(ctx: Context, config: JwtConfig): string | undefined {
  const value = ctx.req.headers[config.headerKey];
  return Array.isArray(value) ? value.join(', ') : value;
}

const DPOP_SCHEME = 'dpop';

/**
 * The token of `Authorization: DPoP <token>` (RFC 9449 §7.1: read from Authorization only,
 * whatever `headerName` says), or `undefined` when no field of the header has that scheme.
 * A value with no comma that does not start with a 'd' is answered at once (the Bearer hot path).
 *
 * @example dpopSchemeToken('DPoP eyJ...') // 'eyJ...'
 */
export function dpopSchemeToken(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const [start, end] = headerBounds(value);
  const first = value.charCodeAt(start) | 0x20;
  if (first !== 0x64 && value.indexOf(',') < 0) return undefined;
  let found: [number, number] | undefined;
  for (let fieldStart = start; fieldStart <= end;) {
    let fieldEnd = fieldStart;
    while (fieldEnd < end && value.charCodeAt(fieldEnd) !== COMMA) fieldEnd++;
    const from = skipWhitespace(value, fieldStart, fieldEnd);
    const to = trimmedEnd(value, from, fieldEnd);
    if (value.slice(from, wordEnd(value, from, to)).toLowerCase() === DPOP_SCHEME) {
      if (found) throw badDpopHeader();
      found = [from, to];
    }
    fieldStart = fieldEnd + 1;
  }
  if (found === undefined) return undefined;
  const [from, to] = found;
  const tokenStart = skipWhitespace(value, wordEnd(value, from, to), to);
  if (tokenStart === to || wordEnd(value, tokenStart, to) !== to) throw badDpopHeader();
  return value.slice(tokenStart, to);
}

function badDpopHeader(): InvalidTokenError {
  return new InvalidTokenError("Bad Authorization header. Expected 'Authorization: DPoP <JWT>'", 'ERR_JWT_BAD_HEADER');
}

/**
 * The token of `Authorization: <headerType> <token>` when the header is exactly that (one
 * string, one field), else `undefined`. Such a header has one scheme, the configured one: when
 * that scheme is not DPoP, `dpopSchemeToken` answers `undefined` for it and `tokenFromHeader`
 * this token, so the hot path skips both parses (same outcome, checked by the extract spec).
 */
function plainSchemeToken(authorization: string | string[] | undefined, config: JwtConfig, verified: VerifiedTokens | undefined): string | undefined {
  const { headerType } = config;
  const typeLength = headerType.length;
  if (typeof authorization !== 'string' || typeLength === 0 || config.headerKey !== 'authorization') return undefined;
  if (authorization.charCodeAt(typeLength) !== 32 || (headerType.charCodeAt(0) | 0x20) === 0x64 /* d: maybe DPoP */) return undefined;
  if (!authorization.startsWith(headerType)) return undefined;
  const token = authorization.slice(typeLength + 1);
  if (token === '') return undefined;
  // a token the verifier holds has neither (Node 20 spends ~2 900 instructions on this scan of a token)
  return verified?.holdsVerified(token) === true || !WHITESPACE_OR_COMMA.test(token) ? token : undefined;
}

function fromHeaders(ctx: Context, config: JwtConfig, verified: VerifiedTokens | undefined): FoundToken {
  const authorization = ctx.req.headers.authorization;
  const plain = plainSchemeToken(authorization, config, verified);
  if (plain !== undefined) return { token: plain, location: 'headers' };
  const dpopToken = dpopSchemeToken(Array.isArray(authorization) ? authorization.join(', ') : authorization);
  if (dpopToken !== undefined) return { token: dpopToken, location: 'headers', dpopScheme: true };
  return { token: tokenFromHeader(headerValue(ctx, config), config), location: 'headers' };
}

function fromCookies(ctx: Context, config: JwtConfig, type: TokenType, method: string | undefined): FoundToken {
  const name = type === 'access' ? config.accessCookieName : config.refreshCookieName;
  const token = ctx.cookies.get(name, { signed: false }); // a JWT is signed already; app.keys must not demand a .sig cookie
  if (!token) throw new NoAuthorizationError(missingCookieMessage(name));
  if (!csrfRequired(config, method ?? ctx.method)) return { token, location: 'cookies' };
  const headerName = type === 'access' ? config.accessCsrfHeaderName : config.refreshCsrfHeaderName;
  const csrfValue = ctx.get(headerName);
  if (csrfValue === '') throw new CsrfError('Missing CSRF token');
  return { token, location: 'cookies', csrfValue };
}

function fromQuery(ctx: Context, config: JwtConfig): FoundToken {
  const name = config.queryStringName;
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new InvalidTokenError(`Bad query string: "${name}" given more than once`, 'ERR_JWT_BAD_QUERY');
  if (!value) throw new NoAuthorizationError(missingQueryMessage(name));
  return { token: value, location: 'query' };
}

function fromJson(ctx: Context, config: JwtConfig, type: TokenType): FoundToken {
  const key = type === 'access' ? config.jsonKey : config.refreshJsonKey;
  if (!ctx.request.is('application/json', '+json')) {
    throw new NoAuthorizationError(NOT_JSON_MESSAGE);
  }
  const body = (ctx.request as { body?: unknown }).body;
  const value = typeof body === 'object' && body !== null && Object.prototype.hasOwnProperty.call(body, key) ? (body as Record<string, unknown>)[key] : undefined;
  if (value === undefined || value === null || value === '') throw new NoAuthorizationError(`Missing "${key}" key in json data.`);
  if (typeof value !== 'string') throw new InvalidTokenError(`Invalid "${key}" in json data: must be a string`, 'ERR_JWT_BAD_JSON');
  return { token: value, location: 'json' };
}

function fromLocation(ctx: Context, config: JwtConfig, location: TokenLocation, type: TokenType, method: string | undefined, verified: VerifiedTokens | undefined): FoundToken {
  switch (location) {
    case 'headers':
      return fromHeaders(ctx, config, verified);
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
 * `method` decides CSRF: the request's own (the default), or that of a guarded
 * method's route when another handler calls it. `verified` (the guard passes its verifier) spares
 * the header's token the scan for white space and commas when the verifier holds it verified.
 *
 * @example const { token } = extractToken(ctx, config, ['cookies', 'headers'], 'access')
 */
export function extractToken(
  ctx: Context,
  config: JwtConfig,
  locations: readonly TokenLocation[],
  type: TokenType,
  method?: string,
  verified?: VerifiedTokens,
): FoundToken {
  const missing: string[] = [];
  for (const location of locations) {
    try {
      return fromLocation(ctx, config, location, type, method, verified);
    } catch (error) {
      if (!(error instanceof NoAuthorizationError)) {
        markRefusedAt(error, location); // a malformed header is refused where it was, like the token it carries
        throw error;
      }
      missing.push(error.message);
    }
  }
  throw missingIn(locations, missing);
}

/** One refusal for a token found in none of `locations`, from what each location said. */
function missingIn(locations: readonly TokenLocation[], missing: string[]): NoAuthorizationError {
  if (locations.length === 1) return new NoAuthorizationError(missing[0]);
  const names = `${locations.slice(0, -1).join(', ')} or ${locations[locations.length - 1]}`;
  return new NoAuthorizationError(`Missing JWT in ${names} (${missing.join('; ')})`);
}

/**
 * What `extractToken` refuses a request with that carries nothing in any of `locations`
 * (no header, no cookie, no query parameter, no JSON body): for the doors with no request
 * to read (the testing kit's `withToken(undefined, ...)`), so every door says the same.
 *
 * @example throw missingTokenError(config, ['headers', 'cookies'], 'access')
 */
export function missingTokenError(config: JwtConfig, locations: readonly TokenLocation[], type: TokenType): NoAuthorizationError {
  return missingIn(locations, locations.map((location) => {
    switch (location) {
      case 'headers':
        return missingHeaderMessage(config);
      case 'cookies':
        return missingCookieMessage(type === 'access' ? config.accessCookieName : config.refreshCookieName);
      case 'query':
        return missingQueryMessage(config.queryStringName);
      case 'json':
        return NOT_JSON_MESSAGE;
    }
  }));
}
