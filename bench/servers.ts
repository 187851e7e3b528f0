/**
 * Starting and asking bench servers: each variant in its own process, pinned to the
 * servers' core; CPU time read from /proc, the heap asked over an IPC channel (memory bench only).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { onServerCore } from './runtime';

export interface BenchServer {
  child: ChildProcess;
  url: string;
  port: number;
  path: string;
  token: string;
  /** DPoP variants: the private key of the token's binding (PKCS#8 PEM). */
  proofKeyPem?: string;
  /** When READY arrived (`performance.now()` of this process). */
  readyAt: number;
}

/** Resolves once the server printed `READY <port> <token> <path>`. */
export function waitReady(child: ChildProcess, name: string): Promise<BenchServer> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /READY (\d+) (\S+) (\S+)(?: (\S+))?\n/.exec(output);
      if (!match) return;
      output = '';
      const port = Number(match[1]);
      const proofKeyPem = match[4] === undefined ? undefined : Buffer.from(match[4], 'base64url').toString();
      resolve({ child, port, path: match[3], token: match[2], url: `http://127.0.0.1:${port}${match[3]}`, proofKeyPem, readyAt: performance.now() });
    });
    child.once('exit', (code) => reject(new Error(`${name} server exited with ${code}`)));
  });
}

/** The minimal program's server (bench/minimal-socket-ics.ts), compiled beside the bench server `serverJs`. */
export function minimalServerJs(serverJs: string): string {
  return path.join(path.dirname(serverJs), 'minimal-socket-ics.js');
}

/**
 * The script and mode a variant's `mode` names: `minimal:<mode>` is the minimal program's plain
 * `node:http` server (bench/minimal-socket-ics.ts, compiled beside `serverJs`) in that mode, any
 * other mode bench/server.ts's.
 *
 * @example serverFor('/b/bench/server.js', 'minimal:als') // ['/b/bench/minimal-socket-ics.js', 'als']
 */
export function serverFor(serverJs: string, mode: string): [string, string] {
  return mode.startsWith('minimal:') ? [minimalServerJs(serverJs), mode.slice('minimal:'.length)] : [serverJs, mode];
}

/**
 * Starts the compiled bench server `serverJs` in `mode` under the Node binary
 * `execPath`, pinned to the servers' core, with an IPC channel unless `ipc: false`.
 */
export function startServer(execPath: string, nodeFlags: string[], serverJs: string, mode: string, redisUrl = '', options: { ipc?: boolean } = {}): Promise<BenchServer> {
  const [script, scriptMode] = serverFor(serverJs, mode);
  const [command, args] = onServerCore(execPath, [...nodeFlags, script, scriptMode, redisUrl]);
  const child = spawn(command, args, { stdio: options.ipc === false ? ['ignore', 'pipe', 'inherit'] : ['ignore', 'pipe', 'inherit', 'ipc'] });
  return waitReady(child, mode);
}

/** Clock ticks per second of /proc's CPU times. */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/**
 * A server's CPU time so far (all its threads), read from `/proc/<pid>/stat` (10 ms ticks): no
 * side channel in the server. An IPC channel is one: a process with an IPC pipe, HTTP sockets and
 * an ioredis connection runs ~11 % slower on Node 24 than without the pipe (three kinds of stream
 * in node's stream code), so the load bench starts its servers without one.
 */
export function processCpu(server: BenchServer): { cpuMicros: number; userMicros: number; mainThreadMicros: number } {
  const all = statTimes(`/proc/${server.child.pid}/stat`);
  // the main thread's task id is the process id; the rest is V8's platform threads, libuv's pool and any worker_thread
  const main = statTimes(`/proc/${server.child.pid}/task/${server.child.pid}/stat`);
  const micros = (ticks: number) => (ticks * 1e6) / CLOCK_TICKS;
  return { cpuMicros: micros(all.user + all.system), userMicros: micros(all.user), mainThreadMicros: micros(main.user + main.system) };
}

function statTimes(file: string): { user: number; system: number } {
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
  return { user: Number(fields[14 - 3]), system: Number(fields[15 - 3]) };
}

function ask<T>(server: BenchServer, question: 'heap'): Promise<T> {
  return new Promise((resolve) => {
    server.child.once('message', (answer) => resolve(answer as T));
    server.child.send(question);
  });
}

/** Heap used after a full GC (the server runs with --expose-gc). */
export async function heapUsed(server: BenchServer): Promise<number> {
  return (await ask<{ heapUsed: number }>(server, 'heap')).heapUsed;
}

export async function stopServer(server: BenchServer | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}
