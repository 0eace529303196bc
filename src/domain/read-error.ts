/**
 * A file or command output that a reader cannot turn into data, located as precisely as the reader knows.
 *
 * Two kinds, because they ask different things of the user:
 * - `malformed`: the text is not what it claims to be (a truncated table, a row of the wrong width, a job id that
 *   is not one); the message names the problem.
 * - `unsupported`: a real case this reader does not read yet (k-resolved PDOS, partial occupancy); the message
 *   says "not supported yet" and names the feature.
 * Either way reading the same text again fails the same way, so an activity never retries it:
 * src/activities/deterministic.ts turns it into a non-retryable failure.
 */
export type ReadErrorKind = 'malformed' | 'unsupported';

export interface ReadErrorDetails {
  /** File name (or other label, e.g. "squeue on beefcake2") the text came from. */
  source: string;
  /** 1-based line number, when the problem is on one line. */
  line?: number;
  /** The field concerned, e.g. `_cell_length_a`, `counts`, a column name. */
  field?: string;
  /** What is wrong, without the location. */
  reason: string;
  /** Default `malformed`. */
  kind?: ReadErrorKind;
}

/** The reason as a message says it: "not supported yet: ..." for the unsupported kind. */
export const describeReason = (kind: ReadErrorKind, reason: string): string => `${kind === 'unsupported' ? 'not supported yet: ' : ''}${reason}`;

export class ReadError extends Error {
  readonly source: string;
  readonly line?: number;
  readonly field?: string;
  readonly reason: string;
  readonly kind: ReadErrorKind;

  constructor(d: ReadErrorDetails) {
    const where = `${d.source}${d.line !== undefined ? ` line ${d.line}` : ''}${d.field ? ` (${d.field})` : ''}`;
    const kind = d.kind ?? 'malformed';
    super(`${where}: ${describeReason(kind, d.reason)}`);
    this.name = 'ReadError';
    this.source = d.source;
    if (d.line !== undefined) this.line = d.line;
    if (d.field !== undefined) this.field = d.field;
    this.reason = d.reason;
    this.kind = kind;
  }
}
