/**
 * `npm run bench:socket-ics`: what a second socket's periodic traffic costs node's HTTP path, with
 * no Koa and no code of this library (issue 27, target 6). A plain `node:http` server answers a
 * tiny JSON body; beside it, by mode:
 *   none          no other socket
 *   ioredis-idle  an ioredis client connected to a throwaway redis-server, sending nothing
 *   ioredis       the same client sending one PING a second (the tiered store's heartbeat is one
 *                 EVAL a second on its ioredis connection)
 *   net           a plain `net.Socket` to the same redis-server writing a RESP PING once a second
 *                 and reading the reply (no ioredis)
 *   raw           the same bytes once a second through a bare libuv TCP handle (node's internal
 *                 `tcp_wrap` binding, no net.Socket and no stream code): a probe of where the cost
 *                 is, not something to ship
 *   worker        the ioredis client and its 1 Hz PING in a worker_thread (its own V8 isolate)
 *   als           no other socket; each request answered inside an AsyncLocalStorage's run()
 *                 (the request context's mechanism: async_hooks on Node 20, AsyncContextFrame on 24)
 *   als-ioredis   als with the 1 Hz ioredis PING
 *   als-net       als with the 1 Hz PING of `net` (a plain net.Socket, no ioredis, no promise)
 *   als-timer     als with a 1 Hz timer that settles one promise (no socket at all)
 *   als-worker    als with the 1 Hz ioredis PING in a worker_thread (what moving the store's
 *                 connections off the main isolate would buy)
 * Every mode answers from an async function that awaits twice (promises in the request's context).
 * Each mode's server is counted as bench:callgrind counts its variants (bench/callgrind.ts's
 * countOnce: JIT on, `--single-threaded --predictable-gc-schedule --no-incremental-marking`,
 * warm-up uninstrumented, median of WINDOWS windows of REQUESTS requests sent one at a time from
 * this process; `timer-free` is each window less what the idle server runs per second times the
 * window's length, i.e. less the PING itself). Then, with BENCH_SICS_PROFILE=1, one window of each
 * mode in BENCH_SICS_PROFILE_MODES (default none,ioredis,net) with `--perf-basic-prof`, and the
 * functions whose self instructions per request grow over `none` (bench/callgrind-profile.ts's
 * readProfile). Env: BENCH_NODES (machine,24), BENCH_SICS_MODES, BENCH_CG_RUNS (2), BENCH_CG_WARMUP,
 * BENCH_CG_WINDOWS, BENCH_CG_REQUESTS, BENCH_CGP_TOP (15), BENCH_SICS_COUNT=0 (profile only).
 * Run as `node minimal-socket-ics.js <mode> <redisUrl>` the file is the server (prints `READY`);
 * `npm run bench` loads some of its modes as variants too (`minimal:<mode>` in bench/report.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export const MODES = ['none', 'ioredis-idle', 'ioredis', 'net', 'raw', 'worker', 'als', 'als-ioredis', 'als-net', 'als-timer', 'als-worker'] as const;
type Mode = (typeof MODES)[number];
const BEAT_MS = 1000;
const PING = '*1\r\n$4\r\nPING\r\n';

function redisAddress(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 6379) };
}

/** An ioredis client that sends one PING every BEAT_MS (or nothing, `beat: false`). */
async function ioredisBeat(url: string, beat: boolean): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Redis = require('ioredis') as typeof import('ioredis').default;
  const client = new Redis(url);
  await client.ping();
  if (beat) setInterval(() => void client.ping(), BEAT_MS);
}

/** A plain net.Socket writing a RESP PING every BEAT_MS, replies read and dropped. */
async function netBeat(url: string): Promise<void> {
  const { host, port } = redisAddress(url);
  const socket = net.connect(port, host);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.setNoDelay(true);
  socket.on('data', () => {});
  setInterval(() => socket.write(PING), BEAT_MS);
}

/**
 * The same PING through libuv's TCP handle directly (what net.Socket wraps): the bytes go out and
 * the reply comes in without any of node's JS stream code. Internal API (process.binding).
 */
async function rawBeat(url: string): Promise<void> {
  const { host, port } = redisAddress(url);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const binding = (process as any).binding as (name: string) => any;
  const { TCP, TCPConnectWrap, constants } = binding('tcp_wrap');
  const { WriteWrap } = binding('stream_wrap');
  const handle = new TCP(constants.SOCKET);
  await new Promise<void>((resolve, reject) => {
    const request = new TCPConnectWrap();
    request.oncomplete = (status: number) => (status === 0 ? resolve() : reject(new Error(`raw connect: ${status}`)));
    const error = handle.connect(request, host, port);
    if (error) reject(new Error(`raw connect: ${error}`));
  });
  handle.setNoDelay(true);
  handle.onread = () => {}; // the +PONG replies, dropped
  handle.readStart();
  setInterval(() => {
    const request = new WriteWrap();
    request.handle = handle;
    request.oncomplete = () => {};
    request.async = false;
    handle.writeLatin1String(request, PING);
  }, BEAT_MS);
}

/** The ioredis beat in a worker_thread: its own isolate, so its own inline caches. */
async function workerBeat(url: string): Promise<void> {
  const worker = new Worker(__filename, { workerData: { url } });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  worker.unref();
}

async function serve(mode: Mode, redisUrl: string): Promise<void> {
  if (mode === 'ioredis' || mode === 'ioredis-idle') await ioredisBeat(redisUrl, mode === 'ioredis');
  if (mode === 'net') await netBeat(redisUrl);
  if (mode === 'raw') await rawBeat(redisUrl);
  if (mode === 'worker' || mode === 'als-worker') await workerBeat(redisUrl);
  if (mode === 'als-ioredis') await ioredisBeat(redisUrl, true);
  if (mode === 'als-net') await netBeat(redisUrl);
  if (mode === 'als-timer') setInterval(() => void Promise.resolve(BEAT_MS).then((ms) => ms + 1), BEAT_MS);
  const body = JSON.stringify({ ok: true, mode });
  // every mode answers from an async function that awaits twice (as a Koa app's middleware does);
  // the als modes run it inside an AsyncLocalStorage's run(), as the request context does
  const answer = async (response: http.ServerResponse) => {
    await undefined;
    await undefined;
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };
  const context = mode.startsWith('als') ? new AsyncLocalStorage<{ request: http.IncomingMessage }>() : undefined;
  const server = http.createServer((request, response) => {
    if (context === undefined) void answer(response);
    else void context.run({ request }, answer, response);
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as net.AddressInfo;
    process.stdout.write(`READY ${port} none /\n`);
  });
  process.once('SIGTERM', () => process.exit(0));
}

// ---- the measurement (this process, not under valgrind) ----

/* eslint-disable @typescript-eslint/no-require-imports -- required here, not at the top: the servers load none of the harness */
async function measure(): Promise<void> {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const { countOnce, callgrindControl, spawnUnderCallgrind, warmUp } = require('./callgrind') as typeof import('./callgrind');
  const { readProfile } = require('./callgrind-profile') as typeof import('./callgrind-profile');
  const { sequentialClient } = require('./client') as typeof import('./client');
  const { startBenchRedis } = require('./redis') as typeof import('./redis');
  const { benchNodes, buildBenchServer, median } = require('./runtime') as typeof import('./runtime');
  const { minimalServerJs, stopServer, waitReady } = require('./servers') as typeof import('./servers');
  type Run = import('./callgrind').Run;

  if (spawnSync('valgrind', ['--version']).status !== 0) throw new Error('valgrind is not installed (apt-get install valgrind)');
  const modes = (process.env.BENCH_SICS_MODES ?? MODES.join(',')).split(',') as Mode[];
  const runs = Number(process.env.BENCH_CG_RUNS ?? 2);
  const nodes = benchNodes();
  const serverJs = minimalServerJs(buildBenchServer());
  const redis = await startBenchRedis();
  const directory = mkdtempSync(path.join(os.tmpdir(), 'kje-socket-ics-'));
  try {
    // every (node, mode, run) side by side: counts do not depend on timing
    const counted: Array<Record<Mode, Run[]>> = process.env.BENCH_SICS_COUNT === '0' ? [] : await Promise.all(nodes.map(async (node) => {
      const byMode = await Promise.all(modes.map(async (mode) => {
        const results: Run[] = await Promise.all(Array.from({ length: runs }, () => countOnce(node, serverJs, mode, redis.url, directory)));
        process.stdout.write(`${node.label} ${mode}: ${results.map((r) => `${r.median.toFixed(0)} (windows ${r.windows.map((w) => w.toFixed(0)).join(' ')}; idle ${r.idlePerSecond?.toFixed(0)}/s; timer-free ${r.timerFree?.toFixed(0)})`).join(', ')}\n`);
        return [mode, results] as const;
      }));
      return Object.fromEntries(byMode) as Record<Mode, Run[]>;
    }));
    const figure = (rs: Run[], key: 'median' | 'timerFree') => median(rs.map((r) => r[key] ?? r.median));
    const signed = (value: number, digits = 0) => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
    console.log(`\ninstructions per request, plain node:http server (median window of each run; vs none: of the runs' medians)`);
    console.log('| node | mode | runs (counted) | timer-free | idle Ir/s | counted vs none | timer-free vs none |');
    console.log('|---|---|---|---|---|---|---|');
    nodes.forEach((node, index) => {
      const results = counted[index];
      if (!results) return;
      const base = results.none;
      for (const mode of modes) {
        const rs = results[mode];
        const vs = (key: 'median' | 'timerFree') => {
          if (!base || mode === 'none') return '';
          const delta = figure(rs, key) - figure(base, key);
          return `${signed(delta)} (${signed((delta / figure(base, key)) * 100, 2)} %)`;
        };
        console.log(`| ${node.label} | ${mode} | ${rs.map((r) => r.median.toFixed(0)).join(' / ')} | ${rs.map((r) => (r.timerFree ?? NaN).toFixed(0)).join(' / ')} | ${rs.map((r) => (r.idlePerSecond ?? NaN).toFixed(0)).join(' / ')} | ${vs('median')} | ${vs('timerFree')} |`);
      }
    });

    if (process.env.BENCH_SICS_PROFILE === '1') {
      const profiled = (process.env.BENCH_SICS_PROFILE_MODES ?? 'none,ioredis,net').split(',') as Mode[];
      const top = Number(process.env.BENCH_CGP_TOP ?? 15);
      const requests = Number(process.env.BENCH_CG_REQUESTS ?? 300);
      const profileOnce = async (execPath: string, mode: Mode) => {
        const { child, outFile } = spawnUnderCallgrind(execPath, serverJs, `${mode}`, redis.url, directory, { nodeFlags: ['--perf-basic-prof'] });
        const server = await waitReady(child, `${mode} under callgrind`);
        try {
          const client = await sequentialClient(server.port, server.path, server.token);
          await warmUp(client, mode, server.readyAt);
          callgrindControl('-i', child.pid!, 'on');
          callgrindControl('-z', child.pid!);
          await client.send(requests);
          callgrindControl('-d', child.pid!);
          client.close();
        } finally {
          await stopServer(server);
        }
        return readProfile(outFile.replace('%p', `${child.pid}.1`), child.pid!, requests);
      };
      for (const node of nodes) {
        const profiles = await Promise.all(profiled.map((mode) => profileOnce(node.execPath, mode)));
        const [base, ...others] = profiles;
        others.forEach((profile, index) => {
          const names = new Set([...base.byFunction.keys(), ...profile.byFunction.keys()]);
          const rows = [...names].map((name): [string, number] => [name, (profile.byFunction.get(name) ?? 0) - (base.byFunction.get(name) ?? 0)]);
          rows.sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]));
          console.log(`\n${node.label} ${profiled[index + 1]} - ${profiled[0]}: ${signed(profile.total - base.total)} instructions per request (one window of ${requests}, --perf-basic-prof), by function (self)`);
          for (const [name, count] of rows.slice(0, top)) console.log(`  ${signed(count).padStart(8)}  ${name.slice(0, 140)}`);
        });
      }
    }
  } finally {
    await redis.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

if (!isMainThread) {
  // the worker mode's beat
  ioredisBeat((workerData as { url: string }).url, true).then(() => parentPort!.postMessage('ready'));
} else if (require.main === module) {
  const [mode, redisUrl] = process.argv.slice(2);
  const run = mode === undefined ? measure() : serve(mode as Mode, redisUrl);
  run.catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
