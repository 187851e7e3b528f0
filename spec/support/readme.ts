/**
 * The README's compiled examples: each ```ts block whose first line is `// <file>.ts`
 * is a whole file of an app, so specs can compile (and run) exactly what users copy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const README = join(__dirname, '..', '..', 'README.md');

/**
 * The README's example files by name (`app.ts`, `profile.controller.ts`, ...).
 *
 * @example const { 'app.ts': quickstart } = readmeExamples()
 */
export function readmeExamples(): Record<string, string> {
  const examples: Record<string, string> = {};
  for (const match of readFileSync(README, 'utf8').matchAll(/```ts\n\/\/ ([\w.-]+\.ts)\b[^\n]*\n([\s\S]*?)```/g)) {
    examples[match[1]] = match[2];
  }
  return examples;
}
