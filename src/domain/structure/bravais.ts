/**
 * Bravais lattices in the Setyawan–Curtarolo convention (W. Setyawan and S. Curtarolo, "High-throughput
 * electronic band structure calculations: Challenges and tools", Comput. Mater. Sci. 49, 299–312 (2010),
 * doi:10.1016/j.commatsci.2010.05.010; "SC" below).
 *
 * Input: the standardized conventional cell and the primitive standardized cell that a symmetry finder
 * (moyo/spglib, ITA standard setting) returns, in the same Cartesian frame, plus the Bravais type. Output:
 * SC's conventional lattice (re-oriented as SC require), SC's primitive cell (with the atoms) and the SC
 * lattice variant (FCC, BCT1, ORCF2, MCLC3, TRI1b, ...). The k-path fractional coordinates of `kpath.ts`
 * refer to the reciprocal basis of exactly this primitive cell.
 *
 * Re-orientations (see docs/KPATHS.md): ORC/ORCF/ORCI sort the axes so a < b < c; ORCC puts the centred face in
 * (a, b) with a < b; MCL/MCLC make the twofold axis `a` and the oblique angle alpha (between b and c) < 90°
 * (MCL also b <= c); RHL uses the rhombohedral cell of the obverse hexagonal cell; TRI picks, among cyclic
 * permutations and sign flips of a reduced reciprocal basis, one meeting SC's TRI1a/1b/2a/2b conditions.
 * Every transformation keeps the cell right-handed and is an exact change of basis of the same lattice.
 *
 * Pure and deterministic (runs inside workflows): no I/O, no randomness.
 */
import { cellParameters, cross, dot, inverse3, norm, reciprocalLattice, wrapFrac } from './lattice.ts';
import type { Mat3, Site, Structure, Vec3 } from './structure.ts';

/** The 14 Bravais lattices by Pearson-symbol prefix ('oS' covers oC/oA/oB, 'mS' covers mC/mA/mI). */
export type BravaisLattice = 'cP' | 'cF' | 'cI' | 'tP' | 'tI' | 'oP' | 'oF' | 'oI' | 'oS' | 'hP' | 'hR' | 'mP' | 'mS' | 'aP';

export const BRAVAIS_LATTICES: readonly BravaisLattice[] = ['cP', 'cF', 'cI', 'tP', 'tI', 'oP', 'oF', 'oI', 'oS', 'hP', 'hR', 'mP', 'mS', 'aP'];

/** The seven crystal systems (moyo / spglib names). */
export const CRYSTAL_SYSTEMS = ['triclinic', 'monoclinic', 'orthorhombic', 'tetragonal', 'trigonal', 'hexagonal', 'cubic'] as const;
export type CrystalSystem = (typeof CRYSTAL_SYSTEMS)[number];

/** SC's names of the 14 lattices. */
export type ScLatticeType = 'CUB' | 'FCC' | 'BCC' | 'TET' | 'BCT' | 'ORC' | 'ORCF' | 'ORCI' | 'ORCC' | 'HEX' | 'RHL' | 'MCL' | 'MCLC' | 'TRI';

/** SC's 25 lattice variants (each has its own special points and default path). */
export type ScVariant =
  | 'CUB' | 'FCC' | 'BCC' | 'TET' | 'BCT1' | 'BCT2' | 'ORC' | 'ORCF1' | 'ORCF2' | 'ORCF3' | 'ORCI' | 'ORCC' | 'HEX'
  | 'RHL1' | 'RHL2' | 'MCL' | 'MCLC1' | 'MCLC2' | 'MCLC3' | 'MCLC4' | 'MCLC5' | 'TRI1a' | 'TRI1b' | 'TRI2a' | 'TRI2b';

export const SC_VARIANTS: readonly ScVariant[] = [
  'CUB', 'FCC', 'BCC', 'TET', 'BCT1', 'BCT2', 'ORC', 'ORCF1', 'ORCF2', 'ORCF3', 'ORCI', 'ORCC', 'HEX',
  'RHL1', 'RHL2', 'MCL', 'MCLC1', 'MCLC2', 'MCLC3', 'MCLC4', 'MCLC5', 'TRI1a', 'TRI1b', 'TRI2a', 'TRI2b',
];

export const SC_LATTICE_OF_BRAVAIS: Readonly<Record<BravaisLattice, ScLatticeType>> = {
  cP: 'CUB', cF: 'FCC', cI: 'BCC', tP: 'TET', tI: 'BCT', oP: 'ORC', oF: 'ORCF', oI: 'ORCI', oS: 'ORCC',
  hP: 'HEX', hR: 'RHL', mP: 'MCL', mS: 'MCLC', aP: 'TRI',
};

/** The SC lattice type a variant belongs to ('BCT2' → 'BCT', 'TRI1a' → 'TRI'). */
export function scLatticeTypeOf(variant: ScVariant): ScLatticeType {
  return variant.replace(/(\d.*)$/, '') as ScLatticeType;
}

// ---------------------------------------------------------------------------------------------------------
// Small 3x3 helpers (rows are vectors).

export const matMul = (a: Mat3, b: Mat3): Mat3 =>
  [0, 1, 2].map((i) => [0, 1, 2].map((j) => a[i]![0] * b[0][j]! + a[i]![1] * b[1][j]! + a[i]![2] * b[2][j]!)) as Mat3;
export const transpose = (m: Mat3): Mat3 => [0, 1, 2].map((j) => [m[0][j]!, m[1][j]!, m[2][j]!]) as Mat3;
export const det3 = (m: Mat3): number => dot(m[0], cross(m[1], m[2]));
/** Row vector times matrix: f · M. */
export const vecMat = (f: Vec3, m: Mat3): Vec3 => [0, 1, 2].map((j) => f[0] * m[0][j]! + f[1] * m[1][j]! + f[2] * m[2][j]!) as Vec3;
/** Matrix times column vector: M · f. */
export const matVec = (m: Mat3, f: Vec3): Vec3 => [dot(m[0], f), dot(m[1], f), dot(m[2], f)];
const scale = (v: Vec3, s: number): Vec3 => [v[0] * s, v[1] * s, v[2] * s];
const IDENTITY: Mat3 = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
const cosAngle = (u: Vec3, v: Vec3): number => dot(u, v) / (norm(u) * norm(v));
const third = 1 / 3;

/**
 * Rows: SC's primitive vectors in units of SC's conventional vectors (a1 = row0 · (a, b, c), ...).
 * For RHL the "conventional" cell is the hexagonal cell (obverse setting) and the rows give the
 * rhombohedral vectors (2/3,1/3,1/3), (-1/3,1/3,1/3), (-1/3,-2/3,1/3), which have SC's form
 * (equal lengths, equal angles alpha, right-handed).
 */
export function scPrimitiveMatrix(type: ScLatticeType): Mat3 {
  switch (type) {
    case 'FCC':
    case 'ORCF':
      return [[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]];
    case 'BCC':
    case 'BCT':
    case 'ORCI':
      return [[-0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.5, 0.5, -0.5]];
    case 'ORCC':
      return [[0.5, -0.5, 0], [0.5, 0.5, 0], [0, 0, 1]];
    case 'MCLC':
      return [[0.5, 0.5, 0], [-0.5, 0.5, 0], [0, 0, 1]];
    case 'RHL':
      return [[2 * third, third, third], [-third, third, third], [-third, -2 * third, third]];
    default:
      return IDENTITY;
  }
}

/** Lattice parameters a, b, c (Å), alpha, beta, gamma (degrees). */
export type CellParameters = ReturnType<typeof cellParameters>;

export interface ScOptions {
  /**
   * Relative tolerance for the equalities that separate variants (ORCF3: 1/a² = 1/b² + 1/c²; MCLC2: k_gamma = 90°;
   * MCLC4; TRI2: k_gamma = 90°) and for checking that the cells match. Default 1e-6. The cells from a symmetry
   * finder are idealized, so a tight value is right.
   */
  tolerance?: number;
}

/** The conventional and primitive standardized cells from a symmetry finder (what `analyzeSymmetry` returns). */
export interface StandardizedCells {
  bravaisLattice: BravaisLattice;
  /** Conventional cell in the ITA standard setting (hexagonal axes for hR). */
  standardizedCell: Structure;
  /** Primitive cell of the same crystal, in the same Cartesian frame as `standardizedCell`. */
  primitiveStandardizedCell: Structure;
}

export interface ScLattice {
  type: ScLatticeType;
  variant: ScVariant;
  /** SC's conventional lattice vectors (rows, Å; the hexagonal cell for RHL), same frame as the input. */
  conventional: Mat3;
  /** SC's primitive lattice vectors (rows, Å): the k-path's fractional coordinates refer to their reciprocal basis. */
  primitive: Mat3;
  /**
   * Parameters the variant and the special points depend on: of the conventional cell, except for RHL
   * (the rhombohedral primitive cell: a = |a_i|, alpha = the rhombohedral angle) and TRI (the primitive cell).
   */
  parameters: CellParameters;
}

export interface ScStandardization extends ScLattice {
  /** SC's primitive cell with the atoms (wrapped into [0, 1)), in the frame of the symmetry finder's cells. */
  cell: Structure;
  /** Integer matrix N with SC primitive = N · (input primitive) (rows); |det N| = 1. */
  fromPrimitive: Mat3;
  /** What was re-oriented, in words (empty when nothing was). */
  notes: string[];
}

/** Error for cells that do not have the form the Bravais type requires. */
export class BravaisLatticeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BravaisLatticeError';
  }
}

const fmt = (x: number) => Number(x.toFixed(6));
const describeLattice = (m: Mat3) => {
  const p = cellParameters(m);
  return `a=${fmt(p.a)} b=${fmt(p.b)} c=${fmt(p.c)} alpha=${fmt(p.alpha)} beta=${fmt(p.beta)} gamma=${fmt(p.gamma)}`;
};

/** Rows of `m` picked by `order` with signs `signs`, made right-handed by flipping the last row if needed. */
function pick(m: Mat3, order: [number, number, number], signs: [number, number, number] = [1, 1, 1]): Mat3 {
  const rows = order.map((i, k) => scale(m[i]!, signs[k]!)) as Mat3;
  if (det3(rows) < 0) rows[2] = scale(rows[2], -1);
  return rows;
}

/** Index of the axis perpendicular to the other two (monoclinic unique axis); prefers b, then c, then a. */
function uniqueAxis(m: Mat3, tol: number): number {
  const c = (i: number, j: number) => Math.abs(cosAngle(m[i]!, m[j]!));
  const candidates = [1, 2, 0].filter((i) => {
    const [j, k] = [0, 1, 2].filter((x) => x !== i) as [number, number];
    return c(i, j) < tol && c(i, k) < tol;
  });
  if (candidates.length === 0) throw new BravaisLatticeError(`no axis of the monoclinic cell is perpendicular to the other two (${describeLattice(m)})`);
  return candidates[0]!;
}

/**
 * The axis (0, 1, 2) normal to the centred face of an A/B/C-centred conventional cell: the one along which every
 * primitive vector has an integer coordinate. `prim` and `conv` must be in the same frame.
 */
function centredFaceNormal(conv: Mat3, prim: Mat3, tol: number): number {
  const m = matMul(prim, inverse3(conv)); // rows: primitive vectors in conventional fractional coordinates
  const isInt = (x: number) => Math.abs(x - Math.round(x)) < tol;
  const faces = [2, 0, 1].filter((k) => m.every((row) => isInt(row[k]!)) && !m.every((row) => row.every(isInt)));
  if (faces.length !== 1) {
    throw new BravaisLatticeError(`cannot identify the centred face of the base-centred cell (primitive vectors in conventional units: ${JSON.stringify(m.map((r) => r.map(fmt)))})`);
  }
  return faces[0]!;
}

/** Reduce a basis (rows) by replacing a vector with a shorter sum/difference until none is shorter. Returns U with reduced = U · m. */
function reduceBasis(m: Mat3): { reduced: Mat3; u: Mat3 } {
  let b = m.map((r) => [...r]) as Mat3;
  let u = IDENTITY.map((r) => [...r]) as Mat3;
  const combos: Array<[number, number, number]> = [];
  for (const x of [-1, 0, 1]) for (const y of [-1, 0, 1]) for (const z of [-1, 0, 1]) if (x || y || z) combos.push([x, y, z]);
  for (let iter = 0; iter < 200; iter++) {
    let changed = false;
    for (let i = 0; i < 3 && !changed; i++) {
      for (const c of combos) {
        if (c[i] === 0) continue;
        const v: Vec3 = [0, 1, 2].map((j) => c[0] * b[0][j]! + c[1] * b[1][j]! + c[2] * b[2][j]!) as Vec3;
        if (norm(v) < norm(b[i]!) * (1 - 1e-10)) {
          // b_i' = sum c_k b_k requires c_i = ±1 for the change to stay unimodular
          if (Math.abs(c[i]!) !== 1) continue;
          const urow: Vec3 = [0, 1, 2].map((j) => c[0] * u[0][j]! + c[1] * u[1][j]! + c[2] * u[2][j]!) as Vec3;
          b = b.map((r, k) => (k === i ? v : r)) as Mat3;
          u = u.map((r, k) => (k === i ? urow : r)) as Mat3;
          changed = true;
          break;
        }
      }
    }
    if (!changed) break;
  }
  if (det3(u) < 0) {
    b = [b[0], b[1], scale(b[2], -1)];
    u = [u[0], u[1], scale(u[2], -1)];
  }
  return { reduced: b, u };
}

/** Reciprocal angles k_alpha (b2,b3), k_beta (b1,b3), k_gamma (b1,b2) in degrees. */
function reciprocalAngles(lattice: Mat3): { ka: number; kb: number; kg: number } {
  const p = cellParameters(reciprocalLattice(lattice));
  return { ka: p.alpha, kb: p.beta, kg: p.gamma };
}

/** The TRI variant of a triclinic lattice as it stands (undefined when it meets none of SC's conditions). */
function classifyTriclinic(l: Mat3, tol: number, strict = true): ScVariant | undefined {
  const angTol = Math.max(tol, 1e-9) * 90; // degrees
  const { ka, kb, kg } = reciprocalAngles(l);
  const gt = (x: number) => (strict ? x > 90 + angTol : x >= 90 - angTol);
  const lt = (x: number) => (strict ? x < 90 - angTol : x <= 90 + angTol);
  if (Math.abs(kg - 90) <= angTol) {
    if (gt(ka) && gt(kb)) return 'TRI2a';
    if (lt(ka) && lt(kb)) return 'TRI2b';
    return undefined;
  }
  if (gt(ka) && gt(kb) && gt(kg) && kg <= Math.min(ka, kb) + angTol) return 'TRI1a';
  if (lt(ka) && lt(kb) && lt(kg)) {
    // SC ask for k_gamma = the largest angle. SC's points N = (-1/2,-1/2,1/2), L and R are zone-boundary points
    // only when b1·b2 is the smallest of the three scalar products (Selling/Voronoi condition), which is the same
    // as the largest angle only for equal lengths: use the scalar products (checked numerically).
    const [b1, b2, b3] = reciprocalLattice(l);
    const d12 = dot(b1, b2), d13 = dot(b1, b3), d23 = dot(b2, b3);
    if (d12 <= Math.min(d13, d23) * (1 + 1e-12)) return 'TRI1b';
  }
  return undefined;
}

/**
 * SC's TRI standardization of a primitive triclinic lattice: reduce the reciprocal basis, then take the first
 * cyclic permutation / pair of sign flips (all keep the handedness) that meets TRI1a, TRI1b, TRI2a or TRI2b.
 */
function standardizeTriclinic(lattice: Mat3, tol: number): { lattice: Mat3; variant: ScVariant } {
  // Reduce the reciprocal basis; the direct basis is its dual: if B' = U B then L' = (U^-1)^T L.
  const { u } = reduceBasis(reciprocalLattice(lattice));
  const base = matMul(transpose(inverse3(u)), lattice);
  const orders: Array<[number, number, number]> = [[0, 1, 2], [1, 2, 0], [2, 0, 1]];
  const signs: Array<[number, number, number]> = [[1, 1, 1], [-1, -1, 1], [-1, 1, -1], [1, -1, -1]];
  for (const strict of [true, false]) {
    for (const o of orders) {
      for (const s of signs) {
        const l = o.map((i, k) => scale(base[i]!, s[k]!)) as Mat3;
        const v = classifyTriclinic(l, tol, strict);
        if (v) return { lattice: l, variant: v };
      }
    }
  }
  throw new BravaisLatticeError(`no setting of the triclinic cell meets the TRI conditions (${describeLattice(lattice)})`);
}

/**
 * Reduce the two axes (b, c) perpendicular to the monoclinic twofold axis: |b·c| <= |b|²/2 and, for a C-centred
 * cell (centring (a + b)/2, so b may only change by even multiples of c), |b·c| <= |c|²; for a primitive cell
 * |b·c| <= |c|²/2. SC's MCLC points are only zone-boundary points for such a reduced cell (checked numerically;
 * an unreduced C-cell with the same lattice puts F, H, X, Y outside the first zone).
 */
function reduceMonoclinicNet(b0: Vec3, c0: Vec3, centred: boolean): [Vec3, Vec3] {
  let b = b0, c = c0;
  const sub = (x: Vec3, y: Vec3, k: number): Vec3 => [x[0] - k * y[0], x[1] - k * y[1], x[2] - k * y[2]];
  for (let iter = 0; iter < 100; iter++) {
    const kc = Math.round(dot(c, b) / dot(b, b));
    if (kc !== 0) c = sub(c, b, kc);
    const step = centred ? 2 : 1;
    const kb = Math.round(dot(b, c) / (step * dot(c, c)));
    if (kb !== 0) b = sub(b, c, step * kb);
    if (kc === 0 && kb === 0) break;
  }
  return [b, c];
}

/**
 * SC's conventional lattice from a conventional cell in any setting: rows of the returned matrix are SC's
 * (a, b, c). `primitive` (same frame) is needed for 'oS' and 'mS' to find the centred face; when omitted,
 * the ITA standard C-centring (face a-b) is assumed.
 */
function scConventional(conv: Mat3, bravais: BravaisLattice, primitive: Mat3 | undefined, tol: number, notes: string[]): Mat3 {
  const len = conv.map((r) => norm(r)) as Vec3;
  const near = (x: number, y: number) => Math.abs(x - y) <= tol * Math.max(x, y) * 10;
  switch (bravais) {
    case 'cP':
    case 'cF':
    case 'cI':
    case 'hR':
      return conv;
    case 'hP': {
      const g = cellParameters(conv).gamma;
      if (Math.abs(g - 120) < 1e-3) return conv;
      if (Math.abs(g - 60) < 1e-3) {
        notes.push('hexagonal cell with gamma = 60°: b replaced by b - a (gamma = 120°)');
        return [conv[0], [conv[1][0] - conv[0][0], conv[1][1] - conv[0][1], conv[1][2] - conv[0][2]], conv[2]];
      }
      throw new BravaisLatticeError(`hexagonal conventional cell must have gamma = 120° between a and b (${describeLattice(conv)})`);
    }
    case 'tP':
    case 'tI': {
      if (near(len[0], len[1])) return conv;
      notes.push('tetragonal axes permuted so that c is the fourfold axis');
      if (near(len[1], len[2])) return [conv[1], conv[2], conv[0]];
      if (near(len[0], len[2])) return [conv[2], conv[0], conv[1]];
      throw new BravaisLatticeError(`tetragonal conventional cell needs two equal axes (${describeLattice(conv)})`);
    }
    case 'oP':
    case 'oF':
    case 'oI': {
      const order = [0, 1, 2].sort((i, j) => len[i]! - len[j]! || i - j) as [number, number, number];
      if (order.join() !== '0,1,2') notes.push(`orthorhombic axes reordered so that a < b < c (SC): new (a, b, c) = old (${order.map((i) => 'abc'[i]).join(', ')})`);
      return pick(conv, order);
    }
    case 'oS': {
      const k = primitive ? centredFaceNormal(conv, primitive, 1e-4) : 2;
      const [i, j] = [0, 1, 2].filter((x) => x !== k).sort((x, y) => len[x]! - len[y]! || x - y) as [number, number];
      const order: [number, number, number] = [i, j, k];
      if (order.join() !== '0,1,2') notes.push(`base-centred orthorhombic cell re-oriented so that the centred face is (a, b) with a < b (SC ORCC): new (a, b, c) = old (${order.map((x) => 'abc'[x]).join(', ')})`);
      return pick(conv, order);
    }
    case 'mP':
    case 'mS': {
      const u = uniqueAxis(conv, 1e-6);
      let rest = [0, 1, 2].filter((x) => x !== u) as [number, number];
      if (bravais === 'mS') {
        const k = primitive ? centredFaceNormal(conv, primitive, 1e-4) : 2;
        if (k === u) throw new BravaisLatticeError('base-centred monoclinic cell whose centred face does not contain the twofold axis: not a standard mS cell');
        rest = [rest.find((x) => x !== k)!, k];
      } else {
        rest.sort((x, y) => len[x]! - len[y]! || x - y);
      }
      let a = conv[u]!;
      let [b, c] = reduceMonoclinicNet(conv[rest[0]]!, conv[rest[1]]!, bravais === 'mS');
      if (bravais === 'mP' && norm(b) > norm(c) * (1 + 1e-12)) [b, c] = [c, b];
      if (dot(b, c) < 0) b = scale(b, -1);
      if (det3([a, b, c]) < 0) a = scale(a, -1);
      const out: Mat3 = [a, b, c];
      if (out.some((row, i) => row.some((x, j) => x !== conv[i]![j]))) {
        notes.push(
          `monoclinic cell re-oriented to SC's setting (twofold axis a, ${bravais === 'mS' ? 'centred face (a, b)' : 'b <= c'}, alpha < 90° between b and c, (b, c) reduced): new (a, b, c) from old (${[u, ...rest].map((x) => 'abc'[x]).join(', ')})`,
        );
      }
      return out;
    }
    case 'aP':
      return conv;
  }
}

/** The SC variant of a lattice given SC's conventional and primitive lattices. */
function scVariant(type: ScLatticeType, conventional: Mat3, primitive: Mat3, tol: number): { variant: ScVariant; parameters: CellParameters } {
  const p = cellParameters(conventional);
  const rel = (x: number, y: number) => Math.abs(x - y) <= tol * Math.max(Math.abs(x), Math.abs(y), 1e-300);
  switch (type) {
    case 'CUB':
    case 'FCC':
    case 'BCC':
    case 'TET':
    case 'ORC':
    case 'ORCI':
    case 'ORCC':
    case 'HEX':
    case 'MCL':
      return { variant: type, parameters: p };
    case 'BCT':
      return { variant: p.c < p.a ? 'BCT1' : 'BCT2', parameters: p };
    case 'ORCF': {
      const lhs = 1 / p.a ** 2, rhs = 1 / p.b ** 2 + 1 / p.c ** 2;
      return { variant: rel(lhs, rhs) ? 'ORCF3' : lhs > rhs ? 'ORCF1' : 'ORCF2', parameters: p };
    }
    case 'RHL': {
      const r = cellParameters(primitive);
      return { variant: r.alpha < 90 ? 'RHL1' : 'RHL2', parameters: r };
    }
    case 'MCLC': {
      const k = cellParameters(reciprocalLattice(primitive));
      const cosKg = Math.cos((k.gamma * Math.PI) / 180);
      if (Math.abs(cosKg) <= tol) return { variant: 'MCLC2', parameters: p };
      if (cosKg < 0) return { variant: 'MCLC1', parameters: p };
      const al = (p.alpha * Math.PI) / 180;
      const q = (p.b * Math.cos(al)) / p.c + (p.b ** 2 * Math.sin(al) ** 2) / p.a ** 2;
      return { variant: rel(q, 1) ? 'MCLC4' : q < 1 ? 'MCLC3' : 'MCLC5', parameters: p };
    }
    case 'TRI': {
      const v = classifyTriclinic(primitive, tol) ?? classifyTriclinic(primitive, tol, false);
      if (!v) throw new BravaisLatticeError(`triclinic cell not in SC's TRI setting (${describeLattice(primitive)}); standardize it first`);
      return { variant: v, parameters: cellParameters(primitive) };
    }
  }
}

/**
 * SC's conventional and primitive lattices and the variant, from a conventional lattice in any setting (the ITA
 * standard one from moyo/spglib, or SC's own) and its Bravais type. Pass the primitive lattice (same frame) for
 * 'oS'/'mS' so the centred face is found; without it the face (a, b) is assumed.
 */
export function scLattice(conventional: Mat3, bravais: BravaisLattice, options: ScOptions & { primitive?: Mat3 } = {}): ScLattice {
  const tol = options.tolerance ?? 1e-6;
  const type = SC_LATTICE_OF_BRAVAIS[bravais];
  if (!type) throw new BravaisLatticeError(`unknown Bravais lattice '${String(bravais)}' (expected one of ${BRAVAIS_LATTICES.join(', ')})`);
  const notes: string[] = [];
  let conv = scConventional(conventional, bravais, options.primitive, tol, notes);
  let prim = matMul(scPrimitiveMatrix(type), conv);
  if (type === 'TRI') {
    prim = standardizeTriclinic(conv, tol).lattice;
    conv = prim;
  }
  const { variant, parameters } = scVariant(type, conv, prim, tol);
  return { type, variant, conventional: conv, primitive: prim, parameters };
}

/** Round a matrix that should be integer; throws when it is not (within tol). */
function integerMatrix(m: Mat3, tol: number, what: string): Mat3 {
  const r = m.map((row) => row.map((x) => Math.round(x))) as Mat3;
  const off = Math.max(...m.flatMap((row, i) => row.map((x, j) => Math.abs(x - r[i]![j]!))));
  if (off > tol) throw new BravaisLatticeError(`${what} is not an integer matrix (max deviation ${off.toExponential(2)}): ${JSON.stringify(m.map((row) => row.map(fmt)))}`);
  return r.map((row) => row.map((x) => (x === 0 ? 0 : x))) as Mat3;
}

/**
 * SC's primitive cell (lattice and atoms), conventional lattice and variant from the standardized cells of a
 * symmetry finder. The atoms are those of `primitiveStandardizedCell`, re-expressed in SC's primitive basis.
 */
export function scStandardize(cells: StandardizedCells, options: ScOptions = {}): ScStandardization {
  const tol = options.tolerance ?? 1e-6;
  const prim = cells.primitiveStandardizedCell;
  const notes: string[] = [];
  const type = SC_LATTICE_OF_BRAVAIS[cells.bravaisLattice];
  if (!type) throw new BravaisLatticeError(`unknown Bravais lattice '${String(cells.bravaisLattice)}'`);
  let conv: Mat3;
  let primitive: Mat3;
  if (type === 'TRI') {
    // The conventional cell of aP is primitive; start from the primitive cell the atoms live in.
    conv = standardizeTriclinic(prim.lattice, tol).lattice;
    primitive = conv;
    notes.push('triclinic cell: reciprocal basis reduced, then permuted/sign-flipped to meet the TRI conditions');
  } else {
    conv = scConventional(cells.standardizedCell.lattice, cells.bravaisLattice, prim.lattice, tol, notes);
    primitive = matMul(scPrimitiveMatrix(type), conv);
  }
  const { variant, parameters } = scVariant(type, conv, primitive, tol);
  const n = integerMatrix(matMul(primitive, inverse3(prim.lattice)), 1e-5, 'the change of basis from the primitive standardized cell to SC\'s primitive cell');
  if (Math.abs(Math.abs(det3(n)) - 1) > 1e-9) {
    throw new BravaisLatticeError(`SC's primitive cell is not a primitive cell of the crystal (|det| = ${Math.abs(det3(n))}); is the Bravais type '${cells.bravaisLattice}' right?`);
  }
  const nInv = inverse3(n);
  const sites: Site[] = prim.sites.map((s) => {
    const f = vecMat(s.frac, nInv).map((x) => {
      const w = wrapFrac(Number(x.toFixed(12)), 1e-10);
      return w === 0 ? 0 : w;
    }) as Vec3;
    const out: Site = { species: s.species, frac: f };
    if (s.label !== undefined) out.label = s.label;
    return out;
  });
  const title = prim.title ?? cells.standardizedCell.title;
  const cell: Structure = { lattice: primitive, sites, ...(title !== undefined ? { title: `${title.replace(/ \((primitive )?standardized.*\)$/, '')} (SC primitive, ${variant})` } : {}) };
  return { type, variant, conventional: conv, primitive, parameters, cell, fromPrimitive: n, notes };
}

/**
 * SC's conventional and primitive lattices built from parameters in SC's own orientation (a along x, ...):
 * handy for examples and tests. `alpha` is the MCL/MCLC oblique angle or the RHL rhombohedral angle (degrees).
 * For TRI pass all six parameters.
 */
export function scLatticeFromParameters(
  type: ScLatticeType,
  p: { a: number; b?: number; c?: number; alpha?: number; beta?: number; gamma?: number },
): { conventional: Mat3; primitive: Mat3 } {
  const a = p.a, b = p.b ?? a, c = p.c ?? a;
  const r = Math.PI / 180;
  let conv: Mat3;
  switch (type) {
    case 'HEX':
      conv = [[a / 2, (-a * Math.sqrt(3)) / 2, 0], [a / 2, (a * Math.sqrt(3)) / 2, 0], [0, 0, c]];
      break;
    case 'RHL': {
      const al = (p.alpha ?? 60) * r;
      const rh: Mat3 = [
        [a * Math.cos(al / 2), -a * Math.sin(al / 2), 0],
        [a * Math.cos(al / 2), a * Math.sin(al / 2), 0],
        [(a * Math.cos(al)) / Math.cos(al / 2), 0, a * Math.sqrt(1 - Math.cos(al) ** 2 / Math.cos(al / 2) ** 2)],
      ];
      return { conventional: matMul(inverse3(scPrimitiveMatrix('RHL')), rh), primitive: rh };
    }
    case 'MCL':
    case 'MCLC': {
      const al = (p.alpha ?? 80) * r;
      conv = [[a, 0, 0], [0, b, 0], [0, c * Math.cos(al), c * Math.sin(al)]];
      break;
    }
    case 'TRI': {
      const al = (p.alpha ?? 90) * r, be = (p.beta ?? 90) * r, ga = (p.gamma ?? 90) * r;
      const cx = c * Math.cos(be);
      const cy = (c * (Math.cos(al) - Math.cos(be) * Math.cos(ga))) / Math.sin(ga);
      conv = [[a, 0, 0], [b * Math.cos(ga), b * Math.sin(ga), 0], [cx, cy, Math.sqrt(c * c - cx * cx - cy * cy)]];
      break;
    }
    default:
      conv = [[a, 0, 0], [0, b, 0], [0, 0, c]];
  }
  return { conventional: conv, primitive: matMul(scPrimitiveMatrix(type), conv) };
}
