/**
 * Voigt notation (Nye, "Physical Properties of Crystals", 1957, ch. VIII): symmetric 3×3 tensors as 6-vectors in
 * the order xx, yy, zz, yz, xz, xy, so that σ_I = Σ_J C_IJ ε_J with C the 6×6 stiffness matrix.
 *
 * Conventions, the ones pymatgen, Nye and Mouhat & Coudert use: stresses are tension-positive (a stretched
 * crystal pulls back: σ > 0 under ε > 0; pressure = −tr σ / 3); strains carry the engineering factor on the
 * shears (ε_4 = 2ε_yz, ε_5 = 2ε_xz, ε_6 = 2ε_xy), stresses do not (σ_4 = σ_yz). With these, the elastic energy
 * density is ½ Σ ε_I C_IJ ε_J and C_44 is the shear modulus of a yz shear.
 */
import type { Mat3 } from '../structure/structure.ts';

export type Voigt6 = [number, number, number, number, number, number];

/** Tensor indices of each Voigt component. */
export const VOIGT_PAIRS: readonly (readonly [number, number])[] = [
  [0, 0],
  [1, 1],
  [2, 2],
  [1, 2],
  [0, 2],
  [0, 1],
];
/** Names of the Voigt components, as used in labels ('xx', ..., 'xy'). */
export const VOIGT_NAMES = ['xx', 'yy', 'zz', 'yz', 'xz', 'xy'] as const;
export type VoigtName = (typeof VOIGT_NAMES)[number];

const isShear = (i: number) => i >= 3;

/** A symmetric strain tensor as a Voigt 6-vector (engineering shears: 2ε_ij). */
export function strainToVoigt(e: Mat3): Voigt6 {
  return VOIGT_PAIRS.map(([i, j], k) => (isShear(k) ? e[i]![j]! + e[j]![i]! : e[i]![j]!)) as Voigt6;
}

/** A stress tensor as a Voigt 6-vector (the off-diagonal pairs averaged, so slight asymmetry is not lost one-sidedly). */
export function stressToVoigt(s: Mat3): Voigt6 {
  return VOIGT_PAIRS.map(([i, j]) => (s[i]![j]! + s[j]![i]!) / 2) as Voigt6;
}

/** The symmetric tensor of a Voigt strain (shears halved). */
export function voigtToStrain(v: readonly number[]): Mat3 {
  return tensorOf(v, 0.5);
}

/** The symmetric tensor of a Voigt stress. */
export function voigtToStress(v: readonly number[]): Mat3 {
  return tensorOf(v, 1);
}

function tensorOf(v: readonly number[], shearFactor: number): Mat3 {
  if (v.length !== 6 || !v.every(Number.isFinite)) throw new Error(`a Voigt vector has 6 finite components, got [${v.join(', ')}]`);
  const t: Mat3 = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  VOIGT_PAIRS.forEach(([i, j], k) => {
    const x = isShear(k) ? v[k]! * shearFactor : v[k]!;
    t[i]![j] = x;
    t[j]![i] = x;
  });
  return t;
}

/** `C_ij` with 1-based Voigt indices, as the literature writes them: `cij(C, 4, 4)` is C44. */
export const cij = (c: readonly (readonly number[])[], i: number, j: number): number => c[i - 1]![j - 1]!;
