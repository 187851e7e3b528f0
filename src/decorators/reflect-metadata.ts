/**
 * routing-controllers reads parameter types through `reflect-metadata`. Without it the
 * compiler's `design:paramtypes` are dropped without a word (validation silently off) and
 * the app later fails with "Reflect.getMetadata is not a function"; say the fix instead.
 */
import { JwtUsageError } from '../core/errors';

type ReflectWithMetadata = typeof Reflect & { getMetadata?: unknown; metadata?: unknown };

/**
 * Throws a `JwtUsageError` naming `import 'reflect-metadata'` when it is not loaded yet.
 *
 * @example requireReflectMetadata('@JwtRequired()')
 */
export function requireReflectMetadata(decorator: string): void {
  const reflect = Reflect as ReflectWithMetadata;
  if (typeof reflect.getMetadata === 'function' && typeof reflect.metadata === 'function') return;
  throw new JwtUsageError(
    `${decorator} needs reflect-metadata, which is not loaded: add \`import 'reflect-metadata';\` as the first line of your app's entry file (before any controller is imported), and enable experimentalDecorators and emitDecoratorMetadata in tsconfig.json`,
  );
}
