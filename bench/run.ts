/**
 * `npm run bench`: for each Node binary (the machine's and Node 24), serves each
 * variant from its own process pinned to one core, loads them with autocannon from
 * this process (pinned to the other cores), or with wrk when it is installed, in
 * alternating rounds, and prints the
 * median req/s, the server's CPU time per request (/proc/<pid>/stat deltas over
 * each round; the servers have no IPC channel, which would slow some of them), the overhead over the open route and the ratios the
 * performance issue sets targets for. Then the verify micro benchmark under each Node.
 * Results go to bench/results/run-<time>.json as well.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startBenchRedis } from './redis';
import { benchNodes, buildBenchServer, median, NodeBinary, pinLoadGenerator, PINNED, SERVER_CORE } from './runtime';
import { BenchServer, processCpu, startServer, stopServer } from './servers';
import { printNodeReport, VARIANTS, VariantResult } from './report';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = 50;
/**
 * BENCH_RATE: a fixed offered load in requests per second (autocannon's overallRate) instead of
 * as fast as the server goes. Every variant then serves the same arrival pattern, so its CPU time
 * per request is compared at equal batching; req/s is then the rate, not a figure.
 */
const RATE = process.env.BENCH_RATE === undefined ? undefined : Number(process.env.BENCH_RATE);
/**
 * Node flags of the servers under load. `--no-memory-reducer`: each server sits idle while the
 * others are loaded, and V8's memory reducer then runs a memory-reducing full GC in the idle
 * gap; on Node 20 a server was ~25 % slower for the rest of the run after one (the open route
 * too: 52 600 → 35 300 req/s), and which servers it hit depended on timing, so it stood in the
 * ratios (b'/a 0.80 in a full run against 0.90-0.95 in runs without it).
 */
const SERVER_FLAGS = ['--no-memory-reducer'];
/** BENCH_VARIANTS: a comma-separated list of keys (e.g. `a,b,c`); all by default. */
const WANTED = process.env.BENCH_VARIANTS?.split(',');


interface Running {
  variant: (typeof VARIANTS)[number];
  server: BenchServer;
  rps: number[];
  cpuPerRequest: number[];
  userPerRequest: number[];
  /** CPU per request of the threads other than the main one (V8's, libuv's, a worker_thread's). */
  otherThreadsPerRequest: number[];
}

/**
 * The load generator: wrk (C, one thread) when it is on the PATH, else autocannon. autocannon
 * runs in this Node process and tops out near the open route's rate on one core, so the open
 * route is then partly limited by its client: each server is busy a different share of the
 * time, and CPU per request is compared at different batching. wrk keeps every variant's core
 * saturated. `BENCH_LOADGEN=autocannon` forces autocannon; BENCH_RATE needs autocannon.
 */
const LOADGEN = process.env.BENCH_LOADGEN ?? (RATE === undefined && spawnSync('wrk', ['--version']).error === undefined ? 'wrk' : 'autocannon');

/** What one load run measured: its requests per second, and how many requests it completed. */
interface Load {
  rps: number;
  requests: number;
}

/** One wrk run. */
function wrk(url: string, token: string, seconds: number): Promise<Load> {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-H', `authorization: Bearer ${token}`, url];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, (error, stdout) => {
      if (error) return reject(error);
      const failures = /Non-2xx or 3xx responses: (\d+)|Socket errors: [^\n]*/.exec(stdout);
      if (failures) return reject(new Error(`wrk: ${failures[0]}`));
      const rate = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
      const count = /(\d+) requests in/.exec(stdout);
      if (!rate || !count) return reject(new Error(`wrk printed no rate: ${stdout}`));
      resolve({ rps: Number(rate[1]), requests: Number(count[1]) });
    });
  });
}

async function autocannonRate(running: Running, seconds: number): Promise<Load> {
  const result = await autocannon({
    url: running.server.url,
    connections: CONNECTIONS,
    duration: seconds,
    ...(RATE === undefined ? {} : { overallRate: RATE }),
    headers: { authorization: `Bearer ${running.server.token}` },
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${running.variant.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, requests: result.requests.total };
}

/**
 * One load round; returns req/s and the server's CPU microseconds per request served meanwhile
 * (its CPU time from /proc around the round, over the requests the load generator completed: the
 * server serves no one else).
 */
async function round(running: Running, seconds: number): Promise<{ rps: number; cpu: number; user: number; otherThreads: number }> {
  const before = processCpu(running.server);
  const { rps, requests } = LOADGEN === 'wrk' ? await wrk(running.server.url, running.server.token, seconds) : await autocannonRate(running, seconds);
  const after = processCpu(running.server);
  const cpu = (after.cpuMicros - before.cpuMicros) / requests;
  return { rps, cpu, user: (after.userMicros - before.userMicros) / requests, otherThreads: cpu - (after.mainThreadMicros - before.mainThreadMicros) / requests };
}

async function measure(node: NodeBinary, serverJs: string, redisUrl: string): Promise<VariantResult[]> {
  const all: Running[] = [];
  try {
    for (const variant of VARIANTS.filter((v) => WANTED === undefined || WANTED.includes(v.key))) {
      all.push({ variant, server: await startServer(node.execPath, SERVER_FLAGS, serverJs, variant.mode, redisUrl, { ipc: false }), rps: [], cpuPerRequest: [], userPerRequest: [], otherThreadsPerRequest: [] });
    }
    for (const running of all) await round(running, 1); // warm-up: JIT, caches, connections
    const idleCpu = new Map<string, number>();
    let loadedMicros = 0;
    for (let index = 1; index <= ROUNDS; index += 1) {
      for (const running of index % 2 ? all : [...all].reverse()) {
        const idleBefore = all.map((other) => processCpu(other.server));
        const { rps, cpu, user, otherThreads } = await round(running, SECONDS);
        const idleAfter = all.map((other) => processCpu(other.server));
        all.forEach((other, at) => {
          if (other !== running) idleCpu.set(other.variant.key, (idleCpu.get(other.variant.key) ?? 0) + idleAfter[at].cpuMicros - idleBefore[at].cpuMicros);
        });
        loadedMicros += SECONDS * 1e6;
        running.rps.push(rps);
        running.cpuPerRequest.push(cpu);
        running.userPerRequest.push(user);
        running.otherThreadsPerRequest.push(otherThreads);
      }
      process.stdout.write(`${node.label}: round ${index}/${ROUNDS} done\n`);
    }
    // what the servers not under load spent meanwhile, on the same core: it is taken from the loaded one
    process.stdout.write(`${node.label}: CPU of idle servers while another was loaded, % of the load time: ${[...idleCpu].map(([key, micros]) => `${key} ${((100 * micros) / loadedMicros).toFixed(2)}`).join(', ')}\n`);
    // the CPU figures are the whole process's: what of it ran outside the main thread (a worker_thread's share is here)
    process.stdout.write(`${node.label}: CPU outside the main thread, us/request (median): ${all.map((running) => `${running.variant.key} ${median(running.otherThreadsPerRequest).toFixed(2)}`).join(', ')}\n`);
  } finally {
    for (const running of all) await stopServer(running.server);
  }
  return all.map(({ variant, rps, cpuPerRequest, userPerRequest }) => ({
    key: variant.key, name: variant.name, rps: median(rps), cpuMicros: median(cpuPerRequest), userMicros: median(userPerRequest), rounds: { rps, cpuPerRequest, userPerRequest },
  }));
}

function runMicro(node: NodeBinary, serverJs: string): string {
  const micro = path.join(path.dirname(serverJs), 'micro.js');
  return spawnSync(node.execPath, [micro], { encoding: 'utf8' }).stdout;
}

async function main(): Promise<void> {
  pinLoadGenerator();
  const nodes = benchNodes();
  const serverJs = buildBenchServer();
  const redis = await startBenchRedis();
  const report: Record<string, { variants: VariantResult[]; micro: string }> = {};
  try {
    for (const node of nodes) report[node.label] = { variants: await measure(node, serverJs, redis.url), micro: '' };
  } finally {
    await redis.stop();
  }
  const setup = `node ${SERVER_FLAGS.join(' ')}; ${os.cpus().length} cores${PINNED ? ` (servers pinned to core ${SERVER_CORE}, load on the others)` : ' (not pinned)'}, ${LOADGEN === 'wrk' ? 'wrk -t1' : 'autocannon'} -c ${CONNECTIONS}, ${ROUNDS} alternating rounds of ${SECONDS}s, medians${LOADGEN === 'wrk' ? '' : `; load generator on node ${process.versions.node}`}`;
  console.log(`\n${setup}`);
  for (const node of nodes) {
    report[node.label].micro = runMicro(node, serverJs);
    printNodeReport(node.label, report[node.label].variants);
    console.log(report[node.label].micro);
  }
  const directory = path.join(__dirname, 'results');
  mkdirSync(directory, { recursive: true });
  const file = path.join(directory, `run-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ setup, report }, null, 2));
  console.log(`results: ${file}`);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
