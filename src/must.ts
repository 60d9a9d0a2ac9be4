// Where an index or a lookup cannot miss unless the code itself is wrong,
// must() says so and names what was missing, instead of a `!` that says
// nothing and lets an undefined run on.

/** A broken invariant: a bug in the gateway, never bad input. */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

/** The value, or an InvariantError naming `what` if it is undefined. */
export function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new InvariantError(`missing ${what}`);
  return value;
}
