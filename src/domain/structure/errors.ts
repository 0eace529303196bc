/** A structure file that cannot be read, located as precisely as the reader knows. */
export class StructureParseError extends Error {
  /** File name (or other label) the text came from. */
  readonly source: string;
  /** 1-based line number, when the problem is on one line. */
  readonly line?: number;
  /** The field concerned, e.g. `_cell_length_a` or `counts`. */
  readonly field?: string;
  /** What is wrong, without the location. */
  readonly reason: string;

  constructor(opts: { source: string; line?: number; field?: string; reason: string }) {
    const where = `${opts.source}${opts.line !== undefined ? ` line ${opts.line}` : ''}${opts.field ? ` (${opts.field})` : ''}`;
    super(`${where}: ${opts.reason}`);
    this.name = 'StructureParseError';
    this.source = opts.source;
    if (opts.line !== undefined) this.line = opts.line;
    if (opts.field !== undefined) this.field = opts.field;
    this.reason = opts.reason;
  }
}
