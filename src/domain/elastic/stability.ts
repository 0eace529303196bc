/**
 * Born elastic stability of an unstressed crystal, after F. Mouhat and F.-X. Coudert, "Necessary and sufficient
 * elastic stability conditions in various crystal systems", Phys. Rev. B 90, 224104 (2014).
 *
 * The verdict is their general criterion, valid for every symmetry and orientation: the elastic energy
 * ½ εᵀCε is positive for every strain, i.e. C is positive definite, i.e. all eigenvalues of C are positive.
 * Beside it, the explicit conditions of the crystal system (their eqs. for the cubic, hexagonal, tetragonal,
 * rhombohedral and orthorhombic classes; the tetragonal and rhombohedral ones in their general "II" form,
 * which reduce to the "I" form when C16 resp. C15 vanish), each evaluated, so a failure says which modulus
 * goes soft. They hold for a tensor in the system's standard orientation (Nye's forms: cubic axes along x,
 * y, z; hexagonal, tetragonal and trigonal c along z); for monoclinic and triclinic crystals the paper gives
 * no shorter form than positive definiteness itself.
 */
import type { CrystalSystem } from '../structure/bravais.ts';
import { symmetricEigenvalues } from './linear-algebra.ts';
import { cij } from './voigt.ts';

export interface StabilityCriterion {
  /** As the paper writes it, e.g. "C11 − C12 > 0". */
  condition: string;
  holds: boolean;
}

export interface BornStability {
  /** C is positive definite (all eigenvalues > 0). */
  stable: boolean;
  eigenvaluesGpa: number[];
  crystalSystem: CrystalSystem;
  criteria: StabilityCriterion[];
  notes: string[];
}

export function bornStability(elasticTensorGpa: number[][], crystalSystem: CrystalSystem): BornStability {
  const c = (i: number, j: number) => cij(elasticTensorGpa, i, j);
  const eigenvaluesGpa = symmetricEigenvalues(elasticTensorGpa);
  const stable = eigenvaluesGpa.every((e) => e > 0);
  const criterion = (condition: string, holds: boolean): StabilityCriterion => ({ condition, holds });
  const criteria: StabilityCriterion[] = (() => {
    switch (crystalSystem) {
      case 'cubic':
        return [criterion('C11 − C12 > 0', c(1, 1) - c(1, 2) > 0), criterion('C11 + 2 C12 > 0', c(1, 1) + 2 * c(1, 2) > 0), criterion('C44 > 0', c(4, 4) > 0)];
      case 'hexagonal':
        return [
          criterion('C11 > |C12|', c(1, 1) > Math.abs(c(1, 2))),
          criterion('2 C13² < C33 (C11 + C12)', 2 * c(1, 3) ** 2 < c(3, 3) * (c(1, 1) + c(1, 2))),
          criterion('C44 > 0', c(4, 4) > 0),
          criterion('C66 > 0', c(6, 6) > 0),
        ];
      case 'tetragonal':
        return [
          criterion('C11 > |C12|', c(1, 1) > Math.abs(c(1, 2))),
          criterion('2 C13² < C33 (C11 + C12)', 2 * c(1, 3) ** 2 < c(3, 3) * (c(1, 1) + c(1, 2))),
          criterion('C44 > 0', c(4, 4) > 0),
          criterion('2 C16² < C66 (C11 − C12)', 2 * c(1, 6) ** 2 < c(6, 6) * (c(1, 1) - c(1, 2))),
        ];
      case 'trigonal':
        return [
          criterion('C11 > |C12|', c(1, 1) > Math.abs(c(1, 2))),
          criterion('C44 > 0', c(4, 4) > 0),
          criterion('C13² < ½ C33 (C11 + C12)', c(1, 3) ** 2 < 0.5 * c(3, 3) * (c(1, 1) + c(1, 2))),
          criterion('C14² + C15² < ½ C44 (C11 − C12)', c(1, 4) ** 2 + c(1, 5) ** 2 < 0.5 * c(4, 4) * (c(1, 1) - c(1, 2))),
        ];
      case 'orthorhombic':
        return [
          criterion('C11 > 0', c(1, 1) > 0),
          criterion('C11 C22 > C12²', c(1, 1) * c(2, 2) > c(1, 2) ** 2),
          criterion(
            'C11 C22 C33 + 2 C12 C13 C23 − C11 C23² − C22 C13² − C33 C12² > 0',
            c(1, 1) * c(2, 2) * c(3, 3) + 2 * c(1, 2) * c(1, 3) * c(2, 3) - c(1, 1) * c(2, 3) ** 2 - c(2, 2) * c(1, 3) ** 2 - c(3, 3) * c(1, 2) ** 2 > 0,
          ),
          criterion('C44 > 0', c(4, 4) > 0),
          criterion('C55 > 0', c(5, 5) > 0),
          criterion('C66 > 0', c(6, 6) > 0),
        ];
      case 'monoclinic':
      case 'triclinic':
        return [criterion('C positive definite (all eigenvalues > 0)', stable)];
    }
  })();
  const notes: string[] = [];
  const explicit = criteria.every((k) => k.holds);
  if (explicit !== stable) {
    notes.push(
      `the ${crystalSystem} conditions ${explicit ? 'hold' : 'fail'} but C is ${stable ? '' : 'not '}positive definite: the tensor is probably not in the standard orientation of its system, so the conditions do not apply as written; the verdict is the eigenvalue test`,
    );
  }
  return { stable, eigenvaluesGpa, crystalSystem, criteria, notes };
}
