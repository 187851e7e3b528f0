/**
 * The reference model of the model-based store test, written from DESIGN D and H (and the
 * bounds `MemoryTokenStore` states in its TSDoc, see records.ts), not from the stores:
 *
 * - a token is refused once expired; else when its record says so (allowlist: unknown or
 *   revoked; blocklist: a live revocation, or a folded one covering its iat), when its
 *   identity's `revokeAllTokens` came after it was created, or when its family is revoked;
 * - a refresh token of a family that has rotated past it is used: within `reuseIntervalSeconds`
 *   of its own rotation (only the one rotated last) it passes the guard and a rotation gets the
 *   same pair again; after it (or at once with interval 0), presenting it revokes the family;
 *   a refresh route that mints with a used token (no rotation) revokes the family too. A token
 *   already refused on its own (expired, its record, the cut-off) is refused without more: the
 *   design reads "a used refresh token presented again" as one that would otherwise pass;
 * - N concurrent rotations of one unused token: with an interval all N get one new pair; with
 *   interval 0 one gets it and the others are reuse (the family is revoked);
 * - under `maxSessionLifetime` no token of a family expires after its first token's iat + the bound.
 *
 * The model is a set of candidate states (see time.ts): an operation is evaluated on each,
 * once per combination of undecided time questions, and the branches whose outcome matches
 * the store's answer survive.
 */
import { addRecord, addRecordIfAbsent, type Bounds, isFoldedAway, liveRecord, pruneRecords, type RecordState } from './records';
import type { StepTime } from './time';
import { MAX_RECENT } from '../../../src/store/token-store';

export type Mode = 'allowlist' | 'blocklist';

export interface ModelConfig {
  mode: Mode;
  reuseIntervalMs: number;
  /** Seconds, or undefined for none. */
  maxSessionLifetime: number | undefined;
  /** `MemoryTokenStore`'s bounds; undefined for Redis. */
  bounds: Bounds | undefined;
  /** Seconds. */
  accessLifetime: number;
  refreshLifetime: number;
}

/**
 * The exp a new token must carry: its lifetime from its iat, and under `maxSessionLifetime` a
 * refresh token (and a rotated pair's access token) never past its family's start + the bound.
 */
export function expectedExp(config: ModelConfig, type: 'access' | 'refresh', iat: number, familyStart: number | undefined): number {
  const own = iat + (type === 'access' ? config.accessLifetime : config.refreshLifetime);
  const bound = config.maxSessionLifetime;
  if (bound === undefined || (type === 'access' && familyStart === undefined)) return own;
  return Math.min(own, (familyStart ?? iat) + bound);
}

/** What the test knows of a token it holds: its claims, and the step that created it. */
export interface TokenFacts {
  jti: string;
  identity: string;
  type: 'access' | 'refresh';
  iat: number;
  exp: number;
  family: string | null;
  createdAt: number;
}

/** The last rotation's answer: the pair's jtis once seen (a winner whose recording failed hands out nothing). */
interface Answer {
  access: string | null;
  refresh: string | null;
  createdAt: number;
  /** The pair's facts (under placeholder names while the test has not seen it): what a retry records. */
  pair: Pair;
}

type Pair = { access: TokenFacts; refresh: TokenFacts };

export interface Family {
  revoked: boolean;
  /** jti of the family's newest refresh token; `null` until rotated (a placeholder while it is unseen). */
  current: string | null;
  /** jti rotated last, and when (a range: the store read its clock inside the step). */
  parent: string | null;
  atLo: number;
  atHi: number;
  /** The jtis rotated before `parent`, newest first, and when: a retry of one of the first `MAX_RECENT` inside its interval gets the newest answer. */
  recent: UsedAt[];
  answer: Answer | null;
  startIat: number;
  lastExpMs: number;
}

/** One jti rotated, and when (a range: the store read its clock inside the step). */
export interface UsedAt {
  jti: string;
  atLo: number;
  atHi: number;
}

/** When the store's entry of a rotated family may go (ms, a range: it read the clock inside the step). */
interface StoredFamily {
  untilLo: number;
  untilHi: number;
}

export interface ModelState extends RecordState {
  cutoffs: Record<string, number>;
  families: Record<string, Family>;
  /**
   * The families the store holds an entry for (from their first rotation until the longest token
   * lifetime after their last one; a reuse does not extend it): `MemoryTokenStore` holds at most
   * `max` live ones, and a rotation that needs one more answers 503.
   */
  storedFamilies: Record<string, StoredFamily>;
}

/** When `jti` was rotated, if the store still knows (the last rotated, or one of the `MAX_RECENT` before it); else `undefined`. */
export function usedAt(family: Family, jti: string): UsedAt | undefined {
  if (jti === family.parent) return { jti, atLo: family.atLo, atHi: family.atHi };
  return family.recent.slice(0, MAX_RECENT).find((entry) => entry.jti === jti);
}

export function emptyState(): ModelState {
  return { records: {}, folded: {}, nextOrder: 0, forgottenRevoked: {}, cutoffs: {}, families: {}, storedFamilies: {} };
}

/** The guard's verdict on one token. */
export type Verdict = 'expired' | 'revoked' | 'reuse' | 'retry' | 'ok';

/** One evaluation of one operation on one candidate state. */
export class Evaluation {
  constructor(
    readonly state: ModelState,
    readonly config: ModelConfig,
    readonly time: StepTime,
    /** The step number: creation time of what the step creates, and of its cut-offs. */
    readonly step: number,
  ) {}

  /** What the guard answers for `token`, before any side effect. */
  verdict(token: TokenFacts): Verdict {
    const { state, time } = this;
    if (!time.before(token.exp * 1000)) return 'expired';
    const family = token.family === null ? undefined : state.families[token.family];
    if (family?.revoked || this.isRefusedByRecord(token) || (state.cutoffs[token.identity] ?? -1) > token.createdAt) return 'revoked';
    if (token.type !== 'refresh' || family === undefined || family.current === null || family.current === token.jti) return 'ok';
    const used = usedAt(family, token.jti);
    const isRetry = used !== undefined && this.config.reuseIntervalMs > 0 && time.within(used.atLo, used.atHi, this.config.reuseIntervalMs);
    return isRetry ? 'retry' : 'reuse';
  }

  /** The guard's check, with its side effect (reuse revokes the family): `ok` (a retry passes), `expired` or `revoked`. */
  check(token: TokenFacts): 'ok' | 'expired' | 'revoked' {
    const verdict = this.verdict(token);
    if (verdict === 'reuse') this.revokeFamily(token.family!);
    return verdict === 'retry' ? 'ok' : verdict === 'reuse' ? 'revoked' : verdict;
  }

  private isRefusedByRecord(token: TokenFacts): boolean {
    const record = liveRecord(this.state, token.jti, this.time);
    if (this.config.mode === 'allowlist') return record === undefined || record.revoked;
    if (record !== undefined) return record.revoked;
    return this.config.bounds !== undefined && isFoldedAway(this.state, token.identity, token.iat, this.time);
  }

  revokeFamily(family: string): void {
    const known = this.state.families[family];
    known.revoked = true;
    known.answer = null;
  }

  /** A new token's record (allowlist; blocklist writes nothing): `ok`, or `unavailable` when the store is full. */
  record(jti: string, identity: string, exp: number, iat: number): 'ok' | 'unavailable' {
    if (this.config.mode === 'blocklist') return 'ok';
    const record = { identity, revoked: false, isRevocation: false, expMs: exp * 1000, iat };
    return addRecord(this.state, jti, record, this.config.bounds, this.time, (identity) => this.revokeAll(identity)) === 'full' ? 'unavailable' : 'ok';
  }

  /** A new token handed out: `createAccessToken`/`createRefreshToken` (a refresh token starts its family). */
  create(token: TokenFacts): 'ok' | 'unavailable' {
    const outcome = this.record(token.jti, token.identity, token.exp, token.iat);
    if (outcome === 'ok' && token.family !== null) this.startFamily(token);
    return outcome;
  }

  private startFamily(token: TokenFacts): void {
    const lastExpMs = token.exp * 1000;
    this.state.families[token.family!] = {
      revoked: false, current: null, parent: null, atLo: 0, atHi: 0, recent: [], answer: null, startIat: token.iat, lastExpMs,
    };
  }

  /** Whether `token` may be created now: a refresh token's family must be new. */
  isNewFamily(family: string): boolean {
    return this.state.families[family] === undefined;
  }

  family(name: string): Family | undefined {
    return this.state.families[name];
  }

  /**
   * `revokeToken` (revoked true) or `unrevokeToken` of `token`, given as the token or its
   * payload (`withIat`) or by jti (blocklist: with `{ identity, expiresAt }`; `bare`: without).
   * An expired token's outcome is not asserted (`any`): nothing it does can matter.
   */
  setRevoked(token: TokenFacts, revoked: boolean, how: 'token' | 'payload' | 'jti' | 'bare'): string {
    const { state, config, time } = this;
    const blocklist = config.mode === 'blocklist';
    if (revoked && blocklist && how === 'bare') return 'usage'; // checked before the store is touched
    if (!time.before(token.exp * 1000)) return 'any';
    const record = liveRecord(state, token.jti, time);
    if (record !== undefined) {
      record.revoked = revoked;
      return 'ok';
    }
    if (!revoked || !blocklist) return 'notFound';
    const revocation = {
      identity: token.identity, revoked: true, isRevocation: true, expMs: token.exp * 1000, iat: how === 'jti' ? null : token.iat,
    };
    return addRecord(state, token.jti, revocation, config.bounds, time, (identity) => this.revokeAll(identity)) === 'full' ? 'unavailable' : 'ok';
  }

  /** `revokeAllTokens(identity)`: everything of the identity created before this step is refused. */
  revokeAll(identity: string): 'ok' {
    this.state.cutoffs[identity] = this.step;
    return 'ok';
  }

  /**
   * A rotated pair's records (allowlist), access first, each only when absent: what the winner
   * and every retry inside the interval write (DESIGN H: whichever answer a client gets, the
   * pair works once it is sent). `unavailable` when the store cannot take one.
   */
  recordPair(pair: Pair): 'ok' | 'unavailable' {
    if (this.config.mode === 'blocklist') return 'ok';
    for (const token of [pair.access, pair.refresh]) {
      const record = { identity: token.identity, revoked: false, isRevocation: false, expMs: token.exp * 1000, iat: token.iat };
      if (addRecordIfAbsent(this.state, token.jti, record, this.config.bounds, this.time) === 'full') return 'unavailable';
    }
    return 'ok';
  }

  /**
   * The winner of a rotation of `token` (unused, passing): the family moves on to the new pair
   * (seen, or `null` when its recording failed and nothing was handed out), then the pair is
   * recorded (`recordPair`). Resolves with the outcome every caller of the step gets (the others
   * record the same pair: they find it there, or fail alike).
   */
  rotate(token: TokenFacts, pair: Pair | null): 'new' | 'unavailable' | 'no room' {
    const family = this.state.families[token.family!];
    if (!this.holdFamily(token.family!)) return 'no room'; // a new family entry does not fit: 503, and nothing changes
    const pending = `pending:${this.step}`;
    const access = pair?.access ?? this.pendingFacts(token, `${pending}:access`, 'access');
    const refresh = pair?.refresh ?? this.pendingFacts(token, `${pending}:refresh`, 'refresh');
    // the store keeps the jtis rotated before (with an interval): retries of them get the newest answer
    const recent = this.config.reuseIntervalMs > 0 && family.parent !== null ? [{ jti: family.parent, atLo: family.atLo, atHi: family.atHi }, ...family.recent] : [];
    Object.assign(family, {
      current: refresh.jti, parent: token.jti, atLo: this.time.lo, atHi: this.time.hi, recent,
      answer: this.config.reuseIntervalMs > 0 ? { access: null, refresh: null, createdAt: this.step, pair: { access, refresh } } : null,
    });
    const outcome = this.recordPair({ access, refresh }) === 'ok' ? 'new' : 'unavailable';
    family.lastExpMs = Math.max(family.lastExpMs, refresh.exp * 1000, access.exp * 1000);
    return outcome;
  }

  /** Whether the store's entry of a stored family is still live (a choice when its end falls inside the step). */
  private isStoredLive(name: string): boolean {
    const stored = this.state.storedFamilies[name];
    if (stored === undefined) return false;
    const live = this.time.hi < stored.untilLo ? true : this.time.lo >= stored.untilHi ? false : !this.time.choose();
    if (!live) delete this.state.storedFamilies[name];
    return live;
  }

  /**
   * The store's entry for a family being rotated: extended to the longest token lifetime from now
   * (keepUntil: whole seconds, rounded up); a new one only while fewer than `max` are live.
   */
  private holdFamily(name: string): boolean {
    const bounds = this.config.bounds;
    if (!this.isStoredLive(name) && bounds !== undefined) {
      const live = Object.keys(this.state.storedFamilies).filter((other) => this.isStoredLive(other)).length;
      if (live >= bounds.max) return false;
    }
    const keepMs = Math.max(this.config.accessLifetime, this.config.refreshLifetime) * 1000;
    const untilLo = Math.ceil(this.time.lo / 1000) * 1000 + keepMs;
    const untilHi = Math.ceil(this.time.hi / 1000) * 1000 + keepMs;
    const known = this.state.storedFamilies[name];
    this.state.storedFamilies[name] = known === undefined ? { untilLo, untilHi } : { untilLo: Math.max(known.untilLo, untilLo), untilHi: Math.max(known.untilHi, untilHi) };
    return true;
  }

  /** A retry inside the interval: the family's pair, recorded again (`recordPair`); `known` when the test has seen it. */
  retry(familyName: string, seen: Pair | null): 'answer' | 'new' | 'unavailable' {
    const answer = this.state.families[familyName].answer!;
    const known = answer.access !== null;
    if (!known && seen !== null) this.learnAnswer(familyName, seen);
    if (this.recordPair(answer.pair) === 'unavailable') return 'unavailable';
    return known ? 'answer' : 'new';
  }

  /**
   * A pair whose strings the test has not seen (its winner's recording failed): recorded under
   * placeholders, renamed when a retry hands it out (`learnAnswer`).
   */
  private pendingFacts(token: TokenFacts, jti: string, type: 'access' | 'refresh'): TokenFacts {
    const iat = Math.floor(this.time.hi / 1000);
    const exp = expectedExp(this.config, type, iat, this.state.families[token.family!].startIat);
    return { jti, identity: token.identity, type, iat, exp, family: token.family, createdAt: this.step };
  }

  /** A retry handed out `pair`: the family's answer, learnt the first time it is seen. Whether it matches. */
  learnAnswer(familyName: string, pair: Pair): boolean {
    const family = this.state.families[familyName];
    const answer = family.answer;
    if (answer === null) return false;
    if (answer.access !== null) return answer.access === pair.access.jti && answer.refresh === pair.refresh.jti;
    Object.assign(answer, { access: pair.access.jti, refresh: pair.refresh.jti, pair });
    const pending = family.current!;
    if (pending.startsWith('pending:')) {
      family.current = pair.refresh.jti;
      this.rename(pending, pair.refresh.jti);
      this.rename(pending.replace(/:refresh$/, ':access'), pair.access.jti);
    }
    return true;
  }

  private rename(from: string, to: string): void {
    const record = this.state.records[from];
    if (record === undefined) return;
    delete this.state.records[from];
    this.state.records[to] = record;
  }

  /** Remembers the pair a winner handed out (what a retry must get: its two strings, so the same jtis). */
  answered(familyName: string, pair: Pair): void {
    const answer = this.state.families[familyName].answer;
    if (answer !== null) Object.assign(answer, { access: pair.access.jti, refresh: pair.refresh.jti, pair });
  }
}

/** Drops what no later step can observe: dead records and folds, families whose every token has expired. */
export function prune(state: ModelState, now: number): void {
  pruneRecords(state, now);
  for (const [name, family] of Object.entries(state.families)) if (family.lastExpMs <= now) delete state.families[name];
  for (const [name, stored] of Object.entries(state.storedFamilies)) if (stored.untilHi <= now) delete state.storedFamilies[name];
}
