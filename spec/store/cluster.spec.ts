import { clusterEnv } from './redis-env';
import { defineRedisStoreSuite } from './redis-suite';
import { defineTieredSuite } from './tiered-suite';

describe('on a 3-node Redis Cluster', () => {
  describe('RedisTokenStore', () => {
    defineRedisStoreSuite(clusterEnv);
  });
  describe('TieredTokenStore', () => {
    defineTieredSuite(clusterEnv);
  });
});
