import { sentinelEnv } from './redis-env';
import { defineRedisStoreSuite } from './redis-suite';
import { defineTieredSuite } from './tiered-suite';

describe('through a Redis Sentinel', () => {
  describe('RedisTokenStore', () => {
    defineRedisStoreSuite(sentinelEnv);
  });
  describe('TieredTokenStore', () => {
    defineTieredSuite(sentinelEnv);
  });
});
