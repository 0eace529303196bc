import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ScVariant } from '../../src/domain/structure/bravais.ts';
import { builtinStructure, parseStructureText } from '../../src/domain/structure/index.ts';
import { sampleKPath, toCrystalB, type KPath } from '../../src/domain/structure/kpath.ts';
import { cellParameters, latticeFromParameters, norm, reciprocalLattice, volume } from '../../src/domain/structure/lattice.ts';
import type { Mat3, Structure, Vec3 } from '../../src/domain/structure/structure.ts';
import { analyzeSymmetry, bandPathForStructure, spaceGroupOperations } from '../../src/symmetry/index.ts';

const load = (name: string): Structure =>
  parseStructureText(readFileSync(new URL(`../data/structures/${name}`, import.meta.url), 'utf8'), name);

const vecMat = (f: Vec3, m: Mat3): Vec3 => [0, 1, 2].map((j) => f[0] * m[0][j]! + f[1] * m[1][j]! + f[2] * m[2][j]!) as Vec3;
const matMul = (a: Mat3, b: Mat3): Mat3 => a.map((row) => vecMat(row as Vec3, b)) as Mat3;
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];

/** Special points (other than Γ) not on the first-Brillouin-zone boundary of `prim`. */
function offBoundary(prim: Mat3, path: KPath): string[] {
  const B = reciprocalLattice(prim);
  const bad: string[] = [];
  for (const [label, f] of Object.entries(path.points)) {
    if (label === 'Γ') continue;
    const k = vecMat(f, B);
    let min = Infinity;
    for (let i = -3; i <= 3; i++)
      for (let j = -3; j <= 3; j++)
        for (let l = -3; l <= 3; l++) if (i || j || l) min = Math.min(min, norm(sub(k, vecMat([i, j, l], B))) - norm(k));
    if (Math.abs(min) > 1e-8 * norm(B[0])) bad.push(label);
  }
  return bad;
}

/** Pairwise Cartesian distances between the special points (rotation-invariant fingerprint of a path). */
function distances(path: KPath, lattice: Mat3): number[] {
  const B = reciprocalLattice(lattice);
  const labels = Object.keys(path.points).sort();
  const cart = labels.map((l) => vecMat(path.points[l]!, B));
  return cart.flatMap((a, i) => cart.slice(i + 1).map((b) => norm(sub(a, b))));
}

describe('band paths of real structures (moyo + Setyawan–Curtarolo)', () => {
  it('Si from the conventional CIF cell: FCC, 2-atom SC cell, the fcc path; the 8-atom input cell would fold the bands', () => {
    const r = bandPathForStructure(load('Si-Fd-3m.cif'));
    expect(r.variant).toBe('FCC');
    expect(r.path.segments).toEqual([['Γ', 'X', 'W', 'K', 'Γ', 'L', 'U', 'W', 'L', 'K'], ['U', 'X']]);
    expect(r.cell.sites).toHaveLength(2);
    expect(volume(r.cell.lattice)).toBeCloseTo(5.431 ** 3 / 4, 8);
    expect(r.input?.multiplicity).toBe(4);
    expect(r.input?.path).toBeUndefined();
    expect(r.notes.join(' ')).toMatch(/holds 4 primitive cells/);
    expect(analyzeSymmetry(r.cell).spaceGroupNumber).toBe(227);
  });

  it('Si from the built-in primitive cell: the path re-expressed in the input basis is the same set of k-points', () => {
    const si = builtinStructure('Si')!;
    const r = bandPathForStructure(si);
    expect(r.input?.multiplicity).toBe(1);
    const inputPath = r.input!.path!;
    expect(inputPath.segments).toEqual(r.path.segments);
    const d1 = distances(r.path, r.cell.lattice), d2 = distances(inputPath, si.lattice);
    d1.forEach((d, i) => expect(d2[i]).toBeCloseTo(d, 9));
    expect(offBoundary(si.lattice, inputPath)).toEqual([]);
  });

  it.each([
    ['symmetry/Mg-hcp.cif', 'HEX', 2],
    ['MoS2-2H.cif', 'HEX', 6],
    ['symmetry/ZnO-wurtzite.cif', 'HEX', 4],
    ['TiO2-rutile.cif', 'TET', 6],
    ['symmetry/SrTiO3-cubic.cif', 'CUB', 5],
    ['NaCl-Fm-3m.cif', 'FCC', 2],
    ['symmetry/Calcite-R-3c.cif', 'RHL1', 10],
    ['symmetry/Bi2Se3-R-3m.vasp', 'RHL1', 5],
    ['symmetry/Andalusite-Pnnm.cif', 'ORC', 32],
    ['symmetry/Titanite-P21a.cif', 'MCL', 32],
    ['symmetry/Diopside-C2c.cif', 'MCLC1', 20],
    ['symmetry/Kyanite-P-1.cif', 'TRI1b', 32],
  ] as Array<[string, ScVariant, number]>)('%s → %s, %i atoms in the SC cell, points on the zone boundary', (file, variant, atoms) => {
    const s = load(file);
    const r = bandPathForStructure(s);
    expect(r.variant).toBe(variant);
    expect(r.cell.sites).toHaveLength(atoms);
    expect(offBoundary(r.cell.lattice, r.path)).toEqual([]);
    // SC's cell is a cell of the same crystal
    expect(analyzeSymmetry(r.cell).spaceGroupNumber).toBe(r.symmetry.spaceGroupNumber);
    expect((volume(r.cell.lattice) * s.sites.length) / atoms).toBeCloseTo(volume(s.lattice), 6);
  });

  it('HEX path for Mg: Γ–M–K–Γ–A–L–H–A|L–M|K–H', () => {
    expect(bandPathForStructure(load('symmetry/Mg-hcp.cif')).path.segments).toEqual([['Γ', 'M', 'K', 'Γ', 'A', 'L', 'H', 'A'], ['L', 'M'], ['K', 'H']]);
  });

  it('BCC path for Fe (built-in primitive cell = SC cell)', () => {
    const fe = builtinStructure('Fe')!;
    const r = bandPathForStructure(fe);
    expect(r.variant).toBe('BCC');
    expect(r.path.segments).toEqual([['Γ', 'H', 'N', 'Γ', 'P', 'H'], ['P', 'N']]);
    expect(r.input?.multiplicity).toBe(1);
  });

  it('RHL1 for Bi2Se3: the rhombohedral angle of the primitive cell is below 90° (about 24°)', () => {
    const r = bandPathForStructure(load('symmetry/Bi2Se3-R-3m.vasp'));
    const p = cellParameters(r.cell.lattice);
    expect(p.alpha).toBeCloseTo(p.beta, 8);
    expect(p.alpha).toBeGreaterThan(23);
    expect(p.alpha).toBeLessThan(25);
    expect(r.path.segments).toEqual([['Γ', 'L', 'B1'], ['B', 'Z', 'Γ', 'X'], ['Q', 'F', 'P1', 'Z'], ['L', 'P']]);
  });

  it('ORC for andalusite: axes re-ordered to a < b < c, and the note says so', () => {
    const r = bandPathForStructure(load('symmetry/Andalusite-Pnnm.cif'));
    const p = cellParameters(r.cell.lattice);
    expect(p.a).toBeLessThan(p.b);
    expect(p.b).toBeLessThan(p.c);
    expect(r.notes.join(' ')).toMatch(/a < b < c/);
  });

  it('MCLC for diopside (C2/c): SC setting, twofold axis a, alpha < 90°', () => {
    const r = bandPathForStructure(load('symmetry/Diopside-C2c.cif'));
    const sc = r.cell.lattice;
    // conventional (a, b, c) = (a1 - a2, a1 + a2, a3) for SC's MCLC primitive (a/2, b/2, 0), (-a/2, b/2, 0), c
    const a = sub(sc[0], sc[1]), b: Vec3 = [sc[0][0] + sc[1][0], sc[0][1] + sc[1][1], sc[0][2] + sc[1][2]];
    const p = cellParameters([a, b, sc[2]]);
    expect(p.a).toBeCloseTo(8.9174, 3); // ITA b, the twofold axis
    expect(p.b).toBeCloseTo(9.7397, 3);
    expect(p.c).toBeCloseTo(5.2503, 3);
    expect(p.alpha).toBeCloseTo(180 - 105.866, 3);
    expect(p.beta).toBeCloseTo(90, 6);
  });

  it('crystal_b lines and sampling for the SC cell of rutile', () => {
    const r = bandPathForStructure(load('TiO2-rutile.cif'));
    const lines = toCrystalB(r.path, 10);
    expect(lines.map(([l, , n]) => `${l}${n}`).join(' ')).toBe('Γ10 X10 M10 Γ10 Z10 R10 A10 Z1 X10 R1 M10 A1');
    const s = sampleKPath(r.path, reciprocalLattice(r.cell.lattice), { density: 30 });
    expect(s.kpoints[s.kpoints.length - 1]).toEqual(r.path.points.A);
    for (let i = 1; i < s.distances.length; i++) expect(s.distances[i]!).toBeGreaterThanOrEqual(s.distances[i - 1]!);
  });
});

describe('all 14 Bravais lattices through moyo, from rotated non-standard input cells', () => {
  /** Two atoms at generic positions expanded with the space group's operations, in the ITA conventional cell. */
  function crystal(n: number, p: [number, number, number, number, number, number]): Structure {
    const sites: Structure['sites'] = [];
    for (const [species, x] of [['C', [0.1234, 0.2345, 0.3456]], ['N', [0.3817, 0.0912, 0.7071]]] as const) {
      for (const op of spaceGroupOperations(n)) {
        const y = [0, 1, 2].map((i) => {
          const v = op.rotation[i]![0] * x[0] + op.rotation[i]![1] * x[1] + op.rotation[i]![2] * x[2] + op.translation[i]!;
          return v - Math.floor(v);
        }) as Vec3;
        const dup = sites.some((s) => s.species === species && s.frac.every((v, i) => Math.min(Math.abs(v - y[i]!), 1 - Math.abs(v - y[i]!)) < 1e-6));
        if (!dup) sites.push({ species, frac: y });
      }
    }
    return { lattice: latticeFromParameters(...p), sites, title: `SG ${n}` };
  }

  /** The same crystal in another cell (L' = U L, U unimodular) and rotated in space. */
  function disguise(s: Structure): Structure {
    const u: Mat3 = [[1, 0, 0], [1, 1, 0], [0, 1, 1]];
    const uInv: Mat3 = [[1, 0, 0], [-1, 1, 0], [1, -1, 1]];
    const t = 0.7, c = Math.cos(t), sn = Math.sin(t);
    const rot: Mat3 = [[c, -sn, 0], [sn, c, 0], [0, 0, 1]]; // rows: applied as v · rot
    return {
      lattice: matMul(matMul(u, s.lattice), rot),
      sites: s.sites.map((x) => ({ species: x.species, frac: vecMat(x.frac, uInv).map((v) => v - Math.floor(v)) as Vec3 })),
      title: `${s.title} disguised`,
    };
  }

  const cases: Array<[number, [number, number, number, number, number, number], ScVariant]> = [
    [221, [3, 3, 3, 90, 90, 90], 'CUB'],
    [225, [4, 4, 4, 90, 90, 90], 'FCC'],
    [229, [3, 3, 3, 90, 90, 90], 'BCC'],
    [123, [3, 3, 5, 90, 90, 90], 'TET'],
    [139, [4, 4, 3, 90, 90, 90], 'BCT1'],
    [139, [3, 3, 5, 90, 90, 90], 'BCT2'],
    [47, [5, 3, 4, 90, 90, 90], 'ORC'],
    [69, [6, 3, 5, 90, 90, 90], 'ORCF1'],
    [69, [5, 6, 4, 90, 90, 90], 'ORCF2'],
    [71, [4, 3, 5, 90, 90, 90], 'ORCI'],
    [65, [5, 3, 4, 90, 90, 90], 'ORCC'],
    [38, [4, 5, 3, 90, 90, 90], 'ORCC'], // A-centred in the ITA setting
    [191, [3, 3, 5, 90, 90, 120], 'HEX'],
    [166, [3, 3, 12, 90, 90, 120], 'RHL1'],
    [166, [5, 5, 2, 90, 90, 120], 'RHL2'],
    [10, [3, 4, 5, 90, 100, 90], 'MCL'],
    [12, [4, 3, 3, 90, 95, 90], 'MCLC1'],
    [12, [3, 4, 3, 90, 95, 90], 'MCLC3'],
    [12, [3, 3, 3, 90, 95, 90], 'MCLC5'],
    [2, [3, 4, 5, 80, 95, 105], 'TRI1a'],
  ];

  it.each(cases)('space group %i %j → %s', (n, p, variant) => {
    const s = disguise(crystal(n, p));
    const r = bandPathForStructure(s);
    expect(r.symmetry.spaceGroupNumber).toBe(n);
    expect(r.variant).toBe(variant);
    expect(offBoundary(r.cell.lattice, r.path)).toEqual([]);
    expect(analyzeSymmetry(r.cell).spaceGroupNumber).toBe(n);
    const m = r.input!.multiplicity;
    expect(r.cell.sites.length * m).toBe(s.sites.length);
    if (m === 1) {
      // a primitive input: its own-basis path has the same geometry
      const d1 = distances(r.path, r.cell.lattice), d2 = distances(r.input!.path!, s.lattice);
      d1.forEach((d, i) => expect(d2[i]).toBeCloseTo(d, 6));
    }
  });
});
