import { standaloneEnv } from './redis-env';
import { defineTieredSuite } from './tiered-suite';

describe('TieredTokenStore (standalone)', () => {
  defineTieredSuite(standaloneEnv);
});
