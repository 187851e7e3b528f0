/** The message of the innermost `cause` (the root of a chain of wrapped errors). @example rootCauseMessage(error) // 'Error: connect ECONNREFUSED' */
export function rootCauseMessage(error: unknown): string {
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof Error && current.cause !== undefined; depth += 1) current = current.cause;
  if (current instanceof Error) return `${current.name}: ${current.message}`;
  return String(current);
}
