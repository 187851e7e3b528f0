/**
 * Time for the reference model. A step of the model test runs between two clock readings
 * `[lo, hi]`; the store read the clock somewhere in between, each time it needed it. So a
 * comparison with a deadline inside the window has no single answer: the model then takes
 * both (a choice point, explored by `explore`), and keeps the branches whose outcome matches
 * what the store answered. The runner advances the clock past nearby deadlines before each
 * step, so choice points are rare (the spec reports how many steps had one).
 */

/** Everything a step's evaluation may ask about time; each question may be a choice point. */
export interface StepTime {
  readonly lo: number;
  readonly hi: number;
  /** Whether the store's now (ms) was before `deadline`: `now < deadline`. */
  before(deadline: number): boolean;
  /** Whether `now - at <= span` for some `at` in `[atLo, atHi]` the store used (a range: it read the clock itself). */
  within(atLo: number, atHi: number, span: number): boolean;
  /** Whether `value <= bound` for a bound known only as `[boundLo, boundHi]`. */
  atMost(value: number, boundLo: number, boundHi: number): boolean;
  /** A choice the contract leaves open (both are explored). */
  choose(): boolean;
}

/** A step time over `[lo, hi]` whose undecided questions are answered by `choose`. */
export function stepTime(lo: number, hi: number, choose: () => boolean): StepTime {
  return {
    lo,
    hi,
    before: (deadline) => (hi < deadline ? true : lo >= deadline ? false : choose()),
    within: (atLo, atHi, span) => (hi - atLo <= span ? true : lo - atHi > span ? false : choose()),
    atMost: (value, boundLo, boundHi) => (value <= boundLo ? true : value > boundHi ? false : choose()),
    choose,
  };
}

/**
 * Runs `evaluate` once per combination of answers to its choice points (depth first: every
 * choice is `false` first, then `true`), each run with its own `choose`.
 */
export function explore<T>(evaluate: (choose: () => boolean) => T, limit = 64): T[] {
  const results: T[] = [];
  const pending: boolean[][] = [[]];
  while (pending.length > 0) {
    if (results.length >= limit) throw new Error(`the model has more than ${limit} branches for one step`);
    const prefix = pending.pop()!;
    const made: boolean[] = [];
    results.push(evaluate(() => {
      let answer: boolean;
      if (made.length < prefix.length) answer = prefix[made.length];
      else {
        answer = false;
        pending.push([...made, true]);
      }
      made.push(answer);
      return answer;
    }));
  }
  return results;
}
