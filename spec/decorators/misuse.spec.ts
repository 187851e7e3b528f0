/**
 * Decorator misuse fails at definition (DESIGN 0.3 G, THREATS "misuse that type-checks
 * away"): a factory used without parentheses throws `Write @X() with parentheses` when the
 * class is defined, applied with decorator syntax (compiled here by ts-node
 * --transpile-only, as the demo runs) and by hand as emitted JS applies it.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { Get, JsonController } from 'routing-controllers';
import {
  Claims, CurrentJwtUser, FreshJwtRequired, Identity, JwtOptional, JwtRequired, JwtUsageError, RefreshRequired,
} from '../../src';
import { serve, stop } from '../support/server';

type Bare = (...args: unknown[]) => unknown;
const GUARDS: Record<string, Bare> = {
  JwtRequired: JwtRequired as Bare, FreshJwtRequired: FreshJwtRequired as Bare, RefreshRequired: RefreshRequired as Bare, JwtOptional: JwtOptional as Bare,
};
const PARAMS: Record<string, Bare> = { Identity: Identity as Bare, Claims: Claims as Bare, CurrentJwtUser: CurrentJwtUser as Bare };

function refusedAs(name: string) {
  return (error: unknown) => {
    assert.ok(error instanceof JwtUsageError, String(error));
    assert.equal(error.message, `Write @${name}() with parentheses`);
    return true;
  };
}

describe('decorators: misuse fails when the class is defined', () => {
  for (const [name, decorator] of Object.entries(GUARDS)) {
    describe(`@${name} without parentheses`, () => {
      it('on a method, with decorator syntax', () => {
        assert.throws(() => {
          class Controller {
            @(decorator as unknown as MethodDecorator)
            route() {
              return 'open';
            }
          }
          return Controller;
        }, refusedAs(name));
      });

      it('on a class, with decorator syntax', () => {
        assert.throws(() => {
          @(decorator as unknown as ClassDecorator)
          class Controller {}
          return Controller;
        }, refusedAs(name));
      });

      it('applied as emitted JS does: (prototype, key, descriptor) and (Class)', () => {
        class Controller {
          route() {
            return 'open';
          }
        }
        const descriptor = Object.getOwnPropertyDescriptor(Controller.prototype, 'route');
        assert.throws(() => decorator(Controller.prototype, 'route', descriptor), refusedAs(name));
        assert.throws(() => decorator(Controller), refusedAs(name));
      });

      it('applied as a standard (TC39) decorator: (value, context)', () => {
        class Controller {}
        assert.throws(() => decorator(() => 'open', { kind: 'method', name: 'route' }), refusedAs(name));
        assert.throws(() => decorator(Controller, { kind: 'class', name: 'Controller' }), refusedAs(name));
      });

      it(`@${name}() and @${name}({}) still define`, () => {
        assert.equal(typeof decorator(), 'function');
        assert.equal(typeof decorator({}), 'function');
      });
    });
  }

  for (const [name, decorator] of Object.entries(GUARDS)) {
    it(`@${name}() on a static method fails at definition (it was accepted and never enforced: outside attack helper-32)`, () => {
      const guard = decorator() as MethodDecorator;
      assert.throws(() => {
        class Controller {
          @guard
          static async purgeAll() {
            return 'purged';
          }
        }
        return Controller;
      }, (error: unknown) => error instanceof JwtUsageError && /Controller\.purgeAll is static/.test(error.message));
      class Plain {
        static purgeAll() {
          return 'purged';
        }
      }
      assert.throws(() => guard(Plain, 'purgeAll', Object.getOwnPropertyDescriptor(Plain, 'purgeAll')!), JwtUsageError);
    });
  }

  for (const [name, decorator] of Object.entries(PARAMS)) {
    describe(`@${name} without parentheses`, () => {
      it('on a parameter, with decorator syntax', () => {
        assert.throws(() => {
          class Controller {
            route(@(decorator as unknown as ParameterDecorator) who: unknown) {
              return who;
            }
          }
          return Controller;
        }, refusedAs(name));
      });

      it('applied as emitted JS does: (prototype, key, index)', () => {
        class Controller {
          route(who: unknown) {
            return who;
          }
        }
        assert.throws(() => decorator(Controller.prototype, 'route', 0), refusedAs(name));
      });

      it(`@${name}() still defines`, () => {
        assert.equal(typeof decorator(), 'function');
      });
    });
  }

  describe('the route a transpile-only build would have left open', () => {
    let server: Server | undefined;
    afterEach(() => stop(server));

    it('never gets served: the class fails to define, and @JwtRequired() on the same route refuses anonymously', async () => {
      assert.throws(() => {
        @JsonController('/misuse-open')
        class Bad {
          @Get('/payroll')
          @(JwtRequired as unknown as MethodDecorator)
          payroll() {
            return { payroll: 'secret' };
          }
        }
        return Bad;
      }, refusedAs('JwtRequired'));
      @JsonController('/misuse-fixed')
      class Fixed {
        @Get('/payroll')
        @JwtRequired()
        payroll() {
          return { payroll: 'secret' };
        }
      }
      server = serve([Fixed]);
      const res = await request(server).get('/misuse-fixed/payroll');
      assert.deepEqual([res.status, res.body], [401, { msg: 'Missing Authorization Header' }]);
    });
  });
});
