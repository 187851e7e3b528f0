/**
 * `npm run bench`: serves each variant from its own process, loads them with
 * autocannon from this process in alternating rounds, and prints median req/s
 * and the ratios the performance issue sets targets for. Then the verify micro
 * benchmark. Ratios from one run are what count; absolute numbers vary by machine.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import autocannon from 'autocannon';
import { startBenchRedis } from './redis';
import { runMicro } from './micro';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = 50;

interface Variant {
  name: string;
  mode: string;
  child?: ChildProcess;
  url?: string;
  token?: string;
  results: number[];
}

/** On 2+ cores, servers run on the last core and the load generator (this process) on the others. */
const PIN = os.cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const SERVER_CORE = String(os.cpus().length - 1);

function startServer(variant: Variant, redisUrl: string | undefined): Promise<void> {
  const args = ['-r', 'ts-node/register/transpile-only', 'bench/server.ts', variant.mode, redisUrl ?? ''];
  const [command, commandArgs] = PIN ? ['taskset', ['-c', SERVER_CORE, process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(command, commandArgs as string[], { stdio: ['ignore', 'pipe', 'inherit'] });
  variant.child = child;
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /READY (\d+) (\S+) (\S+)/.exec(chunk.toString());
      if (!match) return;
      variant.url = `http://127.0.0.1:${match[1]}${match[3]}`;
      variant.token = match[2];
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`${variant.name} server exited with ${code}`)));
  });
}

async function load(variant: Variant, seconds: number): Promise<number> {
  const result = await autocannon({
    url: variant.url!,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${variant.token}` },
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${variant.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function check(label: string, value: number, target: number, higherIsBetter = true): string {
  const met = higherIsBetter ? value >= target : value <= target;
  return `${label.padEnd(34)} ${value.toFixed(2).padStart(7)}   target ${higherIsBetter ? '>=' : '<='} ${target}  ${met ? 'met' : 'MISSED'}`;
}

async function main(): Promise<void> {
  if (PIN) spawnSync('taskset', ['-p', '-c', `0-${os.cpus().length - 2}`, String(process.pid)], { stdio: 'ignore' });
  const redis = await startBenchRedis();
  const variants: Variant[] = [
    { name: 'a open route', mode: 'open', results: [] },
    { name: 'b @JwtRequired()', mode: 'jwt', results: [] },
    { name: "a' open route in an app with protected routes", mode: 'open-in-app', results: [] },
    { name: "b' @JwtRequired(), requestContext: false", mode: 'jwt-nocontext', results: [] },
    { name: "c @JwtRequired() + checks 'all' (tiered)", mode: 'revoked', results: [] },
    { name: 'd koa-jwt (KeyObject secret)', mode: 'koajwt', results: [] },
    { name: "d' koa-jwt (string secret)", mode: 'koajwt-string', results: [] },
  ];
  try {
    for (const variant of variants) await startServer(variant, redis.url);
    for (const variant of variants) await load(variant, 1); // warm-up: JIT, caches, connections
    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const variant of round % 2 ? variants : [...variants].reverse()) variant.results.push(await load(variant, SECONDS));
      process.stdout.write(`round ${round}/${ROUNDS} done\n`);
    }
  } finally {
    for (const variant of variants) variant.child?.kill();
    await redis.stop();
  }
  const byMode = (mode: string) => median(variants.find((v) => v.mode === mode)?.results ?? [NaN]);
  const [a, b, c, d, dString, aInApp, bNoContext] = ['open', 'jwt', 'revoked', 'koajwt', 'koajwt-string', 'open-in-app', 'jwt-nocontext'].map(byMode);
  console.log(`\nnode ${process.version}, ${os.cpus().length} cores${PIN ? ` (servers pinned to core ${SERVER_CORE}, load on the others)` : ''}, autocannon -c ${CONNECTIONS}, ${ROUNDS} alternating rounds of ${SECONDS}s, median req/s`);
  for (const variant of variants) console.log(`  ${variant.name.padEnd(48)} ${median(variant.results).toFixed(0).padStart(8)}`);
  console.log('');
  console.log(check('b/a  protected / open', b / a, 0.9));
  console.log(check('c/a  checks all (LRU hits) / open', c / a, 0.9));
  console.log(check('b/d  protected / koa-jwt (KeyObject)', b / d, 2.0));
  console.log(`b/d' protected / koa-jwt (string)    ${(b / dString).toFixed(2).padStart(7)}`);
  console.log(`a'/a AsyncLocalStorage alone           ${(aInApp / a).toFixed(2).padStart(7)}   (Node ${process.versions.node}: every promise pays once a context is active)`);
  console.log(`b/a' protected / open route, same app  ${(b / aInApp).toFixed(2).padStart(7)}`);
  console.log(`b'/a requestContext: false / open      ${(bNoContext / a).toFixed(2).padStart(7)}`);
  console.log('');
  runMicro();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
