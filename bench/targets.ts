/**
 * The figures issue 27 sets targets for, printed by `npm run bench:callgrind` (instructions) next
 * to each target. Target 1 compares with 0.2 (db2af5f): the 0.2 figures below are the medians of
 * `npm run bench:callgrind-paired` (BENCH_BASE = a worktree of db2af5f), which measures both sides
 * in one run and is the one to trust for a change under 1 %; here the current run is set against
 * them (run-to-run spread of one variant: up to 0.5 %).
 */
import type { RoundTripRow } from './round-trips';

/** 0.2's instructions per request, paired runs (two runs each, median), by Node major. */
export const RELEASE_02: Record<string, Record<string, number>> = {
  '20': { a: 116_490, b: 155_724, c: 157_542 },
  '24': { a: 103_514, b: 113_377, c: 115_761 },
};

const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)} %`;

/**
 * @example printTargets('node 24.22.3', { b: 113_400 }, { floor: 44_700, miss: 54_400 })
 */
export function printTargets(label: string, perRequest: Record<string, number>, micro: Record<string, number>, timerFree: Record<string, number> = {}, otherFigure?: string): void {
  const major = /node (\d+)\./.exec(label)?.[1] ?? '';
  // 0.2's figures and the micro pieces are instructions one request (or call) at a time: a run whose
  // figures are something else (cycle estimates, requests spread over connections) is not held to them
  const release = otherFigure === undefined ? RELEASE_02[major] : undefined;
  console.log(`\n${label}: issue 27 targets (instructions)`);
  const line = (text: string, outcome: string) => console.log(`  ${text.padEnd(92)} ${outcome}`);
  if (otherFigure !== undefined) line(`1 against 0.2, and 2: not read, this run's figures are ${otherFigure}`, '(see bench/README.md)');
  for (const key of ['b', 'c']) {
    const now = perRequest[key];
    if (now === undefined || release === undefined) continue;
    const change = now / release[key] - 1;
    const free = timerFree[key] === undefined ? '' : `, timer-free ${timerFree[key].toFixed(0)} (${pct(timerFree[key] / release[key] - 1)})`;
    line(`1  ${key} ${now.toFixed(0)} vs 0.2 ${release[key]}: ${pct(change)}${free}`, `<= +1 %: ${verdict(change <= 0.01)}`);
  }
  if (perRequest.cw !== undefined && release !== undefined) {
    const change = perRequest.cw / release.c - 1;
    line(`1  cw (c, redisThread 'worker') ${perRequest.cw.toFixed(0)} vs 0.2's c ${release.c}: ${pct(change)}`, `<= +1 %: ${verdict(change <= 0.01)}`);
  }
  for (const key of ['bl', 'bu']) {
    if (perRequest[key] === undefined || perRequest.b === undefined) continue;
    const change = perRequest[key] / perRequest.b - 1;
    line(`1  ${key} (OpenTelemetry ${key === 'bl' ? 'loaded' : 'instrumentJwt(), no SDK'}) ${perRequest[key].toFixed(0)} vs b: ${pct(change)}`, `<= +1 %: ${verdict(change <= 0.01)}`);
  }
  for (const [key, piece, name] of [['e', 'es256', 'ES256'], ['ee', 'eddsa', 'EdDSA'], ['er', 'rs256', 'RS256']] as const) {
    if (otherFigure !== undefined || perRequest[key] === undefined || perRequest.b === undefined || micro[piece] === undefined) continue;
    const ratio = (perRequest[key] - perRequest.b) / micro[piece];
    const target = key === 'e' ? `<= 1.25: ${verdict(ratio <= 1.25)}` : '(reported)';
    line(`2  DPoP ${name}: ${key} - b = ${(perRequest[key] - perRequest.b).toFixed(0)}, one ${name} crypto.verify ${micro[piece].toFixed(0)}: x${ratio.toFixed(3)}`, target);
  }
  if (micro.floor !== undefined && micro.miss !== undefined) {
    const ratio = micro.miss / micro.floor;
    line(`3  verify miss ${micro.miss.toFixed(0)} / HMAC floor ${micro.floor.toFixed(0)}: x${ratio.toFixed(3)} (hit ${micro.hit?.toFixed(0)})`, `<= 1.30: ${verdict(ratio <= 1.3)}`);
  }
  if (perRequest.c !== undefined) line(`4  c on lru-cache (no TTL): ${perRequest.c.toFixed(0)}; against the hand-written map lru-cache measured -0.10 % / +0.54 % timer-free (Node 20 / 24, fcec2e0)`, '<= 1 % of c: met');
  for (const [open, routed] of [['a', 'a15'], ['b', 'b15']] as const) {
    if (perRequest[open] === undefined || perRequest[routed] === undefined) continue;
    line(`7  @koa/router 15 in the KoaDriver: ${routed} ${perRequest[routed].toFixed(0)} vs ${open} (13) ${perRequest[open].toFixed(0)}: ${(perRequest[routed] - perRequest[open]).toFixed(0)}`, '(reported)');
  }
}

/** Target 5, from bench/round-trips.ts. @example printRoundTripTargets(rows) */
export function printRoundTripTargets(rows: RoundTripRow[]): void {
  console.log('\nissue 27 target 5: Redis round trips per operation (bench/round-trips.ts)');
  for (const row of rows) console.log(`  5  ${row.operation.padEnd(64)} ${String(row.trips).padStart(2)}   target ${row.target}: ${verdict(row.trips <= row.target)}${row.note ? ` (${row.note})` : ''}`);
}
