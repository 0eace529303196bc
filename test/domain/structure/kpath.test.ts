import { kPointsCrystalBCard } from '../../../src/domain/codes/qe/bands.ts';
import { describe, expect, it } from 'vitest';
import {
  BravaisLatticeError,
  SC_LATTICE_OF_BRAVAIS,
  SC_VARIANTS,
  scLattice,
  scLatticeFromParameters,
  scStandardize,
  type BravaisLattice,
  type ScLatticeType,
  type ScVariant,
} from '../../../src/domain/structure/bravais.ts';
import { builtinStructure } from '../../../src/domain/structure/builtins.ts';
import {
  customKPath,
  defaultKPathSegments,
  kPath,
  kPathInBasis,
  normalizeKLabel,
  parseKPathSpec,
  sampleKPath,
  toCrystalB,
  type KPath,
} from '../../../src/domain/structure/kpath.ts';
import { cellParameters, latticeFromParameters, norm, reciprocalLattice } from '../../../src/domain/structure/lattice.ts';
import type { Mat3, Vec3 } from '../../../src/domain/structure/structure.ts';

const vecMat = (f: Vec3, m: Mat3): Vec3 => [0, 1, 2].map((j) => f[0] * m[0][j]! + f[1] * m[1][j]! + f[2] * m[2][j]!) as Vec3;
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cubic = (a: number): Mat3 => [[a, 0, 0], [0, a, 0], [0, 0, a]];
const BRAVAIS_OF: Record<ScLatticeType, BravaisLattice> = Object.fromEntries(
  Object.entries(SC_LATTICE_OF_BRAVAIS).map(([b, t]) => [t, b]),
) as Record<ScLatticeType, BravaisLattice>;

/**
 * Where a k-point (fractional, reciprocal basis of `prim`) lies relative to the first Brillouin zone:
 * min over G != 0 of |k - G| - |k|, relative to |b1|. 0: on the zone boundary; > 0 inside; < 0 outside.
 */
function zoneMargin(prim: Mat3, f: Vec3): number {
  const B = reciprocalLattice(prim);
  const k = vecMat(f, B);
  let min = Infinity;
  for (let i = -3; i <= 3; i++)
    for (let j = -3; j <= 3; j++)
      for (let l = -3; l <= 3; l++) {
        if (!i && !j && !l) continue;
        min = Math.min(min, norm(sub(k, vecMat([i, j, l], B))) - norm(k));
      }
  return min / norm(B[0]);
}

/** Labels of special points that are not on the zone boundary (every SC point except Γ should be). */
function offBoundary(prim: Mat3, path: KPath): string[] {
  return Object.entries(path.points)
    .filter(([label]) => label !== 'Γ')
    .filter(([, f]) => Math.abs(zoneMargin(prim, f)) > 1e-9)
    .map(([label, f]) => `${label}(${zoneMargin(prim, f).toExponential(2)})`);
}

/** SC variant, primitive lattice and path for a lattice built from SC parameters. */
function scFromParameters(type: ScLatticeType, p: Parameters<typeof scLatticeFromParameters>[1]) {
  const { conventional, primitive } = scLatticeFromParameters(type, p);
  const sc = scLattice(conventional, BRAVAIS_OF[type], { primitive });
  return { ...sc, path: kPath(sc.primitive, sc.variant) };
}

/** Deterministic pseudo-random numbers in [0, 1). */
function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe('SC paths: the FCC lattice (Si)', () => {
  const a = 5.431;
  const si = builtinStructure('Si')!;
  const sc = scLattice(cubic(a), 'cF');
  const path = kPath(sc.primitive, sc.variant);

  it("SC's FCC primitive vectors are (0,a/2,a/2), (a/2,0,a/2), (a/2,a/2,0): the built-in Si cell", () => {
    expect(sc.variant).toBe('FCC');
    expect(sc.primitive).toEqual(si.lattice);
  });

  it('Γ–X–W–K–Γ–L–U–W–L–K|U–X', () => {
    expect(path.segments).toEqual([['Γ', 'X', 'W', 'K', 'Γ', 'L', 'U', 'W', 'L', 'K'], ['U', 'X']]);
  });

  it('special points in the reciprocal basis of the primitive cell', () => {
    expect(path.points).toEqual({
      Γ: [0, 0, 0],
      X: [0.5, 0, 0.5],
      L: [0.5, 0.5, 0.5],
      W: [0.5, 0.25, 0.75],
      K: [0.375, 0.375, 0.75],
      U: [0.625, 0.25, 0.625],
    });
  });

  it('the points sit where they should in Cartesian units of 2π/a: X (0,1,0), L (½,½,½), W (½,1,0), K (¾,¾,0)', () => {
    const B = reciprocalLattice(si.lattice);
    const cart = (label: string) => vecMat(path.points[label]!, B).map((x) => (x * a) / (2 * Math.PI));
    const expectVec = (got: number[], want: number[]) => got.forEach((x, i) => expect(x).toBeCloseTo(want[i]!, 12));
    expectVec(cart('X'), [0, 1, 0]);
    expectVec(cart('L'), [0.5, 0.5, 0.5]);
    expectVec(cart('W'), [0.5, 1, 0]);
    expectVec(cart('K'), [0.75, 0.75, 0]);
    expectVec(cart('U'), [0.25, 1, 0.25]);
  });
});

describe('SC paths: HEX (MoS2), BCC (Fe) and TET (rutile)', () => {
  it('HEX: Γ–M–K–Γ–A–L–H–A|L–M|K–H for 2H-MoS2, K at (1/3,1/3,0)', () => {
    const mos2 = builtinStructure('MoS2')!;
    const sc = scLattice(mos2.lattice, 'hP');
    expect(sc.variant).toBe('HEX');
    const path = kPath(sc.primitive, sc.variant);
    expect(path.segments).toEqual([['Γ', 'M', 'K', 'Γ', 'A', 'L', 'H', 'A'], ['L', 'M'], ['K', 'H']]);
    expect(path.points.K).toEqual([1 / 3, 1 / 3, 0]);
    expect(path.points.H).toEqual([1 / 3, 1 / 3, 0.5]);
    // K is a zone corner: |Γ-K| = 4π/(3a)
    const B = reciprocalLattice(sc.primitive);
    expect(norm(vecMat(path.points.K!, B))).toBeCloseTo((4 * Math.PI) / (3 * 3.16), 10);
    expect(offBoundary(sc.primitive, path)).toEqual([]);
  });

  it("BCC: Fe's built-in cell is SC's primitive cell; Γ–H–N–Γ–P–H|P–N with H at 2π/a (0,1,0)", () => {
    const fe = builtinStructure('Fe')!;
    const a = 2.8665;
    const sc = scLattice(cubic(a), 'cI');
    expect(sc.variant).toBe('BCC');
    expect(sc.primitive).toEqual(fe.lattice);
    const path = kPath(sc.primitive, sc.variant);
    expect(path.segments).toEqual([['Γ', 'H', 'N', 'Γ', 'P', 'H'], ['P', 'N']]);
    expect(path.points).toEqual({ Γ: [0, 0, 0], H: [0.5, -0.5, 0.5], P: [0.25, 0.25, 0.25], N: [0, 0, 0.5] });
    const B = reciprocalLattice(fe.lattice);
    const h = vecMat(path.points.H!, B).map((x) => (x * a) / (2 * Math.PI));
    [0, 1, 0].forEach((want, i) => expect(h[i]).toBeCloseTo(want, 12));
  });

  it('TET: rutile, Γ–X–M–Γ–Z–R–A–Z|X–R|M–A', () => {
    const sc = scLattice(builtinStructure('TiO2')!.lattice, 'tP');
    expect(sc.variant).toBe('TET');
    expect(kPath(sc.primitive, 'TET').segments).toEqual([['Γ', 'X', 'M', 'Γ', 'Z', 'R', 'A', 'Z'], ['X', 'R'], ['M', 'A']]);
  });

  it('TET: a conventional cell with the fourfold axis along a is re-oriented (c becomes the unique axis)', () => {
    const sc = scLattice([[5, 0, 0], [0, 3, 0], [0, 0, 3]], 'tP');
    expect(cellParameters(sc.conventional)).toMatchObject({ a: 3, b: 3, c: 5 });
  });
});

describe('variant choice', () => {
  it('BCT1 when c < a, BCT2 when c > a (with the SC eta/zeta points)', () => {
    expect(scFromParameters('BCT', { a: 4, c: 3 }).variant).toBe('BCT1');
    const bct2 = scFromParameters('BCT', { a: 3, c: 5 });
    expect(bct2.variant).toBe('BCT2');
    const eta = (1 + 9 / 25) / 4, zeta = 9 / 50;
    expect(bct2.path.points.Σ).toEqual([-eta, eta, eta]);
    expect(bct2.path.points.Y).toEqual([-zeta, zeta, 0.5]);
    expect(bct2.path.segments).toEqual([['Γ', 'X', 'Y', 'Σ', 'Γ', 'Z', 'Σ1', 'N', 'P', 'Y1', 'Z'], ['X', 'P']]);
  });

  it('ORC: axes sorted so that a < b < c, whatever the input order', () => {
    const sc = scLattice([[5, 0, 0], [0, 3, 0], [0, 0, 4]], 'oP');
    expect(sc.variant).toBe('ORC');
    expect(cellParameters(sc.conventional)).toMatchObject({ a: 3, b: 4, c: 5 });
    expect(sc.conventional).toEqual([[0, 3, 0], [0, 0, 4], [5, 0, 0]]); // a cyclic permutation keeps it right-handed
  });

  it('ORCF1 / ORCF2 / ORCF3 from 1/a² vs 1/b² + 1/c² (a < b < c after sorting)', () => {
    expect(scLattice(cubicLike(6, 3, 5), 'oF').variant).toBe('ORCF1'); // 1/9 > 1/25 + 1/36
    expect(scLattice(cubicLike(5, 6, 4), 'oF').variant).toBe('ORCF2'); // 1/16 < 1/25 + 1/36
    expect(scLattice(cubicLike(3, 5, 3.75), 'oF').variant).toBe('ORCF3'); // 1/9 = 1/25 + 1/14.0625
  });

  it('ORCC: the centred face (found from the primitive cell) becomes (a, b) with a < b', () => {
    // A-centred conventional cell (centring (0,1/2,1/2)), as moyo gives for Amm2
    const conv = cubicLike(4, 5, 3);
    const prim: Mat3 = [[4, 0, 0], [0, 2.5, 1.5], [0, -2.5, 1.5]];
    const sc = scLattice(conv, 'oS', { primitive: prim });
    expect(sc.variant).toBe('ORCC');
    expect(cellParameters(sc.conventional)).toMatchObject({ a: 3, b: 5, c: 4 });
  });

  it('RHL1 for alpha < 90°, RHL2 for alpha > 90°', () => {
    expect(scFromParameters('RHL', { a: 4, alpha: 70 }).variant).toBe('RHL1');
    expect(scFromParameters('RHL', { a: 4, alpha: 110 }).variant).toBe('RHL2');
    const rhl1 = scFromParameters('RHL', { a: 4, alpha: 70 });
    expect(rhl1.path.segments).toEqual([['Γ', 'L', 'B1'], ['B', 'Z', 'Γ', 'X'], ['Q', 'F', 'P1', 'Z'], ['L', 'P']]);
    expect(rhl1.parameters.alpha).toBeCloseTo(70, 10);
  });

  it('MCL: twofold axis a, alpha < 90° and b <= c, from an ITA cell (unique axis b, beta > 90°)', () => {
    const ita = latticeFromParameters(5, 3, 4, 90, 100, 90); // a=5, b=3 (unique), c=4, beta=100
    const sc = scLattice(ita, 'mP');
    expect(sc.variant).toBe('MCL');
    const p = cellParameters(sc.conventional);
    expect(p.a).toBeCloseTo(3, 12);
    expect(p.b).toBeCloseTo(4, 12);
    expect(p.c).toBeCloseTo(5, 12);
    expect(p.alpha).toBeCloseTo(80, 10);
    expect(p.beta).toBeCloseTo(90, 10);
    expect(p.gamma).toBeCloseTo(90, 10);
    expect(kPath(sc.primitive, 'MCL').segments).toEqual([['Γ', 'Y', 'H', 'C', 'E', 'M1', 'A', 'X', 'H1'], ['M', 'D', 'Z'], ['Y', 'D']]);
  });

  it('MCLC1..MCLC5 from k_gamma and b cos(alpha)/c + b² sin²(alpha)/a² (ITA C2/m cells)', () => {
    // [a, b, c, beta] of ITA C-centred cells (unique axis b); SC's a is ITA's b, SC's b is ITA's a.
    const cases: Array<[number[], ScVariant]> = [
      [[4, 3, 3, 95], 'MCLC1'],
      [[3, 3, 6, 120], 'MCLC2'],
      [[3, 4, 3, 95], 'MCLC3'],
      [[4, 6, 3, 120], 'MCLC4'],
      [[3, 3, 3, 95], 'MCLC5'],
    ];
    for (const [[a, b, c, beta], variant] of cases) {
      const conv = latticeFromParameters(a!, b!, c!, 90, beta!, 90);
      const prim: Mat3 = [
        [conv[0][0] / 2 - conv[1][0] / 2, conv[0][1] / 2 - conv[1][1] / 2, conv[0][2] / 2 - conv[1][2] / 2],
        [conv[0][0] / 2 + conv[1][0] / 2, conv[0][1] / 2 + conv[1][1] / 2, conv[0][2] / 2 + conv[1][2] / 2],
        conv[2],
      ];
      const sc = scLattice(conv, 'mS', { primitive: prim });
      expect(sc.variant, `C2/m a=${a} b=${b} c=${c} beta=${beta}`).toBe(variant);
      const p = cellParameters(sc.conventional);
      expect(p.alpha).toBeLessThan(90);
      expect(p.beta).toBeCloseTo(90, 10);
      expect(p.gamma).toBeCloseTo(90, 10);
      expect(offBoundary(sc.primitive, kPath(sc.primitive, sc.variant))).toEqual([]);
    }
  });

  it('TRI1a / TRI1b / TRI2a / TRI2b from the reciprocal angles', () => {
    // Lattices defined through their reciprocal lattice: direct = dual of the reciprocal.
    const fromReciprocal = (ka: number, kb: number, kg: number, lengths: Vec3 = [1, 1.1, 1.2]): Mat3 => {
      const b = latticeFromParameters(lengths[0], lengths[1], lengths[2], ka, kb, kg);
      return reciprocalLattice(b); // the reciprocal of the reciprocal is the direct lattice
    };
    expect(scLattice(fromReciprocal(100, 105, 95), 'aP').variant).toBe('TRI1a');
    expect(scLattice(fromReciprocal(80, 75, 85), 'aP').variant).toBe('TRI1b');
    expect(scLattice(fromReciprocal(100, 105, 90), 'aP').variant).toBe('TRI2a');
    expect(scLattice(fromReciprocal(80, 75, 90), 'aP').variant).toBe('TRI2b');
    for (const [ka, kb, kg] of [[100, 105, 95], [80, 75, 85], [100, 105, 90], [80, 75, 90]] as const) {
      const sc = scLattice(fromReciprocal(ka, kb, kg), 'aP');
      expect(offBoundary(sc.primitive, kPath(sc.primitive, sc.variant))).toEqual([]);
    }
  });

  it('rejects cells without the form their Bravais type needs', () => {
    expect(() => scLattice(latticeFromParameters(3, 4, 5, 80, 85, 95), 'mP')).toThrow(BravaisLatticeError);
    expect(() => scLattice(cubicLike(3, 4, 5), 'tP')).toThrow(/two equal axes/);
    expect(() => scLattice(cubicLike(3, 4, 5), 'xX' as BravaisLattice)).toThrow(/unknown Bravais lattice/);
  });
});

function cubicLike(a: number, b: number, c: number): Mat3 {
  return [[a, 0, 0], [0, b, 0], [0, 0, c]];
}

describe('every special point of every variant is on the Brillouin-zone boundary', () => {
  // SC derive the points as zone vertices, edge and face centres: a typo, or a cell in the wrong setting, shows
  // up as a point inside or outside the zone. Random lattices of each type, in arbitrary (unreduced,
  // unsorted) settings, go through the standardization first.
  const rnd = prng(20240611);
  const r = (lo: number, hi: number) => lo + (hi - lo) * rnd();
  const seen = new Set<ScVariant>();
  const check = (type: ScLatticeType, bravais: BravaisLattice, conv: Mat3, primitive?: Mat3) => {
    const sc = scLattice(conv, bravais, primitive ? { primitive } : {});
    seen.add(sc.variant);
    const path = kPath(sc.primitive, sc.variant);
    const bad = offBoundary(sc.primitive, path);
    expect(bad, `${type} ${sc.variant} ${JSON.stringify(cellParameters(conv))}`).toEqual([]);
    for (const seg of path.segments) for (const l of seg) expect(path.points[l], `${sc.variant} path label ${l}`).toBeDefined();
  };

  it('cubic, tetragonal, orthorhombic, hexagonal and rhombohedral lattices', () => {
    for (let t = 0; t < 40; t++) {
      check('CUB', 'cP', cubic(r(2, 8)));
      check('FCC', 'cF', cubic(r(2, 8)));
      check('BCC', 'cI', cubic(r(2, 8)));
      const a = r(2, 8), c = r(2, 8);
      check('TET', 'tP', cubicLike(a, a, c));
      check('BCT', 'tI', cubicLike(a, a, c));
      const [x, y, z] = [r(2, 8), r(2, 8), r(2, 8)];
      check('ORC', 'oP', cubicLike(x, y, z));
      check('ORCF', 'oF', cubicLike(x, y, z));
      check('ORCI', 'oI', cubicLike(x, y, z));
      check('ORCC', 'oS', cubicLike(x, y, z), [[x / 2, -y / 2, 0], [x / 2, y / 2, 0], [0, 0, z]]);
      check('HEX', 'hP', latticeFromParameters(a, a, c, 90, 90, 120));
      const { conventional } = scLatticeFromParameters('RHL', { a, alpha: r(10, 119) });
      check('RHL', 'hR', conventional);
    }
    for (const v of ['CUB', 'FCC', 'BCC', 'TET', 'BCT1', 'BCT2', 'ORC', 'ORCF1', 'ORCF2', 'ORCI', 'ORCC', 'HEX', 'RHL1', 'RHL2'] as const) {
      expect(seen.has(v), v).toBe(true);
    }
  });

  it('ORCF3 (an equality case)', () => {
    for (const [a, b] of [[3, 5], [4, 4.5], [2, 7]] as const) {
      const c = 1 / Math.sqrt(1 / a ** 2 - 1 / b ** 2);
      check('ORCF', 'oF', cubicLike(c, a, b));
    }
    expect(seen.has('ORCF3')).toBe(true);
  });

  it('monoclinic lattices, including unreduced and C-centred cells in the ITA setting', () => {
    for (let t = 0; t < 300; t++) {
      const a = r(2, 9), b = r(2, 9), c = r(2, 9), beta = r(91, 135);
      const conv = latticeFromParameters(a, b, c, 90, beta, 90);
      check('MCL', 'mP', conv);
      // C-centring (a+b)/2 with b the twofold axis, as ITA/moyo
      const prim: Mat3 = [
        [conv[0][0] / 2 - conv[1][0] / 2, conv[0][1] / 2 - conv[1][1] / 2, conv[0][2] / 2 - conv[1][2] / 2],
        [conv[0][0] / 2 + conv[1][0] / 2, conv[0][1] / 2 + conv[1][1] / 2, conv[0][2] / 2 + conv[1][2] / 2],
        conv[2],
      ];
      check('MCLC', 'mS', conv, prim);
    }
    for (const v of ['MCL', 'MCLC1', 'MCLC3', 'MCLC5'] as const) expect(seen.has(v), v).toBe(true);
  });

  it('triclinic lattices', () => {
    for (let t = 0; t < 300; t++) {
      check('TRI', 'aP', latticeFromParameters(r(2, 8), r(2, 8), r(2, 8), r(60, 120), r(60, 120), r(60, 120)));
    }
    expect(seen.has('TRI1a') && seen.has('TRI1b')).toBe(true);
  });

  it('covers all 25 variants across this file', () => {
    // MCLC2/MCLC4/TRI2a/TRI2b are equality cases, checked in "variant choice"; the rest are seen above
    for (const v of SC_VARIANTS) expect(defaultKPathSegments(v).length).toBeGreaterThan(0);
  });
});

describe('scStandardize', () => {
  it('carries the atoms of the primitive standardized cell into SC’s primitive cell', () => {
    // NaCl: conventional rocksalt cell and a primitive cell whose vectors are a permutation of SC's
    const a = 5.64;
    const conv = { lattice: cubic(a), sites: [{ species: 'Na', frac: [0, 0, 0] as Vec3 }, { species: 'Cl', frac: [0.5, 0.5, 0.5] as Vec3 }], title: 'NaCl (standardized conventional)' };
    const prim = {
      lattice: [[a / 2, a / 2, 0], [0, a / 2, a / 2], [a / 2, 0, a / 2]] as Mat3,
      sites: [{ species: 'Na', frac: [0, 0, 0] as Vec3 }, { species: 'Cl', frac: [0.5, 0.5, 0.5] as Vec3 }],
      title: 'NaCl (primitive standardized)',
    };
    const sc = scStandardize({ bravaisLattice: 'cF', standardizedCell: conv, primitiveStandardizedCell: prim });
    expect(sc.variant).toBe('FCC');
    expect(sc.cell.lattice).toEqual([[0, a / 2, a / 2], [a / 2, 0, a / 2], [a / 2, a / 2, 0]]);
    expect(sc.fromPrimitive).toEqual([[0, 1, 0], [0, 0, 1], [1, 0, 0]]);
    expect(sc.cell.sites).toEqual([{ species: 'Na', frac: [0, 0, 0] }, { species: 'Cl', frac: [0.5, 0.5, 0.5] }]);
    expect(sc.cell.title).toBe('NaCl (SC primitive, FCC)');
  });

  it('refuses a primitive cell that is not one of the lattice', () => {
    const conv = { lattice: cubic(4), sites: [{ species: 'Cu', frac: [0, 0, 0] as Vec3 }] };
    expect(() => scStandardize({ bravaisLattice: 'cF', standardizedCell: conv, primitiveStandardizedCell: conv })).toThrow(/not an integer matrix|not a primitive cell/);
  });
});

describe('sampleKPath and toCrystalB', () => {
  const a = 5.431;
  const si = builtinStructure('Si')!;
  const path = kPath(si.lattice, 'FCC');
  const B = reciprocalLattice(si.lattice);

  it('lands exactly on the special points, with monotone distances and no distance across a break', () => {
    const s = sampleKPath(path, B, { pointsPerSegment: 10 });
    // 9 segments + 1 segment, 10 intervals each, plus the end point of each of the 2 pieces
    expect(s.kpoints).toHaveLength(9 * 10 + 1 + 10 + 1);
    expect(s.labels.map((l) => l.label)).toEqual(['Γ', 'X', 'W', 'K', 'Γ', 'L', 'U', 'W', 'L', 'K', 'U', 'X']);
    for (const { index, label } of s.labels) expect(s.kpoints[index]).toEqual(path.points[label]);
    for (let i = 1; i < s.distances.length; i++) expect(s.distances[i]!).toBeGreaterThanOrEqual(s.distances[i - 1]!);
    const k = s.labels[9]!.index; // K, end of the first piece
    const u = s.labels[10]!.index; // U, start of the second
    expect([s.labels[9]!.label, s.labels[10]!.label, u]).toEqual(['K', 'U', k + 1]);
    expect(s.distances[u]).toBe(s.distances[k]);
    // Γ→X is 2π/a long
    expect(s.distances[s.labels[1]!.index]).toBeCloseTo((2 * Math.PI) / a, 12);
    // consecutive sampled points on a segment are evenly spaced
    expect(s.distances[1]! - s.distances[0]!).toBeCloseTo((2 * Math.PI) / a / 10, 12);
  });

  it('density: intervals ~ segment length × density (at least 1)', () => {
    const s = sampleKPath(path, B, { density: 20 });
    const gx = s.labels[1]!.index; // Γ→X: 2π/5.431 = 1.157 Å⁻¹ → 23 intervals
    expect(gx).toBe(Math.round(((2 * Math.PI) / a) * 20));
    expect(s.kpoints[gx]).toEqual(path.points.X);
    expect(() => sampleKPath(path, B, { density: 0 })).toThrow(/positive/);
    expect(() => sampleKPath(path, B, { pointsPerSegment: 0 })).toThrow(/integer >= 1/);
  });

  it('toCrystalB: one line per special point, weight 1 at the end of a piece; pw.x expands it to the sampled list', () => {
    const lines = toCrystalB(path, 20);
    expect(lines.map(([l]) => l)).toEqual(['Γ', 'X', 'W', 'K', 'Γ', 'L', 'U', 'W', 'L', 'K', 'U', 'X']);
    expect(lines.map(([, , n]) => n)).toEqual([20, 20, 20, 20, 20, 20, 20, 20, 20, 1, 20, 1]);
    expect(lines[1]).toEqual(['X', [0.5, 0, 0.5], 20]);
    // pw.x's crystal_b expansion: n points from each line to the next, then the last line
    const expanded: Vec3[] = [];
    lines.forEach(([, k, n], i) => {
      if (i === lines.length - 1) return expanded.push(k);
      const next = lines[i + 1]![1];
      for (let j = 0; j < n; j++) expanded.push([0, 1, 2].map((x) => k[x]! + (j / n) * (next[x]! - k[x]!)) as Vec3);
    });
    expect(expanded).toEqual(sampleKPath(path, B, { pointsPerSegment: 20 }).kpoints);
    // The pw.x card writer (codes/qe/bands.ts) takes these lines as they are.
    const card = kPointsCrystalBCard(lines);
    const rows = card.trim().split('\n');
    expect(rows[0]).toBe('K_POINTS crystal_b');
    expect(rows[1]!.trim()).toBe('12');
    expect(rows.slice(2).map((r) => r.split('!')[0]!.trim().split(/\s+/).map(Number))).toEqual(lines.map(([, k, n], i) => [...k, i === lines.length - 1 ? 1 : n]));
  });

  it('toCrystalB with a density gives the same counts as sampleKPath', () => {
    const lines = toCrystalB(path, { density: 15, reciprocal: B });
    const s = sampleKPath(path, B, { density: 15 });
    const idx = s.labels.map((l) => l.index);
    expect(lines[0]![2]).toBe(idx[1]! - idx[0]!);
  });
});

describe('labels and custom paths', () => {
  it("normalizes 'G', 'Gamma', '\\Gamma', 'Sigma_1' and subscripts", () => {
    expect(['G', 'g', 'Gamma', 'GAMMA', '\\Gamma', 'Γ'].map(normalizeKLabel)).toEqual(['Γ', 'Γ', 'Γ', 'Γ', 'Γ', 'Γ']);
    expect(normalizeKLabel('SIGMA1')).toBe('Σ1');
    expect(normalizeKLabel('Z_1')).toBe('Z1');
    expect(normalizeKLabel('Z₁')).toBe('Z1');
    expect(normalizeKLabel('X')).toBe('X');
  });

  it("parses 'G-X-W|L-G' and checks labels against the variant's points", () => {
    expect(parseKPathSpec('G-X-W-K-G-L-U-W-L-K|U-X')).toEqual(defaultKPathSegments('FCC'));
    const base = kPath(builtinStructure('Si')!.lattice, 'FCC');
    const p = customKPath(base, 'L-G-X|K-G');
    expect(p.segments).toEqual([['L', 'Γ', 'X'], ['K', 'Γ']]);
    expect(() => customKPath(base, 'G-H')).toThrow(/unknown special point 'H'/);
    expect(() => customKPath(base, [['G']])).toThrow(/at least two points/);
  });

  it('kPathInBasis: the same Cartesian points in another basis of the lattice', () => {
    const si = builtinStructure('Si')!;
    const path = kPath(si.lattice, 'FCC');
    const m: Mat3 = [[1, 1, 0], [0, 1, 0], [0, 0, 1]]; // another primitive basis: L' = m L
    const other = [0, 1, 2].map((i) => [0, 1, 2].map((j) => m[i]![0] * si.lattice[0][j]! + m[i]![1] * si.lattice[1][j]! + m[i]![2] * si.lattice[2][j]!)) as Mat3;
    const moved = kPathInBasis(path, m);
    const B = reciprocalLattice(si.lattice), B2 = reciprocalLattice(other);
    for (const label of Object.keys(path.points)) {
      const k1 = vecMat(path.points[label]!, B), k2 = vecMat(moved.points[label]!, B2);
      k1.forEach((x, i) => expect(k2[i]).toBeCloseTo(x, 12));
    }
  });
});
