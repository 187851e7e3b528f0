/**
 * What a guard promises beyond its own route (DESIGN 0.2 A): OPTIONS never runs a
 * guarded handler anonymously; a guarded method called from another handler is checked
 * as its own route would be, CSRF included; `@Identity()` / `@Claims()` never silently
 * read `undefined` on an unguarded route.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { All, createKoaServer, Get, JsonController, Post, UseAfter, UseBefore } from 'routing-controllers';
import {
  Claims, createAccessToken, decodeToken, FreshJwtRequired, Identity, JwtOptional, JwtRequired, jwtRequired, JwtUsageError,
} from '../../src';
import { serve, stop } from '../support/server';

let sideEffects = 0;

@JsonController('/calls')
class CallsController {
  @All('/act')
  @FreshJwtRequired()
  act() {
    sideEffects += 1;
    return { acted: true };
  }

  @Post('/email')
  @JwtRequired()
  async changeEmail(@Identity() who?: string) {
    return { changed: who };
  }

  @Get('/profile')
  @JwtRequired()
  async profile(@Identity() who: string) {
    return { who };
  }

  /** A GET handler that calls the guarded POST method: CSRF must still apply. */
  @Get('/shortcut')
  @JwtRequired()
  async shortcut() {
    return this.changeEmail();
  }

  /** A GET handler that calls a guarded GET method: no CSRF needed. */
  @Get('/read')
  @JwtRequired()
  async read() {
    return this.profile(undefined as unknown as string);
  }

  /** An open handler calling a guarded method: checked as that method's route. */
  @Get('/open-shortcut')
  async openShortcut() {
    return this.profile(undefined as unknown as string);
  }
}

/** One class guard for a GET and a POST route: the same guard, but not the same CSRF decision. */
@JsonController('/class-calls')
@JwtRequired()
class ClassGuardCallsController {
  @Post('/email')
  async changeEmail() {
    return { changed: true };
  }

  @Get('/shortcut')
  async shortcut() {
    return this.changeEmail();
  }
}

@JsonController('/covered')
class MiddlewareCoveredController {
  @Get('/me')
  @UseBefore(jwtRequired())
  me(@Identity() who: string) {
    return { who };
  }

  @Get('/optional')
  @JwtOptional()
  optional(@Identity() who?: string, @Claims() claims?: object) {
    return { who: who ?? null, claims: claims ?? null };
  }
}

async function cookieSession() {
  const token = await createAccessToken('alice', { csrf: true });
  const { csrf } = await decodeToken(token);
  return { cookie: `access_token_cookie=${token}`, csrf: csrf as string };
}

describe('security: what a guard promises beyond its own route', () => {
  let server: Server;
  afterEach(() => stop(server));

  describe('OPTIONS on a guarded route', () => {
    beforeEach(() => {
      server = serve([CallsController]);
      sideEffects = 0;
    });

    it('answers 204 without a token and never runs the handler', async () => {
      const res = await request(server).options('/calls/act');
      assert.deepEqual([res.status, res.text, sideEffects], [204, '', 0]);
    });

    it('answers 204 for a token that does not pass (not fresh), handler not run', async () => {
      const res = await request(server).options('/calls/act').set('Authorization', `Bearer ${await createAccessToken('alice')}`);
      assert.deepEqual([res.status, sideEffects], [204, 0]);
    });

    it('answers 204 for a forged token, handler not run', async () => {
      const res = await request(server).options('/calls/act').set('Authorization', 'Bearer a.b.c');
      assert.deepEqual([res.status, sideEffects], [204, 0]);
    });

    it('runs the handler when a fresh token passes', async () => {
      const res = await request(server).options('/calls/act').set('Authorization', `Bearer ${await createAccessToken('alice', { fresh: true })}`);
      assert.deepEqual([res.status, res.body, sideEffects], [200, { acted: true }, 1]);
    });
  });

  describe('a guarded method called from another handler (cookies + CSRF)', () => {
    beforeEach(() => {
      server = serve([CallsController], { tokenLocation: ['cookies', 'headers'] });
    });

    it('refuses a GET handler calling the guarded POST method without the CSRF header (was allowed in 0.1)', async () => {
      const { cookie } = await cookieSession();
      const res = await request(server).get('/calls/shortcut').set('Cookie', cookie);
      assert.deepEqual([res.status, res.body], [401, { msg: 'Missing CSRF token' }]);
    });

    it('refuses it with a wrong CSRF header', async () => {
      const { cookie } = await cookieSession();
      const res = await request(server).get('/calls/shortcut').set('Cookie', cookie).set('X-CSRF-TOKEN', 'not-the-one');
      assert.deepEqual([res.status, res.body], [401, { msg: 'CSRF double submit tokens do not match' }]);
    });

    it('passes it with the matching CSRF header', async () => {
      const { cookie, csrf } = await cookieSession();
      const res = await request(server).get('/calls/shortcut').set('Cookie', cookie).set('X-CSRF-TOKEN', csrf);
      assert.deepEqual([res.status, res.body], [200, { changed: 'alice' }]);
    });

    it('needs no CSRF header when the called method is a GET route', async () => {
      const { cookie } = await cookieSession();
      const res = await request(server).get('/calls/read').set('Cookie', cookie);
      assert.deepEqual([res.status, res.body], [200, { who: 'alice' }]);
    });

    it('does not need CSRF for a header token calling the POST method', async () => {
      const res = await request(server).get('/calls/shortcut').set('Authorization', `Bearer ${await createAccessToken('bob')}`);
      assert.deepEqual([res.status, res.body], [200, { changed: 'bob' }]);
    });

    it('refuses a GET handler calling a POST route of the same class guard without the CSRF header', async () => {
      stop(server);
      server = serve([ClassGuardCallsController], { tokenLocation: ['cookies', 'headers'] });
      const { cookie, csrf } = await cookieSession();
      const refused = await request(server).get('/class-calls/shortcut').set('Cookie', cookie);
      assert.deepEqual([refused.status, refused.body], [401, { msg: 'Missing CSRF token' }]);
      const passed = await request(server).get('/class-calls/shortcut').set('Cookie', cookie).set('X-CSRF-TOKEN', csrf);
      assert.deepEqual([passed.status, passed.body], [200, { changed: true }]);
    });

    it('refuses an open handler calling a guarded method without a token', async () => {
      const res = await request(server).get('/calls/open-shortcut');
      assert.deepEqual([res.status, res.body], [401, { msg: 'Missing JWT in cookies or headers (Missing cookie "access_token_cookie"; Missing Authorization Header)' }]);
    });

    it('passes an open handler calling a guarded method with a valid token, injecting @Identity()', async () => {
      const res = await request(server).get('/calls/open-shortcut').set('Authorization', `Bearer ${await createAccessToken('carol')}`);
      assert.deepEqual([res.status, res.body], [200, { who: 'carol' }]);
    });
  });

  describe('@Identity() / @Claims() need a guard', () => {
    it('refuses to build a server whose route uses @Identity() with no guard, naming the method', () => {
      @JsonController('/unguarded')
      class UnguardedController {
        @Get('/me')
        me(@Identity() who: string) {
          return { who };
        }
      }
      assert.throws(() => createKoaServer({ controllers: [UnguardedController] }), (error: Error) =>
        error instanceof JwtUsageError && error.message.includes('UnguardedController.me'));
    });

    it('refuses a route whose only guard is @UseAfter(jwtRequired()): it runs after the action (it built, then answered 500 with a stack)', () => {
      @JsonController('/after')
      class AfterGuardedController {
        @Get('/me')
        @UseAfter(jwtRequired())
        me(@Identity() who: string) {
          return { who };
        }
      }
      assert.throws(() => createKoaServer({ controllers: [AfterGuardedController] }), (error: Error) =>
        error instanceof JwtUsageError && error.message.includes('AfterGuardedController.me uses @Identity()'));
    });

    it('accepts a route covered by @UseBefore(jwtRequired()) and injects the identity', async () => {
      server = serve([MiddlewareCoveredController]);
      const refused = await request(server).get('/covered/me');
      assert.deepEqual([refused.status, refused.body], [401, { msg: 'Missing Authorization Header' }]);
      const res = await request(server).get('/covered/me').set('Authorization', `Bearer ${await createAccessToken('alice')}`);
      assert.deepEqual([res.status, res.body], [200, { who: 'alice' }]);
    });

    it('gives undefined under @JwtOptional() without a token', async () => {
      server = serve([MiddlewareCoveredController]);
      const res = await request(server).get('/covered/optional');
      assert.deepEqual([res.status, res.body], [200, { who: null, claims: null }]);
    });
  });
});
