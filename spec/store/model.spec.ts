/**
 * The model-based store test (issue 21): random sequences of create / check / revoke (by token,
 * payload, jti with { identity, expiresAt }, bare jti) / unrevoke / revokeAllTokens / rotate
 * (alone and N concurrent, inside and outside the reuse interval) / reuse of a used refresh
 * token / minting with one / the clock moving, on every store in both modes, against the
 * reference model in spec/store/model/ (written from DESIGN D and H).
 *
 * KJE_MODEL_SEED=<n> repeats a run (the seed is printed, and named in every failure);
 * KJE_MODEL_STEPS=<n> sets the steps per store and mode (CI=true: a few thousand; else fewer);
 * a failure is shrunk for at most KJE_MODEL_SHRINK_MS (default 20 000; 0: not shrunk).
 */
import { JwtManager } from '../../src';
import { useMovableClock } from '../support/clock';
import { requireRedis, startStandalone, type StandaloneRedis } from '../support/redis';
import { type DeploymentKind, openDeployment } from './model/deployments';
import { type Episode, runModel, type RunStats } from './model/runner';
import type { Mode } from './model/reference';

const IS_CI = process.env.CI === 'true';
const SEED = process.env.KJE_MODEL_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.KJE_MODEL_SEED);
const STEPS: Record<DeploymentKind, number> = IS_CI
  ? { memory: 3000, 'memory-small': 3000, redis: 3000, tiered: 3000 }
  : { memory: 1200, 'memory-small': 1200, redis: 600, tiered: 600 };
/** Time spent shrinking a failing sequence (KJE_MODEL_SHRINK_MS; 0: none). */
const SHRINK_MS = Number(process.env.KJE_MODEL_SHRINK_MS ?? 20_000);
const EPISODES: Episode[] = [
  { reuseIntervalSeconds: 10, maxSessionLifetime: undefined },
  { reuseIntervalSeconds: 0, maxSessionLifetime: undefined },
  { reuseIntervalSeconds: 10, maxSessionLifetime: 200 },
];

function stepsFor(kind: DeploymentKind): number {
  return process.env.KJE_MODEL_STEPS === undefined ? STEPS[kind] : Number(process.env.KJE_MODEL_STEPS);
}

function summary(kind: string, mode: Mode, total: RunStats, ms: number): string {
  const pick = (prefix: string) => Object.entries(total.outcomes)
    .filter(([name]) => name.startsWith(prefix)).map(([name, count]) => `${name.slice(prefix.length)} ${count}`).join(', ');
  return `      ${kind} ${mode}: ${total.steps} steps, ${total.checks} checks in ${(ms / 1000).toFixed(1)} s; `
    + `${total.branchedSteps} steps straddled a deadline\n        rotation calls: ${pick('rotation:')}\n        creations: ${pick('create:')}; `
    + `revocations: ${pick('setRevoked:')}${pick('store error:') === '' ? '' : `\n        store errors: ${pick('store error:')}`}`;
}

describe(`model-based store test (seed ${SEED}: KJE_MODEL_SEED=${SEED} repeats it)`, function () {
  this.timeout(120_000);
  let redis: StandaloneRedis | undefined;
  let clock: ReturnType<typeof useMovableClock>;
  let prefixes = 0;

  /** Our own redis-server, started by the first Redis case (the memory cases need none). */
  const redisUrl = async (ctx: Mocha.Context): Promise<string> => {
    requireRedis(ctx);
    redis ??= await startStandalone();
    return redis.url;
  };
  after(async () => redis?.server?.stop());
  beforeEach(() => {
    clock = useMovableClock();
  });
  afterEach(() => {
    clock.restore();
    JwtManager.reset();
  });

  const kinds: DeploymentKind[] = ['memory', 'memory-small', 'redis', 'tiered'];
  kinds.forEach((kind, kindIndex) => (['allowlist', 'blocklist'] as const).forEach((mode, modeIndex) => {
    it(`${kind}, ${mode} mode: every answer is the reference model's`, async function () {
      const url = kind === 'redis' || kind === 'tiered' ? await redisUrl(this) : '';
      const started = performance.now();
      const total: RunStats = { steps: 0, checks: 0, branchedSteps: 0, outcomes: {} };
      const steps = Math.ceil(stepsFor(kind) / EPISODES.length);
      for (const [episodeIndex, episode] of EPISODES.entries()) {
        const seed = (SEED + kindIndex * 1000 + modeIndex * 100 + episodeIndex) >>> 0;
        const open = () => {
          prefixes += 1;
          return openDeployment(kind, mode, url, `kje-model:${process.pid}:${prefixes}:`);
        };
        try {
          const stats = await runModel({
            mode, episode, steps, seed, open, clock, shrinkMs: SHRINK_MS,
            label: `${kind} ${mode}, reuseIntervalSeconds ${episode.reuseIntervalSeconds}, maxSessionLifetime ${episode.maxSessionLifetime ?? 'unset'} `
              + `(KJE_MODEL_SEED=${SEED} npx mocha spec/store/model.spec.ts -g '${kind}, ${mode}')`,
          });
          total.steps += stats.steps;
          total.checks += stats.checks;
          total.branchedSteps += stats.branchedSteps;
          for (const [name, count] of Object.entries(stats.outcomes)) total.outcomes[name] = (total.outcomes[name] ?? 0) + count;
        } finally {
          JwtManager.reset();
        }
      }
      console.log(summary(kind, mode, total, performance.now() - started));
    });
  }));
});
