/**
 * The reference model as the runner uses it: candidate states, one operation at a time. Each
 * operation is evaluated on every candidate, once per combination of undecided time questions
 * (time.ts), after the store answered; the operation's outcome is predicted from the model
 * alone (what the store created is only used to name it), and the branches whose prediction
 * equals the store's answer become the new candidates. None left is a failure.
 */
import { emptyState, Evaluation, type ModelConfig, type ModelState, prune, type TokenFacts, usedAt } from './reference';
import { explore, stepTime } from './time';

export type How = 'token' | 'payload' | 'jti' | 'bare';

/** A pair the store handed out, with the claims the test read from it. */
export interface HandedPair {
  access: string;
  refresh: string;
  accessFacts: TokenFacts;
  refreshFacts: TokenFacts;
}

/** What the store answered, per operation (`created`: the new token, when one was handed out). */
export type Observed =
  | { op: 'create'; outcome: string; created?: TokenFacts; placeholder: TokenFacts }
  | { op: 'check'; token: TokenFacts; outcome: string }
  | { op: 'setRevoked'; token: TokenFacts; revoked: boolean; how: How; outcome: string }
  | { op: 'revokeAll'; identity: string; outcome: string }
  | { op: 'rotate'; token: TokenFacts; results: Array<string | HandedPair> }
  | { op: 'mint'; token: TokenFacts; outcome: string; created?: TokenFacts; placeholder: TokenFacts };

/** A key equal for equal states, whatever the order their fields were written in. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonical(field)}`).join(',')}}`;
}

function samePair(a: HandedPair, b: HandedPair): boolean {
  return a.access === b.access && a.refresh === b.refresh;
}

export class ReferenceModel {
  private candidates: ModelState[] = [emptyState()];
  /** Steps whose evaluation had more than one branch (a deadline inside the step's window). */
  branchedSteps = 0;

  constructor(readonly config: ModelConfig) {}

  /** Any candidate (they agree on everything the runner asks: family starts, known answers). */
  get state(): ModelState {
    return this.candidates[0];
  }

  /**
   * Applies one operation that ran between `lo` and `hi` with outcome `observed`. Returns
   * `undefined` when some branch predicted it, else a description of what was predicted.
   */
  apply(step: number, lo: number, hi: number, observed: Observed): string | undefined {
    const survivors: ModelState[] = [];
    const predicted = new Set<string>();
    let branches = 0;
    for (const candidate of this.candidates) {
      for (const branch of explore((choose) => {
        const state = structuredClone(candidate);
        const evaluation = new Evaluation(state, this.config, stepTime(lo, hi, choose), step);
        return { state, ...predict(evaluation, observed) };
      })) {
        branches += 1;
        predicted.add(branch.predicted);
        if (branch.predicted !== branch.seen) continue;
        prune(branch.state, lo);
        survivors.push(branch.state);
      }
    }
    if (branches > this.candidates.length) this.branchedSteps += 1;
    if (survivors.length === 0) return `the model predicted ${[...predicted].join(' or ')}`;
    // equal states are kept once (the common case, one survivor, needs no key)
    this.candidates = survivors.length === 1 ? survivors : [...new Map(survivors.map((state) => [canonical(state), state])).values()];
    return undefined;
  }
}

/** The model's prediction for one operation on one branch, and the store's answer in the same terms. */
function predict(ev: Evaluation, observed: Observed): { predicted: string; seen: string } {
  switch (observed.op) {
    case 'create': {
      const token = observed.created ?? observed.placeholder;
      if (token.family !== null && !ev.isNewFamily(token.family)) return { predicted: 'a new family', seen: 'a known one' };
      return { predicted: ev.create(token), seen: observed.outcome };
    }
    case 'check':
      return { predicted: ev.check(observed.token), seen: observed.outcome };
    case 'setRevoked': {
      const predicted = ev.setRevoked(observed.token, observed.revoked, observed.how);
      const seen = predicted === 'any' && ['ok', 'notFound'].includes(observed.outcome) ? 'any' : observed.outcome;
      return { predicted, seen };
    }
    case 'revokeAll':
      return { predicted: ev.revokeAll(observed.identity), seen: observed.outcome };
    case 'rotate':
      return predictRotation(ev, observed.token, observed.results);
    case 'mint':
      return predictMint(ev, observed);
  }
}

/**
 * N concurrent rotations of one token (N = 1: a plain rotation, or a retry). Pairs are named
 * `answer` (the family's known answer) or `new` (not seen before); every new pair of one step
 * must be the same pair (checked here: a second one is named `another new`).
 */
function predictRotation(ev: Evaluation, token: TokenFacts, results: Array<string | HandedPair>): { predicted: string; seen: string } {
  const family = token.family === null ? undefined : ev.family(token.family);
  const known = family?.answer?.access ? { access: family.answer.access, refresh: family.answer.refresh! } : undefined;
  const isKnown = (pair: HandedPair) => known !== undefined && pair.accessFacts.jti === known.access && pair.refreshFacts.jti === known.refresh;
  const pairs = results.filter((result): result is HandedPair => typeof result !== 'string');
  const fresh = pairs.find((pair) => !isKnown(pair));
  const seen = results.map((result) => {
    if (typeof result === 'string') return result;
    if (isKnown(result)) return 'answer';
    return samePair(result, fresh!) ? 'new' : 'another new';
  });
  const n = results.length;
  const verdict = ev.verdict(token);
  let predicted: string[];
  if (verdict === 'expired' || verdict === 'revoked') predicted = Array(n).fill(verdict);
  else if (verdict === 'reuse') {
    ev.revokeFamily(token.family!);
    predicted = Array(n).fill('revoked');
  } else if (verdict === 'retry') {
    // the store decides the retry with its own clock reading: inside the interval (each caller records the pair
    // again, keeping what is there: all get it, or all 503), or reuse
    const used = usedAt(family!, token.jti)!;
    if (ev.time.within(used.atLo, used.atHi, ev.config.reuseIntervalMs)) {
      predicted = Array(n).fill(ev.retry(token.family!, fresh === undefined ? null : toFacts(fresh)));
    } else {
      ev.revokeFamily(token.family!);
      predicted = Array(n).fill('revoked');
    }
  } else {
    const rotated = ev.rotate(token, fresh === undefined ? null : toFacts(fresh));
    const winner = rotated === 'no room' ? 'unavailable' : rotated;
    if (fresh !== undefined) {
      if (winner === 'new') ev.answered(token.family!, toFacts(fresh));
      else ev.learnAnswer(token.family!, toFacts(fresh));
    }
    // with an interval the others are retries recording the same pair: the winner's outcome; without, reuse
    // (no room for the family: nothing rotated, every caller gets the same 503)
    const others = ev.config.reuseIntervalMs > 0 || rotated === 'no room' ? winner : 'revoked';
    if (n > 1 && others === 'revoked') ev.revokeFamily(token.family!);
    predicted = [winner, ...Array(n - 1).fill(others)];
  }
  return { predicted: predicted.sort().join(','), seen: seen.sort().join(',') };
}

function toFacts(pair: HandedPair): { access: TokenFacts; refresh: TokenFacts } {
  return { access: pair.accessFacts, refresh: pair.refreshFacts };
}

/** A refresh route that mints an access token without rotating: the guard, then "a used token yields only its pair". */
function predictMint(ev: Evaluation, observed: Extract<Observed, { op: 'mint' }>): { predicted: string; seen: string } {
  const verdict = ev.verdict(observed.token);
  if (verdict === 'expired' || verdict === 'revoked') return { predicted: verdict, seen: observed.outcome };
  if (verdict === 'reuse' || verdict === 'retry') {
    ev.revokeFamily(observed.token.family!);
    return { predicted: 'revoked', seen: observed.outcome };
  }
  return { predicted: ev.create(observed.created ?? observed.placeholder), seen: observed.outcome };
}
