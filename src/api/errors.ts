/** A user-facing error: bad input, with the field and the reason. The CLI prints its message alone. */
export class InputError extends Error {
  override name = 'InputError';
}
