/**
 * Guards follow routes, not method declarations (DESIGN 0.2 A): every request that
 * used to get through an inherited route is written here next to the one that passes.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { Delete, Get, JsonController, Param, Post } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, FreshJwtRequired, Identity, JwtOptional, JwtRequired, RefreshRequired,
} from '../../src';
import { fakeAccessToken, JwtHttpError, withToken } from '../../src/testing';
import { serve, stop } from '../support/server';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

abstract class CrudBase {
  @Get('/list')
  list() {
    return { secret: 'the list' };
  }

  @Delete('/:id')
  remove(@Param('id') id: string) {
    return { removed: id };
  }
}

@JsonController('/admin')
@JwtRequired()
class AdminController extends CrudBase {}

/** The same base served without any guard: its routes stay open there. */
@JsonController('/public')
class PublicCrudController extends CrudBase {}

class ProfileBase {
  @Get('/me')
  @JwtRequired()
  me(@Identity() who?: string): object {
    return { who };
  }
}

@JsonController('/profile')
class ProfileController extends ProfileBase {}

@JsonController('/override')
class OverrideController extends ProfileBase {
  override me(): object {
    return { overridden: true };
  }
}

@JsonController('/relaxed')
class RelaxedController extends ProfileBase {
  @JwtOptional()
  override me(@Identity() who?: string): object {
    return { who: who ?? null };
  }
}

@JwtRequired()
abstract class LevelOne {
  @Get('/a')
  a() {
    return { level: 'a' };
  }
}

abstract class LevelTwo extends LevelOne {
  @Get('/b')
  @FreshJwtRequired()
  b(@Identity() who: string) {
    return { level: 'b', who };
  }
}

@JsonController('/three')
class LevelThreeController extends LevelTwo {
  @Get('/c')
  c() {
    return { level: 'c' };
  }
}

abstract class RefreshBase {
  @Post('/refresh')
  @RefreshRequired()
  refresh(@Identity() who: string) {
    return { refreshed: who };
  }
}

@JsonController('/mixed')
@FreshJwtRequired()
class MixedController extends RefreshBase {
  @Get('/fresh')
  fresh() {
    return { fresh: true };
  }
}

const ALL = [AdminController, PublicCrudController, ProfileController, OverrideController, RelaxedController, LevelThreeController, MixedController];

describe('security: guards follow routes (inherited routes)', () => {
  let server: Server;
  beforeEach(() => {
    server = serve(ALL);
  });
  afterEach(() => stop(server));

  describe('a class guard covers the routes the class inherits', () => {
    it('refuses GET /admin/list without a token (was 200 in 0.1)', async () => {
      const res = await request(server).get('/admin/list');
      assert.deepEqual([res.status, res.body], [401, { msg: 'Missing Authorization Header' }]);
    });

    it('refuses DELETE /admin/42 without a token (was 200 in 0.1)', async () => {
      const res = await request(server).delete('/admin/42');
      assert.deepEqual([res.status, res.body], [401, { msg: 'Missing Authorization Header' }]);
    });

    it('refuses a refresh token on the inherited route', async () => {
      const res = await request(server).get('/admin/list').set(bearer(await createRefreshToken('alice')));
      assert.deepEqual([res.status, res.body], [422, { msg: 'Only non-refresh tokens are allowed' }]);
    });

    it('serves the inherited routes to a valid token, with their parameters', async () => {
      const token = await createAccessToken('alice');
      const list = await request(server).get('/admin/list').set(bearer(token));
      assert.deepEqual([list.status, list.body], [200, { secret: 'the list' }]);
      const removed = await request(server).delete('/admin/42').set(bearer(token));
      assert.deepEqual([removed.status, removed.body], [200, { removed: '42' }]);
    });

    it('leaves the same base open where no guard is declared (/public)', async () => {
      const res = await request(server).get('/public/list');
      assert.deepEqual([res.status, res.body], [200, { secret: 'the list' }]);
    });
  });

  describe('a guard on a base-class method', () => {
    it('accepts a valid token on the subclass route and injects @Identity() (was 401 in 0.1)', async () => {
      const res = await request(server).get('/profile/me').set(bearer(await createAccessToken('alice')));
      assert.deepEqual([res.status, res.body], [200, { who: 'alice' }]);
    });

    it('refuses the subclass route without a token', async () => {
      const res = await request(server).get('/profile/me');
      assert.deepEqual([res.status, res.body], [401, { msg: 'Missing Authorization Header' }]);
    });

    it('keeps an override without a decorator guarded', async () => {
      const refused = await request(server).get('/override/me');
      assert.deepEqual([refused.status, refused.body], [401, { msg: 'Missing Authorization Header' }]);
      const passed = await request(server).get('/override/me').set(bearer(await createAccessToken('alice')));
      assert.deepEqual([passed.status, passed.body], [200, { overridden: true }]);
    });

    it('is relaxed only by an explicit @JwtOptional() on the override', async () => {
      const anonymous = await request(server).get('/relaxed/me');
      assert.deepEqual([anonymous.status, anonymous.body], [200, { who: null }]);
      const forged = await request(server).get('/relaxed/me').set(bearer('x.y.z'));
      assert.equal(forged.status, 422);
    });
  });

  describe('three levels, abstract bases, mixed class and method guards', () => {
    it('guards the grandparent class guard route /three/a', async () => {
      const refused = await request(server).get('/three/a');
      assert.deepEqual([refused.status, refused.body], [401, { msg: 'Missing Authorization Header' }]);
      const passed = await request(server).get('/three/a').set(bearer(await createAccessToken('alice')));
      assert.deepEqual([passed.status, passed.body], [200, { level: 'a' }]);
    });

    it('keeps the middle class method guard (fresh) on /three/b', async () => {
      const stale = await request(server).get('/three/b').set(bearer(await createAccessToken('alice')));
      assert.deepEqual([stale.status, stale.body], [401, { msg: 'Fresh token required' }]);
      const fresh = await request(server).get('/three/b').set(bearer(await createAccessToken('alice', { fresh: true })));
      assert.deepEqual([fresh.status, fresh.body], [200, { level: 'b', who: 'alice' }]);
    });

    it("covers a subclass's own route with a base class guard (/three/c)", async () => {
      const refused = await request(server).get('/three/c');
      assert.deepEqual([refused.status, refused.body], [401, { msg: 'Missing Authorization Header' }]);
      const passed = await request(server).get('/three/c').set(bearer(await createAccessToken('alice')));
      assert.deepEqual([passed.status, passed.body], [200, { level: 'c' }]);
    });

    it('lets a method guard win over the class guard: the inherited refresh route wants a refresh token', async () => {
      const access = await request(server).post('/mixed/refresh').set(bearer(await createAccessToken('alice', { fresh: true })));
      assert.deepEqual([access.status, access.body], [422, { msg: 'Only refresh tokens are allowed' }]);
      const refresh = await request(server).post('/mixed/refresh').set(bearer(await createRefreshToken('alice')));
      assert.deepEqual([refresh.status, refresh.body], [200, { refreshed: 'alice' }]);
    });

    it("applies the class guard (fresh) to the class's own route", async () => {
      const stale = await request(server).get('/mixed/fresh').set(bearer(await createAccessToken('alice')));
      assert.deepEqual([stale.status, stale.body], [401, { msg: 'Fresh token required' }]);
    });
  });

  describe('direct calls of inherited routes', () => {
    it('rejects a direct call of an inherited, class-guarded method with no token (401)', async () => {
      await assert.rejects(Promise.resolve(new AdminController().list()), (e: JwtHttpError) => e.status === 401);
    });

    it('runs it for a valid token', async () => {
      const result = await withToken(await fakeAccessToken('alice'), () => new AdminController().list());
      assert.deepEqual(result, { secret: 'the list' });
    });

    it('runs the same base method unguarded on the unguarded subclass', () => {
      assert.deepEqual(new PublicCrudController().list(), { secret: 'the list' });
    });

    it("refuses the inherited method reached through the guarded class with a foreign receiver (the abstract base's is open)", async () => {
      await assert.rejects(Promise.resolve(AdminController.prototype.list.call({})), (e: JwtHttpError) => e.status === 401);
      const result = await withToken(await fakeAccessToken('alice'), async () => AdminController.prototype.list.call({}));
      assert.deepEqual(result, { secret: 'the list' });
      assert.deepEqual(PublicCrudController.prototype.list.call({}), { secret: 'the list' });
    });

    it('checks the overridden method on a direct call too', async () => {
      await assert.rejects(Promise.resolve(new OverrideController().me()), (e: JwtHttpError) => e.status === 401);
    });
  });
});
