/**
 * In its own process (it empties routing-controllers' global metadata storage): a controller
 * subclass defined after `getMetadataArgsStorage().reset()` is still wrapped when it is recorded.
 * Prints one JSON line: what a direct call without a token, and one through the testing kit, got.
 */
import 'reflect-metadata';
import { Get, getMetadataArgsStorage, JsonController } from 'routing-controllers';
import { JwtManager, JwtRequired } from '../../src';
import { fakeAccessToken, JwtHttpError, withToken } from '../../src/testing';

@JsonController('/base')
class Base {
  @Get('/secret')
  @JwtRequired()
  secret(): unknown {
    return 'base';
  }
}

async function main(): Promise<void> {
  JwtManager.configure({ secret: 'storage-reset-secret-0123456789-abcdef' });
  getMetadataArgsStorage().reset();
  @JsonController('/late')
  class Late extends Base {
    override secret() {
      return 'late ran';
    }
  }
  let direct: unknown;
  try {
    direct = await new Late().secret();
  } catch (error) {
    direct = (error as JwtHttpError).status;
  }
  const served = await withToken(await fakeAccessToken('alice'), async () => new Late().secret());
  console.log(JSON.stringify({ direct, served }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
