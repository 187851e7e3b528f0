/**
 * `npm run bench:profile`: where the microseconds go. The protected and revocation
 * servers run under `--cpu-prof` (100 us sampling) on each Node while autocannon loads
 * them; only samples inside the load window count. Prints, per server, the top
 * self-time frames of ours (src/), the top frames overall, and time by package, each
 * as microseconds per request (self time in the window / requests served in it).
 * Env: BENCH_NODES, BENCH_PROFILE_MODES (default `jwt,revoked`), BENCH_PROFILE_SECONDS (default 8),
 * BENCH_PROFILE_TOP (default 12), BENCH_PROFILE_KEEP=1 (keep the .cpuprofile files; their paths are printed).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startBenchRedis } from './redis';
import { benchNodes, buildBenchServer, NodeBinary, pinLoadGenerator } from './runtime';
import { processCpu, startServer, stopServer } from './servers';

const SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 8);
const TOP = Number(process.env.BENCH_PROFILE_TOP ?? 12);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: ours (src/), a package, node itself, or V8 (GC, native). */
function ownerOf(url: string): string {
  if (url === '') return '(v8/native)';
  if (/koa-jwt-extended-bench\/src\//.test(url)) return 'ours (src/)';
  if (/koa-jwt-extended-bench\/bench\//.test(url)) return 'bench server';
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(url);
  if (inPackage) return inPackage[1];
  return url.startsWith('node:') ? 'node' : url;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^.*koa-jwt-extended-bench\//, '').replace(/^.*node_modules\//, '').replace(/^file:\/\//, '');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

/** Self time (microseconds) per frame and per owner, of the samples taken in [from, to]. */
function selfTimes(profile: CpuProfile, from: number, to: number): { frames: Map<string, { owner: string; micros: number }>; owners: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const frames = new Map<string, { owner: string; micros: number }>();
  const owners = new Map<string, number>();
  let time = profile.startTime;
  for (let index = 0; index < profile.samples.length; index += 1) {
    time += profile.timeDeltas[index];
    const delta = profile.timeDeltas[index + 1] ?? 0; // a sample stands for the time until the next one
    if (time < from || time > to) continue;
    const node = byId.get(profile.samples[index])!;
    if (node.callFrame.functionName === '(idle)') continue;
    const name = frameName(node);
    const owner = ownerOf(node.callFrame.url);
    const frame = frames.get(name) ?? { owner, micros: 0 };
    frame.micros += delta;
    frames.set(name, frame);
    owners.set(owner, (owners.get(owner) ?? 0) + delta);
  }
  return { frames, owners };
}

async function profileServer(node: NodeBinary, serverJs: string, mode: string, redisUrl: string): Promise<void> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'kje-profile-'));
  // no IPC channel: it would slow the revocation server (see processCpu)
  const server = await startServer(node.execPath, ['--cpu-prof', `--cpu-prof-dir=${directory}`, '--cpu-prof-interval=100'], serverJs, mode, redisUrl, { ipc: false });
  const load = (duration: number) => autocannon({ url: server.url, connections: 50, duration, headers: { authorization: `Bearer ${server.token}` } });
  // the load window on the monotonic clock, in microseconds: the clock --cpu-prof timestamps its samples with
  const now = () => Number(process.hrtime.bigint() / 1000n);
  let before, after, requests;
  try {
    await load(2); // warm-up
    before = { ...processCpu(server), at: now() };
    requests = (await load(SECONDS)).requests.total;
    after = { ...processCpu(server), at: now() };
  } finally {
    await stopServer(server);
  }
  const file = readdirSync(directory).find((name) => name.endsWith('.cpuprofile'))!;
  const profile = JSON.parse(readFileSync(path.join(directory, file), 'utf8')) as CpuProfile;
  if (process.env.BENCH_PROFILE_KEEP === '1') console.log(`profile kept: ${path.join(directory, file)}`);
  else rmSync(directory, { recursive: true, force: true });
  const { frames, owners } = selfTimes(profile, before.at, after.at);
  const perRequest = (micros: number) => (micros / requests).toFixed(3).padStart(7);
  const sampled = [...owners.values()].reduce((sum, micros) => sum + micros, 0);
  console.log(`\n${node.label} ${mode}: ${requests} requests, CPU ${((after.cpuMicros - before.cpuMicros) / requests).toFixed(2)} us/request (/proc), sampled busy ${(sampled / requests).toFixed(2)} us/request (main thread)`);
  const sorted = [...frames.entries()].sort((x, y) => y[1].micros - x[1].micros);
  console.log('  ours (src/), self us/request:');
  for (const [name, { micros }] of sorted.filter(([, frame]) => frame.owner === 'ours (src/)').slice(0, TOP)) console.log(`    ${perRequest(micros)}  ${name}`);
  console.log('  top overall, self us/request:');
  for (const [name, { owner, micros }] of sorted.slice(0, TOP)) console.log(`    ${perRequest(micros)}  ${name}  [${owner}]`);
  console.log('  by owner, self us/request:');
  for (const [owner, micros] of [...owners.entries()].sort((x, y) => y[1] - x[1]).slice(0, 10)) console.log(`    ${perRequest(micros)}  ${owner}`);
}

async function main(): Promise<void> {
  pinLoadGenerator();
  const nodes = benchNodes();
  const serverJs = buildBenchServer();
  const redis = await startBenchRedis();
  try {
    for (const node of nodes) {
      for (const mode of (process.env.BENCH_PROFILE_MODES ?? 'jwt,revoked').split(',')) await profileServer(node, serverJs, mode, redis.url);
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
