/**
 * A clock the specs can move forward: `Date.now()` (which the library, jsonwebtoken and the
 * stores all read) returns the real time plus an offset, and the Redis scripts' clock (Redis's
 * `TIME`, see `scriptClock` in src/store/redis-keys.ts) moves with it, so the reuse interval and
 * whatever else a script compares move too. Redis's own key expiry (TTLs) does not move.
 *
 * `useSkewedClock(ms)` is the other case: this process's clock off by `ms` while Redis's is not,
 * an app instance whose clock is wrong.
 */
import { scriptClock } from '../../src/store/redis-keys';

const realNow = Date.now.bind(Date);
let offsetMs = 0;

/** Installs the movable clock until `restore()`; `advance(ms)` moves it forward. */
export function useMovableClock(): { advance(ms: number): void; restore(): void } {
  offsetMs = 0;
  scriptClock.offsetMs = 0;
  Date.now = () => realNow() + offsetMs;
  return {
    advance: (ms: number) => {
      offsetMs += ms;
      scriptClock.offsetMs = offsetMs;
    },
    restore: () => {
      Date.now = realNow;
      offsetMs = 0;
      scriptClock.offsetMs = 0;
    },
  };
}

/** This process's clock `ms` ahead (negative: behind) of Redis's until `restore()`. */
export function useSkewedClock(ms: number): { restore(): void } {
  Date.now = () => realNow() + ms;
  return {
    restore: () => {
      Date.now = realNow;
    },
  };
}
