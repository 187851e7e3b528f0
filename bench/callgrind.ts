/**
 * `npm run bench:callgrind`: the steady figure, instructions per request.
 *
 * Each variant's server runs under `valgrind --tool=callgrind` (JIT on; node flags
 * `--single-threaded --predictable-gc-schedule --no-incremental-marking`, so compiling
 * and collecting happen at the same points of every run). A client in this process (not
 * under valgrind, so the load generator is never counted) sends WARMUP requests one
 * after another, then `callgrind_control -z` zeroes the counters, REQUESTS more
 * requests go through, and `callgrind_control -d` dumps what the server executed in
 * that window alone. Each variant runs twice, in separate processes, and both counts
 * are printed: they agree within a fraction of a percent. Servers are not pinned here:
 * instruction counts do not depend on scheduling.
 * Env: BENCH_NODES, BENCH_CG_REQUESTS (default 1000), BENCH_CG_WARMUP (2000),
 * BENCH_CG_VARIANTS (e.g. `a,b,c`), BENCH_CG_RUNS (2).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sequentialClient } from './client';
import { startBenchRedis } from './redis';
import { printInstructionReport, VARIANTS } from './report';
import { benchNodes, buildBenchServer, NodeBinary } from './runtime';
import { stopServer, waitReady } from './servers';

const REQUESTS = Number(process.env.BENCH_CG_REQUESTS ?? 1000);
const WARMUP = Number(process.env.BENCH_CG_WARMUP ?? 2000);
const RUNS = Number(process.env.BENCH_CG_RUNS ?? 2);
const WANTED = (process.env.BENCH_CG_VARIANTS ?? "a,b,b',c,d,p").split(',');
export const NODE_FLAGS = ['--single-threaded', '--predictable-gc-schedule', '--no-incremental-marking'];

function callgrindControl(option: string, pid: number): void {
  const result = spawnSync('callgrind_control', [option, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0 || !result.stdout.includes('OK')) throw new Error(`callgrind_control ${option} ${pid}: ${result.stdout}${result.stderr}`);
}

/** The `summary:` (total Ir) of a callgrind dump. */
function instructionsIn(dumpFile: string): number {
  const match = /^summary: (\d+)/m.exec(readFileSync(dumpFile, 'utf8'));
  if (!match) throw new Error(`no summary in ${dumpFile}`);
  return Number(match[1]);
}

/** One server under callgrind: instructions per request over the measured window. */
async function countOnce(node: NodeBinary, serverJs: string, mode: string, redisUrl: string, directory: string): Promise<number> {
  const outFile = path.join(directory, `callgrind.${mode}.%p`);
  const valgrindArgs = ['--tool=callgrind', `--callgrind-out-file=${outFile}`, node.execPath, ...NODE_FLAGS, serverJs, mode, redisUrl];
  const log = openSync(path.join(directory, `valgrind.${mode}.log`), 'a');
  const child = spawn('valgrind', valgrindArgs, { stdio: ['ignore', 'pipe', log], env: { ...process.env, BENCH_TIER_TTL_MS: '3600000' } });
  const server = await waitReady(child, `${mode} under callgrind`);
  try {
    const client = await sequentialClient(server.port, server.path, server.token);
    await client.send(WARMUP);
    callgrindControl('-z', child.pid!);
    await client.send(REQUESTS);
    callgrindControl('-d', child.pid!);
    client.close();
    return instructionsIn(outFile.replace('%p', `${child.pid}.1`)) / REQUESTS;
  } finally {
    await stopServer(server);
  }
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) throw new Error('valgrind is not installed (apt-get install valgrind)');
  const nodes = benchNodes();
  const serverJs = buildBenchServer();
  const redis = await startBenchRedis();
  const directory = mkdtempSync(path.join(os.tmpdir(), 'kje-callgrind-'));
  const results: Record<string, Record<string, number[]>> = {};
  try {
    for (const node of nodes) {
      results[node.label] = {};
      for (const variant of VARIANTS.filter((v) => WANTED.includes(v.key))) {
        // the runs go side by side: counts do not depend on timing, only wall time does
        const runs = await Promise.all(Array.from({ length: RUNS }, () => countOnce(node, serverJs, variant.mode, redis.url, directory)));
        results[node.label][variant.key] = runs;
        process.stdout.write(`${node.label} ${variant.name}: ${runs.map((r) => r.toFixed(0)).join(' ')} Ir/request\n`);
      }
    }
  } finally {
    await redis.stop();
    rmSync(directory, { recursive: true, force: true });
  }
  console.log(`\ncallgrind: ${WARMUP} warm-up requests, then ${REQUESTS} counted, one at a time; node ${NODE_FLAGS.join(' ')}`);
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
