/**
 * Polycrystalline moduli from a single-crystal elastic tensor (Voigt order, GPa): the Voigt (uniform strain) and
 * Reuss (uniform stress) bounds and their Hill average (R. Hill, Proc. Phys. Soc. A 65, 349 (1952)), then
 * Young's modulus and Poisson's ratio of the isotropic aggregate from the Hill values, as pymatgen's
 * `ElasticTensor.k_vrh`, `g_vrh`, `y_mod` and `homogeneous_poisson` define them:
 *
 *   9 K_V = (C11 + C22 + C33) + 2 (C12 + C23 + C31)
 *   15 G_V = (C11 + C22 + C33) − (C12 + C23 + C31) + 3 (C44 + C55 + C66)
 *   1 / K_R = (S11 + S22 + S33) + 2 (S12 + S23 + S31)
 *   15 / G_R = 4 (S11 + S22 + S33) − 4 (S12 + S23 + S31) + 3 (S44 + S55 + S66)      (S = C⁻¹)
 *   E = 9 K G / (3K + G),   ν = (3K − 2G) / (2 (3K + G))
 */
import { inverse } from './linear-algebra.ts';
import { cij } from './voigt.ts';

export interface BulkShear {
  bulkGpa: number;
  shearGpa: number;
}

export interface ElasticModuli {
  voigt: BulkShear;
  reuss: BulkShear;
  hill: BulkShear;
  /** Young's modulus of the aggregate (Hill), GPa. */
  youngsModulusGpa: number;
  /** Poisson's ratio of the aggregate (Hill). */
  poissonRatio: number;
  /** The compliance S = C⁻¹, 1/GPa (Voigt order: S44 = 1/C44 for a cubic crystal). */
  complianceTensorPerGpa: number[][];
}

export function elasticModuli(c: number[][]): ElasticModuli {
  let s: number[][];
  try {
    s = inverse(c);
  } catch {
    throw new Error('elastic moduli: the elastic tensor is singular (no Reuss bound, no compliance)');
  }
  const diagonal = (m: number[][]) => cij(m, 1, 1) + cij(m, 2, 2) + cij(m, 3, 3);
  const offDiagonal = (m: number[][]) => cij(m, 1, 2) + cij(m, 2, 3) + cij(m, 3, 1);
  const shears = (m: number[][]) => cij(m, 4, 4) + cij(m, 5, 5) + cij(m, 6, 6);
  const voigt = { bulkGpa: (diagonal(c) + 2 * offDiagonal(c)) / 9, shearGpa: (diagonal(c) - offDiagonal(c) + 3 * shears(c)) / 15 };
  const reuss = { bulkGpa: 1 / (diagonal(s) + 2 * offDiagonal(s)), shearGpa: 15 / (4 * diagonal(s) - 4 * offDiagonal(s) + 3 * shears(s)) };
  const hill = { bulkGpa: (voigt.bulkGpa + reuss.bulkGpa) / 2, shearGpa: (voigt.shearGpa + reuss.shearGpa) / 2 };
  const k = hill.bulkGpa;
  const g = hill.shearGpa;
  return {
    voigt,
    reuss,
    hill,
    youngsModulusGpa: (9 * k * g) / (3 * k + g),
    poissonRatio: (3 * k - 2 * g) / (2 * (3 * k + g)),
    complianceTensorPerGpa: s,
  };
}
