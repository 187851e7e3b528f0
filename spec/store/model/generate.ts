/**
 * The random operations of the model test (seeded), and the checks after each: the tokens it
 * touched, two random live ones, the oldest live token ever revoked and a random one of those
 * (THREATS: fill every bound, then re-check the oldest security decision); every 100 steps,
 * every live token. Each check goes through a random instance.
 */
import type { How } from './model';
import type { Held, ModelRun, OpSpec } from './run';

const IDENTITIES = ['alice', 'alice', 'alice', 'alice', 'bob', 'bob', 'carol', 'dave'];

export class OpGenerator {
  constructor(private readonly run: ModelRun, private readonly random: () => number) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  private via(): number {
    return Math.floor(this.random() * this.run.instances.length);
  }

  /** Mostly a live token, sometimes any (an expired one must be refused as expired). */
  private anyToken(): string | undefined {
    const pool = this.random() < 0.9 ? this.run.live() : this.run.held;
    return pool.length === 0 ? undefined : this.pick(pool).name;
  }

  /** A refresh token, biased towards the interesting ones: a live family's newest, its last rotated, any. */
  private refreshToken(): string | undefined {
    const roll = this.random();
    const families = this.run.model.state.families;
    const isWanted = ({ facts }: Held) => {
      const family = families[facts.family!];
      if (facts.type !== 'refresh' || family === undefined) return false;
      if (roll < 0.55) return !family.revoked && (family.current === null || family.current === facts.jti);
      if (roll < 0.7) return family.parent === facts.jti;
      if (roll < 0.8) return family.recent.some((used) => used.jti === facts.jti); // rotated before the last, maybe still a retry
      return true;
    };
    const wanted = this.run.live().filter(isWanted);
    if (wanted.length > 0) return this.pick(wanted).name;
    const refresh = this.run.held.filter((entry) => entry.facts.type === 'refresh');
    return refresh.length === 0 ? undefined : this.pick(refresh).name;
  }

  /** The step's operation. */
  next(): OpSpec {
    const roll = this.random();
    const mode = this.run.model.config.mode;
    if (roll < 0.2) return { kind: 'create', identity: this.pick(IDENTITIES), type: this.random() < 0.5 ? 'access' : 'refresh', via: this.via() };
    const token = roll < 0.52 ? this.anyToken() : roll < 0.84 ? this.refreshToken() : undefined;
    if (roll < 0.28 && token !== undefined) return { kind: 'check', token, via: this.via() };
    if (roll < 0.46 && token !== undefined) {
      const hows: How[] = mode === 'blocklist' ? ['token', 'payload', 'jti', 'jti', 'bare'] : ['token', 'payload', 'jti'];
      return { kind: 'setRevoked', token, revoked: true, how: this.pick(hows), via: this.via() };
    }
    if (roll < 0.5 && token !== undefined) return { kind: 'setRevoked', token, revoked: false, how: this.pick<How>(['token', 'payload', 'jti']), via: this.via() };
    if (roll >= 0.5 && roll < 0.52) return { kind: 'revokeAll', identity: this.pick(IDENTITIES), via: this.via() };
    if (roll >= 0.52 && roll < 0.74 && token !== undefined) {
      const n = this.random() < 0.75 ? 1 : 2 + Math.floor(this.random() * 4);
      return { kind: 'rotate', token, calls: Array.from({ length: n }, () => this.via()) };
    }
    if (roll >= 0.74 && roll < 0.84 && token !== undefined) return { kind: 'mint', token, via: this.via() };
    return { kind: 'advance', ms: this.advance() };
  }

  /** Mostly under the reuse interval, often just past it, sometimes past the access or the refresh lifetime. */
  private advance(): number {
    const roll = this.random();
    const ms = roll < 0.65 ? 100 + this.random() * 1900
      : roll < 0.9 ? 9000 + this.random() * 3000
        : roll < 0.98 ? 55_000 + this.random() * 10_000 : 190_000 + this.random() * 120_000;
    return Math.round(ms);
  }

  /** The checks after step `step`, which touched `touched`. */
  checksAfter(step: number, touched: string[]): OpSpec[] {
    const live = this.run.live().map((entry) => entry.name);
    const now = Date.now();
    const revoked = this.run.revokedOnce.filter((entry) => entry.facts.exp * 1000 > now).map((entry) => entry.name);
    const sample = (pool: string[]) => (pool.length === 0 ? [] : [this.pick(pool)]);
    const tokens = step % 100 === 0 ? live : [...touched, ...sample(live), ...sample(live), ...revoked.slice(0, 1), ...sample(revoked)];
    return tokens.map((token) => ({ kind: 'check', token, via: this.via() }));
  }
}
