/**
 * `npm run bench:memory`: TOKENS distinct valid tokens (default 1 000 000), each used
 * once, against the protected route (every request a verified-token cache miss) and
 * the revocation route (also a tiered-store miss, then an LRU fill). The server runs
 * with --expose-gc and reports its heap after a full GC: after a warm-up, once the
 * caches are full, and after all the tokens. Bounded means the last two agree: the
 * caches (`verifiedTokenCacheSize`, the tier's `max`) hold at most their size.
 * Tokens are signed here on the fly (HMAC-SHA256 with a KeyObject); for the
 * revocation route their records are first written to Redis through RedisTokenStore.
 * Env: BENCH_MEMORY_TOKENS, BENCH_NODES (default: the machine's Node only).
 */
import { createHmac, createSecretKey, KeyObject } from 'node:crypto';
import autocannon from 'autocannon';
import { RedisTokenStore } from '../src';
import { startBenchRedis } from './redis';
import { benchNodes, buildBenchServer, NodeBinary, pinLoadGenerator } from './runtime';
import { BenchServer, heapUsed, startServer, stopServer } from './servers';
import { BENCH_SECRET } from './secret';

const TOKENS = Number(process.env.BENCH_MEMORY_TOKENS ?? 1_000_000);
/** The defaults the bench server runs with: `verifiedTokenCacheSize` and TieredTokenStore `max`. */
const CACHE_SIZE = 10_000;
const FILL = 2 * CACHE_SIZE;
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

function jtiOf(index: number): string {
  return `memory-bench-${index}`;
}

/** A valid access token, as createAccessToken would make it, signed with HMAC over a KeyObject. */
function signToken(key: KeyObject, index: number, now: number): string {
  const payload = { sub: `user-${index % 1000}`, type: 'access', fresh: false, jti: jtiOf(index), iat: now, nbf: now, exp: now + 3600 };
  const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}

/** Writes the records of tokens [0, count) to the store, 500 at a time. */
async function recordTokens(redisUrl: string, count: number, now: number): Promise<void> {
  const store = new RedisTokenStore({ redis: redisUrl, commandTimeoutMs: 60_000 }); // a million writes queue up
  const started = Date.now();
  for (let first = 0; first < count; first += 500) {
    const batch = [];
    for (let index = first; index < Math.min(first + 500, count); index += 1) {
      const token = { sub: `user-${index % 1000}`, type: 'access' as const, fresh: false, jti: jtiOf(index), iat: now, nbf: now, exp: now + 3600 };
      batch.push(store.add({ jti: token.jti, identity: token.sub, expiresAt: token.exp, record: { token, revoked: false } }));
    }
    await Promise.all(batch);
  }
  await store.close();
  console.log(`  recorded ${count} tokens in Redis in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Sends tokens [from, to) once each; returns the seconds it took. Refusals are counted, not hidden. */
async function sendTokens(server: BenchServer, key: KeyObject, from: number, to: number, now: number): Promise<number> {
  let next = from;
  const result = await autocannon({
    url: server.url,
    connections: 50,
    amount: to - from,
    requests: [
      {
        setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${signToken(key, next++, now)}` } }),
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0) {
    const statuses = Object.entries(result.statusCodeStats ?? {}).map(([status, { count }]) => `${status}: ${count}`).join(', ');
    console.log(`  tokens ${from}-${to}: ${result.non2xx} non-2xx, ${result.errors} errors (${statuses})`);
  }
  return result.duration;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function measure(node: NodeBinary, serverJs: string, mode: string, redisUrl: string, key: KeyObject, now: number): Promise<void> {
  const server = await startServer(node.execPath, ['--expose-gc'], serverJs, mode, redisUrl);
  try {
    await sendTokens(server, key, 0, 1000, now);
    const warm = await heapUsed(server);
    await sendTokens(server, key, 1000, FILL, now);
    const full = await heapUsed(server);
    const seconds = await sendTokens(server, key, FILL, TOKENS, now);
    const after = await heapUsed(server);
    console.log(`  ${node.label} ${mode.padEnd(8)} heap after 1 000 tokens ${mb(warm)}, caches full (${FILL} tokens) ${mb(full)}, after ${TOKENS} tokens ${mb(after)}`);
    console.log(`  ${''.padEnd(node.label.length)} ${''.padEnd(8)} growth past full caches ${mb(after - full)} (${((after - full) / full * 100).toFixed(1)}%); ${(TOKENS - FILL) / seconds | 0} req/s`);
  } finally {
    await stopServer(server);
  }
}

async function main(): Promise<void> {
  pinLoadGenerator();
  if (!process.env.BENCH_NODES) process.env.BENCH_NODES = 'machine';
  const nodes = benchNodes();
  const serverJs = buildBenchServer();
  const key = createSecretKey(Buffer.from(BENCH_SECRET));
  const now = Math.floor(Date.now() / 1000);
  const started = Date.now();
  for (let index = 0; index < 100_000; index += 1) signToken(key, index, now);
  console.log(`signing: ${((Date.now() - started) / 100_000 * 1000).toFixed(2)} us per token (HMAC-SHA256, KeyObject)`);
  const redis = await startBenchRedis();
  try {
    await recordTokens(redis.url, TOKENS, now);
    console.log(`bound: verifiedTokenCacheSize ${CACHE_SIZE} tokens, TieredTokenStore max ${CACHE_SIZE} records (the defaults)`);
    for (const node of nodes) {
      await measure(node, serverJs, 'jwt', redis.url, key, now);
      await measure(node, serverJs, 'revoked', redis.url, key, now);
    }
  } finally {
    await redis.stop();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
