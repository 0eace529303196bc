/**
 * Is a structure a physical crystal? The one check every reader (CIF, POSCAR) and every boundary (StructureSchema:
 * calculation and plan inputs, PWD import, the pw.x input writer, so built-ins and Materials Project too) applies:
 * - lattice lengths in a physical range, and a cell that is not flat (volume relative to a·b·c, so the
 *   120°/120°/120° cell, which has zero volume, is refused for what it is rather than blamed on its sites);
 * - no two atoms (periodic images included) closer than the shortest bond there is; two at the same place are
 *   "overlapping", named by the reader's site names.
 * The limits have defaults; readers take others (`limits`), and the reason for each default is in its message.
 */
import { cellParameters, dot, fracToCart, norm, volume } from './lattice.ts';
import type { Mat3, Structure, Vec3 } from './structure.ts';

export interface StructureLimits {
  /** Å. */
  minLatticeLength: number;
  /** Å. */
  maxLatticeLength: number;
  /** V / (a·b·c): 1 for a rectangular cell, 0 for a flat one. */
  minVolumeRatio: number;
  /** Å, between any two atoms, periodic images included. */
  minDistance: number;
  /** Å: two atoms this close are at the same place (CIF symmetry images this close are one site). */
  overlapTolerance: number;
}

export const DEFAULT_STRUCTURE_LIMITS: StructureLimits = {
  minLatticeLength: 1,
  maxLatticeLength: 1000,
  minVolumeRatio: 0.01,
  minDistance: 0.5,
  overlapTolerance: 0.01,
};

/** Why each default is what it is: said in the message, so a user can judge whether their case is the exception. */
const WHY = {
  minLatticeLength: 'a lattice vector joins two equivalent atoms, and no crystal has two closer than a bond (H2: 0.74 Å)',
  maxLatticeLength: 'a plane-wave cell this long needs about 10 FFT points per Å along it; a length in bohr, nm or pm read as Å?',
  minVolumeRatio: 'such a flat cell is almost always a wrong angle (120°/120°/120° has zero volume); a real one should be Niggli-reduced first',
  minDistance: 'the shortest bond there is, H2, is 0.74 Å',
} as const;

export interface StructureProblem {
  field: 'lattice' | 'sites';
  /** A lattice vector of the wrong length: 0, 1, 2 for a, b, c. */
  axis?: 0 | 1 | 2;
  /** The two sites concerned (0-based, possibly one site and its own periodic image), for the reader to locate. */
  sites?: [number, number];
  /** A site of two elements (mixed occupancy) is a real case, not supported yet; anything else is malformed. */
  kind: 'malformed' | 'unsupported';
  reason: string;
}

const limitsOf = (l?: Partial<StructureLimits>): StructureLimits => ({ ...DEFAULT_STRUCTURE_LIMITS, ...l });
const fmt = (x: number, digits = 3) => Number(x.toPrecision(digits)).toString();

/** What is wrong with the lattice itself (lengths, flatness), if anything. */
export function latticeProblem(lattice: Mat3, limits?: Partial<StructureLimits>): StructureProblem | undefined {
  const l = limitsOf(limits);
  const lengths = lattice.map((v) => norm(v));
  if (!lengths.every(Number.isFinite)) return { field: 'lattice', kind: 'malformed', reason: 'the lattice vectors are not finite numbers' };
  const names = ['a', 'b', 'c'];
  for (let i = 0; i < 3; i++) {
    const len = lengths[i]!;
    const axis = i as 0 | 1 | 2;
    if (len < l.minLatticeLength) {
      return { field: 'lattice', axis, kind: 'malformed', reason: `lattice vector ${names[i]} is ${fmt(len)} Å long, shorter than ${l.minLatticeLength} Å: ${WHY.minLatticeLength}` };
    }
    if (len > l.maxLatticeLength) {
      return { field: 'lattice', axis, kind: 'malformed', reason: `lattice vector ${names[i]} is ${fmt(len)} Å long, longer than ${l.maxLatticeLength} Å: ${WHY.maxLatticeLength}` };
    }
  }
  const ratio = volume(lattice) / (lengths[0]! * lengths[1]! * lengths[2]!);
  if (!(ratio >= l.minVolumeRatio)) {
    const p = cellParameters(lattice);
    return {
      field: 'lattice',
      kind: 'malformed',
      reason:
        `the cell is flat: its volume is ${fmt(100 * ratio, 2)} % of a·b·c (angles ${fmt(p.alpha, 5)}°, ${fmt(p.beta, 5)}°, ${fmt(p.gamma, 5)}°), ` +
        `below ${100 * l.minVolumeRatio} %: ${WHY.minVolumeRatio}`,
    };
  }
  return undefined;
}

/**
 * The closest pair of atoms (i <= j; i === j: an atom and its own periodic image) and their distance in Å. The
 * difference is wrapped into the cell and the 27 neighbouring images are searched: exact for any cell that passes
 * `latticeProblem` when the distance is below the shortest interplanar spacing, which is all a sanity check needs.
 */
function closestPair(lattice: Mat3, fracs: readonly Vec3[]): { i: number; j: number; d: number } | undefined {
  let best: { i: number; j: number; d: number } | undefined;
  const images: Vec3[] = [];
  for (const x of [-1, 0, 1]) for (const y of [-1, 0, 1]) for (const z of [-1, 0, 1]) images.push(fracToCart(lattice, [x, y, z]));
  for (let i = 0; i < fracs.length; i++) {
    for (let j = i; j < fracs.length; j++) {
      const f = [0, 1, 2].map((k) => {
        const x = fracs[j]![k]! - fracs[i]![k]!;
        return x - Math.round(x);
      }) as Vec3;
      const c = fracToCart(lattice, f);
      for (const img of images) {
        const v: Vec3 = [c[0] + img[0], c[1] + img[1], c[2] + img[2]];
        const d2 = dot(v, v);
        if (i === j && d2 < 1e-20) continue; // the atom itself
        if (!best || d2 < best.d * best.d) best = { i, j, d: Math.sqrt(d2) };
      }
    }
  }
  return best;
}

/**
 * What is wrong with a structure, if anything: its lattice, then the closest pair of atoms. `siteNames` are how the
 * reader calls its sites in messages (CIF labels, POSCAR "Si2 (line 10)"); by default `site 3 (Si)`.
 */
export function structureProblem(
  s: Pick<Structure, 'lattice' | 'sites'>,
  opts: { limits?: Partial<StructureLimits>; siteNames?: readonly string[] } = {},
): StructureProblem | undefined {
  const lattice = latticeProblem(s.lattice, opts.limits);
  if (lattice) return lattice;
  const l = limitsOf(opts.limits);
  const pair = closestPair(s.lattice, s.sites.map((x) => x.frac));
  if (!pair || pair.d >= l.minDistance) return undefined;
  const name = (k: number) => opts.siteNames?.[k] ?? `site ${k + 1} (${s.sites[k]!.species})`;
  const sites: [number, number] = [pair.i, pair.j];
  if (pair.i === pair.j) {
    return { field: 'sites', sites, kind: 'malformed', reason: `${name(pair.i)} is ${fmt(pair.d)} Å from its own periodic image, closer than ${l.minDistance} Å: ${WHY.minDistance}` };
  }
  const [a, b] = [s.sites[pair.i]!.species, s.sites[pair.j]!.species];
  if (pair.d < l.overlapTolerance) {
    return a === b
      ? { field: 'sites', sites, kind: 'malformed', reason: `${name(pair.i)} and ${name(pair.j)} occupy the same position (${fmt(pair.d, 2)} Å apart): the same atom listed twice?` }
      : {
          field: 'sites',
          sites,
          kind: 'unsupported',
          reason: `${name(pair.i)} and ${name(pair.j)} occupy the same position with two elements, ${a} and ${b}: a site shared by two elements (mixed occupancy)`,
        };
  }
  return { field: 'sites', sites, kind: 'malformed', reason: `${name(pair.i)} and ${name(pair.j)} are ${fmt(pair.d)} Å apart, closer than ${l.minDistance} Å: ${WHY.minDistance}` };
}
