/** The error `fn` throws (the test fails if it throws none), typed as the caller expects it. */
export function thrown<E extends Error = Error>(fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    return e as E;
  }
  throw new Error('expected an error, none was thrown');
}
