/**
 * A guarded method is guarded whatever its receiver (DESIGN 0.3 G, THREATS "decisions
 * keyed on the caller's shape"): called with a foreign `this` (`.call({})`, `bind`, an
 * EventEmitter listener, a timer, a `map` callback, a mixin's copy, a receiver that names
 * another class as its constructor) it is refused without a token and passes with one.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import request from 'supertest';
import { Get, JsonController } from 'routing-controllers';
import { getJwtIdentity, JwtOptional, JwtRequired } from '../../src';
import { authHeader, fakeAccessToken, JwtHttpError, withToken } from '../../src/testing';
import { serve, stop } from '../support/server';

let ran = 0;

@JsonController('/rx')
class PayrollDesk {
  @Get('/payroll')
  @JwtRequired({ roles: ['admin'] })
  payroll() {
    ran += 1;
    return { reader: getJwtIdentity() };
  }

  /** An open route calling the guarded method with a foreign receiver. */
  @Get('/open')
  async open() {
    try {
      return await PayrollDesk.prototype.payroll.call({});
    } catch (error) {
      return { refused: (error as JwtHttpError).status };
    }
  }
}

/** A subclass that relaxes the route its own way (section A): only its own instances get that. */
@JsonController('/rx-relaxed')
class RelaxedDesk extends PayrollDesk {
  @Get('/payroll')
  @JwtOptional()
  override payroll() {
    return super.payroll();
  }
}

@JsonController('/rx-class')
@JwtRequired({ roles: ['admin'] })
class GuardedClassDesk {
  @Get('/list')
  list() {
    ran += 1;
    return { reader: getJwtIdentity() };
  }
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Each way a method can be called with another `this`; each resolves with the method's answer or rejects with its refusal. */
const RECEIVERS: Record<string, (fn: Method, name: string, from: Function) => Promise<unknown>> = {
  '.call({})': async (fn) => fn.call({}),
  '.call(undefined)': async (fn) => fn.call(undefined),
  '.bind({})': async (fn) => fn.bind({})(),
  'an EventEmitter listener': (fn) => new Promise((resolve, reject) => {
    const emitter = new EventEmitter({ captureRejections: true }); // a listener's rejected promise becomes 'error'
    emitter.on('error', reject);
    emitter.on('pay', async function (this: EventEmitter) {
      resolve(await fn.call(this)); // the receiver a listener gets: the emitter
    });
    emitter.emit('pay');
  }),
  'a setTimeout callback': (fn) => new Promise((resolve, reject) => {
    setTimeout(function (this: unknown) {
      Promise.resolve(fn.call(this)).then(resolve, reject); // the receiver a timer gives: the Timeout
    }, 0);
  }),
  'a map callback': async (fn) => [1].map(fn as (n: number) => unknown)[0],
  'a mixin copy onto another class': async (_fn, name, from) => {
    class Other {}
    for (const key of Object.getOwnPropertyNames(from.prototype)) {
      if (key !== 'constructor') Object.defineProperty(Other.prototype, key, Object.getOwnPropertyDescriptor(from.prototype, key)!);
    }
    return (new Other() as Record<string, Method>)[name]();
  },
  'a mixin copy that copies constructor too': async (_fn, name, from) => {
    class Other {}
    for (const key of Object.getOwnPropertyNames(from.prototype)) Object.defineProperty(Other.prototype, key, Object.getOwnPropertyDescriptor(from.prototype, key)!);
    return (new Other() as Record<string, Method>)[name]();
  },
  'a receiver naming a relaxing subclass as its constructor': async (fn) => fn.call({ constructor: RelaxedDesk }),
};

const GUARDED: Array<[string, Method, string, Function]> = [
  ['@JwtRequired({ roles }) on the method', PayrollDesk.prototype.payroll as Method, 'payroll', PayrollDesk],
  ['@JwtRequired({ roles }) on the class', GuardedClassDesk.prototype.list as Method, 'list', GuardedClassDesk],
];

describe('security: a guarded method is guarded whatever its receiver', () => {
  let server: Server | undefined;
  let admin: string;
  let user: string;
  beforeEach(async () => {
    server = serve([PayrollDesk, RelaxedDesk, GuardedClassDesk]);
    admin = await fakeAccessToken('alice', { claims: { roles: ['admin'] } });
    user = await fakeAccessToken('mallory', { claims: { roles: ['user'] } });
    ran = 0;
  });
  afterEach(() => stop(server));

  for (const [label, fn, name, from] of GUARDED) {
    for (const [receiver, call] of Object.entries(RECEIVERS)) {
      it(`${label}, called through ${receiver}: 401 without a token, 403 without the role, runs with an admin token`, async () => {
        await assert.rejects(call(fn, name, from), (error: JwtHttpError) => {
          assert.deepEqual([error.status, error.body], [401, { msg: 'Missing Authorization Header' }]);
          return true;
        });
        await assert.rejects(withToken(user, () => call(fn, name, from)), (error: JwtHttpError) => {
          assert.deepEqual([error.status, error.body], [403, { msg: 'Insufficient permissions' }]);
          return true;
        });
        assert.equal(ran, 0, 'the method body never ran for a refused call');
        assert.deepEqual(await withToken(admin, () => call(fn, name, from)), { reader: 'alice' });
        assert.equal(ran, 1);
      });
    }
  }

  it('a subclass instance keeps its own route rules: its @JwtOptional() override runs the base method without a token', async () => {
    // the override relaxes its route; super.payroll() is checked as the subclass's route is (optional)
    assert.deepEqual(await new RelaxedDesk().payroll(), { reader: undefined });
    const res = await request(server!).get('/rx-relaxed/payroll');
    assert.deepEqual([res.status, res.body], [200, {}]);
  });

  it('an instance of the declaring class itself is checked by its route\'s guard', async () => {
    await assert.rejects(Promise.resolve(new PayrollDesk().payroll()), (error: JwtHttpError) => error.status === 401);
    assert.deepEqual(await withToken(admin, () => new PayrollDesk().payroll()), { reader: 'alice' });
  });

  it('over HTTP: an open route calling the method with .call({}) is refused anonymously and served to an admin', async () => {
    const anonymous = await request(server!).get('/rx/open');
    assert.deepEqual([anonymous.status, anonymous.body, ran], [200, { refused: 401 }, 0]);
    const alice = await request(server!).get('/rx/open').set(authHeader(admin));
    assert.deepEqual([alice.status, alice.body, ran], [200, { reader: 'alice' }, 1]);
  });
});
