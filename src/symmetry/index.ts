/**
 * Crystal symmetry for activities and the client (moyo WebAssembly; never import from workflow code).
 * The pure parts (SC lattice variants, k-paths, sampling) live in `src/domain/structure/bravais.ts` and
 * `kpath.ts` and can be used in workflows on the JSON `SymmetryAnalysis` an activity returns.
 */
import { bandPath, type BandPath } from '../domain/structure/kpath.ts';
import type { ScOptions } from '../domain/structure/bravais.ts';
import type { Structure } from '../domain/structure/structure.ts';
import { analyzeSymmetry, type SymmetryAnalysis, type SymmetryOptions } from './moyo.ts';

export { analyzeSymmetry, spaceGroupInfo, spaceGroupOperations, SymmetryAnalysisError } from './moyo.ts';
export type { CrystalSystem, SymmetryAnalysis, SymmetryOperation, SymmetryOptions } from './moyo.ts';

export interface StructureBandPath extends BandPath {
  symmetry: SymmetryAnalysis;
}

/**
 * Symmetry analysis plus the Setyawan–Curtarolo band path of a structure: SC's primitive cell (`cell`, with the
 * atoms) and its default path; for a primitive input cell also the path in the input's own basis (`input.path`).
 */
export function bandPathForStructure(structure: Structure, options: SymmetryOptions & ScOptions = {}): StructureBandPath {
  const symmetry = analyzeSymmetry(structure, options);
  const bp = bandPath(symmetry, { ...(options.tolerance !== undefined ? { tolerance: options.tolerance } : {}), primitiveFromInput: symmetry.primitiveFromInput });
  return { ...bp, symmetry };
}
