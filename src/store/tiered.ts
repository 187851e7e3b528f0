import Redis, { Cluster } from 'ioredis';
import { publishStoreError } from '../core/diagnostics';
import { showAs } from '../core/safe-view';
import type {
  FamilyState, OnceEntry, OnceOutcome, RefreshTokenUse, RefreshTokenUseOutcome, StoreEntry, StoredToken, TokenQuery, TokenState, TokenStore,
} from './token-store';
import { clientOf, RedisTokenStore, ownedClientOptions, redisStoreFacts, type RedisTokenStoreOptions } from './redis';
import { isClusterClient, publishRedisError, withTimeout } from './redis-keys';
import { TierMap } from './tier-map';
import { checkTieredStoreOptions } from './store-options';
import { tierKey } from './redis-sessions';
import { InvalidationConfirmer, LEASE_MS, type LivenessLease } from './confirm';
import { TokenStoreError } from '../core/errors';
import { registerBuiltInStore, trustPeekState } from '../core/store-call';
import { ANNOUNCED, runConfirmedWrite, type ConfirmedWrite, type PlainCall } from './worker-protocol';
import { RedisWorkerLink } from './worker-link';

/**
 * What the tier holds, one map per kind (each of one shape, keyed by the raw id): a record (or its
 * absence) by jti, a cut-off by identity, a family's answers by family. `until`: epoch ms after
 * which the entry is not used (at most `ttlMs` after it was read, never past the token's exp).
 */
interface RecordEntry {
  record: StoredToken | undefined;
  until: number;
  /**
   * The cut-off entry this record was last judged with, for `cutoffOf`, while the tier's
   * `cutoffGeneration` is still `cutoffGeneration` (the cut-offs map unchanged since): a tier hit then
   * needs one lookup, not two. Only ever a hint: a mismatch means the cut-offs map is asked.
   */
  cutoff: CutoffEntry | undefined;
  cutoffOf: string | undefined;
  cutoffGeneration: number;
}
interface CutoffEntry {
  cutoff: number;
  until: number;
}
interface FamilyEntry {
  family: Map<string, FamilyState>;
  until: number;
}

/**
 * The Redis options plus the in-process tier: its size and how long an entry may be served without Redis.
 */
export interface TieredTokenStoreOptions extends RedisTokenStoreOptions {
  /** Most entries of each kind (records, cut-offs, families) held in the local tier; least recently used go first (second chance). Default 10 000. */
  max?: number;
  /** Longest a record stays in the local tier (also capped by the token's `exp`). Default 5000 ms. */
  ttlMs?: number;
  /**
   * Longest a revocation waits for the other live instances to confirm they dropped the entry;
   * after it the call resolves anyway and `koa-jwt-extended:store-error` reports (operation
   * `'confirm'`) how many did not confirm. Default 1000 ms.
   */
  confirmTimeoutMs?: number;
  /**
   * This instance's liveness lease: it renews it every third of it, and gives its tier up when
   * two thirds have passed without a renewal Redis stored (a stalled event loop, a slow link),
   * before writers stop waiting for it. Writers wait for a dead instance at most this long (and
   * never past `confirmTimeoutMs`). Longer leases suit processes that stall for seconds (under a
   * profiler, valgrind, a debugger). Default 3000 ms; 300 ms to 1 hour.
   */
  livenessLeaseMs?: number;
  /**
   * Where the store's Redis connections live. `'main'` (the default): in this thread, as the
   * Redis store's. `'worker'`: in a `worker_thread` of their own (0.3, issue 27), so this
   * thread's isolate never runs a Redis socket or the client's promises. That isolate serves the
   * requests, and a Redis client's traffic in it costs every request, open routes too (node's
   * socket and async_hooks code turn polymorphic). The tier, its epoch checks and the liveness
   * lease's timers stay in this thread, so a stalled event loop still gives its tier up; a
   * miss, a write and an invalidation each cross the thread boundary once more (tens of
   * microseconds). Needs `redis` as a `redis://` URL (a client cannot cross threads: standalone
   * only). A worker that dies is replaced within a second; meanwhile the tier is bypassed and
   * calls reject (503).
   */
  redisThread?: 'main' | 'worker';
}

/**
 * An in-process LRU tier in front of a {@link RedisTokenStore}, for many app instances sharing
 * one Redis (standalone or Cluster).
 *
 * Invalidation: every `setRevoked` (from any instance, tiered or plain Redis store) publishes the
 * jti on `<keyPrefix>invalidate` in the same Lua script that writes the record. Each tiered store
 * keeps a dedicated subscriber connection and drops the jti from its tier on the message. Plain
 * pub/sub was chosen over `CLIENT TRACKING ... BCAST`: tracking is per node, so on a Cluster it
 * needs one tracked connection per master and follows resharding badly, while a Cluster
 * broadcasts `PUBLISH` to every node, so one subscriber on any node hears every revocation.
 *
 * Confirmed invalidation (0.3): `setRevoked` (revoke / unrevoke), a blocklist revocation
 * (`add`), `revokeAll`, `revokeFamily`, and `useRefreshToken` when it rotates or detects reuse
 * resolve only once every other live instance on the same Redis confirmed that its tier dropped
 * the entry, or after `confirmTimeoutMs` (then `koa-jwt-extended:store-error` reports
 * `operation: 'confirm'` with how many did not). So after `await revokeToken(t)`, the next
 * request to any instance that confirmed is refused; after `await rotateRefreshToken()`, every
 * such instance treats the presented refresh token as used (reuse, or a retry inside the interval). The protocol, and what it cannot promise (an instance partitioned from Redis), are
 * in confirm.ts. A plain `RedisTokenStore` announces its writes but does not wait.
 *
 * Staleness bound: while the subscriber link is up, a revoke or unrevoke made anywhere is obeyed
 * here as soon as its message arrives (milliseconds). The tier is flushed and bypassed (every
 * `find` goes to Redis) whenever the link is down, from the moment the connection reports closed
 * until it has subscribed again; a link that dies silently is caught by a heartbeat PING every
 * `ttlMs / 2`. A message that is lost without the link ever reporting down (e.g. a partitioned
 * Cluster bus), or a record changed in Redis behind the store's back, is served stale for at
 * most `ttlMs`, and never past the token's own `exp`. A read that was in flight when an
 * invalidation (or a link drop) arrived does not fill the tier (epoch check). On a Cluster, a
 * subscriber whose node stays unreachable for `commandTimeoutMs` is replaced by one on another master.
 *
 * Sessions (issue 13): `inspect` answers the record, the identity's cut-off and the family state
 * from the tier (`peekState` without a promise), each filled from Redis on a miss and dropped on
 * its own invalidation (`t:<jti>`, `g:<identity>`, `f:<family>`: every write in Redis announces
 * the key it changed, `add` included), with the same bound as above. `inspect` also remembers
 * that a jti is unknown (in blocklist mode that is the common answer); `find` does not, as in 0.1.
 * `cutoff(identity)`, read when a token is created, comes from the tier too: a token created on
 * this instance in the milliseconds before another instance's `revokeAll` reaches it carries the
 * old generation and is refused (fail safe: a re-login then has to be repeated).
 * Use-once and family revocation are decided by Redis alone (Lua), never by the tier.
 *
 * When Redis cannot answer, calls reject within `commandTimeoutMs` (fail closed).
 *
 * @example
 * ```ts
 * const store = new TieredTokenStore({ redis: process.env.REDIS_URL!, max: 50_000, ttlMs: 10_000 });
 * JwtManager.configure({ secret, revocation: { store, checks: 'all' } });
 * await revokeToken(token); // resolves once every live instance confirmed it refuses the token
 * await store.close(); // closes both connections
 * ```
 *
 * Printed, a tiered store shows its Redis store's safe facts and its tier's bounds, never a
 * client (both connections are `#private`: their options hold the password).
 */
export class TieredTokenStore implements TokenStore {
  /**
   * The shared tier every miss and every write goes to. With `redisThread: 'worker'` the worker
   * holds the store the tier uses; this one names the keys and prints the facts, and its client
   * connects (in this thread) only if it is called directly.
   */
  readonly redisStore: RedisTokenStore;
  private readonly records: TierMap<RecordEntry>;
  private readonly cutoffs: TierMap<CutoffEntry>;
  private readonly families: TierMap<FamilyEntry>;
  private readonly ttlMs: number;
  /** #private: a client prints its options, the password among them. */
  #subscriber: Redis | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Bumped by every invalidation and link drop: a read begun under an older epoch is not cached. */
  private epoch = 0;
  /**
   * Bumped by every write to the cut-offs map (a cut-off set, dropped by an invalidation or a
   * link drop): the records' remembered cut-offs are void then. A set counts too: a miss may
   * bring a newer cut-off than the one a record remembers, before its invalidation arrives.
   */
  private cutoffGeneration = 0;
  /**
   * Reads of a token's state now in flight, by query, each with the epoch it began under. When
   * a tier entry expires, every concurrent request for that token would otherwise go to Redis at
   * once (50 connections: 50 reads every ttlMs); they share one read instead, unless an
   * invalidation or a link drop arrived after it began (it may be stale: a new read then).
   */
  private readonly reading = new Map<string, { epoch: number; state: Promise<TokenState> }>();
  private linkUp = false;
  private closed = false;
  /** Counts subscriber attempts on a Cluster, so a replacement goes to another master. */
  private subscriberAttempt = 0;
  /** Confirmed invalidation: this instance's liveness, and the confirmations of its writes (confirm.ts); in this thread only. */
  private readonly confirmer: InvalidationConfirmer | undefined;
  private readonly confirmTimeoutMs: number;
  private readonly livenessLeaseMs: number;
  /** `redisThread: 'worker'`: the Redis worker thread, which holds the connections and the confirmer. */
  private readonly worker: RedisWorkerLink | undefined;
  /** This instance's liveness lease: past its `usableUntil` the tier answers nothing, even before its timer ran. */
  private readonly lease: LivenessLease;
  /** Where misses and plain calls go: the Redis store in this thread, or the worker. */
  private readonly source: Pick<RedisTokenStore, PlainCall>;
  /** `redisThread: 'worker'`: the never-connecting client of `redisStore` here (for its keys and facts); #private, it prints its options. */
  #idleClient: Redis | undefined;

  /** Throws a `JwtConfigurationError` listing every bad option, before any connection is made. */
  constructor(options: TieredTokenStoreOptions) {
    registerBuiltInStore(this, new.target, TieredTokenStore);
    checkTieredStoreOptions(options);
    const { redis, keyPrefix, commandTimeoutMs } = options;
    this.ttlMs = options.ttlMs ?? 5000;
    const max = options.max ?? 10_000;
    this.records = new TierMap(max);
    this.cutoffs = new TierMap(max);
    this.families = new TierMap(max);
    this.confirmTimeoutMs = options.confirmTimeoutMs ?? 1000;
    this.livenessLeaseMs = options.livenessLeaseMs ?? LEASE_MS;
    if (options.redisThread === 'worker') {
      // the Redis store here only names keys and prints facts: its client never connects in this thread
      this.#idleClient = new Redis(redis as string, { ...ownedClientOptions(commandTimeoutMs ?? 1000), lazyConnect: true });
      this.#idleClient.on('error', (error: unknown) => publishRedisError(error, 'connection'));
      this.redisStore = new RedisTokenStore({ redis: this.#idleClient, keyPrefix, commandTimeoutMs });
      this.confirmer = undefined;
      const worker = new RedisWorkerLink(
        { redis: redis as string, keyPrefix, commandTimeoutMs, ttlMs: this.ttlMs, confirmTimeoutMs: this.confirmTimeoutMs, livenessLeaseMs: this.livenessLeaseMs },
        { linkDown: () => this.linkDown(), linkUp: () => void (this.linkUp = !this.closed), invalidate: (key) => this.invalidate(key) },
        this.redisStore.commandTimeoutMs,
      );
      this.worker = worker;
      this.lease = worker.lease;
      this.source = {
        add: (entry) => worker.call('add', [entry]),
        find: (jti) => worker.call('find', [jti]),
        inspect: (query) => worker.call('inspect', [query]),
        cutoff: (identity) => worker.call('cutoff', [identity]),
        rememberOnce: (entry) => worker.call('rememberOnce', [entry]),
        findByIdentity: (identity) => worker.call('findByIdentity', [identity]),
        findAll: () => worker.call('findAll', []),
      };
    } else {
      this.redisStore = new RedisTokenStore({ redis, keyPrefix, commandTimeoutMs });
      this.source = this.redisStore;
      this.worker = undefined;
      const prefix = this.redisStore.keys.prefix;
      this.confirmer = new InvalidationConfirmer(
        clientOf(this.redisStore), `${prefix}instances`, `${prefix}confirm`, this.confirmTimeoutMs, this.livenessLeaseMs,
      );
      this.lease = this.confirmer.lease;
    }
    showAs(this, 'TieredTokenStore', (store) => ({
      ...redisStoreFacts(store.redisStore), max, ttlMs: store.ttlMs, confirmTimeoutMs: store.confirmTimeoutMs, livenessLeaseMs: store.livenessLeaseMs,
      redisThread: store.worker === undefined ? 'main' : 'worker', isLinkUp: store.isLinkUp,
    }));
    if (this.worker !== undefined) return;
    const client = clientOf(this.redisStore);
    if (isClusterClient(client) && client.nodes('master').length === 0) {
      client.once('ready', () => this.startSubscriber());
    } else {
      this.startSubscriber();
    }
  }

  /** Whether invalidations are currently being received (and the local tier is in use). */
  get isLinkUp(): boolean {
    return this.linkUp;
  }

  /**
   * A new token's jti cannot be in the tier (no one had it); a blocklist revocation may be, as
   * unknown: it resolves once every live instance confirmed (or `confirmTimeoutMs`). One whose
   * token has already expired is neither stored nor announced, so nothing is awaited.
   */
  async add(entry: StoreEntry): Promise<void> {
    if (!entry.record.revoked) return this.source.add(entry);
    await this.confirmed(tierKey.token(entry.jti), 'addAnnounced', [entry]);
  }

  /** A cached record, answered without a promise (the request hot path); never while the link is down. */
  peek(jti: string): StoredToken | undefined {
    if (!this.linkUp) return undefined;
    const now = Date.now();
    return now < this.lease.usableUntil ? this.records.live(jti, now)?.record : undefined;
  }

  async find(jti: string): Promise<StoredToken | undefined> {
    const cached = this.peek(jti);
    if (cached !== undefined) return structuredClone(cached);
    const epoch = this.epoch;
    const record = await this.source.find(jti);
    if (record !== undefined && this.linkUp && epoch === this.epoch) this.remember(jti, record);
    return record;
  }

  /** Resolves once every live instance confirmed it dropped the jti (or `confirmTimeoutMs`). */
  async setRevoked(jti: string, revoked: boolean): Promise<StoredToken | undefined> {
    return this.confirmed(tierKey.token(jti), 'setRevoked', [jti, revoked]);
  }

  peekState(query: TokenQuery): TokenState | undefined {
    if (!this.linkUp) return undefined;
    const now = Date.now();
    if (now >= this.lease.usableUntil) return undefined; // the lease timer is due: see LivenessLease.usableUntil
    const held = this.records.live(query.jti, now);
    if (held === undefined) return undefined;
    let cutoff = held.cutoff;
    if (cutoff === undefined || held.cutoffGeneration !== this.cutoffGeneration || held.cutoffOf !== query.identity || cutoff.until <= now) {
      cutoff = this.cutoffs.live(query.identity, now);
      if (cutoff === undefined) return undefined;
      held.cutoff = cutoff;
      held.cutoffOf = query.identity;
      held.cutoffGeneration = this.cutoffGeneration;
    }
    if (query.family === undefined) return { record: held.record, cutoff: cutoff.cutoff, family: undefined };
    const family = this.families.live(query.family, now)?.family.get(query.jti);
    return family === undefined ? undefined : { record: held.record, cutoff: cutoff.cutoff, family };
  }

  async inspect(query: TokenQuery): Promise<TokenState> {
    const cached = this.peekState(query);
    if (cached !== undefined) return structuredClone(cached);
    const key = JSON.stringify([query.jti, query.identity, query.family]);
    const shared = this.reading.get(key);
    if (shared !== undefined && shared.epoch === this.epoch) return structuredClone(await shared.state);
    const read = { epoch: this.epoch, state: this.source.inspect(query) };
    this.reading.set(key, read);
    try {
      const state = await read.state;
      if (this.linkUp && read.epoch === this.epoch) this.rememberState(query, state);
      return state;
    } finally {
      if (this.reading.get(key) === read) this.reading.delete(key);
    }
  }

  async cutoff(identity: string): Promise<number> {
    const now = Date.now();
    const cached = this.linkUp && now < this.lease.usableUntil ? this.cutoffs.live(identity, now) : undefined;
    if (cached !== undefined) return cached.cutoff;
    const epoch = this.epoch;
    const cutoff = await this.source.cutoff(identity);
    if (this.linkUp && epoch === this.epoch) this.setCutoff(identity, { cutoff, until: Date.now() + this.ttlMs });
    return cutoff;
  }

  /** Resolves once every live instance confirmed it dropped the cut-off (or `confirmTimeoutMs`). */
  revokeAll(identity: string, keepSeconds: number | undefined): Promise<number> {
    return this.confirmed(tierKey.cutoff(identity), 'revokeAll', [identity, keepSeconds]);
  }

  /**
   * A rotation and a reuse it detects (the family revoked) are confirmed like a revocation: once
   * it resolves, every live instance sees the presented token as used (a retry writes nothing).
   */
  useRefreshToken(use: RefreshTokenUse): Promise<RefreshTokenUseOutcome> {
    return this.confirmed(tierKey.family(use.family), 'useRefreshToken', [use]);
  }

  /** Resolves once every live instance confirmed it dropped the family (or `confirmTimeoutMs`). */
  revokeFamily(family: string, keepUntil: number | undefined): Promise<void> {
    return this.confirmed(tierKey.family(family), 'revokeFamily', [family, keepUntil]);
  }

  /** DPoP replay cache: decided by Redis alone (never the tier), shared by every instance. */
  rememberOnce(entry: OnceEntry): Promise<OnceOutcome> {
    return this.source.rememberOnce(entry);
  }

  findByIdentity(identity: string): Promise<StoredToken[]> {
    return this.source.findByIdentity(identity);
  }

  findAll(): Promise<StoredToken[]> {
    return this.source.findAll();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.worker !== undefined) {
      this.linkDown();
      await this.worker.close();
      this.#idleClient?.disconnect();
      return;
    }
    this.confirmer!.stop();
    this.confirmer!.leave();
    this.linkDown();
    const subscriber = this.#subscriber;
    if (subscriber !== undefined) {
      await withTimeout(subscriber.quit(), this.redisStore.commandTimeoutMs, () => new Error('quit'))
        .catch(() => subscriber.disconnect());
    }
    await this.redisStore.close();
  }

  /**
   * A write whose announcement the other live instances confirm (confirm.ts); our own entry is
   * dropped around it. In a worker, the worker writes and waits for the confirmations.
   */
  private confirmed<T>(key: string, write: ConfirmedWrite, args: unknown[]): Promise<T> {
    if (this.worker !== undefined) return this.writing(key, () => this.worker!.write<T>(write, key, args));
    const announced = ANNOUNCED[write] as (result: T) => boolean;
    return this.confirmer!.write(key, (announce) => this.writing(key, () => runConfirmedWrite(this.redisStore, write, args, announce) as Promise<T>), announced);
  }

  /** A write through to Redis; our own tier entry is dropped before and after (a read served between is stale). */
  private async writing<T>(key: string, write: () => Promise<T>): Promise<T> {
    this.invalidate(key);
    try {
      return await write();
    } finally {
      this.invalidate(key);
    }
  }

  private remember(jti: string, record: StoredToken | undefined): void {
    const exp = record?.token.exp;
    const untilExpiry = typeof exp === 'number' ? exp * 1000 - Date.now() : Infinity;
    const ttl = Math.min(this.ttlMs, untilExpiry);
    if (ttl >= 1) {
      this.records.set(jti, { record: structuredClone(record), until: Date.now() + Math.floor(ttl), cutoff: undefined, cutoffOf: undefined, cutoffGeneration: -1 });
    }
  }

  private rememberState(query: TokenQuery, state: TokenState): void {
    this.remember(query.jti, state.record);
    const until = Date.now() + this.ttlMs;
    this.setCutoff(query.identity, { cutoff: state.cutoff, until });
    if (query.family === undefined || state.family === undefined) return;
    const family = this.families.live(query.family, Date.now())?.family ?? new Map<string, FamilyState>();
    family.set(query.jti, { ...state.family });
    this.families.set(query.family, { family, until });
  }

  private setCutoff(identity: string, entry: CutoffEntry): void {
    this.cutoffGeneration += 1;
    this.cutoffs.set(identity, entry);
  }

  /** Drops one tier key (`t:<jti>`, `g:<identity>`, `f:<family>`: an invalidation message is exactly such a key). */
  private invalidate(key: string): void {
    this.epoch += 1;
    const id = key.slice(2);
    if (key.startsWith('t:')) this.records.delete(id);
    else if (key.startsWith('g:')) {
      this.cutoffGeneration += 1;
      this.cutoffs.delete(id);
    }
    else if (key.startsWith('f:')) this.families.delete(id);
  }

  private linkDown(): void {
    this.linkUp = false;
    this.epoch += 1;
    this.cutoffGeneration += 1;
    this.records.clear();
    this.cutoffs.clear();
    this.families.clear();
  }

  private startSubscriber(): void {
    if (this.closed) return;
    const subscriber = this.createSubscriber();
    const channel = this.redisStore.keys.channel;
    // surfaces as a link drop (never a crash), and on the store-error channel
    // Counts this subscriber's connections (each 'ready' and each 'close'): a subscription
    // finishing for a connection that is gone turns nothing on. A subscriber replaced on a Cluster
    // (moveIfStillDown) is no longer current: its late events touch nothing of its successor's.
    let connections = 0;
    const current = () => this.#subscriber === subscriber;
    subscriber.on('error', (error: unknown) => publishRedisError(error, 'subscribe'));
    subscriber.on('close', () => {
      connections += 1;
      if (!current()) return;
      if (this.linkUp) this.confirmer!.leave(); // we bypass the tier now: writers need not wait for us
      this.linkDown();
      if (isClusterClient(clientOf(this.redisStore))) this.moveIfStillDown(subscriber);
    });
    subscriber.on('message', (from: string, message: string) => this.heard(from, message));
    subscriber.on('ready', () => {
      const connection = ++connections;
      if (!current()) return;
      subscriber.subscribe(channel, this.confirmer!.confirmChannel)
        .then(() => {
          this.linkDown(); // flush whatever raced the (re)subscription
          return this.confirmer!.beat(); // live (awaited by writers) before the tier is used: see confirm.ts
        })
        .then(
          () => {
            // a later connection's subscription may still be in flight: only the current one turns the tier on
            this.linkUp = !this.closed && subscriber.status === 'ready' && connection === connections && current();
            this.confirmer!.start(() => this.linkUp, () => this.leaseLost(subscriber));
          },
          () => subscriber.disconnect(true),
        );
    });
    this.#subscriber = subscriber;
    this.heartbeat = setInterval(() => this.checkLink(), Math.max(this.ttlMs / 2, 100));
    this.heartbeat.unref();
  }

  /**
   * No heartbeat stored for two thirds of the lease: writers are about to stop waiting for us,
   * so the tier goes first (flushed and bypassed), then the link is rebuilt, which registers
   * this instance again once Redis answers.
   */
  private leaseLost(subscriber: Redis): void {
    if (!this.linkUp || this.closed || this.#subscriber !== subscriber) return;
    const why = `no liveness heartbeat stored for ${this.confirmer!.leaseMs - this.confirmer!.heartbeatMs} ms: the tier is flushed and the link rebuilt`;
    publishStoreError(new TokenStoreError(why), 'heartbeat');
    this.confirmer!.leave();
    this.linkDown();
    subscriber.disconnect(true);
  }

  /** One pub/sub message: a confirmation of our write, a confirmation request, or a tier key. */
  private heard(channel: string, message: string): void {
    if (channel === this.confirmer!.confirmChannel) return this.confirmer!.confirmed(message);
    const request = InvalidationConfirmer.parseRequest(message);
    if (request !== undefined) {
      this.invalidate(request.key);
      return this.confirmer!.confirm(request.request); // after the drop: the writer may resolve now
    }
    // a bare jti is what a 0.1 instance publishes: understood, so a rolling upgrade keeps its bound
    this.invalidate(/^[tgf]:/.test(message) ? message : tierKey.token(message));
  }

  /**
   * On a Cluster, a subscriber whose node stays unreachable for `commandTimeoutMs` is replaced
   * by one on another master (a failed-over or dead node is left behind; PUBLISH reaches every node).
   */
  private moveIfStillDown(subscriber: Redis): void {
    const timer = setTimeout(() => {
      if (this.closed || this.#subscriber !== subscriber || subscriber.status === 'ready') return;
      const cluster = clientOf(this.redisStore) as Cluster;
      // no master known right now (the whole Cluster is down): keep reconnecting, look again later
      if (cluster.nodes('master').length === 0) return this.moveIfStillDown(subscriber);
      clearInterval(this.heartbeat);
      subscriber.disconnect();
      this.startSubscriber();
    }, this.redisStore.commandTimeoutMs);
    timer.unref();
  }

  /** A link that stopped answering is cut, so it reconnects and the tier is flushed meanwhile. */
  private checkLink(): void {
    const subscriber = this.#subscriber;
    if (subscriber === undefined || !this.linkUp) return;
    withTimeout(subscriber.ping(), this.redisStore.commandTimeoutMs, () => new Error('ping')).catch(
      () => subscriber.disconnect(true),
    );
  }

  /** The subscriber is always ours: a copy of the store's connection settings. */
  private createSubscriber(): Redis {
    const client = clientOf(this.redisStore);
    const options = {
      ...ownedClientOptions(this.redisStore.commandTimeoutMs),
      autoResubscribe: false, // we subscribe on every 'ready', and know when it is done
      lazyConnect: false,
    };
    // On a Cluster one node is enough: PUBLISH is broadcast to every node.
    const base = isClusterClient(client) ? this.nextMaster(client) : client;
    return base.duplicate(options);
  }

  /** A master to subscribe on, preferring connected ones, rotating on every new attempt. */
  private nextMaster(cluster: Cluster): Redis {
    const masters = cluster.nodes('master');
    const ready = masters.filter((node) => node.status === 'ready');
    const pool = ready.length > 0 ? ready : masters;
    return pool[this.subscriberAttempt++ % pool.length];
  }
}

// its tier holds only what the Redis store's strict parsers built: the guard need not check the shape again (the hot path)
trustPeekState(TieredTokenStore.prototype.peekState);
