/**
 * A clock the specs can move forward: `Date.now()` (which the library, jsonwebtoken and the
 * stores all read) returns the real time plus an offset. Redis keeps its own clock, so only
 * what the library decides from `Date.now()` moves (token times, reuse intervals, the memory
 * store's expiries, tier deadlines).
 */
const realNow = Date.now.bind(Date);
let offsetMs = 0;

/** Installs the movable clock until `restore()`; `advance(ms)` moves it forward. */
export function useMovableClock(): { advance(ms: number): void; restore(): void } {
  offsetMs = 0;
  Date.now = () => realNow() + offsetMs;
  return {
    advance: (ms: number) => {
      offsetMs += ms;
    },
    restore: () => {
      Date.now = realNow;
      offsetMs = 0;
    },
  };
}
