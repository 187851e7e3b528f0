/**
 * A store outage made visible without setup: when a store call fails and nobody subscribes
 * to `koa-jwt-extended:store-error`, one `process.emitWarning` (code `KJE_STORE_UNAVAILABLE`)
 * says the outage began, and one says it ended at the next store call that succeeds: two
 * lines per outage, never one per request. Key sets that fail and recover are reported the
 * same way (`KJE_KEY_SET_UNAVAILABLE`), once per set; a fetched set holding keys that are
 * never trusted (a private key, a weak key, a point off its curve) once per distinct list
 * (`KJE_KEY_SET_MEMBER_UNUSABLE`): the set keeps serving its good keys.
 */
import { rootCauseMessage as rootCause } from './root-cause';

export const STORE_WARNING_CODE = 'KJE_STORE_UNAVAILABLE';
export const KEY_SET_WARNING_CODE = 'KJE_KEY_SET_UNAVAILABLE';
export const KEY_SET_MEMBER_WARNING_CODE = 'KJE_KEY_SET_MEMBER_UNUSABLE';

interface Outage {
  since: number;
  /** Whether its start was written (so the end is written only for an outage the log saw begin). */
  warned: boolean;
}

let storeOutage: Outage | undefined;
const keySetOutages = new Map<string, Outage>();
/** The unusable keys last reported for each key set URI (so a refetch of the same set says nothing new). */
const unusableReported = new Map<string, string>();
/** A bound on the URIs remembered (issuers are configured, so this is never reached in practice). */
const MAX_REPORTED_SETS = 100;
/** How many unusable keys one warning names. */
const MAX_NAMED = 5;

/** A URI without its query and fragment (they may hold credentials). */
function shown(uri: string): string {
  return uri.replace(/[?#].*$/s, '');
}

function warn(message: string, code: string): void {
  process.emitWarning(message, { type: 'KoaJwtExtendedWarning', code });
}

export const EVICTION_WARNING_CODE = 'KJE_REDIS_EVICTS';

/**
 * A Redis the store writes to may evict keys (`maxmemory-policy` other than `noeviction`): under
 * memory pressure a revocation could vanish and its token be accepted again. Warned once per policy.
 */
const evictionWarned = new Set<string>();
export function noteEvictionPolicy(policy: string): void {
  if (policy === 'noeviction' || evictionWarned.has(policy)) return;
  evictionWarned.add(policy);
  warn(
    `Redis maxmemory-policy is ${policy}: under memory pressure Redis may evict revocations and cut-offs, and a revoked token would be accepted again; ` +
      'set maxmemory-policy noeviction (writes then fail, and say so)',
    EVICTION_WARNING_CODE,
  );
}

/** A store call failed: the start of an outage, unless one is already on. */
export function noteStoreFailure(error: unknown, operation: string, observed: boolean): void {
  if (storeOutage !== undefined) return;
  storeOutage = { since: Date.now(), warned: !observed };
  if (!observed) {
    warn(`The revocation store is unavailable (${operation}: ${rootCause(error)}); requests that need it answer 503 until it recovers`, STORE_WARNING_CODE);
  }
}

/** A store call succeeded: the end of the outage, if one is on. One comparison otherwise. */
export function noteStoreSuccess(): void {
  if (storeOutage === undefined) return;
  const { since, warned } = storeOutage;
  storeOutage = undefined;
  if (warned) warn(`The revocation store is available again after ${((Date.now() - since) / 1000).toFixed(1)} s`, STORE_WARNING_CODE);
}

/** A key set fetch failed: the start of that set's outage, unless one is on. */
export function noteKeySetFailure(uri: string, error: unknown): void {
  if (keySetOutages.has(uri)) return;
  keySetOutages.set(uri, { since: Date.now(), warned: true });
  warn(`The key set ${shown(uri)} is unavailable (${rootCause(error)}); tokens that need it answer 503 until it recovers`, KEY_SET_WARNING_CODE);
}

/** A key set fetch succeeded: the end of that set's outage, if one is on. */
export function noteKeySetSuccess(uri: string): void {
  const outage = keySetOutages.get(uri);
  if (outage === undefined) return;
  keySetOutages.delete(uri);
  warn(`The key set ${shown(uri)} is available again after ${((Date.now() - outage.since) / 1000).toFixed(1)} s`, KEY_SET_WARNING_CODE);
}

/**
 * A fetched key set holds keys that are never trusted: one warning naming them (kid and
 * reason), unless the last warning for that set named the same ones.
 *
 * @example noteUnusableKeys(uri, [{ kid: 'k1', reason: 'a private key is never trusted from a JWK Set' }])
 */
export function noteUnusableKeys(uri: string, unusable: readonly { kid: string | undefined; reason: string }[]): void {
  if (unusable.length === 0) {
    unusableReported.delete(uri);
    return;
  }
  const text = describeUnusable(unusable);
  if (unusableReported.get(uri) === text) return;
  if (unusableReported.size >= MAX_REPORTED_SETS && !unusableReported.has(uri)) unusableReported.clear();
  unusableReported.set(uri, text);
  warnUnusable(uri, unusable.length, text);
}

/** A key of a fetched set failed when first used (the caller reports each once per fetched set). */
export function noteUnusableKey(uri: string, unusable: { kid: string | undefined; reason: string }): void {
  warnUnusable(uri, 1, describeUnusable([unusable]));
}

function describeUnusable(unusable: readonly { kid: string | undefined; reason: string }[]): string {
  const named = unusable.slice(0, MAX_NAMED).map(({ kid, reason }) => `${kid === undefined ? 'a key without kid' : `kid "${kid}"`}: ${reason}`);
  if (unusable.length > MAX_NAMED) named.push(`and ${unusable.length - MAX_NAMED} more`);
  return named.join('; ');
}

function warnUnusable(uri: string, count: number, text: string): void {
  const keys = count === 1 ? 'a key' : `${count} keys`;
  warn(`The key set ${shown(uri)} holds ${keys} never trusted (${text}); tokens naming ${count === 1 ? 'it' : 'them'} are refused like tokens naming no key (422)`, KEY_SET_MEMBER_WARNING_CODE);
}

/** Forgets every outage in progress (`JwtManager.reset()`: the next configuration starts with none). */
export function forgetOutages(): void {
  storeOutage = undefined;
  keySetOutages.clear();
  unusableReported.clear();
}
