/**
 * The variants every bench script measures, and how their figures are printed:
 * absolute values, overhead over the open route, and the ratios the performance
 * issue sets targets for. A ratio is always "higher is better": for CPU time and
 * instructions it is open / variant (the open route's cost over the variant's).
 */
import { median } from './runtime';

export const VARIANTS = [
  { key: 'a', mode: 'open', name: 'a open route' },
  { key: 'b', mode: 'jwt', name: 'b @JwtRequired()' },
  { key: 'bo', mode: 'jwt-otel', name: 'bo @JwtRequired() with instrumentJwt() recording (OpenTelemetry SDK)' },
  { key: 'bl', mode: 'jwt-otel-loaded', name: 'bl @JwtRequired(), OpenTelemetry instrumentation loaded, not called' },
  { key: 'bu', mode: 'jwt-otel-unobserved', name: 'bu @JwtRequired(), instrumentJwt() with no SDK (unobserved)' },
  { key: "a'", mode: 'open-in-app', name: "a' open route in an app with protected routes" },
  { key: "b'", mode: 'jwt-nocontext', name: "b' @JwtRequired(), requestContext: false" },
  { key: 'c', mode: 'revoked', name: "c @JwtRequired() + checks 'all' (tiered, LRU hits)" },
  { key: 'cw', mode: 'revoked-worker', name: "cw c with the store's Redis connections in a worker thread (redisThread: 'worker')" },
  { key: 'e', mode: 'dpop-es256', name: 'e @JwtRequired(), DPoP-bound token, ES256 proof (memory replay cache)' },
  { key: 'ee', mode: 'dpop-eddsa', name: 'ee the same, EdDSA (Ed25519) proof' },
  { key: 'er', mode: 'dpop-rs256', name: 'er the same, RS256 proof' },
  { key: 'd', mode: 'koajwt', name: 'd koa-jwt (KeyObject secret)' },
  { key: "d'", mode: 'koajwt-string', name: "d' koa-jwt (string secret)" },
  { key: 'p', mode: 'open-proof', name: "p open route + the route proof's parameter (experiment)" },
  { key: 'cr', mode: 'revoked-refresh', name: "cr tiered store connected, checks 'refresh' (experiment)" },
  { key: 'cm', mode: 'revoked-memory', name: "cm checks 'all' on MemoryTokenStore (experiment)" },
  { key: 'a15', mode: 'open-router15', name: 'a15 open route, @koa/router 15 handed to the KoaDriver' },
  { key: 'b15', mode: 'jwt-router15', name: 'b15 @JwtRequired(), @koa/router 15 handed to the KoaDriver' },
  { key: 'l', mode: 'open-layer', name: 'l open route + one pass-through route middleware (experiment)' },
  // the minimal program (bench/minimal-socket-ics.ts): a plain node:http server, no Koa, no code of ours
  { key: 'm', mode: 'minimal:none', name: 'm plain node:http server (minimal program)' },
  { key: 'ma', mode: 'minimal:als', name: 'ma m, each request inside AsyncLocalStorage.run()' },
  { key: 'mr', mode: 'minimal:als-ioredis', name: 'mr ma + an ioredis client, one PING a second' },
  { key: 'mn', mode: 'minimal:als-net', name: 'mn ma + a plain net.Socket, one RESP PING a second' },
  { key: 'mw', mode: 'minimal:als-worker', name: 'mw ma + the same client in a worker_thread' },
] as const;

export interface VariantResult {
  key: string;
  name: string;
  /** median req/s */
  rps: number;
  /** median server CPU (user + system) microseconds per request */
  cpuMicros: number;
  /** median user-mode CPU microseconds per request (the rest is the kernel's) */
  userMicros?: number;
  /** each round's figures, in round order (the rounds of all variants alternate) */
  rounds?: { rps: number[]; cpuPerRequest: number[] };
}

/**
 * A ratio of two variants, round by round: round i of each ran within seconds of the other,
 * so a drift of the machine (±15 % over minutes here) moves both; the median of the paired
 * ratios is steadier than the ratio of two medians. Without rounds, the ratio of the medians.
 */
function pairedRatio(x: VariantResult, y: VariantResult, figure: 'rps' | 'cpu'): { median: number; min: number; max: number } {
  const ratio = (i: number) => (figure === 'rps' ? x.rounds!.rps[i] / y.rounds!.rps[i] : y.rounds!.cpuPerRequest[i] / x.rounds!.cpuPerRequest[i]);
  if (x.rounds === undefined || y.rounds === undefined || x.rounds.rps.length !== y.rounds.rps.length) {
    const value = figure === 'rps' ? x.rps / y.rps : y.cpuMicros / x.cpuMicros;
    return { median: value, min: value, max: value };
  }
  const ratios = x.rounds.rps.map((_, i) => ratio(i));
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

/** The ratios the issue names: [label, numerator key, denominator key, target]. */
export const RATIOS: ReadonlyArray<readonly [string, string, string, number | undefined]> = [
  ['b/a   protected / open', 'b', 'a', 0.9],
  ['c/a   revocation (LRU hits) / open', 'c', 'a', 0.9],
  ["cw/a  the same, redisThread 'worker'", 'cw', 'a', 0.9],
  ["b'/a  requestContext: false / open", "b'", 'a', 0.9],
  ['b/d   protected / koa-jwt (KeyObject)', 'b', 'd', 2.0],
  ["b/d'  protected / koa-jwt (string)", 'b', "d'", undefined],
  ["a'/a  AsyncLocalStorage alone", "a'", 'a', undefined],
  ["b/a'  protected / open of the same app", 'b', "a'", undefined],
  ["p/a   the route proof's parameter alone", 'p', 'a', undefined],
  ['l/a   one route middleware layer alone', 'l', 'a', undefined],
  ['cr/b  a connected Redis client alone', 'cr', 'b', undefined],
  ['c/cr  the check on a tier hit alone', 'c', 'cr', undefined],
  ['mr/ma Redis client, plain node:http', 'mr', 'ma', undefined],
  ['mn/ma a plain socket, plain node:http', 'mn', 'ma', undefined],
  ['mw/ma the client in a worker_thread', 'mw', 'ma', undefined],
];

const pad = (text: string, width: number) => text.padEnd(width);
const num = (value: number, digits = 0) => value.toFixed(digits).padStart(9);

function verdict(value: number, target: number | undefined): string {
  if (target === undefined) return '';
  return `>= ${target.toFixed(2)} ${value >= target ? 'met' : 'MISSED'}`;
}

/**
 * One Node version's load figures.
 *
 * @example printNodeReport('node 24.22.3', results)
 */
export function printNodeReport(label: string, results: VariantResult[]): void {
  const byKey = new Map(results.map((result) => [result.key, result]));
  const open = byKey.get('a')!;
  console.log(`\n${label}`);
  console.log(`  ${pad('variant', 52)} ${'req/s'.padStart(9)} ${'CPU us/req'.padStart(11)} ${'+us vs a'.padStart(9)} ${'user us'.padStart(8)} ${'kernel us'.padStart(9)}`);
  for (const result of results) {
    const user = result.userMicros === undefined ? '' : `${num(result.userMicros, 2).padStart(8)} ${num(result.cpuMicros - result.userMicros, 2).padStart(9)}`;
    console.log(`  ${pad(result.name, 52)} ${num(result.rps)} ${num(result.cpuMicros, 2).padStart(11)} ${num(result.cpuMicros - open.cpuMicros, 2)} ${user}`);
  }
  console.log(`  ${pad('ratio (median of paired rounds, min-max)', 40)} ${'req/s'.padStart(16)} ${'CPU'.padStart(16)}   target (both)`);
  const shown = ({ median, min, max }: { median: number; min: number; max: number }) => `${median.toFixed(2)} (${min.toFixed(2)}-${max.toFixed(2)})`.padStart(16);
  for (const [name, top, bottom, target] of RATIOS) {
    const x = byKey.get(top);
    const y = byKey.get(bottom);
    if (x === undefined || y === undefined) continue; // a variant left out (BENCH_VARIANTS)
    const throughput = pairedRatio(x, y, 'rps');
    const cpu = pairedRatio(x, y, 'cpu');
    console.log(`  ${pad(name, 40)} ${shown(throughput)} ${shown(cpu)}   ${verdict(Math.min(throughput.median, cpu.median), target)}`);
  }
}

/**
 * One Node version's instruction counts (callgrind), each variant measured twice.
 *
 * @example printInstructionReport('node 24.22.3', { a: [{ median: 1e5 }, { median: 1.001e5 }] })
 */
export function printInstructionReport(label: string, counted: Record<string, Array<{ median: number }>>): void {
  console.log(`\n${label}: instructions per request (callgrind Ir, median window; two runs each, spread = between runs)`);
  const perRequest: Record<string, number[]> = {};
  for (const [key, runs] of Object.entries(counted)) perRequest[key] = runs.map((run) => run.median);
  for (const variant of VARIANTS) {
    const runs = perRequest[variant.key];
    if (!runs) continue;
    const spread = runs.length > 1 ? (Math.abs(runs[0] - runs[1]) / Math.min(...runs)) * 100 : 0;
    const overhead = runs[0] - (perRequest.a?.[0] ?? NaN);
    console.log(`  ${pad(variant.name, 52)} ${runs.map((run) => num(run)).join(' ')}   spread ${spread.toFixed(2)}%   ${overhead >= 0 ? '+' : ''}${overhead.toFixed(0)} vs a`);
  }
  for (const [name, top, bottom, target] of RATIOS) {
    const x = perRequest[top]?.[0];
    const y = perRequest[bottom]?.[0];
    if (x === undefined || y === undefined) continue;
    console.log(`  ${pad(name, 40)} ${(y / x).toFixed(3).padStart(7)}   ${verdict(y / x, target)}`);
  }
}
