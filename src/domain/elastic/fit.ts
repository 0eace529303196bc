/**
 * The 6×6 elastic tensor from stress–strain data, by least squares, with the residuals that say how good it is.
 *
 * Each strained cell gives its deformation F and its Cauchy stress σ (tension-positive, GPa). The fit uses the
 * finite-strain pair that makes a linear law exact to second order: the Green–Lagrange strain E = ½(FᵀF − I)
 * and the second Piola–Kirchhoff stress S = det(F) F⁻¹ σ F⁻ᵀ (as pymatgen's elasticity fits do). Then, for each
 * Voigt stress component I, S_I = Σ_J C_IJ E_J + S0_I over all points (S0: the residual stress of the reference
 * cell, which a relaxation leaves below its threshold but not at zero). C comes out of the fit unconstrained
 * (36 numbers); its asymmetry |C_IJ − C_JI| is reported (numerical noise in a good fit) and the symmetric part
 * is the result.
 *
 * Residuals: S − (C E + S0) per point and component. Where points were derived by symmetry from computed ones
 * (strains.ts), their residuals repeat those of their source: the RMS is over all points, the count of
 * computed points is reported beside it.
 */
import { det3, matMul, transpose } from '../structure/bravais.ts';
import { inverse3 } from '../structure/lattice.ts';
import type { Mat3 } from '../structure/structure.ts';
import { leastSquares } from './linear-algebra.ts';
import { strainToVoigt, stressToVoigt, type Voigt6 } from './voigt.ts';

export interface StressStrainPoint {
  label: string;
  /** Deformation gradient of the strained cell with respect to the reference cell. */
  deformation: Mat3;
  /** Cauchy stress of the strained cell, tension-positive, GPa. */
  stressGpa: Mat3;
}

export interface ElasticFit {
  /** Symmetric part of the fitted C, Voigt order, GPa. */
  elasticTensorGpa: number[][];
  /** Largest |C_IJ − C_JI| of the unconstrained fit, GPa. */
  asymmetryGpa: number;
  /** The fitted stress of the unstrained reference (S0), Voigt, GPa. */
  referenceStressGpa: Voigt6;
  residuals: {
    /** Root mean square over all points and components, GPa. */
    rmsGpa: number;
    maxAbsGpa: number;
    /** RMS residual relative to the RMS stress change the strains caused (the fit's relative error). */
    relative: number;
    perPoint: { label: string; residualGpa: Voigt6 }[];
  };
}

/** Green–Lagrange strain ½(FᵀF − I). */
export function greenLagrangeStrain(f: Mat3): Mat3 {
  const c = matMul(transpose(f), f);
  return c.map((row, i) => row.map((v, j) => (v - (i === j ? 1 : 0)) / 2)) as Mat3;
}

/** Second Piola–Kirchhoff stress det(F) F⁻¹ σ F⁻ᵀ of a Cauchy stress σ in the deformed cell. */
export function secondPiolaKirchhoff(f: Mat3, cauchy: Mat3): Mat3 {
  const inv = inverse3(f);
  const s = matMul(matMul(inv, cauchy), transpose(inv));
  const j = det3(f);
  return s.map((row) => row.map((v) => v * j)) as Mat3;
}

/** Throws, naming the problem, when the strains do not reach all six Voigt components. */
export function fitElasticTensor(points: readonly StressStrainPoint[]): ElasticFit {
  if (points.length < 7) throw new Error(`elastic fit: ${points.length} stress–strain points cannot determine 36 constants and the reference stress (at least 7)`);
  const strains = points.map((p) => strainToVoigt(greenLagrangeStrain(p.deformation)));
  const stresses = points.map((p) => stressToVoigt(secondPiolaKirchhoff(p.deformation, p.stressGpa)));
  const design = strains.map((e) => [...e, 1]);
  let fit: ReturnType<typeof leastSquares>;
  try {
    fit = leastSquares(design, stresses);
  } catch (e) {
    throw new Error(`elastic fit: the strains do not determine every Voigt component (${(e as Error).message})`);
  }
  // coefficients[J][I] = ∂S_I/∂E_J, so C = the transpose of the first six rows
  const raw = [0, 1, 2, 3, 4, 5].map((i) => [0, 1, 2, 3, 4, 5].map((j) => fit.coefficients[j]![i]!));
  let asymmetryGpa = 0;
  for (let i = 0; i < 6; i++) for (let j = 0; j < i; j++) asymmetryGpa = Math.max(asymmetryGpa, Math.abs(raw[i]![j]! - raw[j]![i]!));
  const elasticTensorGpa = raw.map((row, i) => row.map((v, j) => (v + raw[j]![i]!) / 2));

  const all = fit.residuals.flat();
  const rmsGpa = Math.sqrt(all.reduce((s, r) => s + r * r, 0) / all.length);
  const reference = fit.coefficients[6]!;
  const changes = stresses.flatMap((s) => s.map((v, i) => v - reference[i]!));
  const rmsChange = Math.sqrt(changes.reduce((s, v) => s + v * v, 0) / changes.length);
  return {
    elasticTensorGpa,
    asymmetryGpa,
    referenceStressGpa: reference as Voigt6,
    residuals: {
      rmsGpa,
      maxAbsGpa: Math.max(...all.map(Math.abs)),
      relative: rmsChange > 0 ? rmsGpa / rmsChange : 0,
      perPoint: points.map((p, k) => ({ label: p.label, residualGpa: fit.residuals[k] as Voigt6 })),
    },
  };
}
