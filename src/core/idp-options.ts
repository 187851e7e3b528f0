/**
 * The options of a resource server for outside identity providers (0.3 J), resolved for
 * `configure()`: `typ`, `rolesClaim` paths, `jwksCooldown`, `issuerDiscovery`, `issuers`
 * and `invalidTokenStatus`. Problems are pushed, never thrown, so `configure()` lists
 * every one at once.
 */
import { describe, Duration, parseDuration } from './duration';
import { isHmac, SUPPORTED_ALGORITHMS, type Algorithm } from './keys';

/** One issuer a resource server accepts tokens from (the `issuers` option). */
export interface IssuerOptions {
  /** The exact `iss` of its tokens, e.g. `'https://login.example.com/realms/main'`. */
  issuer: string;
  /** Its JWK Set URL; or `issuerDiscovery: true`; or neither, to verify with the top-level keys. */
  jwksUri?: string;
  /** Reads the JWK Set URL from the issuer's `/.well-known/openid-configuration`. */
  issuerDiscovery?: boolean;
  /** The audiences accepted from this issuer (default: the top-level `audience` / `decodeAudience`). */
  audience?: string | string[];
  /**
   * The algorithms accepted from this issuer. Default: the top-level allow-list, less its
   * HMAC algorithms when the issuer's keys are remote (`jwksUri`, `issuerDiscovery`).
   */
  algorithms?: Algorithm[];
  /** The header `typ` values accepted from this issuer (default: the top-level `typ`). */
  typ?: string | string[];
}

/** What one issuer entry resolves to. */
export interface IssuerConfig {
  issuer: string;
  /** Where its keys come from: a JWK Set URL, discovery, or (neither) the top-level key source. */
  jwksUri: URL | undefined;
  discovery: boolean;
  audience: readonly string[] | undefined;
  algorithms: ReadonlySet<string> | undefined;
  typ: ReadonlySet<string> | undefined;
}

/** The options this module reads. */
export interface IdpOptions {
  typ?: string | string[];
  rolesClaim?: string | string[];
  jwksUri?: string;
  jwksCacheMaxAge?: Duration;
  jwksCooldown?: Duration;
  issuerDiscovery?: boolean;
  issuers?: IssuerOptions[];
  invalidTokenStatus?: 422 | 401;
  issuer?: string;
  decodeIssuer?: string;
  decodeKeyLoader?: unknown;
  secret?: unknown;
  privateKey?: unknown;
  publicKey?: unknown;
}

/** What the options resolve to (part of `JwtConfig`). */
export interface IdpConfig {
  /** The accepted header `typ` values, normalised (`typeKey`); `undefined` = not checked. */
  typ: ReadonlySet<string> | undefined;
  /** The path of the roles claim: `['roles']`, or `['realm_access', 'roles']`. */
  rolesPath: readonly string[];
  /** The timing of every remote key set (and discovery document). */
  jwksTiming: { cacheMaxAgeSeconds: number; cooldownSeconds: number };
  /** The issuer whose discovery document names the JWK Set (top-level `issuerDiscovery`). */
  discovery: URL | undefined;
  issuers: readonly IssuerConfig[] | undefined;
  invalidTokenStatus: 422 | 401;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An absolute https URL (http only to a loopback host: keys and metadata must not travel in clear). */
export function secureUrl(value: unknown): URL | undefined {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    return undefined;
  }
  const secure = url !== undefined && (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)));
  return secure ? url : undefined;
}

/**
 * A `typ` value as it is compared: lower case, the `application/` prefix dropped
 * (RFC 7515 §4.1.9: `at+jwt` and `application/at+jwt` are the same media type).
 *
 * @example typeKey('application/AT+JWT') // 'at+jwt'
 */
export function typeKey(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

function typOption(value: unknown, label: string, problems: string[]): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.some((t) => typeof t !== 'string' || typeKey(t) === '')) {
    problems.push(`${label} must be a media type like 'at+jwt', or a non-empty list of them, got ${describe(value)}`);
    return undefined;
  }
  return new Set(list.map(typeKey));
}

function rolesPathOption(value: unknown, problems: string[]): readonly string[] {
  if (value === undefined) return ['roles'];
  // a string is one top-level name, dots and all (https://example.com/roles is a claim name)
  if (typeof value === 'string' && value !== '') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((p) => typeof p === 'string' && p !== '')) return Object.freeze([...value]);
  problems.push(`rolesClaim must be a claim name or a path of names like ['realm_access', 'roles'], got ${describe(value)}`);
  return ['roles'];
}

function secondsOption(name: string, value: unknown, fallback: Duration, problems: string[]): number {
  const parsed = parseDuration(value ?? fallback);
  if ('problem' in parsed) problems.push(`${name} ${parsed.problem}`);
  else if (parsed.seconds === false || parsed.seconds < 1) problems.push(`${name} must be a duration of at least 1 second`);
  return 'problem' in parsed || parsed.seconds === false || parsed.seconds < 1 ? 1 : parsed.seconds;
}

function audienceOf(value: unknown, label: string, problems: string[]): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.some((a) => typeof a !== 'string' || a === '')) {
    problems.push(`${label} must be a non-empty string or a non-empty list of strings`);
    return undefined;
  }
  return Object.freeze([...list]);
}

function algorithmsOf(value: unknown, label: string, remote: boolean, problems: string[]): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.some((a) => typeof a !== 'string' || !SUPPORTED_ALGORITHMS.includes(a))) {
    problems.push(`${label} must be a non-empty list among ${SUPPORTED_ALGORITHMS.join(', ')}`);
    return undefined;
  }
  if (remote && value.some(isHmac)) problems.push(`${label}: HMAC algorithms are never published in a JWK Set`);
  return new Set(value);
}

const ISSUER_FIELDS = new Set(['issuer', 'jwksUri', 'issuerDiscovery', 'audience', 'algorithms', 'typ']);

/**
 * The allow-list of an issuer without `algorithms` of its own: the top-level one, less the
 * HMAC algorithms when its keys are remote (a JWK Set never holds an HMAC secret: such a
 * token can only be refused, before any fetch).
 */
function inheritedAlgorithms(inherited: ReadonlySet<string> | undefined, remote: boolean, label: string, problems: string[]): ReadonlySet<string> | undefined {
  if (inherited === undefined || !remote) return undefined;
  const asymmetric = [...inherited].filter((algorithm) => !isHmac(algorithm));
  if (asymmetric.length === 0) {
    problems.push(`${label} verifies with remote keys, which are never HMAC, and the top-level algorithms (${[...inherited].join(', ')}) hold no other: give it algorithms of its own, e.g. algorithms: ['RS256']`);
    return undefined;
  }
  return asymmetric.length === inherited.size ? undefined : new Set(asymmetric);
}

function issuerEntry(entry: IssuerOptions, index: number, inherited: ReadonlySet<string> | undefined, problems: string[]): IssuerConfig | undefined {
  const label = `issuers[${index}]`;
  if (typeof entry !== 'object' || entry === null) {
    problems.push(`${label} must be an object { issuer, jwksUri? | issuerDiscovery?, audience?, algorithms?, typ? }`);
    return undefined;
  }
  for (const name of Object.keys(entry)) if (!ISSUER_FIELDS.has(name)) problems.push(`${label}: unknown field '${name}'`);
  if (typeof entry.issuer !== 'string' || entry.issuer === '') problems.push(`${label}.issuer must be a non-empty string`);
  const discovery = entry.issuerDiscovery === true;
  if (entry.issuerDiscovery !== undefined && typeof entry.issuerDiscovery !== 'boolean') problems.push(`${label}.issuerDiscovery must be true or false`);
  if (discovery && entry.jwksUri !== undefined) problems.push(`${label}: give jwksUri or issuerDiscovery, not both`);
  if (discovery && secureUrl(entry.issuer) === undefined) problems.push(`${label}.issuer must be an https:// URL for issuerDiscovery (http:// only for localhost)`);
  const jwksUri = entry.jwksUri === undefined ? undefined : secureUrl(entry.jwksUri);
  if (entry.jwksUri !== undefined && jwksUri === undefined) problems.push(`${label}.jwksUri must be an absolute https:// URL (http:// only for localhost), got ${describe(entry.jwksUri)}`);
  const remote = discovery || entry.jwksUri !== undefined;
  return {
    issuer: entry.issuer, jwksUri, discovery,
    audience: audienceOf(entry.audience, `${label}.audience`, problems),
    algorithms: entry.algorithms === undefined ? inheritedAlgorithms(inherited, remote, label, problems) : algorithmsOf(entry.algorithms, `${label}.algorithms`, remote, problems),
    typ: typOption(entry.typ, `${label}.typ`, problems),
  };
}

function issuersOption(merged: IdpOptions, allowList: ReadonlySet<string> | undefined, problems: string[]): readonly IssuerConfig[] | undefined {
  const { issuers } = merged;
  if (issuers === undefined) return undefined;
  if (!Array.isArray(issuers) || issuers.length === 0) {
    problems.push('issuers must be a non-empty list of { issuer, jwksUri? | issuerDiscovery?, audience?, algorithms?, typ? }');
    return undefined;
  }
  if (merged.issuer !== undefined || merged.decodeIssuer !== undefined) {
    problems.push('give issuers, or issuer / decodeIssuer, not both (the issuer of tokens this app signs is encodeIssuer, listed in issuers too)');
  }
  if (merged.issuerDiscovery !== undefined) problems.push('issuerDiscovery goes into each entry of issuers');
  const entries = issuers.map((entry, index) => issuerEntry(entry, index, allowList, problems));
  const topLevelKeys = [merged.jwksUri, merged.decodeKeyLoader, merged.secret, merged.privateKey, merged.publicKey].some((v) => v !== undefined);
  entries.forEach((entry, index) => {
    if (entry && !entry.discovery && entry.jwksUri === undefined && !topLevelKeys) {
      problems.push(`issuers[${index}] needs jwksUri or issuerDiscovery: true (no top-level key verifies its tokens)`);
    }
  });
  const names = issuers.map((entry) => entry?.issuer);
  if (new Set(names).size !== names.length) problems.push('issuers lists an issuer twice');
  return entries.every((e) => e !== undefined) ? Object.freeze(entries as IssuerConfig[]) : undefined;
}

/** `issuerDiscovery: true`: needs the issuer it discovers, as a secure URL, and no jwksUri beside it. */
function discoveryOption(merged: IdpOptions, problems: string[]): URL | undefined {
  if (merged.issuerDiscovery === undefined || merged.issuerDiscovery === false) return undefined;
  if (merged.issuerDiscovery !== true) {
    problems.push(`issuerDiscovery must be true or false, got ${describe(merged.issuerDiscovery)}`);
    return undefined;
  }
  if (merged.jwksUri !== undefined) problems.push('give jwksUri or issuerDiscovery, not both (discovery finds the JWK Set URL)');
  if (merged.decodeKeyLoader !== undefined) problems.push('give decodeKeyLoader or issuerDiscovery, not both');
  const issuer = merged.decodeIssuer ?? merged.issuer;
  if (issuer === undefined) {
    problems.push('issuerDiscovery needs issuer (or decodeIssuer): the discovery document is read from <issuer>/.well-known/openid-configuration');
    return undefined;
  }
  const url = secureUrl(issuer);
  if (url === undefined) problems.push(`issuerDiscovery needs an issuer that is an https:// URL (http:// only for localhost), got ${describe(issuer)}`);
  return url;
}

/**
 * Resolves the identity-provider options; `allowList` is the top-level `algorithms`
 * (resolved), which an issuer entry without its own inherits.
 *
 * @example idpOptions({ typ: 'at+jwt', rolesClaim: ['realm_access', 'roles'] }, problems)
 */
export function idpOptions(merged: IdpOptions, problems: string[], allowList?: ReadonlySet<string>): IdpConfig {
  const discovery = discoveryOption(merged, problems);
  const issuers = issuersOption(merged, allowList, problems);
  const remote = merged.jwksUri !== undefined || discovery !== undefined || (issuers ?? []).some((i) => i.discovery || i.jwksUri !== undefined);
  if (!remote && merged.jwksCooldown !== undefined) problems.push('jwksCooldown needs a remote key set (jwksUri, issuerDiscovery or issuers)');
  const status = merged.invalidTokenStatus ?? 422;
  if (status !== 422 && status !== 401) problems.push(`invalidTokenStatus must be 422 or 401, got ${describe(status)}`);
  return {
    typ: typOption(merged.typ, 'typ', problems),
    rolesPath: rolesPathOption(merged.rolesClaim, problems),
    jwksTiming: {
      // with jwksUri its problems are listed by interop-options already
      cacheMaxAgeSeconds: secondsOption('jwksCacheMaxAge', merged.jwksCacheMaxAge, '10m', merged.jwksUri === undefined ? problems : []),
      cooldownSeconds: secondsOption('jwksCooldown', merged.jwksCooldown, '30s', problems),
    },
    discovery,
    issuers,
    invalidTokenStatus: status === 401 ? 401 : 422,
  };
}
