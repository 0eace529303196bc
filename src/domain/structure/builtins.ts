/**
 * A few textbook crystals by name, for examples and tests. Lattice constants are experimental
 * room-temperature values (rounded as commonly quoted); cubic crystals are given as primitive cells.
 */
import { latticeFromParameters } from './lattice.ts';
import type { Mat3, Site, Structure, Vec3 } from './structure.ts';

/** FCC primitive vectors for conventional cubic constant a. */
const fcc = (a: number): Mat3 => [
  [0, a / 2, a / 2],
  [a / 2, 0, a / 2],
  [a / 2, a / 2, 0],
];

/** BCC primitive vectors for conventional cubic constant a. */
const bcc = (a: number): Mat3 => [
  [-a / 2, a / 2, a / 2],
  [a / 2, -a / 2, a / 2],
  [a / 2, a / 2, -a / 2],
];

const site = (species: string, frac: Vec3): Site => ({ species, frac });

/** Two species on the FCC lattice at 0 and (1/4,1/4,1/4): diamond (same species) or zincblende. */
const diamondLike = (a: number, x: string, y: string, title: string): Structure => ({
  lattice: fcc(a),
  sites: [site(x, [0, 0, 0]), site(y, [0.25, 0.25, 0.25])],
  title,
});

/** Rocksalt primitive cell: cation at 0, anion at (1/2,1/2,1/2) of the primitive cell = (a/2,a/2,a/2). */
const rocksalt = (a: number, cation: string, anion: string, title: string): Structure => ({
  lattice: fcc(a),
  sites: [site(cation, [0, 0, 0]), site(anion, [0.5, 0.5, 0.5])],
  title,
});

const wrap = (x: number): number => x - Math.floor(x);

/** 2H-MoS2, P6_3/mmc: Mo on 2c (1/3,2/3,1/4); S on 4f (1/3,2/3,z). */
function mos2(a: number, c: number, z: number): Structure {
  const t = 1 / 3, u = 2 / 3;
  return {
    lattice: latticeFromParameters(a, a, c, 90, 90, 120),
    sites: [
      site('Mo', [t, u, 0.25]),
      site('Mo', [u, t, 0.75]),
      site('S', [t, u, z]),
      site('S', [u, t, wrap(z + 0.5)]),
      site('S', [u, t, wrap(-z)]),
      site('S', [t, u, wrap(0.5 - z)]),
    ],
    title: 'MoS2 (2H, P6_3/mmc)',
  };
}

/** Rutile TiO2, P4_2/mnm: Ti on 2a (0,0,0); O on 4f (x,x,0). */
function rutile(a: number, c: number, x: number): Structure {
  return {
    lattice: [
      [a, 0, 0],
      [0, a, 0],
      [0, 0, c],
    ],
    sites: [
      site('Ti', [0, 0, 0]),
      site('Ti', [0.5, 0.5, 0.5]),
      site('O', [x, x, 0]),
      site('O', [1 - x, 1 - x, 0]),
      site('O', [0.5 - x, 0.5 + x, 0.5]),
      site('O', [0.5 + x, 0.5 - x, 0.5]),
    ],
    title: 'TiO2 (rutile, P4_2/mnm)',
  };
}

const BUILDERS: Record<string, () => Structure> = {
  // a = 5.431 Å: room-temperature experimental (X-ray).
  Si: () => diamondLike(5.431, 'Si', 'Si', 'Si (diamond, primitive)'),
  // a = 3.567 Å: room-temperature experimental diamond.
  C: () => diamondLike(3.567, 'C', 'C', 'C (diamond, primitive)'),
  // a = 5.653 Å: room-temperature experimental zincblende GaAs.
  GaAs: () => diamondLike(5.653, 'Ga', 'As', 'GaAs (zincblende, primitive)'),
  // a = 5.64 Å: room-temperature experimental rocksalt NaCl.
  NaCl: () => rocksalt(5.64, 'Na', 'Cl', 'NaCl (rocksalt, primitive)'),
  // a = 4.212 Å: room-temperature experimental periclase MgO.
  MgO: () => rocksalt(4.212, 'Mg', 'O', 'MgO (rocksalt, primitive)'),
  // a = 4.05 Å: room-temperature experimental fcc Al.
  Al: () => ({ lattice: fcc(4.05), sites: [site('Al', [0, 0, 0])], title: 'Al (fcc, primitive)' }),
  // a = 3.615 Å: room-temperature experimental fcc Cu.
  Cu: () => ({ lattice: fcc(3.615), sites: [site('Cu', [0, 0, 0])], title: 'Cu (fcc, primitive)' }),
  // a = 2.8665 Å: room-temperature experimental bcc (alpha) Fe; one-atom primitive cell.
  Fe: () => ({ lattice: bcc(2.8665), sites: [site('Fe', [0, 0, 0])], title: 'Fe (bcc, primitive)' }),
  // a = 3.16 Å, c = 12.29 Å, z(S) = 0.621: room-temperature experimental (X-ray diffraction).
  MoS2: () => mos2(3.16, 12.29, 0.621),
  // a = 4.594 Å, c = 2.959 Å, x(O) = 0.3048: room-temperature experimental (diffraction) rutile.
  TiO2: () => rutile(4.594, 2.959, 0.3048),
};

/** Other names accepted by `builtinStructure`. */
const ALIASES: Record<string, string> = { diamond: 'C', rutile: 'TiO2', zincblende: 'GaAs', rocksalt: 'NaCl', '2h-mos2': 'MoS2' };

const byLowerName = new Map<string, () => Structure>([
  ...Object.entries(BUILDERS).map(([k, f]) => [k.toLowerCase(), f] as const),
  ...Object.entries(ALIASES).map(([k, target]) => [k.toLowerCase(), BUILDERS[target]!] as const),
]);

/** A built-in structure by name, case-insensitive ("si", "NaCl", "diamond"); a fresh copy each call. */
export function builtinStructure(name: string): Structure | undefined {
  return byLowerName.get(name.trim().toLowerCase())?.();
}

/** Canonical names of the built-in structures (aliases such as "diamond" and "rutile" not included). */
export function builtinStructureNames(): string[] {
  return Object.keys(BUILDERS);
}
