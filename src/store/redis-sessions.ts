/**
 * Session state in Redis (issue 13): per-identity cut-offs and refresh-token families.
 *
 * - `<prefix>g:{<identity>}` the identity's cut-off generation (a string), kept for the longest
 *   token lifetime after each `revokeAll`;
 * - `<prefix>f:{<family>}` one hash per family: `revoked`, `until` (how long to keep it), `last`
 *   (the jti rotated last), and one `u:<jti>` field per rotated refresh token holding
 *   `<usedAt ms>|<sealed answer>`. Only the last rotation keeps its answer: once the family has
 *   moved on, a second use of an older token is reuse even inside the interval, and the hash
 *   grows by a few dozen bytes per rotation, not by a token pair.
 *
 * A family is one key, so one hash slot on a Cluster: the use-once script touches nothing else
 * and is atomic there too. Every write publishes, in the same script, the tier key it changed
 * (`g:<identity>`, `f:<family>`) on the invalidation channel.
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import type { RedisKeys } from './redis-keys';
import type { FamilyState, RefreshTokenUse, RefreshTokenUseOutcome } from './token-store';

/** A bounded Redis call that turns every failure into a `TokenStoreError`. */
export type RedisCall = <T>(operation: string, command: () => Promise<T>) => Promise<T>;

/** The tier keys (and invalidation messages) of the three kinds of state. */
export const tierKey = {
  token: (jti: string) => `t:${jti}`,
  cutoff: (identity: string) => `g:${identity}`,
  family: (family: string) => `f:${family}`,
};

const REVOKE_ALL = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local generation = string.format('%.0f', math.max(current + 1, tonumber(ARGV[1])))
if ARGV[2] == '' then redis.call('SET', KEYS[1], generation) else redis.call('SET', KEYS[1], generation, 'EX', ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
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
  local latest = math.max(tonumber(known or '0'), tonumber(untilTs))
  redis.call('HSET', key, 'until', string.format('%.0f', latest))
  redis.call('EXPIREAT', key, latest)
end
`;

// The use-once step: ARGV = jti, now ms, reuse interval ms, answer, keep until, channel, message.
const USE_REFRESH_TOKEN = `${KEEP_FAMILY}
if redis.call('HGET', KEYS[1], 'revoked') then return {'revoked'} end
local field = 'u:' .. ARGV[1]
local used = redis.call('HGET', KEYS[1], field)
if used then
  local sep = string.find(used, '|', 1, true)
  local at = tonumber(string.sub(used, 1, sep - 1))
  local interval = tonumber(ARGV[3])
  local answer = string.sub(used, sep + 1)
  if interval > 0 and answer ~= '' and tonumber(ARGV[2]) - at <= interval then return {'retry', answer} end
  redis.call('HSET', KEYS[1], 'revoked', '1')
  keep(KEYS[1], ARGV[5])
  redis.call('PUBLISH', ARGV[6], ARGV[7])
  return {'reused'}
end
local last = redis.call('HGET', KEYS[1], 'last')
if last then
  local previous = redis.call('HGET', KEYS[1], 'u:' .. last)
  if previous then redis.call('HSET', KEYS[1], 'u:' .. last, string.sub(previous, 1, string.find(previous, '|', 1, true))) end
end
redis.call('HSET', KEYS[1], field, ARGV[2] .. '|' .. ARGV[4], 'last', ARGV[1])
keep(KEYS[1], ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return {'rotated'}`;

const REVOKE_FAMILY = `${KEEP_FAMILY}
redis.call('HSET', KEYS[1], 'revoked', '1')
keep(KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;

function untilArg(unixSeconds: number | undefined): string {
  return unixSeconds === undefined ? 'inf' : String(Math.ceil(unixSeconds));
}

/** The Redis side of cut-offs and families, for one store's client and keys. */
export class RedisSessions {
  constructor(
    private readonly client: Redis | Cluster,
    private readonly keys: RedisKeys,
    private readonly call: RedisCall,
  ) {}

  async cutoff(identity: string): Promise<number> {
    const value = await this.call('cutoff', () => this.client.get(this.keys.cutoff(identity)));
    return value === null ? 0 : Number(value);
  }

  async revokeAll(identity: string, keepSeconds: number | undefined): Promise<number> {
    const keep = keepSeconds === undefined ? '' : String(Math.max(1, Math.ceil(keepSeconds)));
    const value = await this.call('revokeAll', () =>
      this.client.eval(REVOKE_ALL, 1, this.keys.cutoff(identity), String(Date.now()), keep, this.keys.channel, tierKey.cutoff(identity)),
    );
    return Number(value);
  }

  async family(family: string, jti: string): Promise<FamilyState> {
    const [revoked, used] = await this.call('inspect', () => this.client.hmget(this.keys.family(family), 'revoked', `u:${jti}`));
    return { revoked: revoked !== null, usedAt: used === null ? undefined : Number(used.slice(0, used.indexOf('|'))) };
  }

  async useRefreshToken(use: RefreshTokenUse): Promise<RefreshTokenUseOutcome> {
    const reply = (await this.call('useRefreshToken', () =>
      this.client.eval(
        USE_REFRESH_TOKEN, 1, this.keys.family(use.family), use.jti, String(use.now), String(use.reuseIntervalMs),
        use.answer, untilArg(use.keepUntil), this.keys.channel, tierKey.family(use.family),
      ),
    )) as [string, string?];
    const outcome = reply[0] as RefreshTokenUseOutcome['outcome'];
    return outcome === 'retry' ? { outcome, answer: reply[1] ?? '' } : ({ outcome } as RefreshTokenUseOutcome);
  }

  async revokeFamily(family: string, keepUntil: number | undefined): Promise<void> {
    await this.call('revokeFamily', () =>
      this.client.eval(REVOKE_FAMILY, 1, this.keys.family(family), untilArg(keepUntil), this.keys.channel, tierKey.family(family)),
    );
  }
}
