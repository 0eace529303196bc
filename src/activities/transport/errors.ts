/**
 * Transport errors, in the two kinds of DESIGN.md: the infrastructure hiccuped (`retryable = true`: connection
 * refused, reset, timed out, dropped; Temporal retries with backoff) or a permanent fault a user must fix
 * (`nonRetryable = true`: unknown or changed host key, authentication refused, a bad profile).
 *
 * They extend Temporal's `ApplicationFailure`, so an activity can let them escape as they are: Temporal reads
 * `nonRetryable` and `type` (the class name) directly. Messages never contain secrets.
 */
import { ApplicationFailure } from '@temporalio/common';

export class TransportError extends ApplicationFailure {
  /** True when trying again later may succeed. */
  readonly retryable: boolean;
  constructor(message: string, type: string, retryable: boolean, cause?: Error) {
    super(message, type, !retryable, undefined, cause);
    this.retryable = retryable;
  }
}

/** Connecting failed or the connection dropped (refused, reset, timeout, lost mid-command): try again. */
export class ConnectionError extends TransportError {
  constructor(
    message: string,
    readonly host: string,
    readonly port: number,
    cause?: Error,
  ) {
    super(message, 'ConnectionError', true, cause);
  }
}

/** The server's host key is not the pinned one (unknown, changed or revoked): nothing was sent to it. */
export class HostKeyError extends TransportError {
  constructor(
    message: string,
    readonly host: string,
    readonly port: number,
    /** `SHA256:...` of the key the server presented. */
    readonly fingerprint: string,
    readonly reason: 'unknown' | 'changed' | 'revoked',
  ) {
    super(message, 'HostKeyError', false);
  }
}

/** The server refused our credentials, or they could not be loaded (missing key file, unset variable). */
export class AuthError extends TransportError {
  constructor(message: string, cause?: Error) {
    super(message, 'AuthError', false, cause);
  }
}

/** A command ran past its `timeoutMs` and was stopped. */
export class CommandTimeoutError extends TransportError {
  constructor(message: string) {
    super(message, 'CommandTimeoutError', true);
  }
}

/**
 * File errors by what trying again can change. Permanent: the path is wrong for the operation (missing, not a
 * directory, a directory, invalid or too long, a loop, a read-only mount, an operation the server lacks) or
 * access is refused: a user must act. Everything else is transient: a full file system or quota (space is
 * freed), a stale NFS handle or an I/O error (a file server failing over), a busy or exhausted resource, a
 * reset connection. Unknown codes count as transient: the retry policy bounds them, and a permanent fault
 * retried for a while costs less than a multi-day result lost to a blip.
 */
const PERMANENT_FILE_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EEXIST', 'EINVAL', 'ENAMETOOLONG', 'ELOOP', 'EROFS', 'ENOSYS']);

export const isPermanentFileCode = (code: string): boolean => PERMANENT_FILE_CODES.has(code);

/**
 * A file operation failed on the far side (or on the worker's side of a copy): `code` is the errno name
 * (`ENOENT`, `ENOSPC`, ...; over SFTP the nearest one the protocol tells, see ssh.ts), `path` the path it was
 * about. Retryable unless the code is permanent (`isPermanentFileCode`).
 */
export class TransportFileError extends TransportError {
  constructor(
    message: string,
    readonly code: string,
    readonly path: string,
    cause?: Error,
  ) {
    super(message, 'TransportFileError', !isPermanentFileCode(code), cause);
  }
}

/** A call that can never work as made (bad argv, bad environment name, closed transport). */
export class TransportUsageError extends TransportError {
  constructor(message: string) {
    super(message, 'TransportUsageError', false);
  }
}

// ApplicationFailure fixes `name` on its prototype (read-only); each subclass names itself the same way.
for (const cls of [TransportError, ConnectionError, HostKeyError, AuthError, CommandTimeoutError, TransportFileError, TransportUsageError]) {
  Object.defineProperty(cls.prototype, 'name', { value: cls.name, enumerable: false, configurable: true });
}

/** True for errors worth another try (transport errors that say so, and unknown errors: the safe default). */
export function isRetryable(err: unknown): boolean {
  if (err instanceof TransportError) return err.retryable;
  if (err instanceof ApplicationFailure) return !err.nonRetryable;
  return true;
}
