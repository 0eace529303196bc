/**
 * The strained cells of a stress–strain elastic-constant calculation, and the crystal symmetry that spares some.
 *
 * The strain set (as atomate's and atomate2's elastic workflows build it: one strain state per Voigt component,
 * `Strain.from_voigt` of magnitude × state with the shears doubled): each of the six Voigt components alone, at
 * magnitudes ±(k/h)·strainMagnitude, k = 1…h, h = numStrains/2 (in ± pairs, so the fit's quadratic error
 * cancels): normal strains ε_ii = m, shears ε_ij = ε_ji = m (engineering strain 2m, so a shear moves the cell as
 * much as a normal strain). The cell is deformed by the symmetric F = I + ε (no rigid rotation): lattice vectors
 * a → F·a, fractional coordinates kept (clamped ions; a fixed-cell relaxation then moves them).
 *
 * Symmetry reduction (the idea of pymatgen's `symmetry_reduce`, which atomate2's `generate_elastic_deformations`
 * applies, its `ElasticDocument.from_stresses` then rebuilding the other stresses by symmetry): a strain is not
 * computed when a point-group operation R of the unstrained crystal maps an already computed strain ε onto it
 * (ε' = R ε Rᵀ); its stress is then R σ Rᵀ, exactly, relaxed ions included. Only operations
 * that permute the Cartesian axes up to sign can map one axis-aligned strain onto another, so only those are
 * used. What that gives, with the crystal in its standard orientation (cubic/tetragonal axes along x, y, z;
 * hexagonal and trigonal c along z):
 * - cubic: 6 strain components → 2 (xx and yz), and a shear's −m equals its +m: 1.5·numStrains cells instead of 6·numStrains;
 * - tetragonal (4/mmm, 4/m): xx ≡ yy and yz ≡ xz; shears need only +m;
 * - hexagonal, trigonal, orthorhombic, monoclinic: the six components stay; the twofold axes and mirrors
 *   spare the −m of some shears;
 * - triclinic: the full set; so too, or nearly, any crystal whose axes are not along x, y, z (few of its
 *   operations, often only the identity and the inversion, permute the axes then). Nothing is assumed from the
 *   crystal-system name: a rotated cubic cell gets what its operations in that frame give, nothing more.
 *
 * Pure and deterministic (runs inside workflows).
 */
import { z } from 'zod';
import { matMul, transpose } from '../structure/bravais.ts';
import { inverse3 } from '../structure/lattice.ts';
import type { Mat3, Structure } from '../structure/structure.ts';
import { VOIGT_NAMES, VOIGT_PAIRS, type VoigtName } from './voigt.ts';

export const StrainSetSchema = z.object({
  /** The largest strain (a fraction: 0.01 = 1 %). */
  strainMagnitude: z.number().positive().max(0.05, 'at most 0.05: beyond a few percent the response is no longer linear'),
  /** Strained cells per strain component: an even number, in ± pairs (2 → ±δ; 4 → ±δ/2, ±δ). */
  numStrains: z
    .number()
    .int()
    .min(2)
    .max(12)
    .refine((n) => n % 2 === 0, 'must be even: the strains come in ± pairs so the quadratic error of the fit cancels'),
});
export type StrainSetOptions = z.infer<typeof StrainSetSchema>;

export interface AppliedStrain {
  /** Component and signed step: `xx+1` … `xx+n/2`, `xx-1` …; the step counts magnitudes from the smallest. */
  label: string;
  component: VoigtName;
  /** The strain tensor ε (symmetric, dimensionless). */
  strain: Mat3;
}

/** The strain set for these options (validated; errors name the field), in a fixed order: components, then steps +1, −1, +2, −2, … */
export function strainSet(options: StrainSetOptions): AppliedStrain[] {
  const parsed = StrainSetSchema.safeParse(options);
  if (!parsed.success) throw new Error(`strain set: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const { strainMagnitude, numStrains } = parsed.data;
  const half = numStrains / 2;
  const out: AppliedStrain[] = [];
  VOIGT_NAMES.forEach((component, k) => {
    const [i, j] = VOIGT_PAIRS[k]!;
    for (let step = 1; step <= half; step++) {
      for (const sign of [1, -1]) {
        const m = (sign * strainMagnitude * step) / half;
        const strain: Mat3 = [
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
        ];
        strain[i]![j] = m;
        strain[j]![i] = m;
        out.push({ label: `${component}${sign > 0 ? '+' : '-'}${step}`, component, strain });
      }
    }
  });
  return out;
}

/** The deformation gradient F = I + ε of a (symmetric) strain. */
export function deformationOf(strain: Mat3): Mat3 {
  return strain.map((row, i) => row.map((v, j) => v + (i === j ? 1 : 0))) as Mat3;
}

/** The structure deformed by F: each lattice vector a → F·a (rows: L' = L·Fᵀ), fractional coordinates unchanged. */
export function deformedStructure(structure: Structure, deformation: Mat3, title?: string): Structure {
  const out: Structure = { ...structure, lattice: matMul(structure.lattice, transpose(deformation)), sites: structure.sites.map((s) => ({ ...s })) };
  if (title !== undefined) out.title = title;
  return out;
}

/** R T Rᵀ: a tensor rotated by R. */
export function rotateTensor(rotation: Mat3, tensor: Mat3): Mat3 {
  return matMul(matMul(rotation, tensor), transpose(rotation));
}

/**
 * The Cartesian rotations of symmetry operations given on fractional coordinates (x_f' = W x_f, W integer, as
 * spglib / moyo give them for the input cell): R = Lᵀ W L⁻ᵀ, with the lattice vectors as the rows of L.
 */
export function cartesianRotations(lattice: Mat3, fractional: readonly Mat3[]): Mat3[] {
  const lt = transpose(lattice);
  const ltInv = inverse3(lt);
  return fractional.map((w) => matMul(matMul(lt, w), ltInv));
}

/**
 * The rotations that permute the Cartesian axes up to sign, rounded to exact 0 / ±1 (within `tolerance`, for
 * cells that are symmetric only to the precision of a relaxation), without duplicates.
 */
export function axisPermutations(rotations: readonly Mat3[], tolerance = 1e-4): Mat3[] {
  const out: Mat3[] = [];
  for (const r of rotations) {
    const rounded = r.map((row) => row.map((v) => Math.round(v))) as Mat3;
    const close = r.every((row, i) => row.every((v, j) => Math.abs(v - rounded[i]![j]!) <= tolerance));
    const permutation = rounded.every((row) => row.filter((v) => v !== 0).length === 1) && [0, 1, 2].every((j) => rounded.filter((row) => row[j] !== 0).length === 1);
    if (close && permutation && !out.some((o) => sameTensor(o, rounded, 0))) out.push(rounded.map((row) => row.map((v) => v + 0)) as Mat3);
  }
  return out;
}

export interface DerivedStrain {
  strain: AppliedStrain;
  /** The label of the computed strain it is a rotation of. */
  from: string;
  /** R with ε = R ε_from Rᵀ (and so σ = R σ_from Rᵀ). */
  rotation: Mat3;
}

/**
 * Splits the strain set into the strains to compute and those that follow from them by symmetry. `rotations`:
 * the crystal's Cartesian point-group rotations (`cartesianRotations`); only axis permutations are used
 * (`axisPermutations`). With no rotations (or only the identity) every strain is computed.
 */
export function reduceBySymmetry(strains: readonly AppliedStrain[], rotations: readonly Mat3[]): { computed: AppliedStrain[]; derived: DerivedStrain[] } {
  const permutations = axisPermutations(rotations);
  const computed: AppliedStrain[] = [];
  const derived: DerivedStrain[] = [];
  for (const s of strains) {
    let match: DerivedStrain | undefined;
    for (const c of computed) {
      const rotation = permutations.find((r) => sameTensor(rotateTensor(r, c.strain), s.strain, 1e-12));
      if (rotation) {
        match = { strain: s, from: c.label, rotation };
        break;
      }
    }
    if (match) derived.push(match);
    else computed.push(s);
  }
  return { computed, derived };
}

function sameTensor(a: Mat3, b: Mat3, tolerance: number): boolean {
  return a.every((row, i) => row.every((v, j) => Math.abs(v - b[i]![j]!) <= tolerance));
}
