/**
 * Session state in Redis (issue 13, 0.3 H): per-identity cut-offs and refresh-token families.
 *
 * - `<prefix>g:{<identity>}` the identity's cut-off generation (a string of digits), kept for the
 *   longest token lifetime after each `revokeAll`;
 * - `<prefix>f:{<family>}` one hash per family, of a fixed shape whatever its number of
 *   rotations: `revoked` (`1` once revoked), `cur` (the jti of the family's newest refresh token),
 *   `par` (the jti rotated last, its parent), `at` (when `par` was rotated, ms), `rec` (the jtis
 *   rotated before `par` still inside the reuse interval, with when: a JSON list of at most
 *   `MAX_RECENT` `[jti, ms]`, absent when none) and `until` (how long to keep the hash). A refresh
 *   token of the family is unused when it is `cur` (or the family was never rotated), a retry when
 *   it is `par` or in `rec` inside the reuse interval (a tab that rotated twice while another
 *   retried the first token), and reuse otherwise;
 * - `<prefix>fa:{<family>}` the sealed answer of the last rotation (the family's newest pair,
 *   AES-GCM), kept exactly the reuse interval (`PX`) from that rotation, so every retry inside the
 *   interval gets the same two token strings, the newest, and no answer outlives the interval.
 *   Same hash tag as the family, so one slot on a Cluster.
 *
 * Both keys of a family share one slot: the use-once script touches nothing else and is atomic
 * there too. Every write publishes, in the same script, the tier key it changed (`g:<identity>`,
 * `f:<family>`) on the invalidation channel, plus a confirmation request when the caller asked
 * for one (see tiered.ts).
 *
 * Everything read back is parsed strictly: a cut-off that is not a whole number, a family hash
 * of another shape, is a `TokenStoreError` (503), never "not revoked".
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { clockOffsetArg, INDEX_ENTRY, malformed, NOW_MS, type RedisKeys } from './redis-keys';
import { MAX_RECENT, type FamilyState, type RefreshTokenUse, type RefreshTokenUseOutcome } from './token-store';

/** A bounded Redis call that turns every failure into a `TokenStoreError`. */
export type RedisCall = <T>(operation: string, command: () => Promise<T>) => Promise<T>;

/** The tier keys (and invalidation messages) of the three kinds of state. */
export const tierKey = {
  token: (jti: string) => `t:${jti}`,
  cutoff: (identity: string) => `g:${identity}`,
  family: (family: string) => `f:${family}`,
};

/** Publishes ARGV[n] (the tier key) and, when non-empty, ARGV[n + 1] (its confirmation request). */
const ANNOUNCE = `
local function announce(channel, message, confirm)
  redis.call('PUBLISH', channel, message)
  if confirm ~= '' then redis.call('PUBLISH', channel, confirm) end
end
`;

// ARGV[1]: the clock offset (redis-keys.ts); generations follow Redis's clock, not an instance's.
const REVOKE_ALL = `${ANNOUNCE}${NOW_MS}
local known = redis.call('GET', KEYS[1]) or '0'
if not string.match(known, '^%d+$') then return redis.error_reply('ERR malformed cut-off') end
local generation = string.format('%.0f', math.max(tonumber(known) + 1, now_ms(ARGV[1])))
-- never kept shorter than the cut-off it replaces (the tokens that one refused are below this one too):
-- no expiry stays no expiry, a longer time to live stays
-- (announced first: see redis.ts, a refused PUBLISH writes nothing)
announce(ARGV[3], ARGV[4], ARGV[5])
local ttl = redis.call('PTTL', KEYS[1])
if ARGV[2] == '' or ttl == -1 then
  redis.call('SET', KEYS[1], generation)
else
  redis.call('SET', KEYS[1], generation, 'PX', math.max(ttl, tonumber(ARGV[2]) * 1000))
end
return generation`;

// Keeps a family hash until the latest 'until' it was ever given ('inf' = for ever).
const KEEP_FAMILY = `
local function keep(key, untilTs)
  local known = redis.call('HGET', key, 'until')
  if known == 'inf' or untilTs == 'inf' then
    redis.call('HSET', key, 'until', 'inf')
    redis.call('PERSIST', key)
    return
  end
  if known and not string.match(known, '^%d+$') then error('malformed family') end
  local latest = math.max(tonumber(known or '0'), tonumber(untilTs))
  redis.call('HSET', key, 'until', string.format('%.0f', latest))
  redis.call('EXPIREAT', key, latest)
end
`;

// The use-once step. KEYS: family, answer. ARGV: jti, clock offset (redis-keys.ts), reuse interval
// ms, sealed answer, successor jti, keep until, channel, message, confirmation request (published
// when the family changed: rotated, or revoked on reuse; a retry writes and publishes nothing).
// When a jti was used, and whether a second use is inside the interval, is Redis's clock alone:
// instances whose clocks differ by seconds all get the same answer. A hash holding any field but
// these five is malformed.
//
// ARGV[11]: how many new records follow (a rotation's pair, allowlist, on one server): record i's
// identity index and record are KEYS[2 + 2i - 1], KEYS[2 + 2i]; its score, jti, value and expiry
// (unix seconds, '' for none) ARGV[11 + 4i - 3 .. 11 + 4i]. Each is written, when the token
// rotates, only if absent (a retry on an instance that stored them first), index first.
const USE_REFRESH_TOKEN = `${ANNOUNCE}${KEEP_FAMILY}${NOW_MS}${INDEX_ENTRY}
local now = now_ms(ARGV[2])
local f = redis.call('HMGET', KEYS[1], 'revoked', 'cur', 'par', 'at', 'until', 'rec')
local revoked, cur, par, at, untilTs, rec = f[1], f[2], f[3], f[4], f[5], f[6]
local known = 0
for i = 1, 6 do if f[i] then known = known + 1 end end
if redis.call('HLEN', KEYS[1]) ~= known then return redis.error_reply('ERR malformed family') end
local recent = {}
if rec then
  local ok, decoded = pcall(cjson.decode, rec)
  if not ok or type(decoded) ~= 'table' or #decoded == 0 or #decoded > ${MAX_RECENT} or not par then return redis.error_reply('ERR malformed family') end
  for _, e in ipairs(decoded) do
    if type(e) ~= 'table' or #e ~= 2 or type(e[1]) ~= 'string' or e[1] == '' or type(e[2]) ~= 'string' or not string.match(e[2], '^%d+$') then
      return redis.error_reply('ERR malformed family')
    end
  end
  recent = decoded
end
if known > 0 and not (untilTs == 'inf' or (untilTs and string.match(untilTs, '^%d+$'))) then return redis.error_reply('ERR malformed family') end
if revoked and revoked ~= '1' then return redis.error_reply('ERR malformed family') end
if revoked then return {'revoked'} end
if (cur == false) ~= (par == false) or (cur == false) ~= (at == false) or (at and not string.match(at, '^%d+$')) then
  return redis.error_reply('ERR malformed family')
end
local interval = tonumber(ARGV[3])
if cur and ARGV[1] ~= cur then
  local usedAt = nil
  if ARGV[1] == par then usedAt = tonumber(at) else for _, e in ipairs(recent) do if e[1] == ARGV[1] then usedAt = tonumber(e[2]) end end end
  if usedAt and interval > 0 and now - usedAt <= interval then
    local answer = redis.call('GET', KEYS[2])
    if answer then return {'retry', answer} end
  end
  -- sealed: kept as long as any of its tokens can live (its 'until' from its rotations, ARGV[10]: the
  -- token presented and those made with it), not extended from now
  announce(ARGV[7], ARGV[8], ARGV[9])
  redis.call('HSET', KEYS[1], 'revoked', '1')
  keep(KEYS[1], ARGV[10])
  redis.call('DEL', KEYS[2])
  return {'reused'}
end
announce(ARGV[7], ARGV[8], ARGV[9])
-- the jtis rotated before this one still inside the interval, newest first, at most ${MAX_RECENT}
local kept = {}
if par and interval > 0 and now - tonumber(at) <= interval then kept[1] = {par, at} end
for _, e in ipairs(recent) do
  if #kept < ${MAX_RECENT} and now - tonumber(e[2]) <= interval then kept[#kept + 1] = e end
end
redis.call('HSET', KEYS[1], 'cur', ARGV[5], 'par', ARGV[1], 'at', string.format('%.0f', now))
if #kept > 0 then redis.call('HSET', KEYS[1], 'rec', cjson.encode(kept)) else redis.call('HDEL', KEYS[1], 'rec') end
keep(KEYS[1], ARGV[6])
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3]) else redis.call('DEL', KEYS[2]) end
local records = tonumber(ARGV[11] or '0')
for i = 1, records do
  local index, record, a = KEYS[2 + 2 * i - 1], KEYS[2 + 2 * i], 11 + 4 * (i - 1)
  if redis.call('EXISTS', record) == 0 then
    index_add(index, ARGV[a + 1], ARGV[a + 2], now)
    if ARGV[a + 4] == '' then redis.call('SET', record, ARGV[a + 3]) else redis.call('SET', record, ARGV[a + 3], 'EXAT', ARGV[a + 4]) end
  end
end
if records > 0 then return {'rotated', 'recorded'} end
return {'rotated'}`;

// A family's fields and Redis's clock (ARGV[1]: the offset), so a reader measures "since it was used" on Redis's clock.
const FAMILY_READ = `${NOW_MS}
local fields = redis.call('HGETALL', KEYS[1])
table.insert(fields, 1, string.format('%.0f', now_ms(ARGV[1])))
return fields`;

// Kept until the later of its 'until' (from its rotations) and ARGV[1] (covering the token presented now).
const REVOKE_FAMILY = `${ANNOUNCE}${KEEP_FAMILY}
announce(ARGV[2], ARGV[3], ARGV[4])
redis.call('HSET', KEYS[1], 'revoked', '1')
keep(KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1`;

function untilArg(unixSeconds: number | undefined): string {
  return unixSeconds === undefined ? 'inf' : String(Math.ceil(unixSeconds));
}

const DIGITS = /^\d+$/;

/** A cut-off read back: a whole number, else a store error. */
export function parseCutoff(value: string | null): number {
  if (value === null) return 0;
  const cutoff = Number(value);
  if (!DIGITS.test(value) || !Number.isSafeInteger(cutoff)) throw malformed('cut-off', 'not a whole number');
  return cutoff;
}

/** The fields a family hash may hold (see the file's TSDoc); any other is a store error. */
const FAMILY_FIELDS = new Set(['revoked', 'cur', 'par', 'at', 'until', 'rec']);

/** `rec` read back: a JSON list of 1 to `MAX_RECENT` `[jti, ms]` (both strings), else a store error. */
function parseRecent(value: string): [string, number][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw malformed('family', '"rec" is not JSON');
  }
  const isEntry = (entry: unknown): entry is [string, string] =>
    Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' && entry[0] !== '' && typeof entry[1] === 'string' && DIGITS.test(entry[1]);
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > MAX_RECENT || !parsed.every(isEntry)) {
    throw malformed('family', `"rec" is not a list of 1 to ${MAX_RECENT} [jti, ms]`);
  }
  return parsed.map(([jti, at]) => [jti, Number(at)]);
}

/**
 * What one jti is to its family, from the family hash's fields as `HGETALL` answers them (a flat
 * list of field, value), strictly: no field but `revoked`, `cur`, `par`, `at`, `until` and `rec`
 * (a 0.2 hash's `u:<jti>` fields included), each of its one shape.
 */
export function parseFamily(jti: string, flat: string[]): FamilyState {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (!FAMILY_FIELDS.has(flat[i])) throw malformed('family', 'a field other than revoked, cur, par, at, until and rec');
    fields.set(flat[i], flat[i + 1]);
  }
  const [revoked, cur, par, at, until, rec] = ['revoked', 'cur', 'par', 'at', 'until', 'rec'].map((name) => fields.get(name) ?? null);
  if (revoked !== null && revoked !== '1') throw malformed('family', '"revoked" is not 1');
  const rotated = [cur, par, at].filter((field) => field !== null).length;
  if (rotated !== 0 && rotated !== 3) throw malformed('family', 'cur, par and at not all present');
  if (rotated === 3 && (cur === '' || par === '' || !DIGITS.test(at!))) throw malformed('family', 'cur, par or at of the wrong shape');
  if (fields.size > 0 && (until === null || (until !== 'inf' && !DIGITS.test(until)))) throw malformed('family', '"until" missing or not a whole number');
  if (rec !== null && rotated !== 3) throw malformed('family', '"rec" without cur, par and at');
  const recent = rec === null ? [] : parseRecent(rec);
  // unused: never rotated, or the family's newest; a retry candidate: rotated last or shortly before; else used long ago
  const earlier = recent.find(([used]) => used === jti);
  const usedAt = rotated === 0 || jti === cur ? undefined : jti === par ? Number(at) : earlier !== undefined ? earlier[1] : 0;
  return { revoked: revoked === '1', usedAt };
}

/** One new token's index entry and record for a script: KEYS (index, record) and ARGV (score, jti, value, expiry). */
export interface RecordWrite {
  keys: [string, string];
  args: [string, string, string, string];
}

/** What a write announces: the tier key, and (when asked) the confirmation request naming it. */
export interface Announcement {
  /** The confirmation request published after the tier key; `''` for none. */
  confirm: string;
  /**
   * Where the same script reads the live instances after its write (the tiered store on one
   * server: standalone or Sentinel; on a Cluster the instance set sits in another slot).
   */
  liveSet?: { key: string };
  /** The live instances that script read, filled in by the store's call. */
  live?: string[];
}

// A write script run as a function, then the live instances read in the same script, after the
// write (confirm.ts, step 4): KEYS[#KEYS] the instance set (appended after the script's own keys),
// its members scored by the end of their lease. An error reply passes through as it is.
function withLiveRead(script: string): string {
  return `local result = (function()
${script}
end)()
if type(result) == 'table' and result.err then return result end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {result or false, redis.call('ZRANGEBYSCORE', KEYS[#KEYS], now, '+inf')}`;
}

const LIVE_READING = new Map<string, string>();

/**
 * Runs the write script `script` on `keys` and `args`; when `announce` asks for the live
 * instances, the same script reads them after its write (one round trip instead of two) and
 * they go to `announce.live`. Resolves with the script's own result either way.
 */
export async function evalAnnounced(
  client: Redis | Cluster, script: string, keys: string[], args: string[], announce: Announcement | undefined,
): Promise<unknown> {
  const liveSet = announce?.confirm ? announce.liveSet : undefined;
  if (liveSet === undefined) return client.eval(script, keys.length, ...keys, ...args);
  let reading = LIVE_READING.get(script);
  if (reading === undefined) LIVE_READING.set(script, (reading = withLiveRead(script)));
  const [result, live] = (await client.eval(reading, keys.length + 1, ...keys, liveSet.key, ...args)) as [unknown, string[]];
  announce!.live = live;
  return result;
}

const NO_CONFIRM: Announcement = { confirm: '' };

/** The Redis side of cut-offs and families, for one store's client and keys. */
export class RedisSessions {
  /** #private: an ioredis client prints its options, the password among them. */
  readonly #client: Redis | Cluster;

  constructor(
    client: Redis | Cluster,
    private readonly keys: RedisKeys,
    private readonly call: RedisCall,
  ) {
    this.#client = client;
  }

  async cutoff(identity: string): Promise<number> {
    return parseCutoff(await this.call('cutoff', () => this.#client.get(this.keys.cutoff(identity))));
  }

  async revokeAll(identity: string, keepSeconds: number | undefined, announce = NO_CONFIRM): Promise<number> {
    const keep = keepSeconds === undefined ? '' : String(Math.max(1, Math.ceil(keepSeconds)));
    const value = await this.call('revokeAll', () =>
      evalAnnounced(
        this.#client, REVOKE_ALL, [this.keys.cutoff(identity)],
        [clockOffsetArg(), keep, this.keys.channel, tierKey.cutoff(identity), announce.confirm], announce,
      ),
    );
    return parseCutoff(String(value));
  }

  /**
   * The family state of `jti`, its `usedAt` on this process's clock: Redis's "ms since it was
   * used" taken from now here, so an instance whose clock is off by seconds still measures the
   * reuse interval as Redis does (only the reply's way back, milliseconds, is added).
   */
  async family(family: string, jti: string): Promise<FamilyState> {
    const reply = await this.call('inspect', () => this.#client.eval(FAMILY_READ, 1, this.keys.family(family), clockOffsetArg()));
    if (!Array.isArray(reply) || typeof reply[0] !== 'string' || !DIGITS.test(reply[0])) throw malformed('family', 'no clock reading');
    if (!reply.every((item) => typeof item === 'string')) throw malformed('family', 'a field that is not a string');
    const state = parseFamily(jti, (reply as string[]).slice(1));
    if (state.usedAt !== undefined && state.usedAt > 0) state.usedAt = Date.now() - Math.max(0, Number(reply[0]) - state.usedAt);
    return state;
  }

  /** `records`: the new pair's records, written by the same script when it rotates (both keys on this one server). */
  async useRefreshToken(use: RefreshTokenUse, announce = NO_CONFIRM, records: RecordWrite[] = []): Promise<RefreshTokenUseOutcome> {
    const reply = (await this.call('useRefreshToken', () =>
      evalAnnounced(
        this.#client, USE_REFRESH_TOKEN, [this.keys.family(use.family), this.keys.familyAnswer(use.family), ...records.flatMap((r) => r.keys)],
        [use.jti, clockOffsetArg(), String(use.reuseIntervalMs), use.answer, use.successor, untilArg(use.keepUntil),
          this.keys.channel, tierKey.family(use.family), announce.confirm, untilArg(use.reuseKeepUntil),
          String(records.length), ...records.flatMap((r) => r.args)],
        announce,
      ),
    )) as [string, string?];
    const outcome = reply[0] as RefreshTokenUseOutcome['outcome'];
    if (outcome === 'retry') return { outcome, answer: reply[1] ?? '' };
    if (outcome === 'rotated' && reply[1] === 'recorded') return { outcome, recorded: true };
    return { outcome } as RefreshTokenUseOutcome;
  }

  async revokeFamily(family: string, keepUntil: number | undefined, announce = NO_CONFIRM): Promise<void> {
    await this.call('revokeFamily', () =>
      evalAnnounced(
        this.#client, REVOKE_FAMILY, [this.keys.family(family), this.keys.familyAnswer(family)],
        [untilArg(keepUntil), this.keys.channel, tierKey.family(family), announce.confirm], announce,
      ),
    );
  }
}
