import Redis, { Cluster } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { StoreEntry, StoredToken, TokenStore } from './token-store';
import { RedisTokenStore, ownedClientOptions, type RedisTokenStoreOptions } from './redis';
import { withTimeout } from './redis-keys';

export interface TieredTokenStoreOptions extends RedisTokenStoreOptions {
  /** Most records held in the local tier. Default 10 000. */
  max?: number;
  /** Longest a record stays in the local tier (also capped by the token's `exp`). Default 5000 ms. */
  ttlMs?: number;
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
 * Unknown jtis are not cached: only verified tokens reach the store, so an unknown jti is rare,
 * and caching it would need `add` to publish as well.
 *
 * When Redis cannot answer, calls reject within `commandTimeoutMs` (fail closed).
 *
 * @example
 * ```ts
 * const store = new TieredTokenStore({ redis: process.env.REDIS_URL!, max: 50_000, ttlMs: 10_000 });
 * JwtManager.configure({ secret, revocation: { store, checks: 'all' } });
 * await revokeToken(jti); // every other instance refuses the token within milliseconds
 * await store.close(); // closes both connections
 * ```
 */
export class TieredTokenStore implements TokenStore {
  /** The shared tier every miss and every write goes to. */
  readonly redisStore: RedisTokenStore;
  private readonly cache: LRUCache<string, StoredToken>;
  private readonly ttlMs: number;
  private subscriber: Redis | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Bumped by every invalidation and link drop: a read begun under an older epoch is not cached. */
  private epoch = 0;
  private linkUp = false;
  private closed = false;
  /** Counts subscriber attempts on a Cluster, so a replacement goes to another master. */
  private subscriberAttempt = 0;

  constructor(options: TieredTokenStoreOptions) {
    this.redisStore = new RedisTokenStore(options);
    this.ttlMs = options.ttlMs ?? 5000;
    this.cache = new LRUCache({ max: options.max ?? 10_000, ttl: this.ttlMs });
    const client = this.redisStore.client;
    if (client instanceof Cluster && client.nodes('master').length === 0) {
      client.once('ready', () => this.startSubscriber());
    } else {
      this.startSubscriber();
    }
  }

  /** Whether invalidations are currently being received (and the local tier is in use). */
  get isLinkUp(): boolean {
    return this.linkUp;
  }

  async add(entry: StoreEntry): Promise<void> {
    await this.redisStore.add(entry);
  }

  /** A cached record, answered without a promise (the request hot path); never while the link is down. */
  peek(jti: string): StoredToken | undefined {
    return this.linkUp ? this.cache.get(jti) : undefined;
  }

  async find(jti: string): Promise<StoredToken | undefined> {
    const cached = this.linkUp ? this.cache.get(jti) : undefined;
    if (cached !== undefined) return structuredClone(cached);
    const epoch = this.epoch;
    const record = await this.redisStore.find(jti);
    if (record !== undefined && this.linkUp && epoch === this.epoch) this.remember(jti, record);
    return record;
  }

  async setRevoked(jti: string, revoked: boolean): Promise<StoredToken | undefined> {
    this.invalidate(jti);
    try {
      return await this.redisStore.setRevoked(jti, revoked);
    } finally {
      this.invalidate(jti); // a read served between our first drop and the write is stale
    }
  }

  findByIdentity(identity: string): Promise<StoredToken[]> {
    return this.redisStore.findByIdentity(identity);
  }

  findAll(): Promise<StoredToken[]> {
    return this.redisStore.findAll();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.linkDown();
    const subscriber = this.subscriber;
    if (subscriber !== undefined) {
      await withTimeout(subscriber.quit(), this.redisStore.commandTimeoutMs, () => new Error('quit'))
        .catch(() => subscriber.disconnect());
    }
    await this.redisStore.close();
  }

  private remember(jti: string, record: StoredToken): void {
    const exp = record.token.exp;
    const untilExpiry = typeof exp === 'number' ? exp * 1000 - Date.now() : Infinity;
    const ttl = Math.min(this.ttlMs, untilExpiry);
    if (ttl >= 1) this.cache.set(jti, structuredClone(record), { ttl: Math.floor(ttl) });
  }

  private invalidate(jti: string): void {
    this.epoch += 1;
    this.cache.delete(jti);
  }

  private linkDown(): void {
    this.linkUp = false;
    this.epoch += 1;
    this.cache.clear();
  }

  private startSubscriber(): void {
    if (this.closed) return;
    const subscriber = this.createSubscriber();
    const channel = this.redisStore.keys.channel;
    subscriber.on('error', () => undefined); // surfaces as a link drop, never as a crash
    subscriber.on('close', () => {
      this.linkDown();
      if (this.redisStore.client instanceof Cluster) this.moveIfStillDown(subscriber);
    });
    subscriber.on('message', (_channel: string, jti: string) => this.invalidate(jti));
    subscriber.on('ready', () => {
      subscriber.subscribe(channel).then(
        () => {
          this.linkDown(); // flush whatever raced the (re)subscription
          this.linkUp = !this.closed && subscriber.status === 'ready';
        },
        () => subscriber.disconnect(true),
      );
    });
    this.subscriber = subscriber;
    this.heartbeat = setInterval(() => this.checkLink(), Math.max(this.ttlMs / 2, 100));
    this.heartbeat.unref();
  }

  /**
   * On a Cluster, a subscriber whose node stays unreachable for `commandTimeoutMs` is replaced
   * by one on another master (a failed-over or dead node is left behind; PUBLISH reaches every node).
   */
  private moveIfStillDown(subscriber: Redis): void {
    const timer = setTimeout(() => {
      if (this.closed || this.subscriber !== subscriber || subscriber.status === 'ready') return;
      const cluster = this.redisStore.client as Cluster;
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
    const subscriber = this.subscriber;
    if (subscriber === undefined || !this.linkUp) return;
    withTimeout(subscriber.ping(), this.redisStore.commandTimeoutMs, () => new Error('ping')).catch(
      () => subscriber.disconnect(true),
    );
  }

  /** The subscriber is always ours: a copy of the store's connection settings. */
  private createSubscriber(): Redis {
    const client = this.redisStore.client;
    const options = {
      ...ownedClientOptions(this.redisStore.commandTimeoutMs),
      autoResubscribe: false, // we subscribe on every 'ready', and know when it is done
      lazyConnect: false,
    };
    // On a Cluster one node is enough: PUBLISH is broadcast to every node.
    const base = client instanceof Cluster ? this.nextMaster(client) : client;
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
