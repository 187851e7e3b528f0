/**
 * Guard options: what they may say (checked when a guard is made, so a bad decorator fails
 * when its class is defined), and a copy of them to tell a later change of the same object.
 */
import { TOKEN_LOCATIONS, TokenLocation } from '../core/options';
import type { TokenPayload } from '../core/responses';

/**
 * What a guard demands, the same for every door (fje 4's `jwt_required` arguments).
 *
 * @example @JwtRequired({ locations: ['cookies'], roles: ['admin'] })
 */
export interface GuardOptions {
  /** No token runs the route anonymously; a token that is present must still pass. */
  optional?: boolean;
  /** Only a fresh access token passes (`@FreshJwtRequired()`). */
  fresh?: boolean;
  /** Only a refresh token passes (`@RefreshRequired()`). */
  refresh?: boolean;
  /** Where this route looks for its token, overriding the `tokenLocation` option. */
  locations?: TokenLocation | TokenLocation[];
  /** `false` accepts access and refresh tokens alike (fje's `verify_type`). Default true. */
  verifyType?: boolean;
  /** Skips the revocation store for this route (e.g. an RFC 7009 logout of a maybe-revoked token). */
  skipRevocationCheck?: boolean;
  /** Passes when the `rolesClaim` claim (a string or a list) holds at least one of these; else 403. */
  roles?: string[];
  /** A custom claims check after verification: anything but `true` answers 403. */
  claimsCheck?: (payload: TokenPayload) => boolean | Promise<boolean>;
  /**
   * Passes when the token grants every one of these, from `scope` (space-delimited) or `scp`;
   * else `403 Insufficient scope` with `WWW-Authenticate: Bearer error="insufficient_scope"`.
   */
  scopes?: string[];
}

const OPTION_NAMES = new Set(['optional', 'fresh', 'refresh', 'locations', 'verifyType', 'skipRevocationCheck', 'roles', 'claimsCheck', 'scopes']);
/** RFC 6749 §3.3's scope-token: `%x21 / %x23-5B / %x5D-7E`, so it fits a quoted challenge parameter as is. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Every problem with a set of guard options, so a bad decorator fails when its class is defined. */
export function optionProblems(options: GuardOptions): string[] {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) return ['guard options must be an object'];
  for (const name of Object.keys(options)) if (!OPTION_NAMES.has(name)) problems.push(`unknown guard option '${name}'`);
  for (const name of ['optional', 'fresh', 'refresh', 'verifyType', 'skipRevocationCheck'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') problems.push(`${name} must be a boolean`);
  }
  if (options.fresh === true && options.refresh === true) problems.push('fresh and refresh exclude each other (a refresh token is never fresh)');
  if (options.locations !== undefined) {
    const locations = [options.locations].flat();
    if (locations.length === 0 || locations.some((l) => !TOKEN_LOCATIONS.includes(l))) {
      problems.push(`locations must be among ${TOKEN_LOCATIONS.join(', ')}`);
    }
  }
  const { roles } = options;
  if (roles !== undefined && (!Array.isArray(roles) || roles.length === 0 || roles.some((r) => typeof r !== 'string' || r === ''))) {
    problems.push('roles must be a non-empty list of non-empty strings');
  }
  if (options.claimsCheck !== undefined && typeof options.claimsCheck !== 'function') problems.push('claimsCheck must be a function');
  const { scopes } = options;
  if (scopes !== undefined && (!Array.isArray(scopes) || scopes.length === 0 || scopes.some((s) => typeof s !== 'string' || !SCOPE_TOKEN.test(s)))) {
    problems.push('scopes must be a non-empty list of scope names (printable ASCII without spaces, quotes or backslashes, RFC 6749 §3.3)');
  }
  return problems;
}

/** The option names in a list, for the comparison that must not allocate. */
export const OPTION_LIST: readonly string[] = Object.freeze([...OPTION_NAMES]);

/** A copy of guard options (lists copied too) and how many keys they had. */
export interface OptionsSnapshot {
  values: Record<string, unknown>;
  keys: number;
}

export function snapshot(options: GuardOptions): OptionsSnapshot {
  const values: Record<string, unknown> = {};
  for (const name of OPTION_LIST) {
    const value = (options as Record<string, unknown>)[name];
    values[name] = Array.isArray(value) ? [...value] : value;
  }
  return { values, keys: keyCount(options) };
}

export function sameValue(now: unknown, was: unknown): boolean {
  if (!Array.isArray(now) || !Array.isArray(was)) return now === was;
  if (now.length !== was.length) return false;
  for (let i = 0; i < now.length; i++) if (now[i] !== was[i]) return false;
  return true;
}

export function keyCount(options: object): number {
  let count = 0;
  for (const key in options) if (Object.prototype.hasOwnProperty.call(options, key)) count++;
  return count;
}
