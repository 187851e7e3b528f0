import { MemoryTokenStore } from '../../src';
import { defineSessionSuite } from './session-suite';

describe('sessions on MemoryTokenStore', () => {
  defineSessionSuite({ first: async () => new MemoryTokenStore() });
});
