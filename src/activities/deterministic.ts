/**
 * The one place where a deterministic domain error becomes a non-retryable activity failure. Activities let a
 * reader's `ReadError` (src/domain/read-error.ts: a malformed or not-yet-supported file or command output) propagate;
 * Temporal would retry any other error as an infrastructure fault, but reading the same text again fails the same
 * way, so `nonRetryableReadErrors` wraps every activity and fails such an error at once, with its message.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ReadError } from '../domain/read-error.ts';

/** The failure types, by the error's kind: what a user (or a workflow) can tell them apart by. */
export const READ_FAILURE_TYPES = { malformed: 'MalformedOutput', unsupported: 'UnsupportedFeature' } as const;

export function asNonRetryable(e: unknown): unknown {
  if (!(e instanceof ReadError)) return e;
  return ApplicationFailure.create({
    message: e.message,
    type: READ_FAILURE_TYPES[e.kind],
    nonRetryable: true,
    details: [{ source: e.source, line: e.line, field: e.field, reason: e.reason }],
    cause: e,
  });
}

type AsyncFunctions = Record<string, (...args: never[]) => Promise<unknown>>;

/** The same activities, each turning a thrown ReadError into a non-retryable failure. */
export function nonRetryableReadErrors<T extends AsyncFunctions>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (e) {
        throw asNonRetryable(e);
      }
    };
  }
  return wrapped as T;
}
