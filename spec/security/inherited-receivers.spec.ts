/**
 * An inherited route under a guarded subclass is guarded whatever its receiver (DESIGN 0.3 G,
 * THREATS "decisions keyed on the caller's shape"). `@JwtRequired() class Sub extends Base {}`
 * serves Base's route guarded (section A); the method reached through Sub (`Sub.prototype.secret`,
 * `sub.secret` detached, bound, applied, copied by a mixin) carries Sub's guard for any `this`,
 * while Base, itself a served open controller, stays open over HTTP and as a Base method.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { Get, JsonController } from 'routing-controllers';
import { getJwtIdentity, JwtOptional, JwtRequired } from '../../src';
import { authHeader, fakeAccessToken, JwtHttpError, withToken } from '../../src/testing';
import { serve, stop } from '../support/server';

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

/** An open controller, served as it is: its route stays open. */
@JsonController('/base')
class OpenDesk {
  @Get('/secret')
  secret() {
    return { reader: reader() };
  }
}

/** The same route served under a class guard. */
@JsonController('/sub')
@JwtRequired({ roles: ['admin'] })
class GuardedDesk extends OpenDesk {}

/** A subclass of the guarded one, no decorator of its own: the guard it inherits. */
@JsonController('/subsub')
class GuardedDeskChild extends GuardedDesk {}

/** A subclass of the guarded one whose override relaxes its own route (section A). */
@JsonController('/relaxed')
class RelaxedDesk extends GuardedDesk {
  @Get('/secret')
  @JwtOptional()
  override secret() {
    return super.secret();
  }
}

/** The other way round: the guard on the base method, an unguarded subclass serving it. */
@JsonController('/gbase')
class GuardedMethodDesk {
  @Get('/secret')
  @JwtRequired({ roles: ['admin'] })
  secret() {
    return { reader: reader() };
  }
}

@JsonController('/gsub')
class PlainDeskOfGuardedMethod extends GuardedMethodDesk {}

type Method = (this: unknown, ...args: unknown[]) => unknown;
type Call = () => unknown;

/** Each way to call the method a class serves, reached through that class, with a receiver its rules cannot resolve. */
function foreignCalls(of: Function): Record<string, Call> {
  const proto = of.prototype as Record<string, Method>;
  const instance = Reflect.construct(of, []) as Record<string, Method>;
  return {
    'Class.prototype.secret.call({})': () => proto.secret.call({}),
    'Class.prototype.secret.call(undefined)': () => proto.secret.call(undefined),
    'instance.secret.call({})': () => instance.secret.call({}),
    '.bind(null)': () => proto.secret.bind(null)(),
    'a detached reference': () => {
      const { secret } = instance;
      return secret();
    },
    'Reflect.apply with {}': () => Reflect.apply(proto.secret, {}, []),
    'a base-class instance as receiver': () => proto.secret.call(new OpenDesk()),
    'a mixin copying the methods along the chain, nearest first': () => {
      class Other {}
      for (let from = of.prototype as object; from !== Object.prototype; from = Object.getPrototypeOf(from)) {
        for (const key of Object.getOwnPropertyNames(from)) {
          if (key !== 'constructor' && !Object.hasOwn(Other.prototype, key)) Object.defineProperty(Other.prototype, key, Object.getOwnPropertyDescriptor(from, key)!);
        }
      }
      return (new Other() as Record<string, Method>).secret();
    },
    'a mixin copying the resolved method': () => {
      class Other {}
      (Other.prototype as Record<string, Method>).secret = proto.secret;
      return (new Other() as Record<string, Method>).secret();
    },
  };
}

async function refusedThenServed(call: Call, admin: string, user: string): Promise<void> {
  await assert.rejects(async () => call(), (error: JwtHttpError) => {
    assert.deepEqual([error.status, error.body], [401, { msg: 'Missing Authorization Header' }]);
    return true;
  });
  await assert.rejects(withToken(user, async () => call()), (error: JwtHttpError) => {
    assert.deepEqual([error.status, error.body], [403, { msg: 'Insufficient permissions' }]);
    return true;
  });
  assert.equal(ran, 0, 'the method body never ran for a refused call');
  assert.deepEqual(await withToken(admin, async () => call()), { reader: 'alice' });
  assert.equal(ran, 1);
}

describe('security: an inherited route under a guarded subclass is guarded whatever its receiver', () => {
  let server: Server | undefined;
  let admin: string;
  let user: string;
  beforeEach(async () => {
    server = serve([OpenDesk, GuardedDesk, GuardedDeskChild, RelaxedDesk, GuardedMethodDesk, PlainDeskOfGuardedMethod]);
    admin = await fakeAccessToken('alice', { claims: { roles: ['admin'] } });
    user = await fakeAccessToken('mallory', { claims: { roles: ['user'] } });
    ran = 0;
  });
  afterEach(() => stop(server));

  describe('over HTTP', () => {
    for (const path of ['/sub/secret', '/subsub/secret', '/gbase/secret', '/gsub/secret']) {
      it(`${path}: 401 without a token, 403 without the role, 200 for an admin`, async () => {
        assert.deepEqual([(await request(server!).get(path)).status, ran], [401, 0]);
        assert.deepEqual([(await request(server!).get(path).set(authHeader(user))).status, ran], [403, 0]);
        const res = await request(server!).get(path).set(authHeader(admin));
        assert.deepEqual([res.status, res.body, ran], [200, { reader: 'alice' }, 1]);
      });
    }

    it('/base/secret: the open base controller stays open', async () => {
      const res = await request(server!).get('/base/secret');
      assert.deepEqual([res.status, res.body], [200, { reader: null }]);
    });

    it('/relaxed/secret: the @JwtOptional() override runs anonymously, and with a token sees it', async () => {
      const anonymous = await request(server!).get('/relaxed/secret');
      assert.deepEqual([anonymous.status, anonymous.body], [200, { reader: null }]);
      const alice = await request(server!).get('/relaxed/secret').set(authHeader(user));
      assert.deepEqual([alice.status, alice.body], [200, { reader: 'mallory' }]);
    });
  });

  describe('direct calls with the right receiver', () => {
    for (const [name, of] of [['GuardedDesk', GuardedDesk], ['GuardedDeskChild', GuardedDeskChild], ['PlainDeskOfGuardedMethod', PlainDeskOfGuardedMethod]] as const) {
      it(`new ${name}().secret(): refused, then served to an admin`, async () => {
        const instance = Reflect.construct(of, []) as { secret(): unknown };
        await refusedThenServed(() => instance.secret(), admin, user);
      });
    }

    it('new OpenDesk().secret() and OpenDesk.prototype.secret.call({}) stay open', () => {
      assert.deepEqual(new OpenDesk().secret(), { reader: null });
      assert.deepEqual((OpenDesk.prototype.secret as Method).call({}), { reader: null });
      assert.deepEqual(Reflect.apply(OpenDesk.prototype.secret, undefined, []), { reader: null });
      assert.equal(ran, 3);
    });

    it('OpenDesk.prototype.secret called on a GuardedDesk instance follows the instance\'s class: guarded', async () => {
      await refusedThenServed(() => (OpenDesk.prototype.secret as Method).call(new GuardedDesk()), admin, user);
    });

    it('new RelaxedDesk().secret(): its @JwtOptional() override runs anonymously, its super call included', async () => {
      assert.deepEqual(await new RelaxedDesk().secret(), { reader: null });
      assert.deepEqual(await withToken(user, async () => new RelaxedDesk().secret()), { reader: 'mallory' });
    });
  });

  for (const [name, of] of [['GuardedDesk', GuardedDesk], ['GuardedDeskChild', GuardedDeskChild], ['PlainDeskOfGuardedMethod', PlainDeskOfGuardedMethod]] as const) {
    describe(`${name}'s secret, called with a foreign receiver`, () => {
      for (const [how, call] of Object.entries(foreignCalls(of))) {
        it(`through ${how}: 401, 403, then served to an admin`, async () => {
          await refusedThenServed(call, admin, user);
        });
      }
    });
  }

  it("RelaxedDesk.prototype.secret.call({}): its super call reaches GuardedDesk's method with a foreign receiver: GuardedDesk's guard", async () => {
    await refusedThenServed(() => (RelaxedDesk.prototype.secret as Method).call({}), admin, user);
  });

  it('over HTTP: an open route calling GuardedDesk.prototype.secret.call({}) is refused anonymously', async () => {
    @JsonController('/caller')
    class Caller {
      /** A guarded method makes the class's open routes known to the guarded methods they call. */
      @Get('/me')
      @JwtRequired()
      me() {
        return { me: true };
      }

      @Get('/')
      async call() {
        try {
          return await (GuardedDesk.prototype.secret as Method).call({});
        } catch (error) {
          return { refused: (error as JwtHttpError).status };
        }
      }
    }
    stop(server);
    server = serve([Caller, GuardedDesk]);
    const anonymous = await request(server).get('/caller');
    assert.deepEqual([anonymous.status, anonymous.body, ran], [200, { refused: 401 }, 0]);
    const alice = await request(server).get('/caller').set(authHeader(admin));
    assert.deepEqual([alice.status, alice.body, ran], [200, { reader: 'alice' }, 1]);
  });
});
