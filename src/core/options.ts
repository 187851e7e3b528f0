/**
 * Options: what a user passes to `JwtManager.configure()`, validated once with
 * class-validator (every problem listed in one error), then resolved into a
 * frozen config the request path reads without further checks.
 */
import {
  IsArray, IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min, validateSync,
  ValidateIf,
} from 'class-validator';
import { parseDuration, describe, Duration } from './duration';
import { JwtConfigurationError } from './errors';
import { algorithmListProblem, allowListOption, buildKeys, interopOptions } from './interop-options';
import { IdpConfig, idpOptions, IssuerOptions } from './idp-options';
import { Algorithm, buildKeyRing, describeKeyRing, KeyInput, KeyRing, SUPPORTED_ALGORITHMS, VerificationKeyOptions } from './keys';
import type { DecodeKeyLoader } from './key-source';
import { showAs } from './safe-view';
import type { Loaders } from './responses';
import { DpopConfig, dpopOption, DpopOptions } from './dpop/options';
import { ROTATION_METHODS, type TokenStore } from '../store/token-store';

/**
 * Where a token is read from: the `Authorization` header, cookies, the query string or the JSON body.
 */
export type TokenLocation = 'headers' | 'cookies' | 'query' | 'json';
export const TOKEN_LOCATIONS: readonly TokenLocation[] = ['headers', 'cookies', 'query', 'json'];
/**
 * Which tokens the revocation store is asked about: refresh tokens only, or every token.
 */
export type RevocationChecks = 'refresh' | 'all';

// --- issue 13 (sessions): the revocation option grows mode, refreshRotation, reuseIntervalSeconds ---
/** `'allowlist'`: every checked token stored at creation, unknown = revoked; `'blocklist'`: only revocations stored, unknown = valid. */
export type RevocationMode = 'allowlist' | 'blocklist';

/** What `revocation` accepts. */
export interface RevocationOptions {
  store: TokenStore;
  /** Which token types the store is asked about. Default `'refresh'`. */
  checks?: RevocationChecks;
  /** Default `'allowlist'` (the seed's behaviour). */
  mode?: RevocationMode;
  /** Refresh tokens are used once: `rotateRefreshToken()` in `@RefreshRequired()` routes, reuse revokes the family. Default false. */
  refreshRotation?: boolean;
  /**
   * A retry (or a concurrent rotation, another tab) with the same refresh token within this many
   * seconds gets the same new pair instead of tripping reuse detection; 0 = strict use-once.
   * Default 10.
   */
  reuseIntervalSeconds?: number;
  /**
   * Absolute session lifetime (seconds or `'30d'`-style): no refresh token of a family expires
   * after the first one's `iat` + this, whatever the rotations. Default unset (no bound).
   */
  maxSessionLifetime?: number | string;
  /**
   * How long one store call the library makes for a request or a new token (a check, a
   * rotation, a cut-off read, a DPoP replay record) may take before it fails: the request gets
   * `503`, the call rejects with a `TokenStoreError`. A store that never answers holds nothing
   * up for longer. Default 5000 (more than a Redis command's 1 s bound plus a confirmed
   * invalidation's `confirmTimeoutMs`).
   */
  storeTimeoutMs?: number;
  /**
   * How much app instances' clocks may differ, in whole seconds (0 to 3600). Revocation state
   * (blocklist revocations, cut-offs, family revocations) is kept this long past the last `exp`
   * it can concern, so an instance whose clock is behind still refuses the token until its own
   * clock says it expired. Default 300; 0 for one process (or clocks kept in step).
   */
  clockMarginSeconds?: number;
}

/** The resolved `revocation` option. */
export interface RevocationConfig {
  store: TokenStore;
  checks: RevocationChecks;
  mode: RevocationMode;
  refreshRotation: boolean;
  reuseIntervalSeconds: number;
  /** Seconds; `undefined` = no bound. */
  maxSessionLifetime: number | undefined;
  /**
   * The optional methods the store has, read once at `configure()` (a request never reads a
   * store property outside a store call's error handling: a getter that throws later fails
   * inside the call, a 503).
   */
  storeHas: StoreCapabilities;
  /** How long a store call made for a request or a token may take before it fails (503). */
  storeTimeoutMs: number;
  /** Seconds revocation state outlives the last `exp` it concerns. */
  clockMarginSeconds: number;
}

/** Which optional `TokenStore` methods a store has. */
export interface StoreCapabilities {
  inspect: boolean;
  cutoff: boolean;
  rememberOnce: boolean;
}

/** The longest a timer can wait (Node fires a longer one at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Whether `store[name]` is a function; a read that throws is a problem listed (and counts as absent). */
function hasMethod(store: object, name: string, problems: string[]): boolean {
  try {
    return typeof (store as Record<string, unknown>)[name] === 'function';
  } catch (error) {
    problems.push(`revocation.store.${name} threw when read (${error instanceof Error ? error.message : String(error)})`);
    return false;
  }
}

function revocationOption(value: unknown, problems: string[]): RevocationConfig | undefined {
  if (value === undefined || value === null || value === false) return undefined;
  const revocation = value as { [K in keyof RevocationOptions]?: unknown };
  const store = revocation.store as Partial<TokenStore> | undefined;
  const methods = ['add', 'find', 'setRevoked', 'findByIdentity', 'findAll'] as const;
  const isObject = (typeof store === 'object' || typeof store === 'function') && store !== null;
  if (!isObject || !methods.every((m) => hasMethod(store, m, problems))) {
    problems.push('revocation.store must be a TokenStore (MemoryTokenStore, RedisTokenStore, TieredTokenStore or your own)');
  }
  const storeHas: StoreCapabilities = isObject
    ? { inspect: hasMethod(store, 'inspect', problems), cutoff: hasMethod(store, 'cutoff', problems), rememberOnce: hasMethod(store, 'rememberOnce', problems) }
    : { inspect: false, cutoff: false, rememberOnce: false };
  const {
    checks = 'refresh', mode = 'allowlist', refreshRotation = false, reuseIntervalSeconds = 10, maxSessionLifetime, storeTimeoutMs = 5000, clockMarginSeconds = 300,
  } = revocation;
  if (typeof storeTimeoutMs !== 'number' || !Number.isInteger(storeTimeoutMs) || storeTimeoutMs < 1 || storeTimeoutMs > MAX_TIMER_MS) {
    problems.push(`revocation.storeTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}, got ${typeof storeTimeoutMs === 'number' ? storeTimeoutMs : describe(storeTimeoutMs)}`);
  }
  if (checks !== 'refresh' && checks !== 'all') problems.push(`revocation.checks must be 'refresh' or 'all', got ${describe(checks)}`);
  if (mode !== 'allowlist' && mode !== 'blocklist') problems.push(`revocation.mode must be 'allowlist' or 'blocklist', got ${describe(mode)}`);
  if (typeof refreshRotation !== 'boolean') problems.push(`revocation.refreshRotation must be true or false, got ${describe(refreshRotation)}`);
  if (typeof reuseIntervalSeconds !== 'number' || !Number.isInteger(reuseIntervalSeconds) || reuseIntervalSeconds < 0 || reuseIntervalSeconds > 300) {
    problems.push(`revocation.reuseIntervalSeconds must be a whole number of seconds from 0 to 300, got ${typeof reuseIntervalSeconds === 'number' ? reuseIntervalSeconds : describe(reuseIntervalSeconds)}`);
  }
  if (typeof clockMarginSeconds !== 'number' || !Number.isInteger(clockMarginSeconds) || clockMarginSeconds < 0 || clockMarginSeconds > 3600) {
    problems.push(`revocation.clockMarginSeconds must be a whole number of seconds from 0 to 3600, got ${typeof clockMarginSeconds === 'number' ? clockMarginSeconds : describe(clockMarginSeconds)}`);
  }
  let sessionLifetime: number | undefined;
  if (maxSessionLifetime !== undefined) {
    const parsed = parseDuration(maxSessionLifetime);
    if ('problem' in parsed) problems.push(`revocation.maxSessionLifetime ${parsed.problem}`);
    else if (parsed.seconds === false || parsed.seconds <= 0) problems.push('revocation.maxSessionLifetime must be a positive duration (leave it unset for no bound)');
    else sessionLifetime = parsed.seconds;
  }
  const missing = isObject && refreshRotation === true ? ROTATION_METHODS.filter((m) => !hasMethod(store, m, [])) : [];
  if (missing.length > 0) problems.push(`revocation.refreshRotation needs a store with ${missing.join(', ')} (this store lacks them; MemoryTokenStore, RedisTokenStore and TieredTokenStore have them)`);
  return {
    store: store as TokenStore, checks, mode, refreshRotation, reuseIntervalSeconds, maxSessionLifetime: sessionLifetime, storeHas, storeTimeoutMs, clockMarginSeconds,
  } as RevocationConfig;
}
// --- end issue 13 ---

/** Everything `JwtManager.configure()` accepts. Only `secret` (or keys) is required. */
export interface JwtOptions extends Partial<Loaders> {
  secret?: KeyInput;
  /** The algorithm tokens are signed with (one name). Default `'HS256'`, or the first of `algorithms`. */
  algorithm?: Algorithm;
  /**
   * The algorithms a token may be verified with (the allow-list, RFC 8725 §3.1). Default: the
   * algorithm of each configured key, i.e. `[algorithm]`. For an identity provider that signs
   * with several, e.g. `['RS256', 'ES256', 'EdDSA']`; each key must still fit the token's `alg`.
   */
  algorithms?: Algorithm[];
  privateKey?: KeyInput;
  publicKey?: KeyInput;
  /** `kid` header of the signing key; asymmetric keys default to their RFC 7638 thumbprint. */
  kid?: string;
  /** Older keys tokens may still be verified with, picked by `kid`. */
  verificationKeys?: VerificationKeyOptions[];
  headerName?: string;
  headerType?: string;
  accessTokenExpires?: Duration;
  refreshTokenExpires?: Duration;
  identityClaim?: string;
  errorMessageKey?: string;
  revocation?: RevocationOptions;
  tokenLocation?: TokenLocation | TokenLocation[];
  audience?: string | string[];
  issuer?: string;
  /** Seconds of clock skew tolerated for `exp`, `nbf` and `iat`. */
  leeway?: number;
  /** Tokens longer than this are refused before any parsing. */
  maxTokenLength?: number;
  /** Verified tokens kept for re-use (hits still re-check `exp`/`nbf`); 0 turns the cache off. */
  verifiedTokenCacheSize?: number;
  /**
   * `getJwtIdentity()` / `getJwtClaims()` anywhere in a request (AsyncLocalStorage). On Node 20
   * an active context makes every promise of the process dearer (about 10% of a small route's
   * throughput); `false` turns it off: use `@Identity()`, `@Claims()` or `ctx.state.jwt` instead.
   * Decide it before the server is built: routes built with the context on know a routed call
   * by it, and answer 401 to every request if it is turned off afterwards (never "allowed").
   */
  requestContext?: boolean;
  // cookies and CSRF (Flask-JWT-Extended names in the README)
  accessCookieName?: string;
  refreshCookieName?: string;
  accessCookiePath?: string;
  refreshCookiePath?: string;
  cookieDomain?: string;
  cookieSecure?: boolean;
  cookieSameSite?: 'strict' | 'lax' | 'none' | false;
  sessionCookie?: boolean;
  cookieCsrfProtect?: boolean;
  csrfMethods?: string[];
  accessCsrfHeaderName?: string;
  refreshCsrfHeaderName?: string;
  accessCsrfCookieName?: string;
  refreshCsrfCookieName?: string;
  accessCsrfCookiePath?: string;
  refreshCsrfCookiePath?: string;
  csrfInCookies?: boolean;
  queryStringName?: string;
  jsonKey?: string;
  refreshJsonKey?: string;
  // current user and authorization (0.2 C)
  /**
   * The claim `roles` guard options and `@Authorized(roles)` read (its value a string or a list of
   * strings). Default `'roles'`. A string is one top-level claim name, dots included
   * (`'https://example.com/roles'`); a list is a path into nested claims: `['realm_access', 'roles']` (Keycloak).
   */
  rolesClaim?: string | string[];
  /** Put `userClaimsLoader` claims into refresh tokens too (fje's JWT_CLAIMS_IN_REFRESH_TOKEN). Default false. */
  claimsInRefreshTokens?: boolean;
  // interop: Flask-JWT-Extended 4 and outside issuers (issue 14)
  /** `false` (fje 4.7's JWT_VERIFY_SUB) accepts a non-string identity claim, e.g. fje's integer user ids. Default true. */
  verifySub?: boolean;
  /** `true` reads a verified token without `type` as an access token (fje 4, outside identity providers). Default false. */
  acceptUntypedTokens?: boolean;
  /** A JWK Set URL (https, or http on a loopback host) the verification keys are fetched from. */
  jwksUri?: string;
  /** How long a fetched JWK Set is used before it is fetched again. Default '10m'. */
  jwksCacheMaxAge?: Duration;
  /** Picks the verification key per token (fje's decode_key_loader), e.g. per tenant. */
  decodeKeyLoader?: DecodeKeyLoader;
  /** The `aud` written into new tokens (`audience` sets this and `decodeAudience`). */
  encodeAudience?: string | string[];
  /** The audiences accepted (`audience` sets this and `encodeAudience`). */
  decodeAudience?: string | string[];
  /** The `iss` written into new tokens (`issuer` sets this and `decodeIssuer`). */
  encodeIssuer?: string;
  /** The `iss` required (`issuer` sets this and `encodeIssuer`). */
  decodeIssuer?: string;
  /** Writes `nbf` into new tokens. Default true. */
  encodeNbf?: boolean;
  // identity providers (0.3 J)
  /**
   * The header `typ` values accepted (RFC 9068 §4, RFC 8725 §3.11), e.g. `'at+jwt'`; compared
   * case-insensitively, `application/` optional. A token with another or no `typ` is
   * `422 Invalid token type (typ)`. Default: not checked.
   */
  typ?: string | string[];
  /** After a failed JWK Set fetch, the longest wait before the next (backoff from 1 s); also the least time between refetches for an unknown `kid`. Default '30s'. */
  jwksCooldown?: Duration;
  /** Reads the JWK Set URL from `<issuer>/.well-known/openid-configuration` (`issuer` or `decodeIssuer` required). Default false. */
  issuerDiscovery?: boolean;
  /** Several issuers at once: a token's `iss` picks its entry (keys, audience, algorithms, typ) before any key is fetched. */
  issuers?: IssuerOptions[];
  /** `401` answers every refusal of a token that would be 422 with 401 and `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750). Default 422 (fje). */
  invalidTokenStatus?: 422 | 401;
  /** Sender-constrained tokens (RFC 9449 DPoP): see docs/dpop.md. Bound tokens are checked even without it. */
  dpop?: DpopOptions;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/; // an RFC 9110 token
const COOKIE_NAME = HEADER_NAME;
/** Printable ASCII without `;` (a Set-Cookie attribute Node and `cookies` accept: anything else is a 500 at login). */
const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/;
const COOKIE_DOMAIN = /^[\x21-\x3a\x3c-\x7e]+$/;

/** The class-validator schema: one decorator line per simple rule. */
class OptionsSchema {
  @IsIn(SUPPORTED_ALGORITHMS, { message: `algorithm must be one of ${SUPPORTED_ALGORITHMS.join(', ')} ('none' is never allowed)` })
  algorithm!: string;
  @IsString() @IsNotEmpty() @Matches(HEADER_NAME, { message: 'headerName must be a valid HTTP header name' })
  headerName!: string;
  @IsString() @Matches(/^[!#$%&'*+.^_`|~0-9A-Za-z-]*$/, { message: "headerType must be a single word like 'Bearer', or '' for the bare token" })
  headerType!: string;
  @IsString() @IsNotEmpty() identityClaim!: string;
  @IsString() @IsNotEmpty() errorMessageKey!: string;
  @IsInt() @Min(0) @Max(86400) leeway!: number;
  @IsInt() @Min(64) @Max(1_000_000) maxTokenLength!: number;
  @IsInt() @Min(0) verifiedTokenCacheSize!: number;
  @IsBoolean() requestContext!: boolean;
  @IsOptional() @IsString() @IsNotEmpty() kid?: string;
  @IsOptional() @IsString() @IsNotEmpty() issuer?: string;
  @IsOptional() @ValidateIf((o: OptionsSchema) => typeof o.audience !== 'string')
  @IsArray({ message: 'audience must be a string or a non-empty list of strings' }) @IsString({ each: true }) @IsNotEmpty({ each: true })
  audience?: string | string[];
  @IsArray() @IsIn(TOKEN_LOCATIONS, { each: true, message: `tokenLocation entries must be among ${TOKEN_LOCATIONS.join(', ')}` })
  tokenLocation!: string[];
  @Matches(COOKIE_NAME, { message: '$property must be a valid cookie name' }) accessCookieName!: string;
  @Matches(COOKIE_NAME, { message: '$property must be a valid cookie name' }) refreshCookieName!: string;
  @Matches(COOKIE_NAME, { message: '$property must be a valid cookie name' }) accessCsrfCookieName!: string;
  @Matches(COOKIE_NAME, { message: '$property must be a valid cookie name' }) refreshCsrfCookieName!: string;
  @Matches(COOKIE_PATH, { message: "$property must be a path starting with '/'" }) accessCookiePath!: string;
  @Matches(COOKIE_PATH, { message: "$property must be a path starting with '/'" }) refreshCookiePath!: string;
  @Matches(COOKIE_PATH, { message: "$property must be a path starting with '/'" }) accessCsrfCookiePath!: string;
  @Matches(COOKIE_PATH, { message: "$property must be a path starting with '/'" }) refreshCsrfCookiePath!: string;
  @IsOptional() @IsString() @Matches(COOKIE_DOMAIN, { message: 'cookieDomain must be a domain' }) cookieDomain?: string;
  @IsBoolean() cookieSecure!: boolean;
  @IsIn(['strict', 'lax', 'none', false]) cookieSameSite!: string | false;
  @IsBoolean() sessionCookie!: boolean;
  @IsBoolean() cookieCsrfProtect!: boolean;
  @IsBoolean() csrfInCookies!: boolean;
  @IsArray() @IsIn(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], { each: true, message: 'csrfMethods entries must be HTTP methods in capitals' })
  csrfMethods!: string[];
  @Matches(HEADER_NAME, { message: '$property must be a valid HTTP header name' }) accessCsrfHeaderName!: string;
  @Matches(HEADER_NAME, { message: '$property must be a valid HTTP header name' }) refreshCsrfHeaderName!: string;
  @IsString() @IsNotEmpty() @MaxLength(256) queryStringName!: string;
  @IsString() @IsNotEmpty() jsonKey!: string;
  @IsString() @IsNotEmpty() refreshJsonKey!: string;
  @IsBoolean() claimsInRefreshTokens!: boolean;
  // interop (issue 14)
  @IsBoolean() verifySub!: boolean;
  @IsBoolean() acceptUntypedTokens!: boolean;
  @IsBoolean() encodeNbf!: boolean;
  @IsOptional() @IsString() @IsNotEmpty() encodeIssuer?: string;
  @IsOptional() @IsString() @IsNotEmpty() decodeIssuer?: string;
  @IsOptional() @ValidateIf((o: OptionsSchema) => typeof o.encodeAudience !== 'string')
  @IsArray({ message: 'encodeAudience must be a string or a non-empty list of strings' }) @IsString({ each: true }) @IsNotEmpty({ each: true })
  encodeAudience?: string | string[];
  @IsOptional() @ValidateIf((o: OptionsSchema) => typeof o.decodeAudience !== 'string')
  @IsArray({ message: 'decodeAudience must be a string or a non-empty list of strings' }) @IsString({ each: true }) @IsNotEmpty({ each: true })
  decodeAudience?: string | string[];
}

export const DEFAULTS = {
  algorithm: 'HS256' as Algorithm,
  headerName: 'Authorization',
  headerType: 'Bearer',
  accessTokenExpires: '15m' as Duration,
  refreshTokenExpires: '30d' as Duration,
  identityClaim: 'sub',
  errorMessageKey: 'msg',
  tokenLocation: ['headers'] as TokenLocation[],
  leeway: 0,
  maxTokenLength: 8192,
  verifiedTokenCacheSize: 10_000,
  requestContext: true,
  accessCookieName: 'access_token_cookie',
  refreshCookieName: 'refresh_token_cookie',
  accessCookiePath: '/',
  refreshCookiePath: '/',
  cookieSecure: false,
  cookieSameSite: 'lax' as 'strict' | 'lax' | 'none' | false,
  sessionCookie: true,
  cookieCsrfProtect: true,
  csrfMethods: ['POST', 'PUT', 'PATCH', 'DELETE'],
  accessCsrfHeaderName: 'X-CSRF-TOKEN',
  refreshCsrfHeaderName: 'X-CSRF-TOKEN',
  accessCsrfCookieName: 'csrf_access_token',
  refreshCsrfCookieName: 'csrf_refresh_token',
  accessCsrfCookiePath: '/',
  refreshCsrfCookiePath: '/',
  csrfInCookies: true,
  queryStringName: 'jwt',
  jsonKey: 'access_token',
  refreshJsonKey: 'refresh_token',
  rolesClaim: 'roles' as string | string[],
  claimsInRefreshTokens: false,
  // interop (issue 14)
  verifySub: true,
  acceptUntypedTokens: false,
  encodeNbf: true,
};

export type Defaulted = typeof DEFAULTS;

/** The resolved, validated configuration. */
export interface JwtConfig extends Omit<Defaulted, 'accessTokenExpires' | 'refreshTokenExpires' | 'rolesClaim'>, IdpConfig {
  /** As given; `rolesPath` is what is read. */
  rolesClaim: string | readonly string[];
  keys: KeyRing;
  /** Seconds, or `false` when that token kind never expires. */
  accessTokenExpires: number | false;
  refreshTokenExpires: number | false;
  revocation: RevocationConfig | undefined;
  audience: readonly string[] | undefined;
  /** What goes into the `aud` claim of new tokens. */
  audienceClaim: string | string[] | undefined;
  issuer: string | undefined;
  cookieDomain: string | undefined;
  csrfMethodSet: ReadonlySet<string>;
  /** `headerName` as Node keys request headers (lower case). */
  headerKey: string;
  loaders: Partial<Loaders>;
  // interop (issue 14)
  /** What goes into the `iss` claim of new tokens (`issuer` above is the one required). */
  issuerClaim: string | undefined;
  /** Remote verification keys, when `jwksUri` is set. */
  jwks: { uri: URL; cacheMaxAgeSeconds: number } | undefined;
  decodeKeyLoader: DecodeKeyLoader | undefined;
  /** DPoP (issue 24): the defaults when the option is not given. */
  dpop: DpopConfig;
  // identity providers (0.3 J)
  /** The verification allow-list: `algorithms`, or the algorithms of the configured keys. */
  algorithms: ReadonlySet<string>;
}

const LOADER_NAMES = [
  'userClaimsLoader', 'userIdentityLoader', 'expiredTokenLoader', 'invalidTokenLoader', 'unauthorizedLoader',
  'needsFreshTokenLoader', 'revokedTokenLoader', 'storeUnavailableLoader',
  // current user and authorization (0.2 C)
  'forbiddenLoader', 'userLookupErrorLoader', 'tokenVerificationFailedLoader', 'userLookupLoader',
  'tokenVerificationLoader', 'additionalHeadersLoader',
] as const;

const KNOWN_OPTIONS = new Set<string>([
  ...Object.keys(DEFAULTS), ...LOADER_NAMES,
  'secret', 'privateKey', 'publicKey', 'kid', 'verificationKeys', 'revocation', 'audience', 'issuer', 'cookieDomain',
  'algorithms', 'typ', 'jwksCooldown', 'issuerDiscovery', 'issuers', 'invalidTokenStatus', // 0.3 J
  // interop (issue 14)
  'jwksUri', 'jwksCacheMaxAge', 'decodeKeyLoader', 'encodeAudience', 'decodeAudience', 'encodeIssuer', 'decodeIssuer',
  'dpop', // issue 24
]);

function durationOption(name: string, value: unknown, problems: string[]): number | false {
  const parsed = parseDuration(value);
  if ('problem' in parsed) { problems.push(`${name} ${parsed.problem}`); return false; }
  if (parsed.seconds !== false && parsed.seconds <= 0) problems.push(`${name} must be positive (or false for tokens that never expire)`);
  return parsed.seconds;
}

function schemaProblems(values: Record<string, unknown>): string[] {
  const schema = Object.assign(new OptionsSchema(), values);
  return validateSync(schema, { forbidUnknownValues: false }).flatMap((error) =>
    Object.values(error.constraints ?? {}).map((m) => (m.startsWith(error.property) ? m : `${error.property}: ${m}`)),
  );
}

/**
 * Validates user options and resolves them. Throws one `JwtConfigurationError`
 * listing every problem.
 *
 * @example resolveOptions({ secret: process.env.JWT_SECRET! })
 */
export function resolveOptions(options: JwtOptions): JwtConfig {
  if (typeof options !== 'object' || options === null) throw new JwtConfigurationError(['options must be an object']);
  const problems: string[] = [];
  for (const name of Object.keys(options)) if (!KNOWN_OPTIONS.has(name)) problems.push(`unknown option '${name}'`);
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as JwtOptions;
  // with only an allow-list given, tokens are signed with its first algorithm
  if (defined.algorithm === undefined && Array.isArray(defined.algorithms) && typeof defined.algorithms[0] === 'string') defined.algorithm = defined.algorithms[0];
  const merged = { ...DEFAULTS, ...defined } as Defaulted & JwtOptions;
  const listProblem = algorithmListProblem(merged.algorithm);
  if (listProblem !== undefined) problems.push(listProblem);
  const tokenLocation = Array.isArray(merged.tokenLocation) ? merged.tokenLocation : [merged.tokenLocation];
  if (tokenLocation.length === 0) problems.push('tokenLocation must name at least one location');
  if (new Set(tokenLocation).size !== tokenLocation.length) problems.push('tokenLocation lists a location twice');
  problems.push(...schemaProblems({ ...merged, tokenLocation }).filter((p) => listProblem === undefined || !p.startsWith('algorithm must be one of')));
  const accessTokenExpires = durationOption('accessTokenExpires', merged.accessTokenExpires, problems);
  const refreshTokenExpires = durationOption('refreshTokenExpires', merged.refreshTokenExpires, problems);
  const revocation = revocationOption(options.revocation, problems);
  for (const name of LOADER_NAMES) {
    if (options[name] !== undefined && typeof options[name] !== 'function') problems.push(`${name} must be a function`);
  }
  for (const name of ['audience', 'encodeAudience', 'decodeAudience'] as const) {
    const value = merged[name];
    if (value === '' || (Array.isArray(value) && value.length === 0)) problems.push(`${name} must be a non-empty string or a non-empty list of strings`);
  }
  if (merged.cookieSameSite === 'none' && !merged.cookieSecure) problems.push("cookieSameSite 'none' needs cookieSecure: true (browsers refuse it otherwise)");
  const interop = interopOptions(merged, problems);
  const dpop = dpopOption(options.dpop, merged.secret !== undefined || merged.privateKey !== undefined, problems);
  const keys = SUPPORTED_ALGORITHMS.includes(merged.algorithm) ? buildKeys(merged, problems) : undefined;
  // an unknown algorithm must not hide a bad secret: every problem is listed at once
  if (keys === undefined && !SUPPORTED_ALGORITHMS.includes(merged.algorithm) && merged.secret !== undefined) {
    buildKeyRing({ algorithm: 'HS256', secret: merged.secret }, problems);
  }
  const algorithms = allowListOption(merged, keys, problems);
  const idp = idpOptions(merged, problems, algorithms);
  if (problems.length > 0) throw new JwtConfigurationError(problems);
  const decodeAudience = merged.decodeAudience ?? merged.audience;
  const audience = decodeAudience === undefined ? undefined : [decodeAudience].flat();
  const loaders = Object.fromEntries(LOADER_NAMES.filter((n) => options[n]).map((n) => [n, options[n]]));
  // key material lives in `keys` only: the config keeps no secret or PEM to be logged
  const { secret, privateKey, publicKey, verificationKeys, ...settings } = merged;
  const config = {
    ...settings, tokenLocation: tokenLocation as TokenLocation[], keys: keys!, accessTokenExpires, refreshTokenExpires, revocation,
    audience, cookieDomain: merged.cookieDomain, csrfMethodSet: new Set(merged.csrfMethods),
    headerKey: merged.headerName.toLowerCase(), loaders, ...interop, dpop, algorithms: algorithms!, ...idp,
  } as JwtConfig;
  return Object.freeze(showAs(config, 'JwtConfig', describeConfig));
}

/**
 * The config as `inspect()` and `JSON.stringify` show it: every setting, the key ring
 * summarized, the store by its class name, the loaders by name.
 *
 * @example console.log(describeConfig(JwtManager.instance.config).keys)
 */
export function describeConfig(config: JwtConfig): Record<string, unknown> {
  const { keys, revocation, loaders, csrfMethodSet, headerKey, decodeKeyLoader, dpop, algorithms, ...settings } = config;
  return {
    ...settings,
    algorithms: [...algorithms],
    dpop: dpop && { required: dpop.required, algorithms: dpop.algorithms, proofMaxAgeSeconds: dpop.proofMaxAgeSeconds, nonce: dpop.nonce, origin: dpop.origin },
    decodeKeyLoader: decodeKeyLoader === undefined ? undefined : 'function',
    keys: describeKeyRing(keys),
    revocation: revocation && { store: revocation.store?.constructor?.name ?? typeof revocation.store, checks: revocation.checks },
    loaders: Object.keys(loaders),
  };
}
