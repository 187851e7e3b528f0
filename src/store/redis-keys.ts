/**
 * Key naming and small shared helpers of the Redis stores.
 *
 * Layout (with the default prefix `jwt:`):
 * - `jwt:t:{<jti>}`       the JSON record of one token (a string, `SET ... EXAT <expiresAt>`);
 * - `jwt:i:{<identity>}`  the identity index: a sorted set of jtis scored by their
 *                         `expiresAt` (`+inf` for a token that never expires);
 * - `jwt:g:{<identity>}`  the identity's cut-off generation, `jwt:f:{<family>}` a refresh-token
 *                         family and `jwt:fa:{<family>}` its last answer (see redis-sessions.ts);
 * - `jwt:o:{<thumbprint>}` the DPoP proofs seen for one key: a sorted set of jtis scored by
 *                         their expiry in epoch ms (see `rememberOnce` in redis.ts);
 * - `jwt:invalidate`      the pub/sub channel on which every write announces the tier key it
 *                         changed: `t:<jti>`, `g:<identity>` or `f:<family>`.
 *
 * A record is hash-tagged by its jti so `find(jti)`, which knows nothing else, lands on one
 * slot; the index is hash-tagged by its identity and holds jtis, so `findByIdentity` reads one
 * key and then looks the records up by jti (never a SCAN). The record and its index therefore
 * live in different slots on a Cluster: `add` writes the index first, then the record, so a
 * record never exists without its index entry; an index entry whose record is gone is skipped
 * and trimmed when its score (the expiry) passes.
 *
 * jtis and identities are user-controlled: they are percent-encoded (`encodeURIComponent`,
 * which also encodes `{`, `}`, `:` and `%`), so no value can close a hash tag early, look like
 * another kind of key, or equal the encoding of another value.
 */

import type { Cluster } from 'ioredis';
import { publishStoreError } from '../core/diagnostics';
import { TokenStoreError } from '../core/errors';

/** The store error for data in Redis that does not parse exactly. */
export function malformed(what: string, why: string): TokenStoreError {
  return new TokenStoreError(`Redis token store: malformed ${what} (${why})`);
}

/**
 * Time in the Redis scripts (0.3 H: instances' clocks differ by seconds, so whatever a script
 * compares, the reuse interval above all, is measured on one clock, Redis's `TIME`, never the
 * caller's `Date.now()`). `NOW_MS(offset)` is that clock in ms; `offset` is the `'0'` every store
 * passes, except in this package's own specs, whose movable clock (spec/support/clock.ts) moves
 * `scriptClock.offsetMs` with `Date.now()`: Redis's clock cannot be moved, and the model test
 * needs minutes of token life to pass in seconds. Nothing else may set it.
 *
 * @internal
 */
export const scriptClock = { offsetMs: 0 };

/** The offset argument of a script (see `scriptClock`). @internal */
export function clockOffsetArg(): string {
  return String(Math.round(scriptClock.offsetMs));
}

/** The Lua function `now_ms(offset)`: Redis's `TIME` in ms, plus the specs' offset. */
export const NOW_MS = `
local function now_ms(offset)
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(offset)
end
`;

/**
 * Lua: adds `jti` to an identity index scored by its expiry (`'+inf'`: none), first trimming the
 * members expired at `now` (ms, Redis's clock), and keeps the index key alive exactly as long as
 * its longest-lived member (for ever if one never expires).
 */
export const INDEX_ENTRY = `
local function index_add(key, score, jti, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', math.floor(now / 1000)))
  redis.call('ZADD', key, score, jti)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] == 'inf' then redis.call('PERSIST', key) else redis.call('EXPIREAT', key, top[2]) end
end
`;

/**
 * Whether `client` is an ioredis Cluster: its own `isCluster` flag, so a Cluster made with another
 * copy of ioredis than ours (an app's own, a second version in node_modules) is one too, where
 * `instanceof` would say no and the stores would send keys of several slots in one script.
 */
export function isClusterClient(client: object): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

/** The prefix used when none is given. */
export const DEFAULT_KEY_PREFIX = 'jwt:';

/** Bounded time of one Redis call, when none is given. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 1000;

/** Builds the keys of one store. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** The key of the record of `jti`. */
  token(jti: string): string {
    return `${this.prefix}t:{${encodeURIComponent(jti)}}`;
  }

  /** The key of the identity index of `identity`. */
  identity(identity: string): string {
    return `${this.prefix}i:{${encodeURIComponent(identity)}}`;
  }

  /** The key of the cut-off generation of `identity`. */
  cutoff(identity: string): string {
    return `${this.prefix}g:{${encodeURIComponent(identity)}}`;
  }

  /** The key of the refresh-token family `family` (one hash, so one slot). */
  family(family: string): string {
    return `${this.prefix}f:{${encodeURIComponent(family)}}`;
  }

  /** The sealed answer of a family's last rotation, kept for the reuse interval (same slot as the family). */
  familyAnswer(family: string): string {
    return `${this.prefix}fa:{${encodeURIComponent(family)}}`;
  }

  /** The DPoP replay records of one key thumbprint: a sorted set of jtis scored by expiry (epoch ms). */
  once(group: string): string {
    return `${this.prefix}o:{${encodeURIComponent(group)}}`;
  }

  /** The pub/sub channel announcing changed jtis. */
  get channel(): string {
    return `${this.prefix}invalidate`;
  }

  /** A SCAN MATCH pattern for every record key (the prefix's glob characters escaped). */
  get tokenPattern(): string {
    return `${this.prefix.replace(/[*?[\]\\^]/g, '\\$&')}t:*`;
  }
}

/**
 * Rejects with `onTimeout()` when `promise` has not settled within `ms`. A late rejection of
 * `promise` is swallowed so it can never become an unhandled rejection.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * `error` with the arguments of every ioredis command it names hidden (`error.command.args`,
 * along `cause`, a Cluster's `lastNodeError` and an aggregate's `errors`): a refused `AUTH`
 * carries the password it sent there, and a store's errors are logged (DESIGN 0.3 G). The
 * command's name stays. Returns `error`.
 *
 * @example throw new TokenStoreError('Redis token store: find failed', hideCommandArgs(cause))
 */
export function hideCommandArgs<E>(error: E): E {
  const seen = new Set<object>();
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null || seen.has(value) || seen.size > 20) return;
    seen.add(value);
    const holder = value as { command?: unknown; cause?: unknown; lastNodeError?: unknown; errors?: unknown };
    const command = holder.command as { name?: unknown; args?: unknown } | undefined;
    if (typeof command === 'object' && command !== null && Array.isArray(command.args)) {
      // a new object: the command's own argument array is ioredis's, left alone
      holder.command = { name: command.name, args: command.args.map(() => '[hidden]') };
    }
    visit(holder.cause);
    visit(holder.lastNodeError);
    if (Array.isArray(holder.errors)) holder.errors.forEach(visit);
  };
  visit(error);
  return error;
}

/** Publishes an error of a Redis connection on the store-error channel, its command arguments hidden. */
export function publishRedisError(error: unknown, operation: string): void {
  publishStoreError(hideCommandArgs(error), operation);
}
