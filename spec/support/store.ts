/** Store doubles for the revocation pipeline: a call counter and one whose `find` rejects. */
import { MemoryTokenStore } from '../../src';
import type { StoreEntry, StoredToken, TokenStore } from '../../src';

/** A memory store that counts each call, to prove the store is never asked too early. */
export class CountingStore implements TokenStore {
  readonly inner = new MemoryTokenStore();
  finds = 0;
  adds = 0;

  add(entry: StoreEntry): Promise<void> { this.adds++; return this.inner.add(entry); }
  find(jti: string): Promise<StoredToken | undefined> { this.finds++; return this.inner.find(jti); }
  setRevoked(jti: string, revoked: boolean): Promise<StoredToken | undefined> { return this.inner.setRevoked(jti, revoked); }
  findByIdentity(identity: string): Promise<StoredToken[]> { return this.inner.findByIdentity(identity); }
  findAll(): Promise<StoredToken[]> { return this.inner.findAll(); }
  close(): Promise<void> { return this.inner.close(); }
}

/** A store that accepts writes but whose `find` always rejects (a backend gone away). */
export class FailingFindStore implements TokenStore {
  async add(): Promise<void> {}
  async find(): Promise<StoredToken | undefined> { throw new Error('connection refused'); }
  async setRevoked(): Promise<StoredToken | undefined> { return undefined; }
  async findByIdentity(): Promise<StoredToken[]> { return []; }
  async findAll(): Promise<StoredToken[]> { return []; }
  async close(): Promise<void> {}
}
