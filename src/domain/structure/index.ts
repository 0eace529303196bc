/** Crystal structures: the data type, lattice math, readers (CIF, POSCAR), writers and built-in examples. */
import { parseCifFirst } from './cif.ts';
import { StructureParseError } from './errors.ts';
import { parsePoscar } from './poscar.ts';
import type { StructureLimits } from './sanity.ts';
import type { Structure } from './structure.ts';

export type { Mat3, Site, Structure, Vec3 } from './structure.ts';
export * from './lattice.ts';
export { StructureParseError } from './errors.ts';
export { DEFAULT_STRUCTURE_LIMITS, latticeProblem, structureProblem } from './sanity.ts';
export type { StructureLimits, StructureProblem } from './sanity.ts';
export { elementFromSymbolOrLabel, parseCif, parseCifFirst, writeCif } from './cif.ts';
export type { CifReadOptions } from './cif.ts';
export { parsePoscar, writePoscar } from './poscar.ts';
export { builtinStructure, builtinStructureNames } from './builtins.ts';
export { parseSymop } from './symop.ts';
export type { SymOp } from './symop.ts';

export const ACCEPTED_STRUCTURE_FORMATS = 'CIF (*.cif) and VASP 5 POSCAR/CONTCAR (POSCAR*, CONTCAR*, *.vasp, *.poscar)';

/** Which reader a file name asks for, if its name says. */
export function structureFormatFromName(source: string): 'cif' | 'poscar' | undefined {
  const base = (source.split(/[/\\]/).pop() ?? source).toLowerCase();
  if (base.endsWith('.cif')) return 'cif';
  if (/^(poscar|contcar)/.test(base) || base.endsWith('.vasp') || base.endsWith('.poscar')) return 'poscar';
  return undefined;
}

/**
 * Read a structure file's text, choosing the reader by file name (`source`), else by content: a CIF has a
 * `data_` block; anything else is tried as a POSCAR. For a CIF with several data blocks, the first structure.
 */
export function parseStructureText(text: string, source: string, options: { limits?: Partial<StructureLimits> } = {}): Structure {
  const format = structureFormatFromName(source) ?? (/^\s*data_\S/im.test(text) ? 'cif' : undefined);
  if (format === 'cif') return parseCifFirst(text, source, options);
  if (format === 'poscar') return parsePoscar(text, source, options);
  try {
    return parsePoscar(text, source, options);
  } catch (e) {
    const why = e instanceof StructureParseError ? e.message : String(e);
    throw new StructureParseError({
      source,
      reason: `not a recognised structure file; accepted formats: ${ACCEPTED_STRUCTURE_FORMATS} (as a POSCAR: ${why})`,
    });
  }
}
