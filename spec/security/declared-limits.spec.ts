/**
 * Issue #20, the edges of "a guarded method is guarded whatever its receiver" (docs/guards.md
 * "Direct calls"): a guarded route declared as an arrow-function field is refused where it is
 * declared (F5), without breaking any later unrelated `withToken()`; and a reference to a method
 * taken before its decorators ran (a static initializer, a `static {}` block) stays the undecorated
 * function, a known limit pinned here (F4).
 */
import assert from 'node:assert/strict';
import { Get, getMetadataArgsStorage, JsonController } from 'routing-controllers';
import { getJwtIdentity, JwtManager, JwtRequired, JwtUsageError } from '../../src';
import { fakeAccessToken, JwtHttpError, withToken } from '../../src/testing';
import { SECRET } from '../support/server';

function reader(): string | null {
  try {
    return getJwtIdentity() ?? null;
  } catch {
    return null; // no context: nothing checked this call
  }
}

@JsonController('/dl')
@JwtRequired()
class GuardedBase {
  @Get('/s')
  secret() {
    return { reader: reader() };
  }
}

@JsonController('/dl-open')
class OpenFields {
  /** A field route no guard covers: routing-controllers serves it, nothing to check. */
  @Get('/f')
  field = () => 'open field';
}

const FIELD_FIX = /FieldSub\.field is not a method, and a guard covers its route: declare it as a method \(`field\(\) \{ \.\.\. \}`\), not a field holding a function/;

describe('security: the edges of guarded direct calls (issue #20 F4, F5)', () => {
  let alice: string;
  beforeEach(async () => {
    JwtManager.configure({ secret: SECRET });
    alice = await fakeAccessToken('alice');
  });
  afterEach(() => JwtManager.reset());

  describe('F5: a guarded route declared as an arrow-function field', () => {
    it('is refused where it is declared, with a JwtUsageError naming the fix', () => {
      assert.throws(() => {
        class FieldSub extends GuardedBase {
          @Get('/f')
          field = () => 'FIELD BODY RAN';
        }
        return FieldSub;
      }, (error: Error) => error instanceof JwtUsageError && FIELD_FIX.test(error.message));
    });

    it('under a class guard applied after the field: refused when the class is declared', () => {
      assert.throws(() => {
        @JwtRequired()
        class FieldSub {
          @Get('/f')
          field = () => 'FIELD BODY RAN';
        }
        return FieldSub;
      }, (error: Error) => error instanceof JwtUsageError && FIELD_FIX.test(error.message));
    });

    it('beside it, a field route no guard covers is declared and left alone', () => {
      assert.equal(new OpenFields().field(), 'open field');
      assert.ok(getMetadataArgsStorage().actions.some((a) => a.target === OpenFields && a.method === 'field'));
    });

    it('does not poison later unrelated calls: configure() and withToken() work, the guard still refuses', async () => {
      assert.throws(() => {
        class FieldSub extends GuardedBase {
          @Get('/f2')
          field = () => 'FIELD BODY RAN';
        }
        return FieldSub;
      }, JwtUsageError);
      JwtManager.configure({ secret: SECRET });
      assert.deepEqual(await withToken(alice, () => new GuardedBase().secret()), { reader: 'alice' });
      assert.deepEqual(await withToken(alice, () => new GuardedBase().secret()), { reader: 'alice' });
      await assert.rejects(withToken(undefined, () => new GuardedBase().secret()), (error: JwtHttpError) => error instanceof JwtHttpError && error.status === 401);
    });
  });

  describe('F4: a reference taken before the decorators ran (the limit, pinned)', () => {
    it('a static initializer keeps the undecorated method: it runs unchecked; the method itself is checked', async () => {
      @JsonController('/dl-users')
      class UsersController {
        @Get('/purge')
        @JwtRequired({ roles: ['admin'] })
        async purge() {
          return { purged: true, reader: reader() };
        }

        // __decorate runs after the class body: this is the function before any decorator
        static jobs = { nightlyPurge: UsersController.prototype.purge };
      }
      const users = new UsersController();
      assert.notEqual(UsersController.jobs.nightlyPurge, UsersController.prototype.purge);
      // the limit: no token, yet it runs
      assert.deepEqual(await UsersController.jobs.nightlyPurge.call(users), { purged: true, reader: null });
      // beside it, the method reached through the prototype is checked: no token, and a token without the role
      await assert.rejects(users.purge(), (error: JwtHttpError) => error instanceof JwtHttpError && error.status === 401);
      await assert.rejects(withToken(alice, () => users.purge()), (error: JwtHttpError) => error instanceof JwtHttpError && error.status === 403);
    });

    it('a static {} block capturing the method: the same limit', async () => {
      let captured: (() => Promise<unknown>) | undefined;
      @JsonController('/dl-block')
      class BlockController {
        @Get('/purge')
        @JwtRequired()
        async purge() {
          return { purged: true, reader: reader() };
        }

        static {
          captured = BlockController.prototype.purge;
        }
      }
      assert.deepEqual(await captured!.call(new BlockController()), { purged: true, reader: null });
      await assert.rejects(new BlockController().purge(), (error: JwtHttpError) => error instanceof JwtHttpError && error.status === 401);
    });
  });
});
