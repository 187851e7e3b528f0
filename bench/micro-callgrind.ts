/**
 * Instructions per call of the micro benchmark's pieces (bench/micro-pieces.ts), each in its own
 * process under callgrind with the bench's node flags: warmed up uninstrumented, then WINDOWS
 * windows of CALLS calls counted (callgrind_control -z / -d around each), the median window less
 * the harness's empty loop. Robust to a loaded machine, unlike the wall-clock micro benchmark.
 * `BENCH_CGM_PROFILE=1` also prints each piece's self instructions per call by function (JIT code named).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { callgrindControl, NODE_FLAGS } from './callgrind';
import { readProfile } from './callgrind-profile';
import { buildBenchServer, median, NodeBinary } from './runtime';

const WINDOWS = Number(process.env.BENCH_CGM_WINDOWS ?? 3);
const CALLS = Number(process.env.BENCH_CGM_CALLS ?? 2000);

function irOf(dumpFile: string): number {
  const summary = /^summary: (\d+)/m.exec(readFileSync(dumpFile, 'utf8'));
  if (!summary) throw new Error(`no summary in ${dumpFile}`);
  return Number(summary[1]);
}

/** Instructions per call of one piece (the harness's loop not subtracted). */
async function countPiece(node: NodeBinary, piecesJs: string, name: string, directory: string, calls: number): Promise<number> {
  const outFile = path.join(directory, `callgrind.${name}.%p`);
  const profile = process.env.BENCH_CGM_PROFILE === '1';
  const flags = profile ? [...NODE_FLAGS, '--perf-basic-prof'] : NODE_FLAGS;
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${outFile}`, node.execPath, ...flags, piecesJs, name], { stdio: ['pipe', 'pipe', 'ignore'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const expect = async (word: string) => {
    const { value, done } = await lines.next();
    if (done || value !== word) throw new Error(`micro piece ${name}: expected ${word}, got ${value}`);
  };
  try {
    await expect('WARM');
    callgrindControl('-i', child.pid!, 'on');
    const windows: number[] = [];
    for (let window = 1; window <= WINDOWS; window++) {
      callgrindControl('-z', child.pid!);
      child.stdin!.write(`go ${calls}\n`);
      await expect('DONE');
      callgrindControl('-d', child.pid!);
      windows.push(irOf(outFile.replace('%p', `${child.pid}.${window}`)) / calls);
    }
    if (profile) {
      const rows = [...readProfile(outFile.replace('%p', `${child.pid}.1`), child.pid!, calls).byFunction.entries()].sort((x, y) => y[1] - x[1]);
      console.log(`${node.label} ${name}: self instructions per call, by function`);
      for (const [where, count] of rows.slice(0, 40)) console.log(`  ${count.toFixed(0).padStart(8)}  ${where.slice(0, 140)}`);
    }
    return median(windows);
  } finally {
    // valgrind writes a last dump as it exits: wait for it, so the directory can go
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  }
}

/**
 * Instructions per call of each named piece under `node`, the empty loop subtracted.
 *
 * @example await countMicroPieces(node, ['floor', 'miss'])
 */
export async function countMicroPieces(node: NodeBinary, names: string[]): Promise<Record<string, number>> {
  const piecesJs = path.join(path.dirname(buildBenchServer()), 'micro-pieces.js');
  const directory = mkdtempSync(path.join(os.tmpdir(), 'kje-callgrind-micro-'));
  try {
    const loop = await countPiece(node, piecesJs, 'loop', directory, CALLS);
    const counts: Record<string, number> = {};
    for (const name of names) counts[name] = (await countPiece(node, piecesJs, name, directory, name === 'rs256' ? CALLS / 4 : CALLS)) - loop;
    return counts;
  } finally {
    try {
      rmSync(directory, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }); // a child may still be writing its last file
    } catch (error) {
      console.error(`could not remove ${directory}: ${String(error)}`); // never in place of the counts or the error that ended them
    }
  }
}

if (require.main === module) {
  void (async () => {
    const { benchNodes } = require('./runtime') as typeof import('./runtime');
    for (const node of benchNodes()) {
      const counts = await countMicroPieces(node, (process.argv[2] ?? 'floor,miss,hit').split(','));
      console.log(node.label, Object.entries(counts).map(([k, v]) => `${k} ${v.toFixed(0)}`).join('  '));
      if (counts.floor && counts.miss) console.log(`  miss / floor ${(counts.miss / counts.floor).toFixed(3)} (target <= 1.30)`);
    }
  })();
}
