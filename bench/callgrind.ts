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
 * BENCH_CG_REQUESTS (300 a window), BENCH_CG_VARIANTS (e.g. `a,b,c`), BENCH_CG_RUNS (2).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sequentialClient } from './client';
import { startBenchRedis } from './redis';
import { printInstructionReport, VARIANTS } from './report';
import { benchNodes, buildBenchServer, median, NodeBinary } from './runtime';
import { stopServer, waitReady } from './servers';

const REQUESTS = Number(process.env.BENCH_CG_REQUESTS ?? 300);
const WARMUP = Number(process.env.BENCH_CG_WARMUP ?? 25000);
const RUNS = Number(process.env.BENCH_CG_RUNS ?? 2);
const WINDOWS = Number(process.env.BENCH_CG_WINDOWS ?? 5);
const WANTED = (process.env.BENCH_CG_VARIANTS ?? "a,b,b',c,d,p").split(',');
export const NODE_FLAGS = ['--single-threaded', '--predictable-gc-schedule', '--no-incremental-marking'];

export function callgrindControl(option: string, pid: number, value?: string): void {
  const args = value === undefined ? [option, String(pid)] : [option, value, String(pid)];
  const result = spawnSync('callgrind_control', args, { encoding: 'utf8' });
  if (result.status !== 0 || !result.stdout.includes('OK')) throw new Error(`callgrind_control ${args.join(' ')}: ${result.stdout}${result.stderr}`);
}

/** The `summary:` (total Ir) of a callgrind dump. */
function instructionsIn(dumpFile: string): number {
  const match = /^summary: (\d+)/m.exec(readFileSync(dumpFile, 'utf8'));
  if (!match) throw new Error(`no summary in ${dumpFile}`);
  return Number(match[1]);
}

/** One run: instructions per request of each counted window, and their median (the figure). */
export interface Run {
  windows: number[];
  median: number;
}

/**
 * One server under callgrind: WARMUP requests uninstrumented, then WINDOWS counted
 * windows of REQUESTS each. The figure is the median window: a rare event (a full GC,
 * a late tier-up) lands in one window and does not move it, and since the server does
 * the same work in every run, it lands in the same window each time.
 */
async function countOnce(node: NodeBinary, serverJs: string, mode: string, redisUrl: string, directory: string): Promise<Run> {
  const outFile = path.join(directory, `callgrind.${mode}.%p`);
  // uninstrumented until the warm-up is over: valgrind then runs the JIT many times faster
  const valgrindArgs = ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${outFile}`, node.execPath, ...NODE_FLAGS, serverJs, mode, redisUrl];
  const log = openSync(path.join(directory, `valgrind.${mode}.log`), 'a');
  const child = spawn('valgrind', valgrindArgs, { stdio: ['ignore', 'pipe', log], env: { ...process.env, BENCH_TIER_TTL_MS: '3600000' } });
  const killChild = () => child.kill();
  process.once('exit', killChild);
  const server = await waitReady(child, `${mode} under callgrind`);
  try {
    const client = await sequentialClient(server.port, server.path, server.token);
    await client.send(WARMUP);
    callgrindControl('-i', child.pid!, 'on');
    const windows: number[] = [];
    for (let window = 1; window <= WINDOWS; window += 1) {
      callgrindControl('-z', child.pid!);
      await client.send(REQUESTS);
      callgrindControl('-d', child.pid!);
      windows.push(instructionsIn(outFile.replace('%p', `${child.pid}.${window}`)) / REQUESTS);
    }
    client.close();
    return { windows, median: median(windows) };
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
    process.stdout.write(`${node.label} ${variant.name}: ${shown} Ir/request\n`);
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
    rmSync(directory, { recursive: true, force: true });
  }
  console.log(`\ncallgrind: ${WARMUP} warm-up requests uninstrumented, then ${WINDOWS} windows of ${REQUESTS} counted (the median window is the figure), one at a time; node ${NODE_FLAGS.join(' ')}`);
  for (const node of nodes) printInstructionReport(node.label, results[node.label]);
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
