/**
 * Monkhorst-Pack meshes from a k-point spacing.
 *
 * Convention (the same as aiida's `kpoints_distance` / `KpointsData.set_kpoints_mesh_from_density`):
 * the reciprocal vectors b_i INCLUDE the 2π factor (|b_i| = 2π / d_i, d_i the spacing of the lattice
 * planes), the distance is in Å⁻¹, and
 *
 *     n_i = max(1, ceil(|b_i| / distance))
 *
 * where |b_i| / distance is first rounded to 5 decimals so that 3.00000001 gives 3, not 4.
 * With this convention 0.15 Å⁻¹ is a "moderate" density, 0.5 Å⁻¹ a coarse one. (VASP's KSPACING
 * uses the same 2π convention; codes that omit 2π use distances 2π times smaller.)
 */
import { z } from 'zod';
import { norm, reciprocalLattice } from './lattice.ts';
import type { Mat3 } from './structure.ts';

export type KMesh = [number, number, number];
export type KOffset = [0 | 1, 0 | 1, 0 | 1];

const meshCount = z.number().int().min(1);
const offsetFlag = z.union([z.literal(0), z.literal(1)]);
/** An explicit Monkhorst–Pack mesh (offset 1 = shifted by half a step) or a k-point distance in 1/Å (2π included). */
export const KpointsSchema = z.union([
  z.strictObject({ mesh: z.tuple([meshCount, meshCount, meshCount]), offset: z.tuple([offsetFlag, offsetFlag, offsetFlag]).optional() }),
  z.strictObject({ distance: z.number().positive() }),
]);
export type Kpoints = z.infer<typeof KpointsSchema>;

function checkDistance(distance: number): void {
  if (!Number.isFinite(distance) || distance <= 0) {
    throw new Error(`k-point distance must be a positive number of 1/Å, got ${distance}`);
  }
}

function checkMesh(mesh: readonly number[]): void {
  if (mesh.length !== 3 || !mesh.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error(`k-point mesh must be three integers >= 1, got [${mesh.join(', ')}]`);
  }
}

/** Lengths |b_i| (Å⁻¹, with 2π) of the reciprocal lattice vectors. */
export function reciprocalLengths(lattice: Mat3): [number, number, number] {
  const b = reciprocalLattice(lattice);
  return [norm(b[0]), norm(b[1]), norm(b[2])];
}

/**
 * The smallest mesh whose spacing along every reciprocal vector is at most `distance` (Å⁻¹, 2π
 * included). `forceParity` rounds odd counts up to the next even number (aiida's
 * `kpoints_force_parity`).
 */
export function kMeshFromDistance(
  lattice: Mat3,
  distance: number,
  options: { forceParity?: boolean } = {},
): KMesh {
  checkDistance(distance);
  const mesh = reciprocalLengths(lattice).map((b) => {
    const ratio = Math.round((b / distance) * 1e5) / 1e5;
    return Math.max(1, Math.ceil(ratio));
  }) as KMesh;
  return options.forceParity ? (mesh.map((n) => n + (n % 2)) as KMesh) : mesh;
}

/** The largest spacing |b_i| / n_i (Å⁻¹, 2π included) the mesh actually achieves. */
export function kPointDistanceOfMesh(lattice: Mat3, mesh: readonly [number, number, number]): number {
  checkMesh(mesh);
  const b = reciprocalLengths(lattice);
  return Math.max(b[0] / mesh[0], b[1] / mesh[1], b[2] / mesh[2]);
}

/**
 * True when `mesh` is at least as dense as `distance` demands along every axis, i.e. each n_i is at
 * least what `kMeshFromDistance(lattice, distance)` gives (same rounding). Used after a cell
 * relaxation to decide whether the mesh must be regenerated for the new cell.
 */
export function kMeshDensityOk(lattice: Mat3, mesh: readonly [number, number, number], distance: number): boolean {
  checkMesh(mesh);
  const needed = kMeshFromDistance(lattice, distance);
  return mesh.every((n, i) => n >= needed[i]!);
}
