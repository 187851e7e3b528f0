import { defineRedisStoreSuite } from './redis-suite';
import { clusterEnv } from './redis-env';

describe('RedisTokenStore (3-node Cluster)', () => {
  defineRedisStoreSuite(clusterEnv);
});
