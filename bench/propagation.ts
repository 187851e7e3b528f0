/**
 * How long a revocation made on one app instance takes to be obeyed by the others (issue 13):
 * `revokeAllTokens` cut-offs and family revocations (refresh-token reuse), each with its own
 * tiered store, across several processes sharing one Redis.
 *
 * The parent is instance 0. Per revocation, every child first verifies the token (so its tier
 * holds it as valid), then the parent revokes, and each child polls its own verifier every
 * millisecond until it refuses the token; the delay is counted from the start of the revoking
 * call. Run: `npx ts-node --transpile-only bench/propagation.ts [revocations] [processes]`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createRefreshToken, JwtManager, revokeAllTokens, TieredTokenStore } from '../src';
import { REFRESH, TokenVerifier } from '../src/core/verify';
import { startBenchRedis } from './redis';

const SECRET = 'bench-secret-0123456789-abcdefghijklmnop';
const now = () => performance.timeOrigin + performance.now(); // comparable across processes of one machine

type Job = { token: string; id: number };
type Reply = { id: number; kind: 'ready' | 'refused'; at: number };

function configure(store: TieredTokenStore): void {
  JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', refreshRotation: true } });
}

async function linkUp(store: TieredTokenStore): Promise<void> {
  while (!store.isLinkUp) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** A child instance: caches each token as valid, then reports when it first refuses it. */
async function child(url: string, prefix: string): Promise<void> {
  const store = new TieredTokenStore({ redis: url, keyPrefix: prefix });
  configure(store);
  await linkUp(store);
  const verifier: TokenVerifier = JwtManager.instance.verifier;
  const accepts = async (token: string) => verifier.authorize(token, REFRESH).then(() => true, () => false);
  process.on('message', async (job: Job | 'exit') => {
    if (job === 'exit') {
      await store.close();
      process.exit(0);
    }
    await accepts(job.token);
    process.send!({ id: job.id, kind: 'ready', at: now() } satisfies Reply);
    while (await accepts(job.token)) await new Promise((resolve) => setTimeout(resolve, 1));
    process.send!({ id: job.id, kind: 'refused', at: now() } satisfies Reply);
  });
  process.send!({ id: -1, kind: 'ready', at: now() } satisfies Reply);
}

/** Resolves with the next reply of `kind` for `id` from every child. */
function replies(children: ChildProcess[], id: number, kind: Reply['kind']): Promise<number[]> {
  return Promise.all(children.map((c) => new Promise<number>((resolve) => {
    const onMessage = (reply: Reply) => {
      if (reply.id !== id || reply.kind !== kind) return;
      c.off('message', onMessage);
      resolve(reply.at);
    };
    c.on('message', onMessage);
  })));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** One revocation: each child's delay counted from the start of the revoking call, and from its resolution. */
async function revokeOne(id: number, children: ChildProcess[]): Promise<{ fromStart: number[]; fromResolved: number[] }> {
  const identity = `user-${id}`;
  const token = await createRefreshToken(identity);
  const ready = replies(children, id, 'ready');
  children.forEach((c) => c.send({ token, id } satisfies Job));
  await ready;
  const refused = replies(children, id, 'refused');
  const started = now();
  if (id % 2 === 0) {
    await revokeAllTokens(identity);
  } else {
    const payload = await JwtManager.instance.decodeToken(token);
    await JwtManager.instance.rotateRefreshToken(payload);
    await JwtManager.instance.rotateRefreshToken(payload).catch(() => undefined); // reuse: revokes the family
  }
  const resolved = now();
  const refusedAt = await refused;
  return { fromStart: refusedAt.map((at) => at - started), fromResolved: refusedAt.map((at) => Math.max(0, at - resolved)) };
}

function summary(delays: number[]): string {
  const sorted = [...delays].sort((a, b) => a - b);
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  return `p50 ${ms(percentile(sorted, 50))}, p99 ${ms(percentile(sorted, 99))}, max ${ms(sorted[sorted.length - 1])}`;
}

async function main(): Promise<void> {
  const [, , role, url, prefix] = process.argv;
  if (role === 'child') return child(url, prefix);
  const revocations = Number(process.argv[2] ?? 400);
  const processes = Number(process.argv[3] ?? 3);
  const redis = await startBenchRedis();
  const keyPrefix = `bench:${process.pid}:`;
  const children = Array.from({ length: processes }, () =>
    fork(__filename, ['child', redis.url, keyPrefix], { execArgv: ['-r', 'ts-node/register/transpile-only'] }));
  await replies(children, -1, 'ready');
  const store = new TieredTokenStore({ redis: redis.url, keyPrefix });
  configure(store);
  await linkUp(store);
  const fromStart: number[] = [];
  const fromResolved: number[] = [];
  for (let id = 0; id < revocations; id += 1) {
    const delays = await revokeOne(id, children);
    fromStart.push(...delays.fromStart);
    fromResolved.push(...delays.fromResolved);
  }
  console.log(`${revocations} revocations (half cut-offs, half family revocations), ${processes} other processes, ${fromStart.length} samples`);
  console.log(`  from the start of the revoking call: ${summary(fromStart)}`);
  console.log(`  from its resolution:                 ${summary(fromResolved)}`);
  children.forEach((c) => c.send('exit'));
  await store.close();
  await redis.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
