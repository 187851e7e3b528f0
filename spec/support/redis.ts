/**
 * Test harness: our own redis-server processes (never the one on 6379), started on free ports,
 * stopped and restarted mid-test on the same port, and killed in `after` hooks and on exit.
 * `REDIS_URL` replaces the standalone server (then stop/restart tests skip). Without
 * redis-server on PATH the Redis suites skip loudly, or fail when `CI=true`.
 */
import { ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis, { Cluster } from 'ioredis';

const run = promisify(execFile);
const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * Waits for the next whole second (plus 20 ms). A token's iat and exp are whole seconds, so one made
 * with a 1 s lifetime late in a second is already expired a few milliseconds later: a test that
 * must still present it as unexpired starts here, with the whole second ahead of it.
 */
export const startOfSecond = () => sleep(1020 - (Date.now() % 1000));

/** Whether a local redis-server can be started. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

/** Skips the suite (loudly), or fails it on CI, when no Redis is available. */
export function requireRedis(ctx: Mocha.Context, needsServer = false): void {
  if (hasRedisServer() || (!needsServer && process.env.REDIS_URL)) return;
  const message = 'redis-server is not on PATH and REDIS_URL is unset: Redis store specs NOT RUN';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n  !!! ${message} !!!\n`);
  ctx.skip();
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * The first port the kernel hands out for outgoing connections and `listen(0)`. A port above it can
 * be taken by any client socket between our check and redis-server's bind (a Cluster node's bus port
 * too), so we never pick one there.
 */
function ephemeralPortStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 12000) return low;
  } catch {
    // not Linux: the IANA range starts at 49152; Linux's default, the lower of the two, is safe on both
  }
  return 32768;
}

const PORT_FLOOR = 10000;
/** Ports this process handed out already: two servers started together never get the same one. */
const handedOut = new Set<number>();

/**
 * A free port below the ephemeral range (and, for cluster nodes, a free bus port +10000 there too);
 * never 6379, never one this process handed out before.
 */
export async function freePort(withBus = false): Promise<number> {
  const ceiling = ephemeralPortStart() - (withBus ? 10000 : 0);
  for (;;) {
    const port = PORT_FLOOR + Math.floor(Math.random() * (ceiling - PORT_FLOOR));
    if (port === 6379 || handedOut.has(port) || (withBus && handedOut.has(port + 10000))) continue;
    if (!(await isPortFree(port))) continue;
    if (withBus && !(await isPortFree(port + 10000))) continue;
    handedOut.add(port);
    if (withBus) handedOut.add(port + 10000);
    return port;
  }
}

/**
 * The credentials of a server we started: `requirepass` (a password alone) or an ACL user
 * (username and password; the default user is then off, so nothing gets in without them).
 */
export interface RedisAuth {
  username?: string;
  password: string;
}

/** The redis-server arguments that make it ask for `auth`. */
function serverAuthArgs(auth: RedisAuth | undefined): string[] {
  if (auth === undefined) return [];
  if (auth.username === undefined) return ['--requirepass', auth.password];
  return ['--user', auth.username, 'on', `>${auth.password}`, '~*', '&*', '+@all', '--user', 'default', 'off'];
}

/** How redis-cli authenticates: the password in its environment (never on the command line), `--user` for an ACL user. */
function cli(auth: RedisAuth | undefined): { args: string[]; env: NodeJS.ProcessEnv } {
  if (auth === undefined) return { args: [], env: process.env };
  return { args: auth.username === undefined ? [] : ['--user', auth.username], env: { ...process.env, REDISCLI_AUTH: auth.password } };
}

/** The last few kilobytes redis-server wrote, kept to say why a server did not come up. */
const logTails = new WeakMap<ChildProcess, string>();

/** A server we spawned exited before it answered (its port taken after our check, a bad argument). */
class ServerExitedError extends Error {}

/**
 * Waits until `child`, the server we spawned on `port`, answers `INFO server` with its own
 * `process_id` (a server already on the port would answer while ours exits for want of it), or,
 * with `clusterCheck`, until its `cluster info` passes that check; authenticates with `auth`. When
 * `child` exits first, fails at once with a `ServerExitedError` carrying the end of its log.
 */
async function waitForServer(port: number, child: ChildProcess, auth: RedisAuth | undefined, clusterCheck?: (reply: string) => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  const { args: authArgs, env } = cli(auth);
  const command = clusterCheck ? ['cluster', 'info'] : ['info', 'server'];
  const ownPid = new RegExp(`^process_id:${child.pid}\\r?$`, 'm');
  let lastReply = '';
  for (;;) {
    if (child.exitCode !== null) {
      const log = (logTails.get(child) ?? '').trim().split('\n').slice(-5).join('\n    ');
      throw new ServerExitedError(`redis-server on port ${port} exited with code ${child.exitCode} before answering:\n    ${log}`);
    }
    try {
      const { stdout } = await run('redis-cli', ['-p', String(port), ...authArgs, ...command], { env });
      if (clusterCheck ? clusterCheck(stdout) : ownPid.test(stdout)) return;
      lastReply = /^process_id:/m.test(stdout) && !clusterCheck ? `another server answers on port ${port}` : (stdout.trim().split('\n')[0] ?? '');
    } catch (error) {
      lastReply = String((error as { stderr?: string }).stderr ?? error).trim().split('\n')[0] ?? '';
    }
    if (Date.now() > deadline) {
      throw new Error(`redis on port ${port} did not come up (or refused our credentials) in 15 s; its last answer: ${lastReply}`);
    }
    await sleep(50);
  }
}

/** Spawns a redis-server process that is killed with this process at the latest; its log's tail is kept. */
function spawnRedis(args: string[]): ChildProcess {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  logTails.set(child, '');
  const keep = (chunk: Buffer) => logTails.set(child, ((logTails.get(child) ?? '') + chunk.toString()).slice(-4096));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Kills a spawned server (if still running) and waits until it is gone. */
async function kill(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** One redis-server process we own; with `auth`, it refuses every client without those credentials. */
export class RedisServer {
  private child: ChildProcess | undefined;
  constructor(readonly port: number, private readonly extraArgs: string[] = [], readonly auth?: RedisAuth) {}

  /** The server's URL, with the credentials when it has some. */
  get url(): string {
    const auth = this.auth;
    const userinfo = auth === undefined ? '' : `${encodeURIComponent(auth.username ?? '')}:${encodeURIComponent(auth.password)}@`;
    return `redis://${userinfo}127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'];
    this.child = spawnRedis([...args, ...serverAuthArgs(this.auth), ...this.extraArgs]);
    await waitForServer(this.port, this.child, this.auth);
  }

  /** Waits until `cluster info` passes `check` (failing at once if the server exited). */
  async waitForClusterInfo(check: (reply: string) => boolean): Promise<void> {
    if (this.child === undefined) throw new Error(`redis on port ${this.port} is not started`);
    await waitForServer(this.port, this.child, this.auth, check);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await kill(child);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/** The standalone Redis of one suite: our own server, or `REDIS_URL`. */
export interface StandaloneRedis {
  url: string;
  /** undefined when REDIS_URL is used: stop/restart tests skip. */
  server: RedisServer | undefined;
}

export async function startStandalone(): Promise<StandaloneRedis> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, server: undefined };
  const server = new RedisServer(await freePort());
  await server.start();
  return { url: server.url, server };
}

/** Empties a Redis (all masters of a Cluster). */
export async function flush(client: Redis | Cluster): Promise<void> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  await Promise.all(nodes.map((node) => node.flushall()));
}

/** Sums `INFO commandstats` calls of one command over every master. */
export async function commandCalls(client: Redis | Cluster, command: string): Promise<number> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const infos = await Promise.all(nodes.map((node) => node.info('commandstats')));
  return infos
    .map((info) => new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? '0')
    .reduce((sum, calls) => sum + Number(calls), 0);
}

/**
 * A Redis Sentinel watching one master (quorum 1), its config in a temp dir. With `auth`, the
 * Sentinel asks for `sentinelPassword` (`requirepass`) and logs in to the master with
 * `masterPassword` (`sentinel auth-pass`).
 */
export class RedisSentinel {
  private child: ChildProcess | undefined;
  private dir = '';
  constructor(
    readonly port: number,
    readonly masterName: string,
    private readonly masterPort: number,
    private readonly auth: { sentinelPassword?: string; masterPassword?: string } = {},
  ) {}

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'kje-sentinel-'));
    const conf = join(this.dir, 'sentinel.conf');
    const lines = [`port ${this.port}`, 'bind 127.0.0.1', `dir ${this.dir}`, `sentinel monitor ${this.masterName} 127.0.0.1 ${this.masterPort} 1`];
    const { sentinelPassword, masterPassword } = this.auth;
    if (masterPassword !== undefined) lines.push(`sentinel auth-pass ${this.masterName} ${masterPassword}`);
    if (sentinelPassword !== undefined) lines.push(`requirepass ${sentinelPassword}`);
    writeFileSync(conf, `${lines.join('\n')}\n`);
    this.child = spawnRedis([conf, '--sentinel']);
    await waitForServer(this.port, this.child, sentinelPassword === undefined ? undefined : { password: sentinelPassword });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await kill(child);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A 3-master Redis Cluster on free ports, config files in a temp dir; with `password`, every node asks for it. */
export class RedisCluster {
  readonly servers: RedisServer[] = [];
  private dir = '';
  constructor(private readonly password?: string) {}

  private get auth(): RedisAuth | undefined {
    return this.password === undefined ? undefined : { password: this.password };
  }

  /**
   * Starts three nodes and joins them. A node that exits before answering (its port taken after our
   * check) costs one more try on fresh ports, up to three; the third failure is thrown.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.startOnce();
        return;
      } catch (error) {
        await this.stop();
        this.servers.length = 0;
        if (attempt === 3 || !(error instanceof ServerExitedError)) throw error;
      }
    }
  }

  private async startOnce(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'kje-cluster-'));
    for (let i = 0; i < 3; i += 1) {
      const port = await freePort(true);
      const conf = join(this.dir, `nodes-${port}.conf`);
      const args = ['--cluster-enabled', 'yes', '--cluster-config-file', conf, '--dir', this.dir];
      const masterAuth = this.password === undefined ? [] : ['--masterauth', this.password];
      this.servers.push(new RedisServer(port, [...args, ...masterAuth, '--cluster-node-timeout', '2000'], this.auth));
    }
    await Promise.all(this.servers.map((server) => server.start()));
    const nodes = this.servers.map((server) => `127.0.0.1:${server.port}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { env: cli(this.auth).env });
    await this.waitUntilOk();
  }

  async waitUntilOk(): Promise<void> {
    const isOk = (reply: string) => reply.includes('cluster_state:ok');
    await Promise.all(this.servers.map((server) => server.waitForClusterInfo(isOk)));
  }

  /** A Cluster client over our nodes (with the nodes' password in `redisOptions` when they have one). */
  client(options: { redisOptions?: Record<string, unknown> } & Record<string, unknown> = {}): Cluster {
    const nodes = this.servers.map((server) => ({ host: '127.0.0.1', port: server.port }));
    const redisOptions = { ...(this.password === undefined ? {} : { password: this.password }), ...options.redisOptions };
    const cluster = new Cluster(nodes, { ...options, redisOptions });
    cluster.on('error', () => undefined);
    return cluster;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Collects unhandled rejections so a spec can assert there were none. */
export function trackUnhandledRejections(): { reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const listener = (reason: unknown) => reasons.push(reason);
  process.on('unhandledRejection', listener);
  return { reasons, stop: () => process.off('unhandledRejection', listener) };
}
