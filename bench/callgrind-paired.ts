/**
 * `npm run bench:callgrind-paired`: instructions per request of this checkout against another one
 * (`BENCH_BASE`, e.g. a `git worktree` of the last release with its own `node_modules`), paired.
 * For each Node (BENCH_NODES), each variant (BENCH_CG_VARIANTS, default `a,b,c`) and each run
 * (BENCH_CG_RUNS, default 2), the base's server is counted, then this checkout's, one process
 * after the other in the same order, under the same Node binary and the same callgrind flags
 * (bench/callgrind.ts's countOnce: warm-up uninstrumented, median of the counted windows). The
 * base's server is transpiled by the base's own bench/runtime.ts (its own TypeScript), so each
 * side runs its own sources against its own dependencies. Prints each side, the change in %, and
 * the +1 % target of the performance issue for b and c: for the counted figure and for the
 * timer-free one (less what the server does per second when idle, see callgrind.ts's Run).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { countOnce, Run } from './callgrind';
import { startBenchRedis } from './redis';
import { VARIANTS } from './report';
import { benchNodes, buildBenchServer, median, NodeBinary } from './runtime';

const BASE = process.env.BENCH_BASE;
const RUNS = Number(process.env.BENCH_CG_RUNS ?? 2);
const WANTED = (process.env.BENCH_CG_VARIANTS ?? 'a,b,c').split(',');
/** Variants the target (no more than the base + 1 %) applies to. */
const TARGETED = new Set(['b', 'c']);

/** The base checkout's compiled bench server, built by its own bench/runtime.ts. */
export function buildBaseServer(base: string | undefined): string {
  if (!base) throw new Error('BENCH_BASE=<path of the other checkout> is required');
  const script = "process.stdout.write(require('./bench/runtime').buildBenchServer())";
  const built = spawnSync(path.join(base, 'node_modules', '.bin', 'ts-node'), ['--transpile-only', '--project', 'tsconfig.json', '-e', script], { cwd: base, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`building the base's bench server in ${base}: ${built.stderr}`);
  return built.stdout.trim();
}

async function pairNode(node: NodeBinary, sides: Array<{ name: string; serverJs: string }>, redisUrl: string, directory: string) {
  const counts: Record<string, Record<string, Run[]>> = {};
  for (const variant of VARIANTS.filter((v) => WANTED.includes(v.key))) {
    counts[variant.key] = {};
    for (let run = 0; run < RUNS; run += 1) {
      for (const side of sides) {
        const counted = await countOnce(node, side.serverJs, variant.mode, redisUrl, directory);
        (counts[variant.key][side.name] ??= []).push(counted);
        process.stdout.write(`${node.label} ${side.name} ${variant.key} run ${run + 1}: ${counted.median.toFixed(0)} (windows ${counted.windows.map((w) => w.toFixed(0)).join(' ')}; idle ${counted.idlePerSecond?.toFixed(0)}/s, timer-free ${counted.timerFree?.toFixed(0)})\n`);
      }
    }
  }
  return counts;
}

async function main(): Promise<void> {
  if (!BASE) throw new Error('BENCH_BASE=<path of the other checkout> is required');
  const nodes = benchNodes();
  const sides = [
    { name: 'base', serverJs: buildBaseServer(path.resolve(BASE)) },
    { name: 'head', serverJs: buildBenchServer() },
  ];
  const redis = await startBenchRedis();
  const directory = mkdtempSync(path.join(os.tmpdir(), 'kje-callgrind-paired-'));
  try {
    const results = await Promise.all(nodes.map((node) => pairNode(node, sides, redis.url, directory)));
    const baseHead = spawnSync('git', ['-C', path.resolve(BASE), 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    console.log(`\ninstructions per request, base ${baseHead} vs head ${head} (each run: base then head; median window of each)`);
    nodes.forEach((node, index) => {
      console.log(`\n${node.label}`);
      for (const [key, bySide] of Object.entries(results[index])) {
        for (const figure of ['median', 'timerFree'] as const) {
          const base = median(bySide.base.map((r) => r[figure] ?? NaN));
          const now = median(bySide.head.map((r) => r[figure] ?? NaN));
          const change = ((now - base) / base) * 100;
          const target = TARGETED.has(key) ? `target <= +1.00 %: ${change <= 1 ? 'met' : 'MISSED'}` : '';
          const runs = (rs: Run[]) => rs.map((r) => (r[figure] ?? NaN).toFixed(0)).join(' / ');
          const label = figure === 'median' ? 'counted   ' : 'timer-free';
          console.log(`  ${key.padEnd(4)} ${label} base ${runs(bySide.base).padEnd(17)} head ${runs(bySide.head).padEnd(17)} ${change >= 0 ? '+' : ''}${change.toFixed(2)} %   ${target}`);
        }
        const idle = (rs: Run[]) => rs.map((r) => (r.idlePerSecond ?? NaN).toFixed(0)).join(' / ');
        console.log(`       idle instructions per second: base ${idle(bySide.base)}, head ${idle(bySide.head)}`);
      }
    });
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
