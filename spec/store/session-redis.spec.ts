import { clusterEnv, sentinelEnv, standaloneEnv } from './redis-env';
import { defineRedisSessionSuite } from './session-suite';

describe('sessions on Redis', () => {
  describe('standalone', () => defineRedisSessionSuite(standaloneEnv));
  describe('through a Sentinel', () => defineRedisSessionSuite(sentinelEnv));
  describe('on a 3-node Cluster', () => defineRedisSessionSuite(clusterEnv));
});
