/**
 * What the manager, its config and its key ring show to `util.inspect()`,
 * `console.log` and `JSON.stringify`: a summary without key material or store
 * internals, so logging one of them never leaks a secret or a private key.
 */
import { inspect, InspectOptionsStylized } from 'node:util';

/**
 * Makes `inspect()` of `target` print `name` and `view(target)`, and `JSON.stringify`
 * give `view(target)`, through non-enumerable properties (spreads and
 * `Object.keys` are unchanged). Returns `target`.
 *
 * @example showAs(ring, 'KeyRing', describeKeyRing)
 */
export function showAs<T extends object>(target: T, name: string, view: (target: T) => object): T {
  const custom = (depth: number, options: InspectOptionsStylized, inspectValue: typeof inspect): string => {
    if (depth < 0) return options.stylize(`[${name}]`, 'special');
    // the view stands in for the target at the same level, so it gets the same remaining depth
    return `${name} ${inspectValue(view(target), { ...options, depth: options.depth === null ? null : depth })}`;
  };
  Object.defineProperties(target, {
    [inspect.custom]: { value: custom },
    toJSON: { value: () => view(target) },
  });
  return target;
}
