/**
 * The options of the built-in stores, checked when the store is constructed, as `configure()`
 * checks its own: every problem listed in one `JwtConfigurationError`, never a store that
 * silently misbehaves (a `max` of 0 that refuses every token, a `NaN` bound that never holds, a
 * timeout past 2^31 - 1 ms that Node fires at once).
 */
import { describe } from '../core/duration';
import { JwtConfigurationError } from '../core/errors';

/** The longest delay Node's timers honour (a longer one fires after 1 ms). */
export const MAX_TIMER_MS = 2_147_483_647;

/** One whole-number option: `min` to `max`, or absent. */
interface WholeNumberRule {
  name: string;
  min: number;
  max?: number;
  unit?: string;
}

function shown(value: unknown): string {
  return typeof value === 'number' ? String(value) : describe(value);
}

function wholeNumberProblem(value: unknown, { name, min, max = Number.MAX_SAFE_INTEGER, unit = '' }: WholeNumberRule): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return undefined;
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
  return `${name} must be a whole number${unit} ${range}, got ${shown(value)}`;
}

function checked(store: string, options: unknown, known: readonly string[], check: (options: Record<string, unknown>) => (string | undefined)[]): void {
  if (options === undefined && !known.includes('redis')) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new JwtConfigurationError([`${store} options must be an object, got ${describe(options)}`]);
  }
  const given = options as Record<string, unknown>;
  const problems = Object.keys(given).filter((name) => !known.includes(name)).map((name) => `unknown ${store} option '${name}'`);
  problems.push(...check(given).filter((problem): problem is string => problem !== undefined).map((problem) => `${store} option ${problem}`));
  if (problems.length > 0) throw new JwtConfigurationError(problems);
}

const MEMORY_OPTIONS = ['max', 'maxPerIdentity'] as const;
const REDIS_OPTIONS = ['redis', 'keyPrefix', 'commandTimeoutMs'] as const;
const TIERED_OPTIONS = [...REDIS_OPTIONS, 'max', 'ttlMs', 'confirmTimeoutMs', 'livenessLeaseMs', 'redisThread'] as const;

/** Whether `value` can be the store's Redis: a URL, or a client (standalone or Cluster) with the commands the stores send. */
function redisProblem(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (value.trim() === '') return 'redis must be a redis:// URL or an ioredis client, got an empty string';
    // ioredis reads a leading '/' as a socket path and digits as a port; anything else must parse as a URL, or it throws
    const parses = value.startsWith('/') || /^\d+$/.test(value) || URL.canParse(value);
    return parses ? undefined : 'redis must be a redis:// URL or an ioredis client, got a string that does not parse as a URL (not shown: it may hold a password)';
  }
  const client = value as Record<string, unknown> | null;
  const isClient = typeof client === 'object' && client !== null && ['eval', 'get', 'publish', 'duplicate'].every((name) => typeof client[name] === 'function');
  return isClient ? undefined : `redis must be a redis:// URL or an ioredis client (Redis or Cluster), got ${describe(value)}`;
}

function redisProblems(options: Record<string, unknown>): (string | undefined)[] {
  const { redis, keyPrefix, commandTimeoutMs } = options;
  return [
    redisProblem(redis),
    keyPrefix === undefined || typeof keyPrefix === 'string' ? undefined : `keyPrefix must be a string, got ${describe(keyPrefix)}`,
    wholeNumberProblem(commandTimeoutMs, { name: 'commandTimeoutMs', min: 1, max: MAX_TIMER_MS, unit: ' of ms' }),
  ];
}

/** `redisThread`: `'main'` or `'worker'`; a worker's connections come from a URL (a client cannot cross threads). */
function redisThreadProblem(thread: unknown, redis: unknown): string | undefined {
  if (thread === undefined || thread === 'main') return undefined;
  if (thread !== 'worker') return `redisThread must be 'main' or 'worker', got ${describe(thread)}`;
  if (typeof redis !== 'string' && typeof redis === 'object' && redis !== null) {
    return "redisThread 'worker' needs redis as a redis:// URL: a client cannot cross to a worker thread (pass its URL, or keep redisThread 'main')";
  }
  return undefined;
}

/**
 * `MemoryTokenStore`'s options: `max` and `maxPerIdentity` whole numbers >= 1.
 *
 * @example checkMemoryStoreOptions({ max: 0 }) // throws: MemoryTokenStore option max must be a whole number >= 1, got 0
 */
export function checkMemoryStoreOptions(options: unknown): void {
  checked('MemoryTokenStore', options, MEMORY_OPTIONS, ({ max, maxPerIdentity }) => [
    wholeNumberProblem(max, { name: 'max', min: 1 }),
    wholeNumberProblem(maxPerIdentity, { name: 'maxPerIdentity', min: 1 }),
  ]);
}

/** `RedisTokenStore`'s options. @example checkRedisStoreOptions({ redis: 'redis://127.0.0.1:6379', commandTimeoutMs: 500 }) */
export function checkRedisStoreOptions(options: unknown): void {
  checked('RedisTokenStore', options, REDIS_OPTIONS, redisProblems);
}

/** `TieredTokenStore`'s options: the Redis ones, and the tier's. @example checkTieredStoreOptions({ redis: url, max: 50_000 }) */
export function checkTieredStoreOptions(options: unknown): void {
  checked('TieredTokenStore', options, TIERED_OPTIONS, (given) => [
    ...redisProblems(given),
    wholeNumberProblem(given.max, { name: 'max', min: 1 }),
    wholeNumberProblem(given.ttlMs, { name: 'ttlMs', min: 1, max: MAX_TIMER_MS, unit: ' of ms' }),
    wholeNumberProblem(given.confirmTimeoutMs, { name: 'confirmTimeoutMs', min: 1, max: MAX_TIMER_MS, unit: ' of ms' }),
    wholeNumberProblem(given.livenessLeaseMs, { name: 'livenessLeaseMs', min: 300, max: 3_600_000, unit: ' of ms' }),
    redisThreadProblem(given.redisThread, given.redis),
  ]);
}
