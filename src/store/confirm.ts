/**
 * Confirmed invalidation for the tiered store (0.3 H): a revocation resolves only once every
 * live instance sharing the Redis has confirmed that its tier dropped the entry, or after
 * `confirmTimeoutMs`.
 *
 * The protocol, on plain Redis pub/sub (so the same on standalone, Sentinel and Cluster, where
 * PUBLISH reaches every node's subscribers):
 * 1. Liveness. Each instance keeps its id in the sorted set `<prefix>instances`, scored by the
 *    end of its lease (`livenessLeaseMs`, default {@link LEASE_MS}) by the Redis clock (`TIME`,
 *    so instances' clocks never matter), renewed every third of its lease; an entry whose lease
 *    has ended is dead and trimmed. An instance
 *    writes its first heartbeat only after it has subscribed and flushed its tier, and uses its
 *    tier only after that (so an instance a writer does not know of has an empty, unused tier,
 *    or subscribed before the write's message and receives it), and it stops heartbeating (and
 *    leaves the set, when it can) as soon as its link drops, when it bypasses its tier anyway. An
 *    instance that has stored no heartbeat for two thirds of its lease (its Redis calls fail or
 *    hang, its event loop stalled) flushes its tier, leaves and reconnects before its lease can
 *    lapse: an instance a writer no longer waits for never answers from its tier.
 * 2. The write. The Lua script that changes Redis also publishes, after the tier key, a
 *    confirmation request `c:<request id>:<tier key>` on the invalidation channel; the request
 *    id is `<writer's instance id>.<random>`, so the writer knows its own when it hears it.
 * 3. Confirmation. Every instance that hears it drops the key from its tier (synchronously) and
 *    then publishes `<request id> <instance id> <mac>` on `<prefix>confirm`, where `mac` is
 *    HMAC-SHA256 of the request id under a random secret of that instance. The secret travels in
 *    the instance's live-set member (`<instance id>.<secret>`), so only a client that can read the
 *    key `<prefix>instances` can forge a confirmation; one that can only publish and subscribe on
 *    the channels (a Redis 6 ACL user with `allchannels`, the 6.x default) sees request and
 *    instance ids go by but cannot make a revocation resolve before the instances dropped it.
 * 4. The writer reads the live set *after* its write (an instance that joins later cannot hold
 *    the old state: its tier was empty and the write was in Redis before it could read): on one
 *    server (standalone, Sentinel) in the write's own script, so a revocation is one round trip;
 *    on a Cluster, where the set sits in another slot, with a second call. It then waits for a
 *    confirmation with a valid mac from each of those ids except its own (its tier was dropped
 *    before and after the write), or `confirmTimeoutMs`; then it resolves anyway and publishes a
 *    `TokenStoreError` on `koa-jwt-extended:store-error` (operation `'confirm'`) saying how many
 *    did not confirm.
 *
 * What it cannot do: an instance partitioned from Redis neither hears nor confirms. It flushes
 * and bypasses its tier from the moment its link reports down, and at the latest
 * two thirds of its lease after its last stored heartbeat (then its requests get 503 while
 * Redis is unreachable); until then it may still answer from its tier, and writers wait for it
 * (until its lease lapses) and report it. A message lost while its link and heartbeats work is
 * reported the same way and caught by the tier's own `ttlMs` bound. A 0.2 instance on the same
 * Redis never confirms: while one runs, revocations wait the timeout.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type Redis from 'ioredis';
import { Cluster } from 'ioredis';
import { publishStoreError } from '../core/diagnostics';
import { TokenStoreError } from '../core/errors';
import { hideCommandArgs, isClusterClient, publishRedisError } from './redis-keys';
import type { Announcement } from './redis-sessions';

/** The default liveness lease (`TieredTokenStore` option `livenessLeaseMs`): an instance not renewed for this long is dead (not awaited). */
export const LEASE_MS = 3000;
/** The default heartbeat: a third of the lease. */
export const HEARTBEAT_MS = LEASE_MS / 3;

// KEYS[1] the instance set; ARGV: member, lease ms. Each member is scored by the end of its own
// lease by Redis's clock (so instances with different leases share the set, and instances' clocks
// never matter); lapsed members are trimmed; the set lives as long as the longest lease twice.
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
if redis.call('PTTL', KEYS[1]) < lease * 2 then redis.call('PEXPIRE', KEYS[1], lease * 2) end
return 1`;

// The members whose lease has not ended.
const LIVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')`;

/** `operation: 'confirm'` on the store-error channel: some live instances did not confirm in time. */
export class UnconfirmedInvalidationError extends TokenStoreError {
  constructor(readonly unconfirmed: number, readonly awaited: number, timeoutMs: number) {
    super(`${unconfirmed} of ${awaited} instances did not confirm the invalidation within ${timeoutMs} ms`);
    this.name = 'UnconfirmedInvalidationError';
  }
}

interface Waiter {
  request: string;
  /** Macs heard per instance id before the live set was read (at most a few per id: see `confirmed`). */
  heard: Map<string, string[]>;
  /** The live instances awaited, each with its secret (from the live set read after the write). */
  expected: Map<string, string> | undefined;
  /** Instances whose confirmation carried a valid mac. */
  acked: Set<string>;
  done: (() => void) | undefined;
}

/** Most confirmations remembered per instance id while the live set is not read yet (forged ones cannot crowd out the real one for long). */
const MAX_HEARD_PER_ID = 4;
/** Most distinct instance ids remembered per waiter before the live set is read. */
const MAX_HEARD_IDS = 1024;

/** The mac of a confirmation: HMAC-SHA256 of the request id under the confirming instance's secret. */
function confirmationMac(secret: string, request: string): string {
  return createHmac('sha256', Buffer.from(secret, 'hex')).update(request).digest('base64url');
}

function sameMac(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * An instance's liveness lease, kept by the thread whose tier it vouches for: `renew` stores a
 * heartbeat in Redis (directly, or through the store's worker thread); a third of the lease
 * apart while the link is up, and `onLeaseLost` runs once two thirds have passed since the last
 * heartbeat Redis stored began. The timers run in the tier's own event loop, so a stalled loop
 * renews nothing and gives its tier up as soon as it runs again (timers run before I/O).
 */
export class LivenessLease {
  /** How often the lease is renewed: a third of it. */
  readonly heartbeatMs: number;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Local clock (monotonic) before the last heartbeat Redis stored: our lease began after it. */
  private renewedAt = 0;
  private leaseTimer: NodeJS.Timeout | undefined;
  private onLeaseLost: () => void = () => undefined;
  /**
   * Epoch ms (this process's clock) from which the tier must not answer: when the lease timer is
   * due. The timer gives the tier up, but a loop that stalled inside an I/O callback serves the
   * rest of that poll phase (requests whose bytes arrived meanwhile) before any timer runs, so the
   * tier's reads compare against it too (the `Date.now()` they take anyway: no extra clock read).
   */
  usableUntil = 0;

  constructor(private readonly renew: () => Promise<unknown>, readonly leaseMs: number) {
    this.heartbeatMs = Math.round(leaseMs / 3);
  }

  /** Renews the lease; resolves once Redis stored it. */
  async beat(): Promise<void> {
    const sent = performance.now();
    await this.renew();
    this.renewedAt = sent;
    this.armLease();
  }

  /**
   * Starts heartbeating while `isLinkUp()` (the first beat is the caller's). `onLeaseLost` runs
   * when no heartbeat was stored for `leaseMs - heartbeatMs`: writers stop waiting for this
   * instance once its lease lapses, so it must stop using its tier before that.
   */
  start(isLinkUp: () => boolean, onLeaseLost: () => void): void {
    clearInterval(this.heartbeat);
    this.onLeaseLost = onLeaseLost;
    this.heartbeat = setInterval(() => {
      if (isLinkUp()) this.beat().catch((error: unknown) => publishRedisError(error, 'heartbeat'));
    }, this.heartbeatMs);
    this.heartbeat.unref();
    this.armLease();
  }

  /** The lease runs `leaseMs` from a Redis time after `renewedAt`: give the tier up a heartbeat before it can lapse. */
  private armLease(): void {
    clearTimeout(this.leaseTimer);
    const left = this.renewedAt + this.leaseMs - this.heartbeatMs - performance.now();
    this.usableUntil = Date.now() + left;
    this.leaseTimer = setTimeout(() => this.onLeaseLost(), left);
    this.leaseTimer.unref();
  }

  stop(): void {
    clearInterval(this.heartbeat);
    clearTimeout(this.leaseTimer);
    this.usableUntil = 0;
  }
}

/** One tiered store's side of the protocol. */
export class InvalidationConfirmer {
  readonly instanceId = randomUUID();
  /** Our requests' ids start with it: `<instance id>.<random>`. */
  private readonly requestPrefix = `${this.instanceId}.`;
  /** This instance's confirmation secret (hex), published only in its live-set member. #private: never printed. */
  readonly #secret = randomBytes(32).toString('hex');
  private readonly pending = new Map<string, Waiter>();
  /** This instance's lease (in worker mode the tier thread keeps its own: worker-link.ts). */
  readonly lease: LivenessLease;

  /** #private: an ioredis client prints its options, the password among them. */
  readonly #client: Redis | Cluster;

  /** Where a write's own script reads the live set; none on a Cluster (another slot). */
  private readonly liveSet: { key: string } | undefined;

  constructor(
    client: Redis | Cluster,
    private readonly instancesKey: string,
    readonly confirmChannel: string,
    private readonly timeoutMs: number,
    /** This instance's liveness lease. */
    leaseMs = LEASE_MS,
  ) {
    this.#client = client;
    this.lease = new LivenessLease(() => this.renewLease(), leaseMs);
    this.liveSet = isClusterClient(client) ? undefined : { key: instancesKey };
  }

  get leaseMs(): number {
    return this.lease.leaseMs;
  }

  /** How often this instance renews its lease: a third of it. */
  get heartbeatMs(): number {
    return this.lease.heartbeatMs;
  }

  /** Stores one heartbeat (this instance live for `leaseMs` more, by Redis's clock), and nothing else. */
  async renewLease(): Promise<void> {
    await this.#client.eval(HEARTBEAT, 1, this.instancesKey, this.member, String(this.lease.leaseMs));
  }

  /** Registers (or refreshes) this instance as live; resolves once Redis has it. */
  beat(): Promise<void> {
    return this.lease.beat();
  }

  /** {@link LivenessLease.start} on this thread. */
  start(isLinkUp: () => boolean, onLeaseLost: () => void): void {
    this.lease.start(isLinkUp, onLeaseLost);
  }

  /** This instance in the live set: its id and its confirmation secret. */
  private get member(): string {
    return `${this.instanceId}.${this.#secret}`;
  }

  /** Leaves the live set (link down, or closing): writers stop waiting for us. Best effort. */
  leave(): void {
    this.#client.zrem(this.instancesKey, this.member).catch(() => undefined);
  }

  stop(): void {
    this.lease.stop();
  }

  /** An incoming `c:<request>:<tier key>`: the tier key to drop, and the confirmation to send after. */
  static parseRequest(message: string): { request: string; key: string } | undefined {
    if (!message.startsWith('c:')) return undefined;
    const end = message.indexOf(':', 2);
    return end < 0 ? undefined : { request: message.slice(2, end), key: message.slice(end + 1) };
  }

  /** Confirms a request whose key this instance has just dropped. */
  confirm(request: string): void {
    // our own write (its id starts with ours; it may have resolved already): we dropped the entry before and after it
    if (request.startsWith(this.requestPrefix)) return;
    const mac = confirmationMac(this.#secret, request);
    this.#client.publish(this.confirmChannel, `${request} ${this.instanceId} ${mac}`).catch((error: unknown) => publishRedisError(error, 'confirm'));
  }

  /**
   * An incoming confirmation `<request> <instance> <mac>`: counted only with the mac that
   * instance's secret gives (checked at once when the live set is known, else when it is read).
   */
  confirmed(message: string): void {
    const [request, instance, mac, ...rest] = message.split(' ');
    const waiter = this.pending.get(request);
    if (waiter === undefined || instance === undefined || mac === undefined || rest.length > 0) return;
    if (waiter.expected !== undefined) {
      this.check(waiter, instance, mac);
      return this.settleIfDone(waiter);
    }
    const heard = waiter.heard.get(instance) ?? [];
    if (heard.length >= MAX_HEARD_PER_ID || (heard.length === 0 && waiter.heard.size >= MAX_HEARD_IDS)) return;
    heard.push(mac);
    waiter.heard.set(instance, heard);
  }

  private check(waiter: Waiter, instance: string, mac: string): void {
    const secret = waiter.expected!.get(instance);
    if (secret !== undefined && secret !== '' && sameMac(mac, confirmationMac(secret, waiter.request))) waiter.acked.add(instance);
  }

  /**
   * Runs `write` with a confirmation request for `key`; if `announced(result)` (the write did
   * publish), waits for every other live instance to confirm, or the timeout. Resolves with the
   * write's result either way; only the write itself can reject.
   */
  async write<T>(key: string, write: (announce: Announcement) => Promise<T>, announced: (result: T) => boolean): Promise<T> {
    const request = `${this.requestPrefix}${randomUUID()}`;
    const waiter: Waiter = { request, heard: new Map(), expected: undefined, acked: new Set(), done: undefined };
    this.pending.set(request, waiter);
    try {
      const announcement: Announcement = { confirm: `c:${request}:${key}`, liveSet: this.liveSet };
      const result = await write(announcement);
      if (announced(result)) await this.awaitConfirmations(waiter, announcement.live);
      return result;
    } finally {
      this.pending.delete(request);
    }
  }

  /** Waits for the live instances (`read`: as the write's script read them; else read now). */
  private async awaitConfirmations(waiter: Waiter, read: string[] | undefined): Promise<void> {
    const started = Date.now();
    let live: string[];
    try {
      live = read ?? ((await this.#client.eval(LIVE, 1, this.instancesKey)) as string[]);
    } catch (error) {
      publishStoreError(new TokenStoreError('the live instances could not be read: the invalidation is unconfirmed', hideCommandArgs(error)), 'confirm');
      return;
    }
    waiter.expected = liveInstances(live, this.instanceId);
    for (const [instance, macs] of waiter.heard) for (const mac of macs) this.check(waiter, instance, mac);
    waiter.heard.clear();
    if (this.isDone(waiter)) return;
    const remaining = Math.max(0, this.timeoutMs - (Date.now() - started));
    const confirmedInTime = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), remaining);
      waiter.done = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    if (confirmedInTime) return;
    const missing = [...waiter.expected.keys()].filter((id) => !waiter.acked.has(id)).length;
    publishStoreError(new UnconfirmedInvalidationError(missing, waiter.expected.size, this.timeoutMs), 'confirm');
  }

  private isDone(waiter: Waiter): boolean {
    return waiter.expected !== undefined && [...waiter.expected.keys()].every((id) => waiter.acked.has(id));
  }

  private settleIfDone(waiter: Waiter): void {
    if (waiter.done !== undefined && this.isDone(waiter)) waiter.done();
  }
}

/**
 * The live set's members (`<instance id>.<secret>`) as id -> secret, without `self`. A member of
 * another shape (written by hand, or by an instance from before confirmations were authenticated)
 * is awaited under its whole text with no secret: it can never confirm, so the writer waits the
 * timeout and reports it, never resolves early.
 */
export function liveInstances(members: string[], self: string): Map<string, string> {
  const live = new Map<string, string>();
  for (const member of members) {
    const dot = member.lastIndexOf('.');
    const [id, secret] = dot > 0 && /^[0-9a-f]{64}$/.test(member.slice(dot + 1)) ? [member.slice(0, dot), member.slice(dot + 1)] : [member, ''];
    if (id !== self) live.set(id, secret);
  }
  return live;
}
