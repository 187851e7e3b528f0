/**
 * Verify micro benchmark: our verify on a cache miss and a hit, against the HS256
 * floor (HMAC + base64url + JSON.parse) and jsonwebtoken.verify, in one run; and
 * the header parse of a 16 KiB hostile Authorization header (linear, DESIGN.md 0.2 A).
 * `ts-node bench/micro.ts` runs it alone.
 */
import 'reflect-metadata';
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import { JwtManager } from '../src';
import { tokenFromHeader } from '../src/koa/extract';
import { TierMap } from '../src/store/tier-map';
import { BENCH_SECRET } from './secret';

const SECRET = BENCH_SECRET;
const ITERATIONS = Number(process.env.MICRO_ITERATIONS ?? 200_000);

function microseconds(fn: () => unknown, iterations = ITERATIONS): number {
  for (let i = 0; i < iterations / 10; i += 1) fn(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) fn();
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

/** 16 KiB of white space between two words: the 0.1 regex parse spent ~0.1-0.5 s on it. */
const HOSTILE_HEADER = `x${' \t'.repeat(8 * 1024)}x`;

/** One parse of the hostile header (it is refused: 401 Missing 'Bearer' type). */
function parseHostileHeader(config: JwtManager['config']): void {
  try {
    tokenFromHeader(HOSTILE_HEADER, config);
  } catch {
    // the refusal is the expected outcome
  }
}

/** The least any HS256 verify must do. */
function floor(token: string, key: ReturnType<typeof createSecretKey>): unknown {
  const dot = token.lastIndexOf('.');
  const expected = createHmac('sha256', key).update(token.slice(0, dot)).digest();
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  if (!timingSafeEqual(expected, given)) throw new Error('bad');
  return JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString());
}

export function runMicro(): void {
  const key = createSecretKey(Buffer.from(SECRET));
  const uncached = JwtManager.configure({ secret: SECRET, verifiedTokenCacheSize: 0 });
  const token = jwt.sign({ sub: 'bench-user', type: 'access', fresh: false, jti: 'a1b2c3', iat: 1, nbf: 1, exp: 4102444800 }, key, { algorithm: 'HS256' });
  const floorUs = microseconds(() => floor(token, key));
  const missUs = microseconds(() => uncached.verifier.verify(token));
  const cached = JwtManager.configure({ secret: SECRET });
  const hitUs = microseconds(() => cached.verifier.verify(token));
  const jwtKeyUs = microseconds(() => jwt.verify(token, key, { algorithms: ['HS256'] }));
  const jwtStringUs = microseconds(() => jwt.verify(token, SECRET, { algorithms: ['HS256'] })) ;
  const hostileHeaderUs = microseconds(() => parseHostileHeader(cached.config), Math.max(1, Math.floor(ITERATIONS / 100)));
  JwtManager.reset();
  const line = (label: string, us: number) => console.log(`  ${label.padEnd(44)} ${us.toFixed(2).padStart(8)} us`);
  console.log(`verify micro benchmark (HS256, ${ITERATIONS} iterations each)`);
  line('floor: HMAC + base64url + JSON.parse', floorUs);
  line('ours, cache miss (full pipeline)', missUs);
  line('ours, cache hit (re-checks exp/nbf)', hitUs);
  line('jsonwebtoken.verify, KeyObject', jwtKeyUs);
  line('jsonwebtoken.verify, string secret', jwtStringUs);
  line('header parse, 16 KiB hostile Authorization', hostileHeaderUs);
  // target 3 (miss <= 1.30x the floor) is read in instructions, where a run repeats within 0.5 %:
  // bench:callgrind's micro pieces (bench/targets.ts). By time the ratio moves by a fifth between runs.
  console.log(`  miss / floor ${(missUs / floorUs).toFixed(2)} by time (target 3, <= 1.30, is read in instructions: npm run bench:callgrind), hit ${hitUs.toFixed(2)} us`);
}

/**
 * The pieces of the tiered store's hit path, each alone: its tier (TierMap: lru-cache without a
 * TTL, the deadline in the value, read against one `now` per lookup) against lru-cache with the
 * TTL option (what 0.2's note measured: a clock read per get), and the copy `find()` makes of a hit.
 */
export function runTierMicro(): void {
  const record = { token: { sub: 'bench-user', type: 'access', fresh: false, jti: 'a1b2c3', iat: 1, nbf: 1, exp: 4102444800 }, revoked: false };
  const tier = new TierMap<{ record: typeof record; until: number }>(10_000);
  const withTtl = new LRUCache<string, typeof record>({ max: 10_000, ttl: 5000 });
  const until = Date.now() + 3_600_000;
  for (let index = 0; index < 10_000; index += 1) {
    tier.set(`jti-${index}`, { record, until });
    withTtl.set(`jti-${index}`, record);
  }
  const line = (label: string, us: number) => console.log(`  ${label.padEnd(44)} ${us.toFixed(3).padStart(8)} us`);
  console.log('tier hit path pieces');
  line('tier get (TierMap.live, one Date.now())', microseconds(() => tier.live('jti-5000', Date.now())));
  line('lru-cache get with ttl 5000 (0.2\'s measure)', microseconds(() => withTtl.get('jti-5000')));
  line("structuredClone of a record (find()'s copy)", microseconds(() => structuredClone(record)));
}

if (require.main === module) {
  runMicro();
  runTierMicro();
}
