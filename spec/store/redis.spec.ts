import { defineRedisStoreSuite } from './redis-suite';
import { standaloneEnv } from './redis-env';

describe('RedisTokenStore (standalone)', () => {
  defineRedisStoreSuite(standaloneEnv);
});
