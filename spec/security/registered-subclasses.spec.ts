/**
 * Issue #20: a subclass override of a guarded route, with no guard decorator of its own, is
 * guarded on a direct call as soon as routing-controllers records the class (DESIGN 0.3 G "A
 * guarded method is guarded whatever its receiver", section A's route rules), not only at the
 * next `configure()`; so is a route applied by hand; and an open controller's handler that calls
 * another class's guarded method is checked against the real request (a valid token passes).
 *
 * The refused calls here are made outside `withToken()` on purpose: the testing kit rewraps every
 * known class before its call, so only a call without it shows the wrap made at registration.
 * Decorators are applied both with decorator syntax (ts-node emits `__decorate`) and by hand as
 * emitted JS applies them (`decorate()` below is tslib's `__decorate`).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Server } from 'node:http';
import request from 'supertest';
import { Get, getMetadataArgsStorage, JsonController, Param, Post } from 'routing-controllers';
import { getJwtIdentity, Identity, JwtManager, JwtRequired, openApiStorage } from '../../src';
import { effectiveGuard } from '../../src/decorators/routes';
import { authHeader, fakeAccessToken, fakeRefreshToken, JwtHttpError, tamperToken, withToken } from '../../src/testing';
import { SECRET, serve, stop } from '../support/server';

let ran = 0;

/** Who the method body saw: the identity of the check it ran under, `null` when it ran unchecked. */
function reader(): string | null {
  ran += 1;
  try {
    return getJwtIdentity() ?? null;
  } catch {
    return null; // no request context: nothing checked this call
  }
}

/** tslib's `__decorate`, as `tsc` emits decorators (legacy `experimentalDecorators`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the emitted helper's own looseness
function decorate(decorators: Function[], target: any, key?: string | symbol, desc?: PropertyDescriptor | null): any {
  const c = arguments.length;
  let r = c < 3 ? target : desc === null ? (desc = Object.getOwnPropertyDescriptor(target, key!)) : desc;
  for (let i = decorators.length - 1; i >= 0; i--) {
    const d = decorators[i];
    if (d) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
  }
  if (c > 3 && r) Object.defineProperty(target, key!, r);
  return r;
}

/** The guard on the base method. */
@JsonController('/reg-gm')
class GuardedMethodBase {
  @Get('/secret')
  @JwtRequired()
  secret(..._args: unknown[]): unknown {
    return { reader: reader() };
  }

  /** A guarded method that is no route. */
  @JwtRequired()
  helper(): unknown {
    return { reader: reader() };
  }
}

/** The guard on the base class: it covers the routes the class and its subclasses serve. */
@JsonController('/reg-gc')
@JwtRequired()
class GuardedClassBase {
  @Get('/secret')
  secret(): unknown {
    return { reader: reader() };
  }
}

type Call = () => unknown;

async function refused(call: Call, status = 401, body: unknown = { msg: 'Missing Authorization Header' }): Promise<void> {
  await assert.rejects(async () => call(), (error: JwtHttpError) => {
    assert.deepEqual([error.status, error.body], [status, body]);
    return true;
  });
}

/** Refused without a token (outside the testing kit), never running the body; served to a valid token. */
async function refusedThenServed(call: Call, token: string, served: unknown = { reader: 'alice' }): Promise<void> {
  await refused(call);
  assert.equal(ran, 0, 'the body never ran for the refused call');
  assert.deepEqual(await withToken(token, async () => call()), served);
}

describe('security: guarded overrides and routes are wrapped when routing-controllers records them (issue #20)', () => {
  let server: Server | undefined;
  let alice: string;
  beforeEach(async () => {
    JwtManager.configure({ secret: SECRET });
    alice = await fakeAccessToken('alice');
    ran = 0;
  });
  afterEach(() => {
    stop(server);
    server = undefined;
  });

  describe('1a: a controller subclass defined after configure(), never served, overriding without a guard', () => {
    it('decorator syntax: new Late().secret() is refused without a token, served to alice', async () => {
      @JsonController('/reg-late')
      class Late extends GuardedMethodBase {
        override secret() {
          return { reader: reader(), late: true };
        }
      }
      assert.equal(effectiveGuard(Late, 'secret'), effectiveGuard(GuardedMethodBase, 'secret'));
      await refusedThenServed(() => new Late().secret(), alice, { reader: 'alice', late: true });
    });

    it('as emitted JS: the call right after __decorate([JsonController()], Late) in the same job is refused', async () => {
      let Late = class Late extends GuardedMethodBase {
        override secret() {
          return { reader: reader(), late: true };
        }
      };
      Late = decorate([JsonController('/reg-late-js')], Late);
      const sameJob = new Late().secret(); // before any await: the controller's record wrapped it
      await assert.rejects(Promise.resolve(sameJob), (error: JwtHttpError) => error.status === 401);
      assert.equal(ran, 0);
      assert.deepEqual(await withToken(alice, async () => new Late().secret()), { reader: 'alice', late: true });
    });

    it('under a class guard on the base: the override is refused, then served', async () => {
      @JsonController('/reg-late-gc')
      class LateOfClassGuard extends GuardedClassBase {
        override secret() {
          return { reader: reader(), late: true };
        }
      }
      await refusedThenServed(() => new LateOfClassGuard().secret(), alice, { reader: 'alice', late: true });
    });

    it('beside it, the override in a controller subclass of an open class stays open', async () => {
      @JsonController('/reg-open-base')
      class OpenBase {
        @Get('/secret')
        secret() {
          return { reader: reader() };
        }
      }
      @JsonController('/reg-open-sub')
      class OpenSub extends OpenBase {
        override secret() {
          return { reader: reader(), sub: true };
        }
      }
      assert.deepEqual(new OpenSub().secret(), { reader: null, sub: true });
      assert.equal(ran, 1);
    });

    it('an override of a guarded method that is no route: refused, then served', async () => {
      @JsonController('/reg-late-helper')
      class LateHelper extends GuardedMethodBase {
        override helper() {
          return { reader: reader(), late: true };
        }
      }
      await refusedThenServed(() => new LateHelper().helper(), alice, { reader: 'alice', late: true });
    });

    it('registration wraps once: configure() and withToken() afterwards keep the same function', async () => {
      @JsonController('/reg-once')
      class Once extends GuardedMethodBase {
        override secret() {
          return { reader: reader() };
        }
      }
      const wrapped = Once.prototype.secret;
      JwtManager.configure({ secret: SECRET });
      await withToken(alice, async () => new Once().secret());
      assert.equal(Once.prototype.secret, wrapped);
    });

    it("after routing-controllers' storage reset(), a controller recorded in the new arrays is wrapped too (own process)", () => {
      const app = path.join(__dirname, '..', 'support', 'storage-reset-app.ts');
      const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', app], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { direct: 401, served: 'late ran' });
    });

    it('the storage views openApiStorage() makes leave the arrays observed and served as they were', async () => {
      const storage = getMetadataArgsStorage();
      const actions = storage.actions;
      openApiStorage();
      assert.equal(storage.actions, actions);
      @JsonController('/reg-after-view')
      class AfterView extends GuardedMethodBase {
        override secret() {
          return { reader: reader() };
        }
      }
      await refusedThenServed(() => new AfterView().secret(), alice);
    });

    it('served afterwards, the same override: 401 without a token, 200 for alice', async () => {
      @JsonController('/reg-late-served')
      class LateServed extends GuardedMethodBase {
        override secret() {
          return { reader: reader(), late: true };
        }
      }
      server = serve([LateServed]);
      assert.deepEqual([(await request(server).get('/reg-late-served/secret')).status, ran], [401, 0]);
      const res = await request(server).get('/reg-late-served/secret').set(authHeader(alice));
      assert.deepEqual([res.status, res.body], [200, { reader: 'alice', late: true }]);
    });
  });

  describe('1b: a subclass that is no controller', () => {
    it("an override decorating a parameter (routing-controllers' @Param()) is refused once the decorating statement is over, served to alice", async () => {
      class ParamOverride extends GuardedMethodBase {
        override secret(@Param('id') id?: string) {
          return { reader: reader(), id };
        }
      }
      // the limit, pinned: emitted JS put the undecorated descriptor back, so in the same job the override still runs
      assert.deepEqual(new ParamOverride().secret('0'), { reader: null, id: '0' });
      ran = 0;
      await Promise.resolve(); // the redo runs when that job ends
      await refusedThenServed(() => new ParamOverride().secret('7'), alice, { reader: 'alice', id: '7' });
    });

    it('an override with @Identity() on a parameter: refused, then its identity injected', async () => {
      class IdentityOverride extends GuardedMethodBase {
        override secret(@Identity() who?: string) {
          ran += 1;
          return { who };
        }
      }
      await Promise.resolve();
      await refusedThenServed(() => new IdentityOverride().secret(), alice, { who: 'alice' });
    });

    it('as emitted JS, a parameter decorated by __decorate: refused after the job, and inside withToken() even in the same job', async () => {
      class ByHand extends GuardedMethodBase {
        override secret(id?: string) {
          return { reader: reader(), id };
        }
      }
      decorate([(target: object, key: string) => Param('id')(target, key, 0)], ByHand.prototype, 'secret', null);
      // inside withToken(), in the same job: the kit rewraps every class it can reach before its call
      await assert.rejects(withToken(undefined, () => new ByHand().secret('1')), (error: JwtHttpError) => error.status === 401);
      await Promise.resolve();
      await refusedThenServed(() => new ByHand().secret('2'), alice, { reader: 'alice', id: '2' });
    });

    it('the limit, pinned: a plain subclass no decorator names runs its override unchecked; its super call is checked', async () => {
      class Plain extends GuardedMethodBase {
        override secret() {
          return { reader: reader(), plain: true };
        }
      }
      class PlainSuper extends GuardedMethodBase {
        override secret() {
          return super.secret();
        }
      }
      // the route rules would give it the base's guard ...
      assert.equal(effectiveGuard(Plain, 'secret'), effectiveGuard(GuardedMethodBase, 'secret'));
      JwtManager.configure({ secret: SECRET }); // ... but neither configure() ...
      // ... nor the testing kit can reach a class JavaScript never shows them: the override runs, unchecked
      assert.deepEqual(new Plain().secret(), { reader: null, plain: true });
      assert.deepEqual(await withToken(undefined, async () => new Plain().secret()), { reader: null, plain: true });
      assert.equal(ran, 2);
      ran = 0;
      // what it reaches of the base is the base's own wrapper: refused without a token, served to alice
      await refusedThenServed(() => new PlainSuper().secret(), alice);
    });
  });

  describe('2: a route decorator applied by hand to a subclass method after subclassing', () => {
    it('Get()(Sub.prototype, name): the method, open before, is refused at once under the class guard; served to alice', async () => {
      @JsonController('/reg-hand')
      class HandRouted extends GuardedClassBase {
        extra() {
          return { reader: reader(), extra: true };
        }
      }
      // no route yet: a class guard covers routes only, so it is open (the allowed call beside the refused one)
      assert.deepEqual(new HandRouted().extra(), { reader: null, extra: true });
      ran = 0;
      Get('/extra')(HandRouted.prototype, 'extra');
      await refusedThenServed(() => new HandRouted().extra(), alice, { reader: 'alice', extra: true });
    });

    it('as emitted JS, __decorate([Post()], Sub.prototype, name, null): refused once the statement is over, served to alice', async () => {
      @JsonController('/reg-hand-js')
      class HandRoutedJs extends GuardedClassBase {
        extra() {
          return { reader: reader(), extra: true };
        }
      }
      decorate([Post('/extra')], HandRoutedJs.prototype, 'extra', null);
      // the limit, pinned: __decorate put back the descriptor it read first, so a call in the same
      // synchronous job, outside the testing kit, still runs the method unchecked
      assert.deepEqual(new HandRoutedJs().extra(), { reader: null, extra: true });
      ran = 0;
      await Promise.resolve(); // the redo scheduled by the route's record
      await refusedThenServed(() => new HandRoutedJs().extra(), alice, { reader: 'alice', extra: true });
    });

    it('as emitted JS, inside withToken() in the same job as the __decorate: refused (the kit rewraps first)', async () => {
      @JsonController('/reg-hand-js-kit')
      class HandRoutedKit extends GuardedClassBase {
        extra() {
          return { reader: reader(), extra: true };
        }
      }
      decorate([Post('/extra')], HandRoutedKit.prototype, 'extra', null);
      await assert.rejects(withToken(undefined, () => new HandRoutedKit().extra()), (error: JwtHttpError) => error.status === 401);
      assert.deepEqual(await withToken(alice, () => new HandRoutedKit().extra()), { reader: 'alice', extra: true });
      assert.equal(ran, 1);
    });

    it('served: the hand-applied route answers 401 without a token, 200 for alice', async () => {
      @JsonController('/reg-hand-served')
      class HandServed extends GuardedClassBase {
        extra() {
          return { reader: reader(), extra: true };
        }
      }
      Get('/extra')(HandServed.prototype, 'extra');
      server = serve([HandServed]);
      assert.deepEqual([(await request(server).get('/reg-hand-served/extra')).status, ran], [401, 0]);
      const res = await request(server).get('/reg-hand-served/extra').set(authHeader(alice));
      assert.deepEqual([res.status, res.body], [200, { reader: 'alice', extra: true }]);
    });
  });

  describe("3: an open controller (no guard at all) whose handler calls another class's guarded method", () => {
    @JsonController('/reg-open-caller')
    class OpenCaller {
      @Get('/')
      call() {
        return new GuardedMethodBase().secret();
      }

      @Get('/class')
      callClassGuarded() {
        return new GuardedClassBase().secret();
      }
    }

    for (const path of ['/reg-open-caller', '/reg-open-caller/class']) {
      it(`${path}: a valid token passes (was 401), the call checked against the real request`, async () => {
        server = serve([OpenCaller]);
        const res = await request(server).get(path).set(authHeader(alice));
        assert.deepEqual([res.status, res.body, ran], [200, { reader: 'alice' }, 1]);
      });

      it(`${path}: missing, forged and refresh tokens are refused with their normal JSON answers`, async () => {
        server = serve([OpenCaller]);
        const missing = await request(server).get(path);
        assert.deepEqual([missing.status, missing.body], [401, { msg: 'Missing Authorization Header' }]);
        const forged = await request(server).get(path).set(authHeader(tamperToken(alice, { sub: 'admin' })));
        assert.deepEqual([forged.status, forged.body], [422, { msg: 'Signature verification failed' }]);
        const refresh = await request(server).get(path).set(authHeader(await fakeRefreshToken('alice')));
        assert.deepEqual([refresh.status, refresh.body], [422, { msg: 'Only non-refresh tokens are allowed' }]);
        assert.equal(ran, 0);
      });
    }

    it('the open route itself stays open: a handler that calls nothing guarded answers without a token', async () => {
      @JsonController('/reg-open-plain')
      class OpenPlain {
        @Get('/')
        hello() {
          return { reader: reader() };
        }
      }
      server = serve([OpenPlain]);
      const res = await request(server).get('/reg-open-plain');
      assert.deepEqual([res.status, res.body], [200, { reader: null }]);
    });
  });
});
