/**
 * The reference model's per-token records (DESIGN D and H), and the bounds `MemoryTokenStore`
 * states in its TSDoc: `maxPerIdentity` first forgets the identity's own oldest record that can
 * be forgotten safely; live blocklist revocations are never forgotten but folded into one
 * per-identity bound "refuse this identity's tokens issued up to the newest of them", kept
 * until the last of them expires (those by bare jti, iat unknown, into the identity's cut-off) (H: "may replace them by a per-identity cut-off at the newest
 * of them"); with `max` live records (folded bounds count) `add` rejects (503) and nothing
 * already stored is dropped. Redis stores have no bound.
 */
import type { StepTime } from './time';

export interface Bounds {
  max: number;
  maxPerIdentity: number;
}

/** One stored record: allowlist, a token's creation record; blocklist, a revocation. */
export interface ModelRecord {
  identity: string;
  revoked: boolean;
  /** Added revoked (a blocklist revocation): while it stays revoked it must never be forgotten. */
  isRevocation: boolean;
  /** ms: the token's exp; the record is dead from then on. */
  expMs: number;
  /** The token's iat; `null` for a revocation by bare jti (its iat is unknown). */
  iat: number | null;
  /** Insertion order (per store). */
  order: number;
}

/** An identity's folded revocations: tokens issued up to `[upToLo, upToHi]` (a range: see `fold`) are refused. */
export interface Fold {
  upToLo: number;
  upToHi: number;
  expMs: number;
}

export interface RecordState {
  records: Record<string, ModelRecord>;
  folded: Record<string, Fold>;
  nextOrder: number;
  /**
   * jti -> exp (ms) of the records `maxPerIdentity` forgot while they were revoked, oldest first,
   * at most `max`: a `keepExisting` add (a rotation retry recording its pair) never brings one back.
   */
  forgottenRevoked: Record<string, number>;
}

export type AddResult = 'added' | 'full' | 'skipped';

function isLive(record: ModelRecord | undefined, time: StepTime): record is ModelRecord {
  return record !== undefined && time.before(record.expMs);
}

/** The live record of `jti`; a dead one is dropped (it can only ever be dead from now on). */
export function liveRecord(state: RecordState, jti: string, time: StepTime): ModelRecord | undefined {
  const record = state.records[jti];
  if (isLive(record, time)) return record;
  delete state.records[jti];
  return undefined;
}

function liveFold(state: RecordState, identity: string, time: StepTime): Fold | undefined {
  const fold = state.folded[identity];
  if (fold !== undefined && time.before(fold.expMs)) return fold;
  delete state.folded[identity];
  return undefined;
}

/** Whether the identity's folded revocations cover a token issued at `iat`. */
export function isFoldedAway(state: RecordState, identity: string, iat: number, time: StepTime): boolean {
  const fold = liveFold(state, identity, time);
  return fold !== undefined && time.atMost(iat, fold.upToLo, fold.upToHi);
}

/**
 * Stores a record only when the store holds none for `jti` (DESIGN H: a rotation's winner and its
 * retries record the same pair, in any order; a record there is left as it is, one forgotten while
 * revoked is not brought back).
 */
export function addRecordIfAbsent(
  state: RecordState, jti: string, record: Omit<ModelRecord, 'order'>, bounds: Bounds | undefined, time: StepTime,
): AddResult {
  if (!time.before(record.expMs)) return 'skipped';
  if (liveRecord(state, jti, time) !== undefined) return 'skipped';
  const forgotten = state.forgottenRevoked[jti];
  if (forgotten !== undefined) {
    if (time.before(forgotten)) return 'skipped';
    delete state.forgottenRevoked[jti];
  }
  return addRecord(state, jti, record, bounds, time);
}

/** Stores a record (a new token's, or a blocklist revocation), within `bounds` when given. */
export function addRecord(
  state: RecordState, jti: string, record: Omit<ModelRecord, 'order'>, bounds: Bounds | undefined, time: StepTime,
  cutoff: (identity: string) => void = () => undefined,
): AddResult {
  if (!time.before(record.expMs)) return 'skipped'; // already dead: nothing to remember
  delete state.records[jti];
  if (bounds !== undefined) {
    makeRoom(state, record.identity, bounds, time, cutoff);
    if (liveSize(state, time) >= bounds.max) return 'full';
  }
  state.records[jti] = { ...record, order: state.nextOrder++ };
  return 'added';
}

function liveSize(state: RecordState, time: StepTime): number {
  let size = 0;
  for (const jti of Object.keys(state.records)) if (liveRecord(state, jti, time)) size += 1;
  for (const identity of Object.keys(state.folded)) if (liveFold(state, identity, time)) size += 1;
  return size;
}

/** `maxPerIdentity`: forgettable records first, oldest first; then the live revocations fold. */
function makeRoom(state: RecordState, identity: string, bounds: Bounds, time: StepTime, cutoff: (identity: string) => void): void {
  const own = Object.keys(state.records)
    .filter((jti) => state.records[jti].identity === identity && liveRecord(state, jti, time))
    .sort((a, b) => state.records[a].order - state.records[b].order);
  if (own.length < bounds.maxPerIdentity) return;
  for (const jti of [...own]) {
    if (own.length < bounds.maxPerIdentity) return;
    const record = state.records[jti];
    if (record.isRevocation && record.revoked) continue; // a live revocation: never forgotten
    if (record.revoked) forgetRevoked(state, jti, record.expMs, bounds);
    delete state.records[jti];
    own.splice(own.indexOf(jti), 1);
  }
  if (own.length >= bounds.maxPerIdentity) fold(state, identity, own, time, cutoff);
}

function forgetRevoked(state: RecordState, jti: string, expMs: number, bounds: Bounds): void {
  delete state.forgottenRevoked[jti];
  state.forgottenRevoked[jti] = expMs;
  const jtis = Object.keys(state.forgottenRevoked);
  if (jtis.length > bounds.max) delete state.forgottenRevoked[jtis[0]];
}

/**
 * Folds `jtis` (all live revocations) into the identity's bounds: one with an iat into "refuse
 * this identity's tokens issued up to the newest iat"; one by bare jti (no iat: its token may
 * have been issued by a clock ahead of the store's) into the identity's cut-off, as
 * `revokeAllTokens` would (everything of the identity created before this step, for ever).
 */
function fold(state: RecordState, identity: string, jtis: string[], time: StepTime, cutoff: (identity: string) => void): void {
  const previous = liveFold(state, identity, time);
  let upToLo = previous?.upToLo ?? -Infinity;
  let upToHi = previous?.upToHi ?? -Infinity;
  let expMs = previous?.expMs ?? 0;
  let hasBare = false;
  for (const jti of jtis) {
    const record = state.records[jti];
    if (record.iat === null) {
      hasBare = true;
    } else {
      upToLo = Math.max(upToLo, record.iat);
      upToHi = Math.max(upToHi, record.iat);
      expMs = Math.max(expMs, record.expMs);
    }
    delete state.records[jti];
  }
  if (upToHi > -Infinity) state.folded[identity] = { upToLo, upToHi, expMs };
  if (hasBare) cutoff(identity);
}

/** Drops what is dead for good (both ends of the window past its end). */
export function pruneRecords(state: RecordState, now: number): void {
  for (const [jti, record] of Object.entries(state.records)) if (record.expMs <= now) delete state.records[jti];
  for (const [identity, folded] of Object.entries(state.folded)) if (folded.expMs <= now) delete state.folded[identity];
  for (const [jti, expMs] of Object.entries(state.forgottenRevoked)) if (expMs <= now) delete state.forgottenRevoked[jti];
}
