/**
 * What the shared store suites need of a Redis deployment, standalone or Cluster, so the same
 * test bodies run against both.
 */
import Redis, { Cluster } from 'ioredis';
import type { StoreEntry } from '../../src/store/token-store';
import { RedisCluster, RedisSentinel, RedisServer, freePort, flush, requireRedis, startStandalone } from '../support/redis';

export interface RedisEnv {
  readonly kind: 'standalone' | 'sentinel' | 'cluster';
  /** A client for the specs' own assertions (TTL, INFO, CLIENT KILL). */
  readonly admin: Redis | Cluster;
  /** What a store under test is given: a URL (the store owns its client) or a fresh client. */
  connection(): string | Redis | Cluster;
  /** Whether the specs may stop and restart the servers. */
  readonly canRestart: boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
  flush(): Promise<void>;
  /** Closes what `connection()` handed out. */
  release(): void;
  teardown(): Promise<void>;
}

function adminClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true });
  client.on('error', () => undefined);
  return client;
}

export async function standaloneEnv(ctx: Mocha.Context): Promise<RedisEnv> {
  requireRedis(ctx);
  const { url, server } = await startStandalone();
  const admin = adminClient(url);
  return {
    kind: 'standalone',
    admin,
    connection: () => url,
    canRestart: server !== undefined,
    stop: async () => server?.stop(),
    start: async () => server?.start(),
    flush: () => (server ? flush(admin) : Promise.resolve()),
    release: () => undefined,
    teardown: async () => {
      admin.disconnect();
      await server?.stop();
    },
  };
}

/** One master behind a Sentinel: stores get clients that find the master through the Sentinel. */
export async function sentinelEnv(ctx: Mocha.Context): Promise<RedisEnv> {
  requireRedis(ctx, true);
  const master = new RedisServer(await freePort());
  await master.start();
  const sentinel = new RedisSentinel(await freePort(), 'kje', master.port);
  await sentinel.start();
  const admin = adminClient(master.url);
  const handedOut: Redis[] = [];
  return {
    kind: 'sentinel',
    admin,
    connection: () => {
      const client = new Redis({
        sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'kje', commandTimeout: 1000, maxRetriesPerRequest: 1,
      });
      client.on('error', () => undefined);
      handedOut.push(client);
      return client;
    },
    canRestart: true,
    stop: () => master.stop(),
    start: () => master.start(),
    flush: () => flush(admin),
    release: () => handedOut.splice(0).forEach((client) => client.disconnect()),
    teardown: async () => {
      admin.disconnect();
      await sentinel.stop();
      await master.stop();
    },
  };
}

export async function clusterEnv(ctx: Mocha.Context): Promise<RedisEnv> {
  requireRedis(ctx, true);
  const cluster = new RedisCluster();
  await cluster.start();
  const admin = cluster.client();
  await new Promise((resolve) => admin.once('ready', resolve));
  const handedOut: Cluster[] = [];
  return {
    kind: 'cluster',
    admin,
    connection: () => {
      const client = cluster.client({ redisOptions: { commandTimeout: 1000, maxRetriesPerRequest: 1 } });
      handedOut.push(client);
      return client;
    },
    canRestart: true,
    stop: async () => {
      await Promise.all(cluster.servers.map((server) => server.stop()));
    },
    start: async () => {
      await Promise.all(cluster.servers.map((server) => server.start()));
      await cluster.waitUntilOk();
    },
    flush: () => flush(admin),
    release: () => handedOut.splice(0).forEach((client) => client.disconnect()),
    teardown: async () => {
      admin.disconnect();
      await cluster.stop();
    },
  };
}

let counter = 0;
/** A key prefix no other test uses. */
export function uniquePrefix(): string {
  counter += 1;
  return `kje-spec:${process.pid}:${counter}:`;
}

/** A store entry for `jti` of `identity`, expiring `inSeconds` from now (null = never). */
export function entry(jti: string, identity: string, inSeconds: number | null = 900): StoreEntry {
  const now = Math.floor(Date.now() / 1000);
  const exp = inSeconds === null ? undefined : now + inSeconds;
  const token: StoreEntry['record']['token'] = { sub: identity, type: 'refresh', jti, iat: now, nbf: now };
  if (exp !== undefined) token.exp = exp;
  return { jti, identity, expiresAt: exp, record: { token, revoked: false } };
}

/**
 * The hooks both store suites share: one deployment per suite, a fresh key prefix and an
 * empty Redis per test, and every store a test opened closed after it.
 */
export function useRedisEnv(setup: (ctx: Mocha.Context) => Promise<RedisEnv>) {
  let env: RedisEnv | undefined;
  let prefix = '';
  const stores: Array<{ close(): Promise<void> }> = [];
  before(async function () {
    env = await setup(this);
  });
  after(async () => env?.teardown());
  beforeEach(async () => {
    prefix = uniquePrefix();
    await env!.flush();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    env?.release();
  });
  return {
    get env(): RedisEnv {
      return env!;
    },
    get prefix(): string {
      return prefix;
    },
    /** Closes `store` after the test. */
    track<S extends { close(): Promise<void> }>(store: S): S {
      stores.push(store);
      return store;
    },
  };
}
