/**
 * `npm run bench:round-trips`: Redis round trips per session operation (issue 27 target 5), on
 * the tiered store against a throwaway redis-server, through a real Koa app over HTTP.
 *
 * Counting. `INFO commandstats` before and after each operation gives every command Redis ran
 * (the commands a Lua script calls included). A round trip is a command a client sent: the bench
 * also watches `MONITOR` and counts the commands whose source is a client, not a script (`lua`),
 * leaving out its own INFO calls and the tiered store's liveness heartbeat (an EVAL of the
 * heartbeat script once a second, not caused by the operation). The store issues no pipelines,
 * so one command is one round trip. Each operation runs ROUNDS times; the table shows the median.
 * Env: BENCH_RT_ROUNDS (5).
 */
import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import Redis from 'ioredis';
import {
  createAccessToken, createRefreshToken, createTokenPair, JwtManager, jwtRequired, revokeAllTokens, revokeToken, rotateRefreshToken, TieredTokenStore,
} from '../src';
import { dpopProof, dpopThumbprint, fakeAccessToken } from '../src/testing';
import { clientOf } from '../src/store/redis';
import { startBenchRedis } from './redis';
import { median } from './runtime';
import { BENCH_SECRET } from './secret';

const ROUNDS = Number(process.env.BENCH_RT_ROUNDS ?? 5);

/** The liveness heartbeat (confirm.ts): the script that ZADDs this instance into `<prefix>instances`. */
function isHeartbeat(body: string, key: string): boolean {
  return key.endsWith('instances') && body.includes("'ZADD'");
}

/** Round trips (waves of commands in flight together), the commands sent, and every command Redis ran. */
interface Counted {
  roundTrips: number;
  sent: string[];
  commandstats: Record<string, number>;
}

/**
 * Round trips of a store's client: a command sent while none of the counted ones is in flight
 * starts one (the three reads of a tier miss go out together: one round trip, three commands).
 * The heartbeat is not counted.
 */
class Waves {
  count = 0;
  private inFlight = 0;

  watch(client: Redis): void {
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((command: { name: string; args: unknown[]; promise: Promise<unknown> }, ...rest: unknown[]) => {
      const heartbeat = command.name === 'eval' && isHeartbeat(String(command.args[0]), String(command.args[2]));
      if (!heartbeat) {
        if (this.inFlight === 0) this.count += 1;
        this.inFlight += 1;
        const done = () => { this.inFlight -= 1; };
        command.promise.then(done, done);
      }
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as typeof client.sendCommand;
  }
}

class Counter {
  /** Commands since the last start marker; `undefined` outside a count. */
  private sent: string[] | undefined;
  private marks = 0;
  private readonly waiting = new Map<string, () => void>();
  readonly waves = new Waves();
  constructor(private readonly admin: Redis, private readonly monitor: Redis, private readonly monitorOwner: Redis) {}

  static async start(url: string): Promise<Counter> {
    const admin = new Redis(url);
    // MONITOR opens a connection of its own: the client it came from is closed too (else it reconnects for ever once Redis stops)
    const monitorOwner = new Redis(url);
    const monitor = await monitorOwner.monitor();
    const counter = new Counter(admin, monitor, monitorOwner);
    monitor.on('monitor', (_time: string, args: string[], source: string) => counter.onCommand(args, source));
    return counter;
  }

  private onCommand(args: string[], source: string): void {
    if (source === 'lua') return;
    const name = String(args[0]).toLowerCase();
    if (name === 'echo') {
      const marker = String(args[1]);
      if (marker.startsWith('start-')) this.sent = [];
      this.waiting.get(marker)?.();
      return;
    }
    if (name === 'info' || name === 'monitor' || this.sent === undefined) return;
    if (name === 'eval' && isHeartbeat(String(args[1]), String(args[3]))) return;
    this.sent.push(name === 'eval' ? `eval(${scriptName(String(args[1]))})` : name);
  }

  /** Sends `ECHO marker` and resolves once MONITOR has shown it (every command before it is shown by then). */
  private async mark(marker: string): Promise<void> {
    const seen = new Promise<void>((resolve) => this.waiting.set(marker, resolve));
    await this.admin.echo(marker);
    await seen;
    this.waiting.delete(marker);
  }

  private async commandstats(): Promise<Record<string, number>> {
    const text = await this.admin.info('commandstats');
    const calls: Record<string, number> = {};
    for (const match of text.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)) calls[match[1]] = Number(match[2]);
    return calls;
  }

  /** Runs `operation` and counts what reached Redis between two markers. */
  async count(operation: () => Promise<unknown>): Promise<Counted> {
    const id = (this.marks += 1);
    const before = await this.commandstats();
    await this.mark(`start-${id}`);
    const wavesBefore = this.waves.count;
    await operation();
    const roundTrips = this.waves.count - wavesBefore;
    await this.mark(`end-${id}`);
    const sent = this.sent ?? [];
    this.sent = undefined;
    const after = await this.commandstats();
    const commandstats: Record<string, number> = {};
    for (const [name, calls] of Object.entries(after)) {
      const delta = calls - (before[name] ?? 0) - (name === 'info' ? 1 : 0) - (name === 'echo' ? 2 : 0);
      if (delta > 0) commandstats[name] = delta;
    }
    return { roundTrips, sent, commandstats };
  }

  close(): void {
    this.admin.disconnect();
    this.monitor.disconnect();
    this.monitorOwner.disconnect();
  }
}

/** A short name for a script, from the commands it calls. */
function scriptName(body: string): string {
  const calls = [...new Set([...body.matchAll(/redis\.call\('(\w+)'/g)].map((m) => m[1].toLowerCase()))];
  return calls.slice(0, 4).join('+') || 'script';
}

const ORIGIN = 'https://api.example.com';

function app(): Koa {
  const koa = new Koa();
  koa.silent = true;
  const router = new Router();
  router.post('/login', async (ctx) => {
    ctx.body = { accessToken: await createAccessToken('alice'), refreshToken: await createRefreshToken('alice') };
  });
  router.post('/login-pair', async (ctx) => {
    const who = typeof ctx.query.user === 'string' ? ctx.query.user : 'alice';
    ctx.body = await createTokenPair(who);
  });
  router.get('/me', jwtRequired(), (ctx) => { ctx.body = { me: ctx.state.jwt.sub }; });
  router.post('/refresh', jwtRequired({ refresh: true }), async (ctx) => { ctx.body = await rotateRefreshToken(); });
  router.post('/logout', jwtRequired({ skipRevocationCheck: true }), async (ctx) => {
    await revokeToken(ctx.state.jwt as never);
    ctx.body = {};
  });
  koa.use(router.routes());
  return koa;
}

async function listen(koa: Koa): Promise<{ server: Server; url: string }> {
  const server = koa.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function call(url: string, method: string, path: string, headers: Record<string, string> = {}): Promise<Record<string, string>> {
  const response = await fetch(`${url}${path}`, { method, headers });
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, string>;
}

interface Row {
  operation: string;
  target: number;
  note?: string;
  counts: Counted[];
}

async function measure(counter: Counter, rows: Row[], operation: string, target: number, run: () => Promise<unknown>, note?: string): Promise<void> {
  const counts: Counted[] = [];
  for (let round = 0; round < ROUNDS; round++) counts.push(await counter.count(run));
  rows.push({ operation, target, note, counts });
}

/** One line of the table: the median round trips of an operation, its target. */
export interface RoundTripRow {
  operation: string;
  trips: number;
  target: number;
  note?: string;
}

/** Measures every operation; prints the detailed table when `print`. @example const rows = await countRoundTrips() */
export async function countRoundTrips(print = true): Promise<RoundTripRow[]> {
  const redis = await startBenchRedis();
  const counter = await Counter.start(redis.url);
  const rows: Row[] = [];
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  try {
    // allowlist, every token checked, refresh rotation: the tiered store as a scaled-out app runs it
    const allowStore = new TieredTokenStore({ redis: redis.url, keyPrefix: 'rt-allow:' });
    counter.waves.watch(clientOf(allowStore.redisStore) as Redis);
    JwtManager.configure({ secret: BENCH_SECRET, revocation: { store: allowStore, checks: 'all', refreshRotation: true }, dpop: { origin: ORIGIN } });
    await new Promise((resolve) => setTimeout(resolve, 300)); // subscribed and registered live
    let { server, url } = await listen(app());
    const session = await call(url, 'POST', '/login');
    await call(url, 'GET', '/me', bearer(session.accessToken)); // the tier now holds it
    await measure(counter, rows, 'guarded request, tier hit', 0, () => call(url, 'GET', '/me', bearer(session.accessToken)));
    await measure(counter, rows, "login (allowlist, checks 'all'): createTokenPair()", 1, () => call(url, 'POST', '/login-pair'), 'both records sent together');
    let newcomer = 0;
    await measure(counter, rows, "login of an identity the tier does not know: createTokenPair()", 1, () => call(url, 'POST', `/login-pair?user=newcomer-${(newcomer += 1)}`),
      "its cut-off is read first (a new token carries it), then both records together");
    await measure(counter, rows, "login (allowlist, checks 'all'): createAccessToken() + createRefreshToken()", 2, () => call(url, 'POST', '/login'), 'two calls, one record each, one after the other');
    JwtManager.configure({ secret: BENCH_SECRET, revocation: { store: allowStore, checks: 'refresh', refreshRotation: true }, dpop: { origin: ORIGIN } });
    await measure(counter, rows, "login (allowlist, checks 'refresh', the default)", 1, () => call(url, 'POST', '/login'));
    JwtManager.configure({ secret: BENCH_SECRET, revocation: { store: allowStore, checks: 'all', refreshRotation: true }, dpop: { origin: ORIGIN } });
    const refreshes: Counted[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const fresh = await call(url, 'POST', '/login');
      refreshes.push(await counter.count(() => call(url, 'POST', '/refresh', bearer(fresh.refreshToken))));
    }
    rows.push({
      operation: "refresh request (checks 'all'): guard + rotateRefreshToken()", target: 1, counts: refreshes,
      note: "the guard's tier miss for the refresh token (three reads together; it answers before the handler runs), then the one use-once script, which also writes the new pair's records",
    });
    const logouts: Counted[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const fresh = await call(url, 'POST', '/login');
      logouts.push(await counter.count(() => call(url, 'POST', '/logout', bearer(fresh.accessToken))));
    }
    rows.push({ operation: 'logout (revokeToken of the request\'s token)', target: 1, counts: logouts });
    await measure(counter, rows, 'revokeAllTokens(identity)', 1, () => revokeAllTokens('alice'));
    // DPoP: a bound token (not recorded: fakeAccessToken), access tokens unchecked, the proof's replay check in Redis
    JwtManager.configure({ secret: BENCH_SECRET, revocation: { store: allowStore, checks: 'refresh' }, dpop: { origin: ORIGIN } });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bound = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(privateKey) });
    await measure(counter, rows, 'DPoP proof replay check (RedisTokenStore replay cache)', 1, async () =>
      call(url, 'GET', '/me', { authorization: `DPoP ${bound}`, dpop: await dpopProof(privateKey, { htm: 'GET', htu: `${ORIGIN}/me`, token: bound }), host: 'api.example.com' }));
    server.close();
    await allowStore.close();
    // blocklist: creating a token writes nothing
    const blockStore = new TieredTokenStore({ redis: redis.url, keyPrefix: 'rt-block:' });
    counter.waves.watch(clientOf(blockStore.redisStore) as Redis);
    JwtManager.configure({ secret: BENCH_SECRET, revocation: { store: blockStore, checks: 'all', mode: 'blocklist' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    ({ server, url } = await listen(app()));
    await measure(counter, rows, 'login (blocklist): access + refresh token', 0, () => call(url, 'POST', '/login'));
    server.close();
    await blockStore.close();
  } finally {
    counter.close();
    await redis.stop();
    JwtManager.reset();
  }
  if (print) printTable(rows);
  return rows.map((row) => ({ operation: row.operation, trips: median(row.counts.map((c) => c.roundTrips)), target: row.target, note: row.note }));
}

function printTable(rows: Row[]): void {
  console.log(`\nRedis round trips per operation (tiered store; median of ${ROUNDS}; the heartbeat left out). trips: waves of commands`);
  console.log('  in flight together on the store\'s client; sent: the commands MONITOR saw from clients; INFO commandstats: every command run, script calls included');
  console.log(`  ${'operation'.padEnd(58)} ${'trips'.padStart(5)} ${'target'.padStart(6)}  verdict  sent | INFO commandstats`);
  for (const row of rows) {
    const trips = median(row.counts.map((c) => c.roundTrips));
    const typical = row.counts.find((c) => c.roundTrips === trips) ?? row.counts[0];
    const stats = Object.entries(typical.commandstats).map(([name, calls]) => `${name} ${calls}`).join(', ');
    const verdict = trips <= row.target ? 'met' : 'MISSED';
    console.log(`  ${row.operation.padEnd(58)} ${String(trips).padStart(5)} ${String(row.target).padStart(6)}  ${verdict.padEnd(7)}  ${typical.sent.join(' ') || '-'} | ${stats || '-'}`);
    if (row.note) console.log(`  ${''.padEnd(58)}   (${row.note})`);
  }
}

if (require.main === module) {
  countRoundTrips().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
