/**
 * What `JSON.parse` costs is the shape of the text more than its size: within 1 MiB, half a
 * million nested brackets or sixty thousand distinct member names in one object each take it
 * 80-300 ms, all of it on the event loop. So an answer from an identity provider is scanned
 * first, in one pass over its bytes with no allocation (a few ms for 1 MiB), and refused
 * when it nests too deep or holds too many members or values; only then is it parsed.
 */

/** How large a JSON document may be in shape (sizes of containers, not bytes). */
export interface JsonShapeLimits {
  /** The deepest nesting of objects and arrays (a JWK Set is 4 deep: `{"keys":[{"x5c":[...]}]}`). */
  maxDepth: number;
  /** The most members of one object. */
  maxMembers: number;
  /** The most elements of one array. */
  maxElements: number;
  /** The most values (members, elements, containers) of the whole document. */
  maxValues: number;
}

/** The characters that shape a JSON text; everything else (numbers, literals, white space) is skipped natively. */
const STRUCTURE = /["{}[\],]/g;

/** The index of the quote closing the string opened at `open`, or -1 (an escaped quote never closes it). */
function stringEnd(text: string, open: number): number {
  let end = text.indexOf('"', open + 1);
  while (end !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes += 1;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
  return -1;
}

/**
 * Why the JSON text in `bytes` exceeds `limits`, or `undefined` when it does not. Counts
 * structure only (brackets and commas outside strings), so text that is no JSON at all
 * passes here and is refused by `JSON.parse`, which then has a bounded shape to walk. The
 * scan visits structural characters only (a regular expression finds the next one, `indexOf`
 * the end of a string), so a body of digits or white space costs no loop turn per byte.
 *
 * @example jsonShapeProblem(Buffer.from('[[[[1]]]]'), { maxDepth: 3, maxMembers: 10, maxElements: 10, maxValues: 100 })
 * // 'it nests deeper than 3 levels'
 */
export function jsonShapeProblem(bytes: Buffer, limits: JsonShapeLimits): string | undefined {
  const { maxDepth, maxMembers, maxElements, maxValues } = limits;
  // latin1: one character per byte, and every structural character is ASCII
  const text = bytes.toString('latin1');
  // commas seen in each open container, and whether it is an object
  const commas = new Int32Array(maxDepth + 1);
  const isObject = new Uint8Array(maxDepth + 1);
  let depth = 0;
  let values = 0;
  // a JSON text within the bounds has fewer structural characters than this (strings included): junk stops here
  let budget = 8 * (maxValues + 1);
  const structure = new RegExp(STRUCTURE.source, 'g');
  while (structure.test(text)) {
    if (--budget < 0) return `it holds more than ${maxValues} values`;
    const at = structure.lastIndex - 1;
    const character = text.charCodeAt(at);
    if (character === 0x22) {
      const end = stringEnd(text, at);
      if (end === -1) return undefined; // an unterminated string: JSON.parse refuses it
      structure.lastIndex = end + 1;
    } else if (character === 0x7b || character === 0x5b) {
      if (depth === maxDepth) return `it nests deeper than ${maxDepth} levels`;
      depth += 1;
      commas[depth] = 0;
      isObject[depth] = character === 0x7b ? 1 : 0;
      if (++values > maxValues) return `it holds more than ${maxValues} values`;
    } else if (character === 0x7d || character === 0x5d) {
      // the document ends here: what follows, if anything, JSON.parse refuses
      if (--depth <= 0) return undefined;
    } else if (depth > 0) {
      // a comma: n commas make n + 1 entries
      const entries = (commas[depth] += 1) + 1;
      if (isObject[depth] === 1 ? entries > maxMembers : entries > maxElements) {
        return isObject[depth] === 1 ? `an object of it has more than ${maxMembers} members` : `an array of it has more than ${maxElements} elements`;
      }
      if (++values > maxValues) return `it holds more than ${maxValues} values`;
    }
  }
  return undefined;
}
