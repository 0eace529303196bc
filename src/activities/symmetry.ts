/**
 * The crystal's symmetry for workflows that need it as data (moyo runs here, never in workflow code): the space
 * group, the crystal system and the point-group rotations of the cell given, e.g. for the elastic analysis's
 * strain set (src/domain/elastic/strains.ts).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { CrystalSystem } from '../domain/structure/bravais.ts';
import type { Mat3, Structure } from '../domain/structure/structure.ts';
import { analyzeSymmetry } from '../symmetry/index.ts';

export interface CrystalSymmetry {
  spaceGroupNumber: number;
  internationalSymbol: string;
  crystalSystem: CrystalSystem;
  /** The point group on the cell's fractional coordinates (x' = W x, integer W). */
  pointGroupRotations: Mat3[];
  /** The distance tolerance used, Å. */
  symprec: number;
}

export function symmetryActivities() {
  return {
    async crystalSymmetry(req: { structure: Structure; symprec?: number }): Promise<CrystalSymmetry> {
      try {
        const s = analyzeSymmetry(req.structure, { symprec: req.symprec ?? 1e-4 });
        return { spaceGroupNumber: s.spaceGroupNumber, internationalSymbol: s.internationalSymbol, crystalSystem: s.crystalSystem, pointGroupRotations: s.pointGroupRotations, symprec: s.symprec };
      } catch (e) {
        throw ApplicationFailure.nonRetryable((e as Error).message, 'SymmetryAnalysisFailed');
      }
    },
  };
}
