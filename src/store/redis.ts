import Redis, { Cluster } from 'ioredis';
import { TokenStoreError } from '../core/errors';
import { withoutCsrf } from '../core/payload';
import { showAs } from '../core/safe-view';
import { registerBuiltInStore, rootCauseMessage } from '../core/store-call';
import { noteEvictionPolicy } from '../core/store-health';
import type {
  OnceEntry, OnceOutcome, RefreshTokenUse, RefreshTokenUseOutcome, StoreEntry, StoredToken, TokenQuery, TokenState, TokenStore,
} from './token-store';
import {
  clockOffsetArg, DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_KEY_PREFIX, hideCommandArgs, INDEX_ENTRY, isClusterClient, malformed, NOW_MS, publishRedisError, RedisKeys, withTimeout,
} from './redis-keys';
import { type Announcement, evalAnnounced, type RecordWrite, RedisSessions, tierKey } from './redis-sessions';
import { checkRedisStoreOptions } from './store-options';

// Every script that writes and announces publishes first: a PUBLISH the server refuses (an ACL
// without it) then fails the script before anything is written, so a write reported failed never
// happened (Redis does not roll back a script that errors half-way). Subscribers hear nothing
// before the script ends either way: a script runs alone.
//
// The expiry a record is written with (ARGV unix seconds, '' = none): never earlier than the one
// the key has now, so re-filing a revocation can never shorten it ('' for a key kept for ever).
const RECORD_EXPIRY = `
local function record_expiry(key, at)
  if at == '' then return '' end
  local ttl = redis.call('PTTL', key)
  if ttl == -1 then return '' end
  if ttl > 0 then
    local t = redis.call('TIME')
    local existing = tonumber(t[1]) + math.ceil(ttl / 1000)
    if existing > tonumber(at) then return string.format('%.0f', existing) end
  end
  return at
end
`;

// A token's index entry and record in one script (standalone and Sentinel: both keys on the one
// server). KEYS[1] the identity index, KEYS[2] the record; ARGV as INDEX_ADD's (1-3) then ADD_RECORD's
// (4-9), ARGV[10] '1' to keep a record already there (see StoreEntry.keepExisting). The index is
// written first, as with two scripts: a record never exists without it.
const INDEX_AND_RECORD_ADD = `${NOW_MS}${RECORD_EXPIRY}${INDEX_ENTRY}
if ARGV[10] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if ARGV[8] == 'true' then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
if ARGV[8] == 'true' and ARGV[9] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[9]) end
index_add(KEYS[1], ARGV[1], ARGV[2], now_ms(ARGV[3]))
local at = record_expiry(KEYS[2], ARGV[5])
if at == '' then redis.call('SET', KEYS[2], ARGV[4]) else redis.call('SET', KEYS[2], ARGV[4], 'EXAT', at) end
return 1`;

/** Runs `fn` once the client is connected (at once if it is). */
function whenReady(client: Redis | Cluster, fn: () => void): void {
  if (client.status === 'ready') fn();
  else client.once('ready', fn);
}

/** A node's `maxmemory-policy`: `CONFIG GET`, else `INFO memory` (managed Redis often refuses CONFIG); `undefined` if neither answers. */
async function evictionPolicyOf(node: Redis): Promise<string | undefined> {
  try {
    const reply = (await node.call('CONFIG', 'GET', 'maxmemory-policy')) as unknown;
    if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
  } catch {
    // refused (ACL, renamed command): INFO below
  }
  try {
    return /^maxmemory_policy:(\S+)/m.exec(await node.info('memory'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Warns (once per policy, `KJE_REDIS_EVICTS`) when a node the store writes to may evict keys: a
 * revocation Redis evicts is a revoked token accepted again. Never throws: a node that answers
 * neither `CONFIG GET` nor `INFO` is not guessed at.
 */
async function checkEvictionPolicy(client: Redis | Cluster): Promise<void> {
  try {
    const nodes = isClusterClient(client) ? client.nodes('master') : [client];
    for (const policy of await Promise.all(nodes.map(evictionPolicyOf))) if (policy !== undefined) noteEvictionPolicy(policy);
  } catch {
    // a check, never a failure of its own
  }
}

/** A Redis connection the stores accept: a standalone client, a Cluster, or a URL. */
export type RedisConnection = Redis | Cluster | string;

/** What a store says of its connection when printed: its kind, never its options (they hold the password). */
export type RedisConnectionKind = 'standalone' | 'sentinel' | 'cluster';

function connectionKind(client: Redis | Cluster): RedisConnectionKind {
  if (isClusterClient(client)) return 'cluster';
  return (client.options.sentinels?.length ?? 0) > 0 ? 'sentinel' : 'standalone';
}

/** The client of a store, for the tiered store built on it: never a public property (see `RedisTokenStore`). */
export let clientOf: (store: RedisTokenStore) => Redis | Cluster;
let ownsClient: (store: RedisTokenStore) => boolean;

/** What a printed Redis-backed store shows: safe facts only. */
export function redisStoreFacts(store: RedisTokenStore): Record<string, unknown> {
  return {
    keyPrefix: store.keys.prefix, commandTimeoutMs: store.commandTimeoutMs, connection: connectionKind(clientOf(store)), ownsConnection: ownsClient(store),
  };
}

/**
 * The Redis connection (client or URL), key prefix and command timeout of a Redis-backed store.
 */
export interface RedisTokenStoreOptions {
  /**
   * An ioredis client (standalone or `Cluster`), or a `redis://` URL. From a URL the store
   * creates, owns and (on `close()`) quits its client; a passed-in client is never closed by us.
   */
  redis: RedisConnection;
  /** Prefix of every key and of the invalidation channel. Default `'jwt:'`. */
  keyPrefix?: string;
  /** Longest a single Redis call may take before it rejects. Default 1000 ms. */
  commandTimeoutMs?: number;
}

// Trims the expired members of an identity index (by Redis's clock; ARGV[3] the offset, see
// redis-keys.ts), adds one, and keeps the index key alive exactly as long as its longest-lived
// member (for ever if one never expires).
const INDEX_ADD = `${NOW_MS}${INDEX_ENTRY}
index_add(KEYS[1], ARGV[1], ARGV[2], now_ms(ARGV[3]))
return 1`;

// Trims the expired members of an identity index (Redis's clock, ARGV[1] the offset) and returns the live ones.
const INDEX_READ = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', math.floor(now_ms(ARGV[1]) / 1000)))
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

// Writes a record (until its expiry, if any). A revoked one (a blocklist revocation) is announced,
// so a tier that cached the jti as unknown drops that entry; a new token's record is not: no one
// can have asked about its jti before it was handed out. ARGV[7] '1': keep a record already there.
const ADD_RECORD = `${RECORD_EXPIRY}
if ARGV[7] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[5] == 'true' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
if ARGV[5] == 'true' and ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[6]) end
local at = record_expiry(KEYS[1], ARGV[2])
if at == '' then redis.call('SET', KEYS[1], ARGV[1]) else redis.call('SET', KEYS[1], ARGV[1], 'EXAT', at) end
return 1`;

// Flips the revoked flag in place (the record always starts with it: see `serialize`), keeps the
// TTL, never resurrects an expired key (XX), and announces the tier key on the invalidation channel.
const SET_REVOKED = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
local rest = string.match(v, '^{"revoked":true,(.*)$') or string.match(v, '^{"revoked":false,(.*)$')
if not rest then return redis.error_reply('ERR malformed token record') end
v = '{"revoked":' .. ARGV[1] .. ',' .. rest
redis.call('PUBLISH', ARGV[2], ARGV[3])
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[4]) end
redis.call('SET', KEYS[1], v, 'KEEPTTL', 'XX')
return v`;

// DPoP replay cache: one sorted set per key thumbprint, jti -> expiry (epoch ms). Expired members
// go first (Redis's clock, so every instance trims alike); a live member is a replay; a full set
// refuses (never evicts a live record); the key lives as long as its longest-lived member.
const REMEMBER_ONCE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 'seen' end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 'full' end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], top[2])
return 'new'`;

/** The record as stored: `revoked` first, so the flag can be rewritten without parsing. */
function serialize(record: StoredToken): string {
  return JSON.stringify({ revoked: record.revoked, token: record.token });
}

/**
 * A record read back from Redis, strictly: exactly `{ revoked: boolean, token: object }`, byte for
 * byte as `serialize` writes it. Anything else (`"revoked":"true"`, `1`, a missing or extra field,
 * bad JSON) is a store error (503): Redis is trusted, but a record written by hand or by another
 * program is never read as valid. The bytes matter: `JSON.parse` keeps the *last* of two equal keys
 * while the revoke script rewrites the *first* `"revoked"`, so `{"revoked":false,…,"revoked":false}`
 * revoked in place would still read as not revoked; a record that is not its own re-serialization
 * (a duplicate key at any depth, spaces, another field order) is refused.
 */
export function parseRecord(value: string): StoredToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw malformed('token record', 'not JSON');
  }
  if (!isPlainRecord(parsed)) throw malformed('token record', 'not an object');
  const { revoked, token } = parsed;
  const keys = Object.keys(parsed);
  if (keys.length !== 2 || typeof revoked !== 'boolean' || !isPlainRecord(token)) {
    throw malformed('token record', 'not exactly { revoked: boolean, token: object }');
  }
  if (serialize({ revoked, token: token as StoredToken['token'] }) !== value) {
    throw malformed('token record', 'not as the store writes it: a duplicate key, spaces or another field order');
  }
  // a record written before 0.3 may hold the csrf claim: never kept in a tier, never printed
  return { token: withoutCsrf(token as StoredToken['token']), revoked };
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nowSeconds(): number {
  return Date.now() / 1000;
}

/** Options for the clients the stores create from a URL: every call bounded, nothing held for ever. */
export function ownedClientOptions(commandTimeoutMs: number) {
  return {
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
    // Commands issued while disconnected wait in the offline queue at most commandTimeout, and
    // are flushed (rejected) after one failed reconnection attempt.
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
  };
}

/**
 * A revocation store in Redis, shared by every app instance that points at the same Redis.
 *
 * Each call is bounded by `commandTimeoutMs` and rejects with a `TokenStoreError` when Redis
 * cannot answer in time (fail closed); once Redis is back, calls succeed again by themselves.
 *
 * Sessions (cut-offs, refresh-token families: see redis-sessions.ts): nothing is cached, so every
 * answer is Redis's state at the time of the read. `revokeAll`, `useRefreshToken` and
 * `revokeFamily` are single Lua scripts on one key each (one slot on a Cluster), so each is
 * atomic; each publishes the key it changed for the tiered stores in the same script.
 *
 * @example
 * ```ts
 * const store = new RedisTokenStore({ redis: 'redis://127.0.0.1:6379', keyPrefix: 'myapp:jwt:' });
 * JwtManager.configure({ secret, revocation: { store, checks: 'all' } });
 * // on shutdown
 * await store.close();
 * ```
 *
 * Printed (`util.inspect`, `console.log`, `JSON.stringify`) a store shows its key prefix, command
 * timeout and connection kind, never its client: an ioredis client's options hold the password
 * (`requirepass`, an ACL user's, a Sentinel's, a Cluster's `redisOptions`, one from a URL), so the
 * client is held in a `#private` field, which not even `customInspect: false` shows.
 */
export class RedisTokenStore implements TokenStore {
  readonly keys: RedisKeys;
  readonly commandTimeoutMs: number;
  /** The client every command goes through: #private, as it prints its password. */
  readonly #client: Redis | Cluster;
  readonly #ownsClient: boolean;
  readonly #sessions: RedisSessions;

  static {
    clientOf = (store) => store.#client;
    ownsClient = (store) => store.#ownsClient;
  }

  /** Throws a `JwtConfigurationError` listing every bad option, before any connection is made. */
  constructor(options: RedisTokenStoreOptions) {
    registerBuiltInStore(this, new.target, RedisTokenStore);
    checkRedisStoreOptions(options);
    this.keys = new RedisKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.#ownsClient = typeof options.redis === 'string';
    if (typeof options.redis === 'string') {
      this.#client = new Redis(options.redis, ownedClientOptions(this.commandTimeoutMs));
      // Connection errors surface as rejected calls; the event must not crash the process, but is seen.
      this.#client.on('error', (error: unknown) => publishRedisError(error, 'connection'));
    } else {
      this.#client = options.redis;
    }
    this.#sessions = new RedisSessions(this.#client, this.keys, (operation, command) => this.call(operation, command));
    showAs(this, 'RedisTokenStore', redisStoreFacts);
    whenReady(this.#client, () => void checkEvictionPolicy(this.#client));
  }

  async add(entry: StoreEntry): Promise<void> {
    await this.addAnnounced(entry);
  }

  /**
   * `add`, resolving `true` once stored and `false` for an entry already past its expiry
   * (nothing stored, nothing published). `announce`: a confirmation request published after a
   * revocation's tier key. The tiered store's.
   *
   * @internal
   */
  async addAnnounced(entry: StoreEntry, announce?: Announcement): Promise<boolean> {
    const { keys: [indexKey, tokenKey], args: [score, , value, expiry] } = this.recordWrite(entry);
    if (expiry !== '' && Number(expiry) <= nowSeconds()) return false; // already dead: nothing to remember
    const isRevocation = String(entry.record.revoked);
    const keep = entry.keepExisting === true ? '1' : '';
    if (!isClusterClient(this.#client)) {
      // one round trip (a login's record): both keys live on the one server
      await this.call('add', () => evalAnnounced(
        this.#client, INDEX_AND_RECORD_ADD, [indexKey, tokenKey],
        [score, entry.jti, clockOffsetArg(), value, expiry, this.keys.channel, tierKey.token(entry.jti), isRevocation, announce?.confirm ?? '', keep],
        announce,
      ));
      return true;
    }
    // On a Cluster the index and the record sit in different slots: index first, so a record never exists without it.
    await this.call('add', () => this.#client.eval(INDEX_ADD, 1, indexKey, score, entry.jti, clockOffsetArg()));
    await this.call('add', () =>
      this.#client.eval(
        ADD_RECORD, 1, tokenKey, value, expiry, this.keys.channel, tierKey.token(entry.jti), isRevocation, announce?.confirm ?? '', keep,
      ),
    );
    return true;
  }

  async find(jti: string): Promise<StoredToken | undefined> {
    const value = await this.call('find', () => this.#client.get(this.keys.token(jti)));
    return value === null ? undefined : parseRecord(value);
  }

  async setRevoked(jti: string, revoked: boolean, announce?: Announcement): Promise<StoredToken | undefined> {
    const value = await this.call('setRevoked', () =>
      evalAnnounced(
        this.#client, SET_REVOKED, [this.keys.token(jti)], [String(revoked), this.keys.channel, tierKey.token(jti), announce?.confirm ?? ''], announce,
      ),
    );
    return typeof value === 'string' ? parseRecord(value) : undefined;
  }

  async findByIdentity(identity: string): Promise<StoredToken[]> {
    const key = this.keys.identity(identity);
    const jtis = (await this.call('findByIdentity', () =>
      this.#client.eval(INDEX_READ, 1, key, clockOffsetArg()),
    )) as string[];
    return this.readRecords(jtis.map((jti) => this.keys.token(jti)));
  }

  async findAll(): Promise<StoredToken[]> {
    const nodes = isClusterClient(this.#client) ? this.#client.nodes('master') : [this.#client];
    const perNode = await Promise.all(nodes.map((node) => this.scanTokenKeys(node)));
    return this.readRecords([...new Set(perNode.flat())]);
  }

  /** The record, cut-off and family of one token: up to three reads sent together (one round trip). */
  async inspect(query: TokenQuery): Promise<TokenState> {
    const [record, cutoff, family] = await Promise.all([
      this.find(query.jti),
      this.#sessions.cutoff(query.identity),
      query.family === undefined ? undefined : this.#sessions.family(query.family, query.jti),
    ]);
    return { record, cutoff, family };
  }

  cutoff(identity: string): Promise<number> {
    return this.#sessions.cutoff(identity);
  }

  /** Atomic (one Lua script); announced on the invalidation channel. */
  revokeAll(identity: string, keepSeconds: number | undefined, announce?: Announcement): Promise<number> {
    return this.#sessions.revokeAll(identity, keepSeconds, announce);
  }

  /**
   * Atomic: one Lua script (one round trip) on the family's two keys, one slot on a Cluster. On
   * one server (standalone, Sentinel) the new pair's records (`use.records`) are written by the
   * same script when it rotates (`recorded: true`); on a Cluster they sit in other slots, so
   * they are left to `add()` after it.
   */
  useRefreshToken(use: RefreshTokenUse, announce?: Announcement): Promise<RefreshTokenUseOutcome> {
    const records = use.records === undefined || isClusterClient(this.#client) ? [] : use.records.map((entry) => this.recordWrite(entry));
    return this.#sessions.useRefreshToken(use, announce, records);
  }

  /** A token's index entry and record as the scripts write them: the keys, its score (its expiry, `+inf` for none), jti, value and expiry. */
  private recordWrite(entry: StoreEntry): RecordWrite {
    const expiresAt = entry.expiresAt === undefined ? undefined : Math.ceil(entry.expiresAt);
    return {
      keys: [this.keys.identity(entry.identity), this.keys.token(entry.jti)],
      args: [expiresAt === undefined ? '+inf' : String(expiresAt), entry.jti, serialize(entry.record), expiresAt === undefined ? '' : String(expiresAt)],
    };
  }

  revokeFamily(family: string, keepUntil: number | undefined, announce?: Announcement): Promise<void> {
    return this.#sessions.revokeFamily(family, keepUntil, announce);
  }

  /**
   * DPoP replay cache: one Lua script on the thumbprint's one key (one slot on a Cluster), so
   * of concurrent calls with one jti on any instances exactly one gets `'new'`. Bounded per
   * thumbprint by `maxPerGroup`; expiry by Redis's clock.
   */
  async rememberOnce(entry: OnceEntry): Promise<OnceOutcome> {
    const answer = await this.call('rememberOnce', () =>
      this.#client.eval(REMEMBER_ONCE, 1, this.keys.once(entry.group), entry.key, String(Math.ceil(entry.expiresAt)), String(entry.maxPerGroup)),
    );
    if (answer === 'new' || answer === 'seen' || answer === 'full') return answer;
    throw new TokenStoreError(`Redis token store: rememberOnce answered ${String(answer)}`);
  }

  async close(): Promise<void> {
    if (!this.#ownsClient) return;
    try {
      await withTimeout(this.#client.quit(), this.commandTimeoutMs, () => new Error('quit timed out'));
    } catch {
      this.#client.disconnect(); // Redis unreachable: drop the connection without a goodbye
    }
  }

  /** Every record key on one node, via SCAN (never KEYS). */
  private async scanTokenKeys(node: Redis): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.call('findAll', () =>
        node.scan(cursor, 'MATCH', this.keys.tokenPattern, 'COUNT', 500),
      );
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  }

  /** The records under `keys`, skipping those that expired meanwhile. */
  private async readRecords(keys: string[]): Promise<StoredToken[]> {
    if (keys.length === 0) return [];
    // On a Cluster the keys sit in different slots, so one GET each (MGET needs one slot).
    const values =
      isClusterClient(this.#client)
        ? await Promise.all(keys.map((key) => this.call('read', () => this.#client.get(key))))
        : await this.call('read', () => this.#client.mget(keys));
    return values.filter((value): value is string => value !== null).map(parseRecord);
  }

  /** Runs one Redis call (the session module uses it too), bounded in time; any failure becomes a `TokenStoreError`. */
  private async call<T>(operation: string, command: () => Promise<T>): Promise<T> {
    const failure = (cause: unknown) =>
      new TokenStoreError(`Redis token store: ${operation} failed: ${rootCauseMessage(cause)}`, hideCommandArgs(cause));
    try {
      return await withTimeout(command(), this.commandTimeoutMs, () =>
        failure(new Error(`no answer within ${this.commandTimeoutMs} ms`)),
      );
    } catch (error) {
      throw error instanceof TokenStoreError ? error : failure(error);
    }
  }
}
