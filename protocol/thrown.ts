// What a caught value says. `catch` gives `unknown`; both ends and every layer ask the same two
// questions of it (which errno code, which message), so they are answered here once, with type
// guards instead of casts. Node's errors are Errors with a string `code`; anything else thrown
// is described by its string form.

/** The errno-style code (`ENOENT`, `EEXIST`…) of a caught value, or undefined when it has none. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** The message of a caught value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A caught value as an Error, to be kept and thrown again later. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
