/**
 * `npm run bench:callgrind-profile -- <mode> [<mode>]`: where the instructions of a request go,
 * by function, JavaScript included. One server per mode runs under callgrind as in
 * `bench:callgrind` (same flags and warm-up), plus `--perf-basic-prof`, with which Node writes
 * `/tmp/perf-<pid>.map` (the address range of every piece of JIT code and its JS name). The
 * self instructions of one window (callgrind_annotate) are mapped through it, so JIT code shows as
 * `JS <function> <file>:<line>` instead of a bare address. With two modes it also prints the
 * difference, function by function: e.g. `open jwt` is what the guard costs, and where.
 * Modes are bench/server.ts's (open, jwt, revoked, ...). Env: BENCH_NODES (one of machine / 24;
 * default 24), BENCH_CG_WARMUP / BENCH_CG_WARMUP_MS (as bench:callgrind's), BENCH_CG_REQUESTS (300), BENCH_CGP_TOP (40).
 * A mode written `base:<mode>` runs from the checkout BENCH_BASE names (as bench:callgrind-paired),
 * so `BENCH_BASE=../base npm run bench:callgrind-profile -- base:jwt jwt` is a change, by function.
 * BENCH_CGP_CALLERS=<function>[,...] adds, for each, its callers (inclusive, the change by caller with two modes).
 * BENCH_CGP_NO_PERF=1 leaves `--perf-basic-prof` out (JIT code then shows unnamed): a state it changes can be seen (bench/README.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { callgrindControl, spawnUnderCallgrind, warmUp } from './callgrind';
import { sequentialClient } from './client';
import { startBenchRedis } from './redis';
import { buildBaseServer } from './callgrind-paired';
import { benchNodes, buildBenchServer } from './runtime';
import { stopServer, waitReady } from './servers';

const REQUESTS = Number(process.env.BENCH_CG_REQUESTS ?? 300);
const TOP = Number(process.env.BENCH_CGP_TOP ?? 40);
const CROSS_CHECKOUT = process.argv.slice(2).some((mode) => mode.startsWith('base:'));

/** Self instructions per request by function name, and the window's total per request. */
interface Profile {
  total: number;
  byFunction: Map<string, number>;
  /** BENCH_CGP_CALLERS: per named function, its callers' inclusive instructions per request. */
  callersOf: Map<string, Map<string, number>>;
}

/** JIT code ranges from Node's perf map, sorted by start address. */
function readPerfMap(pid: number): Array<{ start: number; end: number; name: string }> {
  const file = `/tmp/perf-${pid}.map`;
  if (!existsSync(file)) return [];
  const ranges = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
    const [start, size, ...name] = line.split(' ');
    const from = Number.parseInt(start, 16);
    return { start: from, end: from + Number.parseInt(size, 16), name: name.join(' ') };
  });
  rmSync(file, { force: true });
  return ranges.sort((x, y) => x.start - y.start);
}

function jitName(ranges: ReturnType<typeof readPerfMap>, address: number): string {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (ranges[middle].start <= address) low = middle + 1;
    else high = middle - 1;
  }
  const range = ranges[high];
  if (range === undefined || address >= range.end) return 'JIT code (unmapped)';
  // "JS:*name file:line:column": the tier marks (*, ~, ^, +) differ between runs, the function does not
  const name = `JS ${range.name.replace(/^JS:[*~^+']*/, '').replace(/:\d+$/, '').replace(/\S*node_modules\//, '').replace(/\S*koa-jwt-extended-bench\//, '')}`;
  // two checkouts number their lines differently: compare functions by name and file
  return CROSS_CHECKOUT ? name.replace(/:\d+$/, '') : name;
}

/** Reads a dump's self cost per function through callgrind_annotate, JIT addresses named. */
export function readProfile(dumpFile: string, pid: number, perUnit = REQUESTS): Profile {
  const ranges = readPerfMap(pid);
  const profile = readSelfCost(dumpFile, ranges, perUnit);
  for (const callee of CALLERS_OF) profile.callersOf.set(callee, readCallers(dumpFile, ranges, perUnit, callee));
  return profile;
}

/**
 * The functions named in BENCH_CGP_CALLERS (comma-separated, e.g. `Builtins_KeyedLoadIC_Megamorphic`):
 * for each, who calls it and what those calls cost per request (inclusive), JIT callers named.
 * What says which JavaScript function a builtin's growth comes from.
 */
const CALLERS_OF = (process.env.BENCH_CGP_CALLERS ?? '').split(',').filter(Boolean);

function readCallers(dumpFile: string, ranges: ReturnType<typeof readPerfMap>, perUnit: number, callee: string): Map<string, number> {
  const annotated = spawnSync('callgrind_annotate', ['--threshold=100', '--inclusive=yes', '--tree=caller', dumpFile], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (annotated.status !== 0) throw new Error(`callgrind_annotate: ${annotated.stderr}`);
  const callers = new Map<string, number>();
  let pending: Array<[string, number]> = [];
  for (const line of annotated.stdout.split('\n')) {
    const caller = /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?<\s+(.+?)(?:\s+\(\d+x\))?(?:\s+\[[^\]]*\])?$/.exec(line);
    if (caller) {
      pending.push([caller[2], Number(caller[1].replace(/,/g, '')) / perUnit]);
      continue;
    }
    const own = /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?\*\s+(.+)$/.exec(line);
    if (own && own[2].includes(callee)) {
      for (const [where, count] of pending) {
        const address = /^(?:\?\?\?:)?0x([0-9a-f]+)/.exec(where);
        const name = address ? jitName(ranges, Number.parseInt(address[1], 16)) : where.replace(/^[^:]*:/, '');
        callers.set(name, (callers.get(name) ?? 0) + count);
      }
    }
    if (own || line.trim() === '') pending = [];
  }
  return callers;
}

function readSelfCost(dumpFile: string, ranges: ReturnType<typeof readPerfMap>, perUnit: number): Profile {
  const annotated = spawnSync('callgrind_annotate', ['--threshold=100', '--inclusive=no', dumpFile], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (annotated.status !== 0) throw new Error(`callgrind_annotate: ${annotated.stderr}`);
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const line of annotated.stdout.split('\n')) {
    const match = /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.+)$/.exec(line);
    if (!match) continue;
    const count = Number(match[1].replace(/,/g, '')) / perUnit;
    const where = match[2];
    if (where.includes('PROGRAM TOTALS')) {
      total = count;
      continue;
    }
    const address = /^(?:\?\?\?:)?0x([0-9a-f]+)/.exec(where);
    const name = address ? jitName(ranges, Number.parseInt(address[1], 16)) : where.replace(/\s*\[[^\]]*\]$/, '').replace(/^[^:]*:/, '');
    byFunction.set(name, (byFunction.get(name) ?? 0) + count);
  }
  return { total, byFunction, callersOf: new Map() };
}

async function profileMode(execPath: string, serverJs: string, mode: string, redisUrl: string, directory: string): Promise<Profile> {
  const { child, outFile } = spawnUnderCallgrind(execPath, serverJs, mode, redisUrl, directory, { nodeFlags: process.env.BENCH_CGP_NO_PERF === '1' ? [] : ['--perf-basic-prof'] });
  const server = await waitReady(child, `${mode} under callgrind`);
  try {
    const client = await sequentialClient(server.port, server.path, server.token);
    await warmUp(client, mode, server.readyAt);
    callgrindControl('-i', child.pid!, 'on');
    callgrindControl('-z', child.pid!);
    await client.send(REQUESTS);
    callgrindControl('-d', child.pid!);
    client.close();
  } finally {
    await stopServer(server);
  }
  return readProfile(outFile.replace('%p', `${child.pid}.1`), child.pid!);
}

function printTop(label: string, rows: Array<[string, number]>): void {
  console.log(`\n${label}`);
  for (const [name, count] of rows.slice(0, TOP)) console.log(`  ${count.toFixed(0).padStart(8)}  ${name.slice(0, 150)}`);
}

async function main(): Promise<void> {
  const modes = process.argv.slice(2);
  if (modes.length === 0 || modes.length > 2) throw new Error('usage: npm run bench:callgrind-profile -- <mode> [<mode>]');
  const node = benchNodes().at(-1)!; // Node 24 unless BENCH_NODES=machine
  const serverJs = buildBenchServer();
  const redis = await startBenchRedis();
  const directory = mkdtempSync(path.join(os.tmpdir(), 'kje-callgrind-profile-'));
  try {
    const baseServerJs = modes.some((mode) => mode.startsWith('base:')) ? buildBaseServer(process.env.BENCH_BASE) : '';
    const profiles = await Promise.all(modes.map((mode) => mode.startsWith('base:')
      ? profileMode(node.execPath, baseServerJs, mode.slice('base:'.length), redis.url, directory)
      : profileMode(node.execPath, serverJs, mode, redis.url, directory)));
    profiles.forEach((profile, index) => {
      const rows = [...profile.byFunction.entries()].sort((x, y) => y[1] - x[1]);
      printTop(`${node.label} ${modes[index]}: ${profile.total.toFixed(0)} instructions per request (self, by function)`, rows);
    });
    if (profiles.length === 2) {
      const [first, second] = profiles;
      const names = new Set([...first.byFunction.keys(), ...second.byFunction.keys()]);
      const difference = [...names].map((name): [string, number] => [name, (second.byFunction.get(name) ?? 0) - (first.byFunction.get(name) ?? 0)]);
      difference.sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]));
      printTop(`${modes[1]} - ${modes[0]}: ${(second.total - first.total).toFixed(0)} instructions per request, by function`, difference);
      for (const callee of CALLERS_OF) {
        const before = first.callersOf.get(callee)!;
        const after = second.callersOf.get(callee)!;
        const callers = [...new Set([...before.keys(), ...after.keys()])].map((name): [string, number] => [name, (after.get(name) ?? 0) - (before.get(name) ?? 0)]);
        callers.sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]));
        printTop(`${modes[1]} - ${modes[0]}: the callers of ${callee}, inclusive instructions per request`, callers);
      }
    } else {
      for (const callee of CALLERS_OF) printTop(`${modes[0]}: the callers of ${callee}`, [...profiles[0].callersOf.get(callee)!.entries()].sort((x, y) => y[1] - x[1]));
    }
  } finally {
    await redis.stop();
    rmSync(directory, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }); // a child may still be writing its last file
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
