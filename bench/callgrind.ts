/**
 * `npm run bench:callgrind`: the steady figure, instructions per request.
 *
 * Each variant's server runs under `valgrind --tool=callgrind` (JIT on; node flags
 * `--single-threaded --predictable-gc-schedule --no-incremental-marking`, so compiling
 * and collecting happen at the same points of every run). A client in this process (not
 * under valgrind, so the load generator is never counted) sends WARMUP requests one after
 * another with instrumentation off (`--instr-atstart=no`: fast, so the JIT can settle;
 * Node 24 tiers up later than Node 20), then `callgrind_control -i on`. Each of WINDOWS
 * windows is REQUESTS requests between `callgrind_control -z` (zero) and `-d` (dump): what
 * the server executed in that window alone. The median window is the figure (see
 * countOnce). Each variant runs twice, in separate processes, and both figures are
 * printed with their spread. Servers are not pinned: instruction counts do not depend
 * on scheduling, so runs go side by side.
 * Env: BENCH_NODES, BENCH_CG_WARMUP (default 25000), BENCH_CG_WINDOWS (5),
 * BENCH_CG_REQUESTS (300 a window), BENCH_CG_VARIANTS (e.g. `a,b,c`), BENCH_CG_RUNS (2),
 * BENCH_CG_WARMUP_MS (60000: the warm-up's least duration), BENCH_CG_NODE_FLAGS (more node flags).
 * Then issue 27's targets, each figure beside its target (bench/targets.ts): the micro pieces
 * (bench/micro-callgrind.ts) and the Redis round trips (bench/round-trips.ts) are counted in the
 * same run (BENCH_CG_TARGETS=0 skips them).
 * Two checks of what the count leaves out: BENCH_CG_CONNECTIONS=50 spreads each window over 50
 * keep-alive connections that each send one request after another (the server then finds many
 * requests waiting at each turn, as under load); BENCH_CG_SIM=1 simulates the caches and the
 * branch predictor and makes the figure callgrind's cycle estimate (BENCH_CG_SIM_DETAIL=1 prints
 * the misses of every window).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sequentialClient } from './client';
import { startBenchRedis } from './redis';
import { countMicroPieces } from './micro-callgrind';
import { printInstructionReport, VARIANTS } from './report';
import { countRoundTrips } from './round-trips';
import { printRoundTripTargets, printTargets } from './targets';
import { benchNodes, buildBenchServer, median, NodeBinary } from './runtime';
import { serverFor, stopServer, waitReady } from './servers';

const REQUESTS = Number(process.env.BENCH_CG_REQUESTS ?? 300);
const WARMUP = Number(process.env.BENCH_CG_WARMUP ?? 25000);
const RUNS = Number(process.env.BENCH_CG_RUNS ?? 2);
/**
 * The warm-up lasts at least this long too (BENCH_CG_WARMUP_MS), counted from the server's READY:
 * the tiered store's first liveness heartbeats (every 20 s with the bench's 60 s lease) send
 * ioredis's promises and socket callbacks through node's stream and async_hooks code, which the
 * HTTP requests share, and the first ones deoptimize it. Warmed up by request count alone, a fast
 * machine reached the windows before the first beat: the windows then held the deoptimization and
 * the recompiles (Node 20, variant c: 156 602 before, then 387 098, 257 401, and no window back
 * under 164 000 in eleven), and the first windows a state no running server stays in. 60 s covers
 * the first two beats; after them the five windows read 159 273-159 941 (0.4 %).
 * DPoP variants keep their request cap instead (one key's replay cache, DPOP_WARMUP).
 */
const WARMUP_MS = Number(process.env.BENCH_CG_WARMUP_MS ?? 60000);
const WINDOWS = Number(process.env.BENCH_CG_WINDOWS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CG_CONNECTIONS ?? 1);
const WANTED = (process.env.BENCH_CG_VARIANTS ?? "a,b,bl,bu,c,cw,d,e,ee,er,a15,b15").split(',');
export const NODE_FLAGS = ['--single-threaded', '--predictable-gc-schedule', '--no-incremental-marking'];
/**
 * More node flags for every server counted here and in bench:callgrind-paired (BENCH_CG_NODE_FLAGS,
 * space-separated), e.g. `--log-deopt --logfile=/tmp/v8.log --no-logfile-per-isolate` to see what
 * deoptimizes when a window grows, or `--random-seed=7` to see whether a figure moves with V8's seed.
 */
export const EXTRA_NODE_FLAGS = (process.env.BENCH_CG_NODE_FLAGS ?? '').split(' ').filter(Boolean);

export function callgrindControl(option: string, pid: number, value?: string): void {
  const args = value === undefined ? [option, String(pid)] : [option, value, String(pid)];
  const result = spawnSync('callgrind_control', args, { encoding: 'utf8' });
  if (result.status !== 0 || !result.stdout.includes('OK')) throw new Error(`callgrind_control ${args.join(' ')}: ${result.stdout}${result.stderr}`);
}

const SIMULATE = process.env.BENCH_CG_SIM === '1';

/** The `summary:` of a callgrind dump, by event name (`Ir`, and with simulation the misses). */
function eventsIn(dumpFile: string): Record<string, number> {
  const text = readFileSync(dumpFile, 'utf8');
  const names = /^events: (.+)$/m.exec(text);
  const summary = /^summary: (.+)$/m.exec(text);
  if (!names || !summary) throw new Error(`no summary in ${dumpFile}`);
  const values = summary[1].trim().split(/ +/).map(Number);
  return Object.fromEntries(names[1].trim().split(/ +/).map((name, index) => [name, values[index] ?? 0]));
}

/**
 * The figure of a dump: instructions, or with BENCH_CG_SIM=1 callgrind's cycle estimate
 * (Ir + 10 per L1 miss and per mispredicted branch + 100 per last-level miss).
 */
function instructionsIn(dumpFile: string): number {
  const e = eventsIn(dumpFile);
  if (!SIMULATE) return e.Ir;
  const l1 = e.I1mr + e.D1mr + e.D1mw;
  const ll = e.ILmr + e.DLmr + e.DLmw;
  const branches = e.Bcm + e.Bim;
  if (process.env.BENCH_CG_SIM_DETAIL === '1') process.stdout.write(`  Ir ${e.Ir} I1mr ${e.I1mr} D1mr ${e.D1mr} D1mw ${e.D1mw} LL ${ll} Bm ${branches}\n`);
  return e.Ir + 10 * l1 + 100 * ll + 10 * branches;
}

/**
 * A bench server under callgrind with instrumentation off (`--instr-atstart=no`: until the warm-up
 * is over valgrind runs the JIT many times faster; `callgrind_control -i on` starts counting), the
 * node flags above, and the tier's entries kept for an hour (a request takes milliseconds here).
 * Dump n of the child goes to `outFile` with `%p` replaced by `<pid>.<n>`.
 */
export function spawnUnderCallgrind(
  execPath: string, serverJs: string, mode: string, redisUrl: string, directory: string,
  extra: { valgrindArgs?: string[]; nodeFlags?: string[] } = {},
): { child: ChildProcess; outFile: string } {
  const [script, scriptMode] = serverFor(serverJs, mode); // `minimal:<mode>`: the minimal program's server
  const name = mode.replace(/[^\w.-]/g, '_');
  const outFile = path.join(directory, `callgrind.${name}.%p`);
  const args = ['--tool=callgrind', '--instr-atstart=no', ...(extra.valgrindArgs ?? []), `--callgrind-out-file=${outFile}`, execPath, ...NODE_FLAGS, ...EXTRA_NODE_FLAGS, ...(extra.nodeFlags ?? []), script, scriptMode, redisUrl];
  const log = openSync(path.join(directory, `valgrind.${name}.log`), 'a');
  const child = spawn('valgrind', args, { stdio: ['ignore', 'pipe', log], env: { ...process.env, BENCH_TIER_TTL_MS: '3600000', BENCH_LEASE_MS: '60000' } });
  return { child, outFile };
}

/**
 * One run: instructions per request of each counted window, and their median (the figure).
 * `idlePerSecond`: what the server executed per second with no request at all (an idle window of
 * IDLE_MS after the counted ones: timers such as the tiered store's liveness heartbeat, once a
 * second). Under callgrind a window of 300 requests lasts seconds, so such a timer lands in it
 * tens of times more often per request than at any real request rate; `timerFree` is each
 * window less `idlePerSecond` x its duration, per request, and its median (the request's own cost).
 */
export interface Run {
  windows: number[];
  median: number;
  idlePerSecond?: number;
  timerFree?: number;
}

const IDLE_MS = Number(process.env.BENCH_CG_IDLE_MS ?? 4000);
/**
 * The DPoP variants' warm-up: one key may hold 10 000 live proofs in the replay cache (60 s each),
 * so warm-up and windows together stay under that; each proof is new, as a client's are.
 */
const DPOP_WARMUP = 7000;

/**
 * The uninstrumented warm-up of a counted server that printed READY at `readyAt` (BenchServer's):
 * WARMUP requests, then on, 1 000 at a time, until WARMUP_MS since then, so its timed work has run
 * (see WARMUP_MS); a DPoP variant only up to DPOP_WARMUP requests.
 */
export async function warmUp(client: { send(count: number): Promise<unknown> }, mode: string, readyAt: number): Promise<void> {
  if (mode.startsWith('dpop-')) {
    await client.send(Math.min(WARMUP, DPOP_WARMUP));
    return;
  }
  await client.send(WARMUP);
  while (performance.now() - readyAt < WARMUP_MS) await client.send(1000);
}

/**
 * One server under callgrind: WARMUP requests uninstrumented, then WINDOWS counted
 * windows of REQUESTS each. The figure is the median window: a rare event (a full GC,
 * a late tier-up) lands in one window and does not move it, and since the server does
 * the same work in every run, it lands in the same window each time.
 */
export async function countOnce(node: NodeBinary, serverJs: string, mode: string, redisUrl: string, directory: string): Promise<Run> {
  const simulation = SIMULATE ? ['--cache-sim=yes', '--branch-sim=yes'] : [];
  const { child, outFile } = spawnUnderCallgrind(node.execPath, serverJs, mode, redisUrl, directory, { valgrindArgs: simulation });
  const killChild = () => child.kill();
  process.once('exit', killChild);
  const server = await waitReady(child, `${mode} under callgrind`);
  try {
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => sequentialClient(server.port, server.path, server.token, server.proofKeyPem)));
    const client = {
      send: (count: number) => Promise.all(clients.map((one, index) => one.send(Math.floor(count / CONNECTIONS) + (index < count % CONNECTIONS ? 1 : 0)))),
      close: () => clients.forEach((one) => one.close()),
    };
    await warmUp(client, mode, server.readyAt);
    callgrindControl('-i', child.pid!, 'on');
    const windows: number[] = [];
    const seconds: number[] = [];
    for (let window = 1; window <= WINDOWS; window += 1) {
      callgrindControl('-z', child.pid!);
      const started = performance.now();
      await client.send(REQUESTS);
      callgrindControl('-d', child.pid!);
      seconds.push((performance.now() - started) / 1000);
      windows.push(instructionsIn(outFile.replace('%p', `${child.pid}.${window}`)) / REQUESTS);
    }
    const run: Run = { windows, median: median(windows) };
    if (IDLE_MS > 0) {
      callgrindControl('-z', child.pid!);
      const started = performance.now();
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
      callgrindControl('-d', child.pid!);
      const idlePerSecond = instructionsIn(outFile.replace('%p', `${child.pid}.${WINDOWS + 1}`)) / ((performance.now() - started) / 1000);
      run.idlePerSecond = idlePerSecond;
      run.timerFree = median(windows.map((perRequest, i) => perRequest - (idlePerSecond * seconds[i]) / REQUESTS));
    }
    client.close();
    return run;
  } finally {
    process.off('exit', killChild);
    await stopServer(server);
  }
}

/** Each variant RUNS times, side by side (counts do not depend on timing, only wall time does). */
async function countNode(node: NodeBinary, serverJs: string, redisUrl: string, directory: string): Promise<Record<string, Run[]>> {
  const counts: Record<string, Run[]> = {};
  for (const variant of VARIANTS.filter((v) => WANTED.includes(v.key))) {
    counts[variant.key] = await Promise.all(Array.from({ length: RUNS }, () => countOnce(node, serverJs, variant.mode, redisUrl, directory)));
    const shown = counts[variant.key].map((run) => `${run.median.toFixed(0)} (windows ${run.windows.map((w) => w.toFixed(0)).join(' ')})`).join(', ');
    process.stdout.write(`${node.label} ${variant.name}: ${shown} ${SIMULATE ? 'estimated cycles' : 'Ir'}/request\n`);
  }
  return counts;
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) throw new Error('valgrind is not installed (apt-get install valgrind)');
  const nodes = benchNodes();
  const serverJs = buildBenchServer();
  const redis = await startBenchRedis();
  const directory = mkdtempSync(path.join(os.tmpdir(), 'kje-callgrind-'));
  const results: Record<string, Record<string, Run[]>> = {};
  try {
    // the Node versions go side by side too
    const counted = await Promise.all(nodes.map((node) => countNode(node, serverJs, redis.url, directory)));
    nodes.forEach((node, index) => (results[node.label] = counted[index]));
  } finally {
    await redis.stop();
    try {
      rmSync(directory, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }); // a child may still be writing its last file
    } catch (error) {
      console.error(`could not remove ${directory}: ${String(error)}`); // never in place of the error that ended the run
    }
  }
  console.log(`\ncallgrind: ${WARMUP} warm-up requests uninstrumented (and on for at least ${WARMUP_MS / 1000} s but for DPoP), then ${WINDOWS} windows of ${REQUESTS} counted (the median window is the figure), ${CONNECTIONS === 1 ? 'one at a time' : `over ${CONNECTIONS} connections`}${SIMULATE ? ', figures are cycle estimates (Ir + 10 L1m + 10 Bm + 100 LLm)' : ''}; node ${[...NODE_FLAGS, ...EXTRA_NODE_FLAGS].join(' ')}`);
  for (const node of nodes) printInstructionReport(node.label, results[node.label]);
  // issue 27's targets: the micro pieces (the HMAC floor, one signature check per DPoP algorithm) counted in the same run
  if (process.env.BENCH_CG_TARGETS !== '0') {
    const pieces = ['floor', 'miss', 'hit', ...(['e', 'ee', 'er'].some((key) => WANTED.includes(key)) ? ['es256', 'eddsa', 'rs256'] : [])];
    const micro = await Promise.all(nodes.map((node) => countMicroPieces(node, pieces)));
    const trips = await countRoundTrips(false);
    nodes.forEach((node, index) => {
      const runs = results[node.label];
      const first = (figure: 'median' | 'timerFree') => Object.fromEntries(Object.entries(runs).map(([key, rs]) => [key, median(rs.map((r) => r[figure] ?? r.median))]));
      const otherFigure = SIMULATE ? 'cycle estimates (BENCH_CG_SIM=1)' : CONNECTIONS === 1 ? undefined : `instructions over ${CONNECTIONS} connections`;
      printTargets(node.label, first('median'), micro[index], first('timerFree'), otherFigure);
    });
    printRoundTripTargets(trips);
  }
  const resultsDirectory = path.join(__dirname, 'results');
  mkdirSync(resultsDirectory, { recursive: true });
  writeFileSync(path.join(resultsDirectory, `callgrind-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(results, null, 2));
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
