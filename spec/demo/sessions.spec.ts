import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { createDemoApp } from '../../demo/app';
import { JwtManager } from '../../src';
import { expectResponse } from '../support/assert-response';
import { useMovableClock } from '../support/clock';

/** Issue 13 through the demo over HTTP: refresh rotation with reuse detection, log out everywhere. */
describe('demo: sessions', () => {
  let server: Server;
  let clock: ReturnType<typeof useMovableClock>;
  beforeEach(() => {
    clock = useMovableClock();
    server = createDemoApp().listen(0);
  });
  afterEach(() => {
    clock.restore();
    server.close();
    JwtManager.reset();
  });

  async function login(username = 'test') {
    const res = await request(server).post('/login').send({ username, password: username });
    assert.equal(res.status, 200, res.text);
    return res.body as { access_token: string; refresh_token: string };
  }
  const refresh = (token: string) => request(server).post('/refresh').set('Authorization', `Bearer ${token}`);
  const logoutEverywhere = (token: string) => request(server).post('/logout-everywhere').set('Authorization', `Bearer ${token}`);
  const REVOKED = { msg: 'Token has been revoked' };

  describe('POST /refresh (rotation)', () => {
    it('the new refresh token refreshes again', async () => {
      const first = (await refresh((await login()).refresh_token)).body;
      const res = await refresh(first.refresh_token);
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.body), ['access_token', 'refresh_token']);
    });

    it('a spent refresh token presented again within 10 s (a retry, another tab): the same pair', async () => {
      const { refresh_token } = await login();
      const first = await refresh(refresh_token);
      expectResponse(await refresh(refresh_token), 200, first.body);
    });

    it('a spent refresh token presented again after 10 s: 401 Token has been revoked', async () => {
      const { refresh_token } = await login();
      assert.equal((await refresh(refresh_token)).status, 200);
      clock.advance(11_000);
      expectResponse(await refresh(refresh_token), 401, REVOKED);
    });

    it('after reuse, the newest refresh token of the family is refused too', async () => {
      const { refresh_token } = await login();
      const newest = (await refresh(refresh_token)).body.refresh_token;
      clock.advance(11_000);
      await refresh(refresh_token); // the thief (or the victim) replays the spent token
      expectResponse(await refresh(newest), 401, REVOKED);
    });

    it('reuse in one family leaves another login of the same user alone', async () => {
      const stolen = await login();
      const other = await login();
      await refresh(stolen.refresh_token);
      clock.advance(11_000);
      await refresh(stolen.refresh_token);
      assert.equal((await refresh(other.refresh_token)).status, 200);
    });

    it('5 concurrent refreshes with one token (5 tabs) all get the same pair, which refreshes again', async () => {
      const { refresh_token } = await login();
      const responses = await Promise.all(Array.from({ length: 5 }, () => refresh(refresh_token)));
      for (const res of responses) expectResponse(res, 200, responses[0].body);
      assert.equal((await refresh(responses[0].body.refresh_token)).status, 200);
    });
  });

  describe('POST /logout-everywhere', () => {
    it('answers 200, and every earlier refresh token of the caller is refused', async () => {
      const phone = await login();
      const laptop = await login();
      expectResponse(await logoutEverywhere(laptop.access_token), 200, { msg: 'Logged out everywhere' });
      expectResponse(await refresh(phone.refresh_token), 401, REVOKED);
      expectResponse(await refresh(laptop.refresh_token), 401, REVOKED);
    });

    it('a login right after it works', async () => {
      const before = await login();
      await logoutEverywhere(before.access_token);
      const after = await login();
      assert.equal((await refresh(after.refresh_token)).status, 200);
    });

    it("leaves other users' sessions alone", async () => {
      const admin = await login('admin');
      await logoutEverywhere((await login()).access_token);
      assert.equal((await refresh(admin.refresh_token)).status, 200);
    });

    it('without a token: 401 Missing Authorization Header', async () => {
      expectResponse(await request(server).post('/logout-everywhere'), 401, { msg: 'Missing Authorization Header' });
    });
  });
});
