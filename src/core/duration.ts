/**
 * Durations: a number is seconds; a string needs a unit (`'15m'`, `'30d'`).
 * A unitless string is refused: jsonwebtoken would read `'60'` as 60 ms.
 */

const SECONDS_PER_UNIT: Record<string, number> = {
  ms: 0.001, msec: 0.001, msecs: 0.001, millisecond: 0.001, milliseconds: 0.001,
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600,
  d: 86400, day: 86400, days: 86400,
  w: 604800, week: 604800, weeks: 604800,
  y: 31557600, yr: 31557600, yrs: 31557600, year: 31557600, years: 31557600,
};

const DURATION_PATTERN = /^\s*(-?(?:\d+(?:\.\d+)?|\.\d+))\s*([a-z]+)\s*$/i;

/** A duration option: seconds, an ms-style string with a unit, or `false` for "never". */
export type Duration = number | string | false;

/**
 * Parses a duration into whole seconds (`false` stays `false`).
 * Returns a problem description instead of throwing, so `configure()` can list every problem.
 *
 * @example parseDuration('15m') // => { seconds: 900 }
 */
export function parseDuration(value: unknown): { seconds: number | false } | { problem: string } {
  if (value === false) return { seconds: false };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { problem: `must be a finite number of seconds, got ${value}` };
    return { seconds: Math.trunc(value) };
  }
  if (typeof value === 'string') {
    const match = DURATION_PATTERN.exec(value);
    if (!match) {
      const hint = /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? ' (a unitless string is ambiguous: use a number of seconds or add a unit)' : '';
      return { problem: `must be seconds or a string with a unit like '15m' or '30d', got '${value}'${hint}` };
    }
    const perUnit = SECONDS_PER_UNIT[match[2].toLowerCase()];
    if (perUnit === undefined) return { problem: `has an unknown unit '${match[2]}' in '${value}'` };
    return { seconds: Math.trunc(Number(match[1]) * perUnit) };
  }
  return { problem: `must be a number of seconds, a string like '15m', or false, got ${describe(value)}` };
}

/** A short, safe description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `'${value}'` : typeof value;
}
