/**
 * Runs the model test: seeded random steps (generate.ts), each followed by its checks,
 * against a fresh deployment and the reference model. On a failure the operations so far are
 * shrunk (replayed on fresh deployments with chunks left out, while a failure remains, within
 * a time budget) and the failure names the seed, the step, and the shortest sequence found.
 */
import { prng } from '../../support/prng';
import type { Deployment } from './deployments';
import { OpGenerator } from './generate';
import type { Mode } from './reference';
import { type Episode, ModelFailure, ModelRun, type Op, type OpSpec } from './run';

export { ModelFailure };
export type { Episode };

export interface RunOptions {
  mode: Mode;
  episode: Episode;
  steps: number;
  seed: number;
  /** A fresh deployment (the shrinker replays on new ones). */
  open(): Promise<Deployment>;
  clock: { advance(ms: number): void };
  /** Prefixed to a failure: what ran and how to run it again. */
  label: string;
  /** Longest time spent shrinking a failure; 0: no shrinking. */
  shrinkMs: number;
}

export interface RunStats {
  steps: number;
  checks: number;
  branchedSteps: number;
  outcomes: Record<string, number>;
}

export async function runModel(options: RunOptions): Promise<RunStats> {
  const deployment = await options.open();
  const run = new ModelRun({ ...options, deployment });
  const generate = new OpGenerator(run, prng(options.seed));
  const ops: Op[] = [];
  const numbered = (spec: OpSpec): Op => {
    const op = { ...spec, id: ops.length } as Op;
    ops.push(op);
    return op;
  };
  const stats: RunStats = { steps: 0, checks: 0, branchedSteps: 0, outcomes: run.outcomes };
  let step = 0;
  try {
    for (step = 1; step <= options.steps; step += 1) {
      run.clearDeadlines().forEach(numbered);
      const touched = await run.execute(numbered(generate.next()));
      for (const check of generate.checksAfter(step, touched)) {
        stats.checks += 1;
        await run.execute(numbered(check));
      }
      stats.steps += 1;
    }
  } catch (error) {
    if (!(error instanceof ModelFailure)) throw error;
    const found = `${options.label}\n  step ${step}, ${error.message}\n  seed ${options.seed}; the last operations:\n    ${run.trace.slice(-25).join('\n    ')}`;
    run.close();
    await deployment.close();
    throw new ModelFailure(`${found}${await shrink(options, ops)}`);
  }
  run.close();
  await deployment.close();
  stats.branchedSteps = run.model.branchedSteps;
  return stats;
}

/** Replays `ops` on a fresh deployment: the failure, or undefined when it passes. */
async function replay(options: RunOptions, ops: Op[]): Promise<{ failure: ModelFailure; trace: string[] } | undefined> {
  const deployment = await options.open();
  const run = new ModelRun({ ...options, deployment });
  try {
    for (const op of ops) await run.execute(op);
    return undefined;
  } catch (error) {
    if (error instanceof ModelFailure) return { failure: error, trace: run.trace };
    throw error;
  } finally {
    run.close();
    await deployment.close();
  }
}

/** Leaves out ever smaller chunks of `ops` while the replay still fails (delta debugging, time-boxed). */
async function shrink(options: RunOptions, ops: Op[]): Promise<string> {
  if (options.shrinkMs <= 0) return '';
  const deadline = performance.now() + options.shrinkMs;
  let failing = await replay(options, ops);
  if (failing === undefined) return '\n  (a replay of these operations passed: not shrunk)';
  let current = ops;
  for (let chunk = Math.ceil(current.length / 2); chunk >= 1 && performance.now() < deadline;) {
    let removed = false;
    for (let start = 0; start < current.length && performance.now() < deadline;) {
      const candidate = [...current.slice(0, start), ...current.slice(start + chunk)];
      const result = await replay(options, candidate);
      if (result === undefined) start += chunk;
      else [current, failing, removed] = [candidate, result, true];
    }
    if (!removed) chunk = Math.floor(chunk / 2);
  }
  const complete = performance.now() < deadline ? '' : ` (stopped after ${options.shrinkMs} ms)`;
  return `\n  shrunk from ${ops.length} to ${current.length} operations${complete}, which fail with ${failing.failure.message}:`
    + `\n    ${failing.trace.join('\n    ')}`;
}
