/**
 * The session state of the memory store (issue 13): per-identity cut-offs and refresh-token
 * families. Plain maps, each entry dropped once every token it can concern has expired.
 */
import { TokenStoreError } from '../core/errors';
import { MAX_RECENT, type FamilyState, type RefreshTokenUse, type RefreshTokenUseOutcome, type TokenQuery } from './token-store';

interface Cutoff {
  generation: number;
  expiresAtMs: number;
}

/** One family, of a fixed shape whatever its number of rotations (the same rule as the Redis store). */
interface Family {
  revoked: boolean;
  /** The family's newest refresh token (the last rotation's successor); `undefined` until rotated. */
  current?: string;
  /** The jti rotated last, when, and what a retry of it inside the interval gets (until `answerUntil`). */
  parent?: string;
  at: number;
  /** The jtis rotated before `parent` still inside the interval when it was, with when (newest first, at most `MAX_RECENT`): retries too. */
  recent?: [string, number][];
  answer: string;
  answerUntil: number;
  expiresAtMs: number;
}

/** When `jti` was rotated: exact for the one rotated last, `0` for an older one, `undefined` if unused. */
function usedAt(family: Family, jti: string): number | undefined {
  if (family.current === undefined || jti === family.current) return undefined;
  if (jti === family.parent) return family.at;
  return family.recent?.find(([used]) => used === jti)?.[1] ?? 0;
}

/** Unix seconds (or `undefined` = never) as ms since the epoch. */
function toMs(unixSeconds: number | undefined): number {
  return unixSeconds === undefined ? Infinity : unixSeconds * 1000;
}

/**
 * The next cut-off generation: strictly above the current one, and never below the clock, so a
 * generation handed out before a forgotten (expired) cut-off is still below the next one.
 */
export function nextGeneration(current: number, nowMs: number): number {
  return Math.max(current + 1, nowMs);
}

/**
 * Bounded: at most `max` cut-offs and `max` families, live ones never dropped. A new one beyond
 * that (after dropping the expired) rejects with a `TokenStoreError` (the call answers 503, and
 * the store-unavailable warning names it); what is stored stays, so nothing revoked comes back.
 */
export class MemorySessions {
  private readonly cutoffs = new Map<string, Cutoff>();
  private readonly families = new Map<string, Family>();
  /** Writes since the last sweep: expired entries are dropped every 1024 writes, so the maps stay bounded by live state. */
  private writes = 0;

  constructor(private readonly max = Infinity) {}

  cutoff(identity: string): number {
    const found = this.cutoffs.get(identity);
    return found && found.expiresAtMs > Date.now() ? found.generation : 0;
  }

  revokeAll(identity: string, keepSeconds: number | undefined): number {
    const now = Date.now();
    this.wrote();
    const generation = nextGeneration(this.cutoff(identity), now);
    if (!this.cutoffs.has(identity)) this.makeRoom(this.cutoffs, 'cut-offs', now);
    // never shorter than the cut-off it replaces: the tokens that one refused are below this one too
    const previous = this.cutoffs.get(identity);
    const kept = previous !== undefined && previous.expiresAtMs > now ? previous.expiresAtMs : 0;
    const expiresAtMs = Math.max(kept, keepSeconds === undefined ? Infinity : now + keepSeconds * 1000);
    this.cutoffs.set(identity, { generation, expiresAtMs });
    return generation;
  }

  state(query: TokenQuery): { cutoff: number; family: FamilyState | undefined } {
    const cutoff = this.cutoff(query.identity);
    if (query.family === undefined) return { cutoff, family: undefined };
    const family = this.family(query.family);
    return { cutoff, family: { revoked: family?.revoked ?? false, usedAt: family && usedAt(family, query.jti) } };
  }

  useRefreshToken(use: RefreshTokenUse): RefreshTokenUseOutcome {
    this.wrote();
    const known = this.family(use.family);
    if (known?.revoked) return { outcome: 'revoked' };
    if (known === undefined) this.makeRoom(this.families, 'refresh-token families', Date.now());
    const family: Family = known ?? { revoked: false, at: 0, answer: '', answerUntil: 0, expiresAtMs: 0 };
    this.families.set(use.family, family);
    if (family.current !== undefined && use.jti !== family.current) {
      const used = usedAt(family, use.jti) ?? 0;
      const isRetry = used > 0 && use.reuseIntervalMs > 0 && use.now - used <= use.reuseIntervalMs;
      if (isRetry && family.answer !== '' && use.now <= family.answerUntil) return { outcome: 'retry', answer: family.answer };
      // sealed: kept as long as any of its tokens can live (set at its rotations, and the token presented now)
      Object.assign(family, { revoked: true, answer: '', expiresAtMs: Math.max(family.expiresAtMs, toMs(use.reuseKeepUntil)) });
      return { outcome: 'reused' };
    }
    family.expiresAtMs = Math.max(family.expiresAtMs, toMs(use.keepUntil));
    const answer = use.reuseIntervalMs > 0 ? use.answer : '';
    // the jtis rotated before this one still inside the interval, newest first (retries of them get this answer)
    const earlier: [string, number][] = family.parent === undefined ? [] : [[family.parent, family.at], ...(family.recent ?? [])];
    const recent = earlier.filter(([, at]) => use.reuseIntervalMs > 0 && use.now - at <= use.reuseIntervalMs).slice(0, MAX_RECENT);
    Object.assign(family, { current: use.successor, parent: use.jti, at: use.now, recent, answer, answerUntil: use.now + use.reuseIntervalMs });
    return { outcome: 'rotated' };
  }

  /** Kept until the later of its expiry (from its rotations) and `keepUntil` (covering the token presented now). */
  revokeFamily(name: string, keepUntil: number | undefined): void {
    this.wrote();
    const known = this.family(name);
    if (known === undefined) this.makeRoom(this.families, 'refresh-token families', Date.now());
    const family = known ?? { revoked: true, at: 0, answer: '', answerUntil: 0, expiresAtMs: 0 };
    Object.assign(family, { revoked: true, answer: '', expiresAtMs: Math.max(family.expiresAtMs, toMs(keepUntil)) });
    this.families.set(name, family);
  }

  sweep(now: number): void {
    for (const [identity, cutoff] of this.cutoffs) if (cutoff.expiresAtMs <= now) this.cutoffs.delete(identity);
    for (const [name, family] of this.families) if (family.expiresAtMs <= now) this.families.delete(name);
  }

  /** Room for one more entry in `map`: the expired go first; a map still full of live entries rejects. */
  private makeRoom(map: Map<string, { expiresAtMs: number }>, what: string, now: number): void {
    if (map.size < this.max) return;
    this.sweep(now);
    if (map.size >= this.max) {
      throw new TokenStoreError(`Memory token store is full: ${this.max} live ${what} (raise max, or use a Redis store)`);
    }
  }

  clear(): void {
    this.cutoffs.clear();
    this.families.clear();
  }

  private wrote(): void {
    this.writes += 1;
    if (this.writes % 1024 === 0) this.sweep(Date.now());
  }

  private family(name: string): Family | undefined {
    const family = this.families.get(name);
    if (family && family.expiresAtMs <= Date.now()) {
      this.families.delete(name);
      return undefined;
    }
    return family;
  }
}
