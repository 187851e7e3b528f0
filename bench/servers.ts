/**
 * Starting and asking bench servers: each variant in its own process, pinned to the
 * servers' core, with an IPC side channel for its CPU time and heap.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { onServerCore } from './runtime';

export interface BenchServer {
  child: ChildProcess;
  url: string;
  port: number;
  path: string;
  token: string;
}

export interface CpuSample {
  /** process.cpuUsage(): user + system microseconds */
  cpuMicros: number;
  /** the user-mode part of cpuMicros (the rest is the kernel's: socket reads and writes) */
  userMicros: number;
  requests: number;
  /** the server's monotonic clock, microseconds */
  at: number;
}

/** Resolves once the server printed `READY <port> <token> <path>`. */
export function waitReady(child: ChildProcess, name: string): Promise<BenchServer> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /READY (\d+) (\S+) (\S+)/.exec(output);
      if (!match) return;
      output = '';
      const port = Number(match[1]);
      resolve({ child, port, path: match[3], token: match[2], url: `http://127.0.0.1:${port}${match[3]}` });
    });
    child.once('exit', (code) => reject(new Error(`${name} server exited with ${code}`)));
  });
}

/**
 * Starts the compiled bench server `serverJs` in `mode` under the Node binary
 * `execPath`, pinned to the servers' core, with an IPC channel.
 */
export function startServer(execPath: string, nodeFlags: string[], serverJs: string, mode: string, redisUrl = ''): Promise<BenchServer> {
  const [command, args] = onServerCore(execPath, [...nodeFlags, serverJs, mode, redisUrl]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  return waitReady(child, mode);
}

function ask<T>(server: BenchServer, question: 'cpu' | 'heap'): Promise<T> {
  return new Promise((resolve) => {
    server.child.once('message', (answer) => resolve(answer as T));
    server.child.send(question);
  });
}

export async function cpuSample(server: BenchServer): Promise<CpuSample> {
  const answer = await ask<{ cpu: { user: number; system: number }; requests: number; at: number }>(server, 'cpu');
  return { cpuMicros: answer.cpu.user + answer.cpu.system, userMicros: answer.cpu.user, requests: answer.requests, at: answer.at };
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
