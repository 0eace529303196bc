import { ReadError, type ReadErrorDetails } from '../read-error.ts';

/** A structure file that cannot be read, or describes no physical crystal (see ./sanity.ts). */
export class StructureParseError extends ReadError {
  constructor(d: ReadErrorDetails) {
    super(d);
    this.name = 'StructureParseError';
  }
}
