/**
 * Forgetting `import 'reflect-metadata'` gets our hint at decoration time, not
 * routing-controllers' "Reflect.getMetadata is not a function" later.
 */
import assert from 'node:assert/strict';
import { Get, JsonController } from 'routing-controllers';
import { Identity, JwtRequired, JwtUsageError } from '../../src';

/** What reflect-metadata adds to the global `Reflect`. */
const METADATA_API = [
  'decorate', 'metadata', 'defineMetadata', 'hasMetadata', 'hasOwnMetadata', 'getMetadata', 'getOwnMetadata',
  'getMetadataKeys', 'getOwnMetadataKeys', 'deleteMetadata',
];

/** Runs `fn` as if reflect-metadata had not been imported. */
function withoutReflectMetadata(fn: () => void): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  const saved = Object.fromEntries(METADATA_API.map((name) => [name, reflect[name]]));
  for (const name of METADATA_API) delete reflect[name];
  try {
    fn();
  } finally {
    Object.assign(reflect, saved);
  }
}

function hintsTheImport(error: unknown): boolean {
  return error instanceof JwtUsageError && error.message.includes("add `import 'reflect-metadata';` as the first line");
}

describe('decorators: reflect-metadata missing', () => {
  it('a guard decorator throws a JwtUsageError naming the import', () => {
    withoutReflectMetadata(() => {
      assert.throws(() => {
        @JsonController('/no-reflect')
        class NoReflectController {
          @Get('/')
          @JwtRequired()
          route() {
            return {};
          }
        }
        return NoReflectController;
      }, hintsTheImport);
    });
  });

  it('@Identity() throws the same hint', () => {
    withoutReflectMetadata(() => {
      assert.throws(() => {
        class NoReflectParams {
          route(@Identity() identity: string) {
            return identity;
          }
        }
        return NoReflectParams;
      }, hintsTheImport);
    });
  });

  it('with reflect-metadata loaded, the same class decorates without a word', () => {
    assert.doesNotThrow(() => {
      @JsonController('/with-reflect')
      class WithReflectController {
        @Get('/')
        @JwtRequired()
        route(@Identity() identity: string) {
          return { identity };
        }
      }
      return WithReflectController;
    });
  });
});
