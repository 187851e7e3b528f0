/**
 * The proof replay cache (RFC 9449 §11.1): a proof's `jti` is accepted once while its `iat`
 * is inside the window. Records live in the revocation store when it can hold them
 * (`rememberOnce`: Redis, tiered: shared by every instance), else in this process's memory.
 *
 * Security state, not a cache entry: a record is never dropped before it expires. Both places
 * are bounded per key thumbprint (`MAX_PROOFS_PER_KEY` live records: one more proof by that
 * key is refused as invalid until some expire); memory is also bounded in total
 * (`MAX_MEMORY_PROOFS`: when full of live records, new proofs are refused with a 503 until
 * some expire). Both bounds refuse, never forget.
 */
import { StoreUnavailableError } from '../errors';
import { callStore, unavailable } from '../store-call';
import type { OnceEntry, OnceOutcome } from '../../store/token-store';
import type { RevocationConfig } from '../options';

/** Live proofs one key may have in the replay cache (about 166 a second, sustained over a 60 s window). */
export const MAX_PROOFS_PER_KEY = 10_000;
/** Live proofs the in-memory replay cache holds in all. */
export const MAX_MEMORY_PROOFS = 200_000;
/** A full sweep of the memory cache runs at most this often (ms) when it is full. */
const SWEEP_INTERVAL_MS = 1000;

/**
 * A bounded in-memory replay cache: per key thumbprint, the jtis seen with their expiry.
 *
 * @example cache.rememberOnce({ group: jkt, key: jti, expiresAt: Date.now() + 60_000, maxPerGroup: 10_000 }, Date.now())
 */
export class MemoryReplayCache {
  private readonly groups = new Map<string, Map<string, number>>();
  private size = 0;
  private lastSweep = 0;

  constructor(private readonly maxEntries = MAX_MEMORY_PROOFS) {}

  /** The number of records held (live, or expired and not yet swept). */
  get entries(): number {
    return this.size;
  }

  /** `'unavailable'`: the cache is full of live records (the caller answers 503). */
  rememberOnce(entry: OnceEntry, nowMs: number): OnceOutcome | 'unavailable' {
    let group = this.groups.get(entry.group);
    if (group !== undefined) {
      this.trimFront(group, nowMs);
      const expiresAt = group.get(entry.key);
      if (expiresAt !== undefined && expiresAt > nowMs) return 'seen';
      if (group.size >= entry.maxPerGroup && this.sweepGroup(group, nowMs) >= entry.maxPerGroup) return 'full';
    }
    if (this.size >= this.maxEntries && this.sweepAll(nowMs) >= this.maxEntries) return 'unavailable';
    if (group === undefined) this.groups.set(entry.group, (group = new Map()));
    if (!group.has(entry.key)) this.size++;
    group.set(entry.key, entry.expiresAt);
    return 'new';
  }

  /** Records arrive in about the order they expire: drop expired ones from the front (amortised O(1)). */
  private trimFront(group: Map<string, number>, nowMs: number): void {
    for (const [key, expiresAt] of group) {
      if (expiresAt > nowMs) return;
      group.delete(key);
      this.size--;
    }
  }

  private sweepGroup(group: Map<string, number>, nowMs: number): number {
    for (const [key, expiresAt] of group) {
      if (expiresAt <= nowMs) {
        group.delete(key);
        this.size--;
      }
    }
    return group.size;
  }

  private sweepAll(nowMs: number): number {
    if (nowMs - this.lastSweep < SWEEP_INTERVAL_MS) return this.size;
    this.lastSweep = nowMs;
    for (const [name, group] of this.groups) {
      if (this.sweepGroup(group, nowMs) === 0) this.groups.delete(name);
    }
    return this.size;
  }
}

/** What recording a proof can answer: recorded, or the refusal (`replayed` / `full`); a 503 rejects. */
export type RecordOutcome = 'new' | 'seen' | 'full';

/**
 * Records one proof in the store when it has `rememberOnce`, else in `memory`: without a
 * promise for memory, a promise for a store. An unreachable store rejects with a 503.
 *
 * @example const outcome = await recordProof(config.revocation, memory, { group: jkt, key: jti, expiresAt, maxPerGroup })
 */
export function recordProof(revocation: RevocationConfig | undefined, memory: MemoryReplayCache, entry: OnceEntry): RecordOutcome | Promise<RecordOutcome> {
  if (revocation?.storeHas.rememberOnce) {
    const store = revocation.store;
    return callStore('rememberOnce', () => store.rememberOnce!(entry), unavailable, isOnceOutcome, revocation.storeTimeoutMs) as Promise<RecordOutcome>;
  }
  return checkedOutcome(memory.rememberOnce(entry, Date.now()));
}

/** A store's answer to `rememberOnce`: one of the three outcomes (anything else is a store failure, published). */
function isOnceOutcome(outcome: unknown): boolean {
  return outcome === 'new' || outcome === 'seen' || outcome === 'full';
}

/** Anything but a known answer from memory is a failure (fail closed), as is a full memory. */
function checkedOutcome(outcome: unknown): RecordOutcome {
  if (outcome === 'new' || outcome === 'seen' || outcome === 'full') return outcome;
  throw new StoreUnavailableError(new Error(`the replay cache answered ${String(outcome)}`));
}
