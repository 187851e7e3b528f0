/**
 * One run of the model test: operations (data, so a failing sequence can be replayed and
 * shrunk) executed against a deployment through the public paths (ops.ts) and applied to the
 * reference model, each answer compared with the model's prediction. A token is named after the
 * operation that created it (`12`, or `12a`/`12r` for a rotated pair), so a replay that leaves
 * that operation out skips the operations on its token.
 */
import diagnostics from 'node:diagnostics_channel';
import { JwtManager } from '../../../src';
import { SECRET } from '../../support/server';
import type { Deployment } from './deployments';
import { type HandedPair, type How, type Observed, ReferenceModel } from './model';
import { factsOf, Instance } from './ops';
import { expectedExp, type ModelConfig, type Mode, type TokenFacts } from './reference';

export const ACCESS_LIFETIME = 60;
export const REFRESH_LIFETIME = 300;
/** No deadline (an exp, the end of a reuse interval) is left this close to a step's start. */
const MARGIN_MS = 300;

/** One operation; `id` names what it creates. */
export type Op = { id: number } & (
  | { kind: 'create'; identity: string; type: 'access' | 'refresh'; via: number }
  | { kind: 'check'; token: string; via: number }
  | { kind: 'setRevoked'; token: string; revoked: boolean; how: How; via: number }
  | { kind: 'revokeAll'; identity: string; via: number }
  | { kind: 'rotate'; token: string; calls: number[] }
  | { kind: 'mint'; token: string; via: number }
  | { kind: 'advance'; ms: number }
);

/** An operation without its id (the runner numbers them). */
export type OpSpec = Op extends infer T ? (T extends Op ? Omit<T, 'id'> : never) : never;

export interface Episode {
  reuseIntervalSeconds: number;
  maxSessionLifetime: number | undefined;
}

export interface RunSetup {
  mode: Mode;
  episode: Episode;
  deployment: Deployment;
  clock: { advance(ms: number): void };
}

export interface Held {
  token: string;
  facts: TokenFacts;
  /** Its name: the id of the operation that created it (`a`/`r` for a rotated pair). */
  name: string;
}

/** The store's answer differs from every prediction of the model (or a claim is wrong). */
export class ModelFailure extends Error {}

export class ModelRun {
  readonly model: ReferenceModel;
  /** Every token handed out, in order. */
  readonly held: Held[] = [];
  private readonly byName = new Map<string, Held>();
  private readonly byJti = new Map<string, string>();
  /** Tokens revoked at some point, oldest first (THREATS: re-check the oldest security decision). */
  readonly revokedOnce: Held[] = [];
  readonly trace: string[] = [];
  readonly outcomes: Record<string, number> = {};
  readonly instances: Instance[];
  /** Operations executed so far: the model's clock of creations and cut-offs. */
  executed = 0;
  private readonly storeErrors: string[] = [];
  private readonly onStoreError = (message: unknown) => {
    const { operation, error } = message as { operation: string; error: Error };
    this.storeErrors.push(`${operation}: ${error.message}`);
  };

  constructor(private readonly setup: RunSetup) {
    const { mode, episode, deployment } = setup;
    const config: ModelConfig = {
      mode, reuseIntervalMs: episode.reuseIntervalSeconds * 1000, maxSessionLifetime: episode.maxSessionLifetime,
      bounds: deployment.bounds, accessLifetime: ACCESS_LIFETIME, refreshLifetime: REFRESH_LIFETIME,
    };
    this.model = new ReferenceModel(config);
    this.instances = deployment.stores.map((store) => new Instance(JwtManager.configure({
      secret: SECRET, accessTokenExpires: ACCESS_LIFETIME, refreshTokenExpires: REFRESH_LIFETIME,
      revocation: {
        store, checks: 'all', mode, refreshRotation: true, reuseIntervalSeconds: episode.reuseIntervalSeconds, clockMarginSeconds: 0,
        ...(episode.maxSessionLifetime === undefined ? {} : { maxSessionLifetime: episode.maxSessionLifetime }),
      },
    })));
    diagnostics.subscribe('koa-jwt-extended:store-error', this.onStoreError);
  }

  close(): void {
    diagnostics.unsubscribe('koa-jwt-extended:store-error', this.onStoreError);
  }

  /** The tokens not yet expired. */
  live(): Held[] {
    const now = Date.now();
    return this.held.filter((entry) => entry.facts.exp * 1000 > now);
  }

  /** Runs one operation; resolves with the names of the tokens it touched or created. */
  async execute(op: Op): Promise<string[]> {
    this.executed += 1;
    const touched = await this.dispatch(op);
    // a store-full `add` or `useRefreshToken` (records, families) is part of the model, and a tier given up (`heartbeat`: a stall > 2 s on a
    // loaded machine) changes no answer; any other store error (a `confirm` timeout) is a failure
    const errors = this.storeErrors.splice(0);
    for (const error of errors.filter((text) => text.startsWith('heartbeat:'))) this.tally(`store error:${error}`);
    const unexpected = errors.filter((error) => !/^((add|useRefreshToken): Memory token store is full|heartbeat:)/.test(error));
    if (unexpected.length > 0) this.fail(`store errors: ${unexpected.join('; ')}`);
    return touched;
  }

  /** Moves the clock past any deadline closer than MARGIN_MS, so an operation rarely straddles one; the moves made, as ops. */
  clearDeadlines(): OpSpec[] {
    const moves: OpSpec[] = [];
    const interval = this.model.config.reuseIntervalMs;
    for (let round = 0; round < 20; round += 1) {
      const now = Date.now();
      const deadlines = this.held.map((entry) => entry.facts.exp * 1000);
      for (const family of Object.values(this.model.state.families)) {
        if (interval > 0 && family.parent !== null) deadlines.push(family.atLo + interval, family.atHi + interval);
        if (interval > 0) for (const used of family.recent) deadlines.push(used.atLo + interval, used.atHi + interval);
      }
      const near = deadlines.filter((deadline) => deadline > now - MARGIN_MS && deadline < now + MARGIN_MS);
      if (near.length === 0) break;
      const ms = Math.max(...near) + MARGIN_MS - now;
      this.setup.clock.advance(ms);
      this.trace.push(`advance ${ms} ms (past a deadline)`);
      moves.push({ kind: 'advance', ms });
    }
    return moves;
  }

  fail(why: string): never {
    throw new ModelFailure(`operation ${this.executed}: ${why}`);
  }

  private async dispatch(op: Op): Promise<string[]> {
    switch (op.kind) {
      case 'advance':
        this.setup.clock.advance(op.ms);
        this.trace.push(`advance ${op.ms} ms`);
        return [];
      case 'create':
        return this.create(op.identity, op.type, op.via, `${op.id}`);
      case 'revokeAll':
        await this.apply(`revokeAll ${op.identity} on ${op.via}`, async () => ({
          op: 'revokeAll', identity: op.identity, outcome: await this.instances[op.via].revokeAll(op.identity),
        }));
        return this.live().filter((entry) => entry.facts.identity === op.identity).slice(-3).map((entry) => entry.name);
      default:
        return this.onToken(op);
    }
  }

  /** The operations on one held token (skipped when the run holds no such token). */
  private async onToken(op: Extract<Op, { token: string }>): Promise<string[]> {
    const entry = this.byName.get(op.token);
    if (entry === undefined || ((op.kind === 'rotate' || op.kind === 'mint') && entry.facts.type !== 'refresh')) return [];
    const name = `${entry.facts.type} #${op.token} of ${entry.facts.identity}`;
    if (op.kind === 'check') {
      await this.apply(`check ${name} on ${op.via}`, async () => ({
        op: 'check', token: entry.facts, outcome: await this.instances[op.via].check(entry.token, entry.facts.type),
      }));
      return [];
    }
    if (op.kind === 'setRevoked') {
      const observed = await this.apply(`${op.revoked ? 'revoke' : 'unrevoke'} ${name} by ${op.how} on ${op.via}`, async () => ({
        op: 'setRevoked', token: entry.facts, revoked: op.revoked, how: op.how,
        outcome: await this.instances[op.via].setRevoked(entry.token, op.revoked, op.how),
      }));
      if (op.revoked && 'outcome' in observed && observed.outcome === 'ok') this.revokedOnce.push(entry);
      return [op.token];
    }
    if (op.kind === 'rotate') return [op.token, ...(await this.rotate(entry, op.calls, name, `${op.id}`))];
    return [op.token, ...(await this.mint(entry, op.via, name, `${op.id}`))];
  }

  private async create(identity: string, type: 'access' | 'refresh', via: number, as: string): Promise<string[]> {
    let created: string | undefined;
    await this.apply(`create ${type} #${as} of ${identity} on ${via}`, async () => {
      const result = await this.instances[via].create(identity, type);
      created = result.token;
      return { op: 'create', outcome: result.outcome, created: this.factsOf(created), placeholder: this.unissued(identity, type) };
    });
    return created === undefined ? [] : [this.hold(created, as, undefined, 'a new token')];
  }

  /** A `@RefreshRequired()` route that mints an access token without rotating. */
  private async mint(entry: Held, via: number, name: string, as: string): Promise<string[]> {
    let created: string | undefined;
    await this.apply(`mint access #${as} with ${name} on ${via}`, async () => {
      const result = await this.instances[via].mint(entry.token);
      created = result.token;
      return {
        op: 'mint', token: entry.facts, outcome: result.outcome, created: this.factsOf(created),
        placeholder: this.unissued(entry.facts.identity, 'access'),
      };
    });
    return created === undefined ? [] : [this.hold(created, as, undefined, 'a minted access token')];
  }

  /** N concurrent rotations of one refresh token, each on its own instance. */
  private async rotate(entry: Held, calls: number[], name: string, as: string): Promise<string[]> {
    const family = entry.facts.family!;
    const knownAnswer = this.model.state.families[family]?.answer?.access ?? null; // a jti
    const observed = await this.apply(`rotate ${name} x${calls.length} on ${calls.join('')} (a new pair: #${as}a, #${as}r)`, async () => ({
      op: 'rotate', token: entry.facts,
      results: await Promise.all(calls.map((via) => this.instances[via].rotate(entry.token, this.executed))),
    }));
    const results = observed.op === 'rotate' ? observed.results : [];
    for (const result of results) this.tally(`rotation:${typeof result === 'string' ? result : result.accessFacts.jti === knownAnswer ? 'same pair again' : 'new pair'}`);
    for (const result of results) {
      // H: a retry gets the same two token strings, not only the same tokens
      if (typeof result === 'string' || result.accessFacts.jti !== knownAnswer) continue;
      const handed = [this.byJti.get(result.accessFacts.jti), this.byJti.get(result.refreshFacts.jti)];
      if (handed[0] !== result.access || handed[1] !== result.refresh) this.fail(`${name}: a retry got other strings than the pair first handed out`);
    }
    const fresh = results.find((result): result is HandedPair => typeof result !== 'string' && result.accessFacts.jti !== knownAnswer);
    if (fresh === undefined) return [];
    const start = this.model.state.families[family]?.startIat;
    const pair = [this.hold(fresh.access, `${as}a`, start, 'a rotated access token'), this.hold(fresh.refresh, `${as}r`, start, 'a rotated refresh token')];
    for (const held of pair) if (this.byName.get(held)!.facts.family !== family) this.fail(`a rotated token is in family ${this.byName.get(held)!.facts.family}, not ${family}`);
    return pair;
  }

  /** Runs one store call between two clock readings and applies it to the model. */
  private async apply(describe: string, run: () => Promise<Observed>): Promise<Observed> {
    const lo = Date.now();
    const observed = await run();
    const hi = Date.now();
    const outcome = 'outcome' in observed ? observed.outcome : observed.results.map((r) => (typeof r === 'string' ? r : 'pair')).join(',');
    this.trace.push(`${describe} -> ${outcome} (${hi - lo} ms)`);
    this.tally(`${observed.op}:${outcome}`);
    const mismatch = this.model.apply(this.executed, lo, hi, observed);
    if (mismatch !== undefined) this.fail(`${describe}: the store answered ${outcome}, ${mismatch}`);
    return observed;
  }

  /** Holds a token the library handed out, after checking its exp against the model's. */
  private hold(token: string, name: string, familyStart: number | undefined, what: string): string {
    const facts = factsOf(token, this.executed);
    const exp = expectedExp(this.model.config, facts.type, facts.iat, familyStart);
    if (facts.exp !== exp) this.fail(`${what}: exp ${facts.exp}, the model expects ${exp}`);
    const held = { token, facts, name };
    this.held.push(held);
    this.byName.set(name, held);
    this.byJti.set(facts.jti, token);
    return name;
  }

  private factsOf(token: string | undefined): TokenFacts | undefined {
    return token === undefined ? undefined : factsOf(token, this.executed);
  }

  /** What the model is told of a token the store refused to record (nothing was handed out). */
  private unissued(identity: string, type: 'access' | 'refresh'): TokenFacts {
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + (type === 'access' ? ACCESS_LIFETIME : REFRESH_LIFETIME);
    return { jti: `unissued:${this.executed}`, identity, type, iat, exp, family: type === 'refresh' ? `unissued:${this.executed}` : null, createdAt: this.executed };
  }

  private tally(name: string): void {
    this.outcomes[name] = (this.outcomes[name] ?? 0) + 1;
  }
}
