/**
 * High-symmetry k-point paths for band structures, in the Setyawan–Curtarolo convention (Comput. Mater. Sci.
 * 49, 299 (2010); see `bravais.ts` and docs/KPATHS.md): special points in fractional coordinates of the
 * reciprocal basis of SC's primitive cell, default paths with breaks, sampling along the path, and pw.x
 * `K_POINTS crystal_b` lines.
 *
 * Labels: 'Γ' for the zone centre ('G', 'Gamma' and '\Gamma' are accepted on input), 'Σ' for BCT2's Sigma;
 * subscripts are plain digits ('Z1', 'Σ1', 'A1').
 *
 * Pure and deterministic (runs inside workflows).
 */
import { cellParameters, inverse3, norm } from './lattice.ts';
import {
  det3,
  matMul,
  matVec,
  scLatticeTypeOf,
  scPrimitiveMatrix,
  scStandardize,
  vecMat,
  type ScOptions,
  type ScVariant,
  type StandardizedCells,
} from './bravais.ts';
import type { Mat3, Structure, Vec3 } from './structure.ts';

export interface KPath {
  variant: ScVariant;
  /** Special points, fractional coordinates in the reciprocal basis of the primitive cell the path was made for. */
  points: Record<string, Vec3>;
  /** Continuous pieces of the path; a break ('|') separates consecutive pieces, e.g. [['Γ','X','W'],['U','X']]. */
  segments: string[][];
}

export const GAMMA = 'Γ';

/** Canonical spelling of a point label: 'G'/'Gamma'/'\Gamma' → 'Γ', 'SIGMA1'/'Sigma_1' → 'Σ1', 'Z_1' → 'Z1'. */
export function normalizeKLabel(label: string): string {
  let l = label.trim().replace(/^\\/, '').replace(/[_{}$]/g, '');
  l = l.replace(/[₀-₉]/g, (d) => String(d.charCodeAt(0) - 0x2080));
  const m = /^(gamma|g|Γ|sigma|Σ)(\d*)$/i.exec(l);
  if (m) {
    const base = /^(gamma|g|Γ)$/i.test(m[1]!) ? GAMMA : 'Σ';
    return base + m[2];
  }
  return l;
}

const h = 0.5;

/** SC's special points of a variant; `p` are the parameters from `bravais.ts` (`ScLattice.parameters`). */
function specialPoints(variant: ScVariant, p: { a: number; b: number; c: number; alpha: number }): Record<string, Vec3> {
  const { a, b, c } = p;
  const al = (p.alpha * Math.PI) / 180;
  const G: Vec3 = [0, 0, 0];
  switch (variant) {
    case 'CUB':
      return { Γ: G, M: [h, h, 0], R: [h, h, h], X: [0, h, 0] };
    case 'FCC':
      return { Γ: G, K: [3 / 8, 3 / 8, 3 / 4], L: [h, h, h], U: [5 / 8, 1 / 4, 5 / 8], W: [h, 1 / 4, 3 / 4], X: [h, 0, h] };
    case 'BCC':
      return { Γ: G, H: [h, -h, h], P: [1 / 4, 1 / 4, 1 / 4], N: [0, 0, h] };
    case 'TET':
      return { Γ: G, A: [h, h, h], M: [h, h, 0], R: [0, h, h], X: [0, h, 0], Z: [0, 0, h] };
    case 'BCT1': {
      const eta = (1 + c ** 2 / a ** 2) / 4;
      return { Γ: G, M: [-h, h, h], N: [0, h, 0], P: [1 / 4, 1 / 4, 1 / 4], X: [0, 0, h], Z: [eta, eta, -eta], Z1: [-eta, 1 - eta, eta] };
    }
    case 'BCT2': {
      const eta = (1 + a ** 2 / c ** 2) / 4;
      const zeta = a ** 2 / (2 * c ** 2);
      return {
        Γ: G, N: [0, h, 0], P: [1 / 4, 1 / 4, 1 / 4], Σ: [-eta, eta, eta], Σ1: [eta, 1 - eta, -eta], X: [0, 0, h],
        Y: [-zeta, zeta, h], Y1: [h, h, -zeta], Z: [h, h, -h],
      };
    }
    case 'ORC':
      return { Γ: G, R: [h, h, h], S: [h, h, 0], T: [0, h, h], U: [h, 0, h], X: [h, 0, 0], Y: [0, h, 0], Z: [0, 0, h] };
    case 'ORCF1':
    case 'ORCF3': {
      const zeta = (1 + a ** 2 / b ** 2 - a ** 2 / c ** 2) / 4;
      const eta = (1 + a ** 2 / b ** 2 + a ** 2 / c ** 2) / 4;
      return {
        Γ: G, A: [h, h + zeta, zeta], A1: [h, h - zeta, 1 - zeta], L: [h, h, h], T: [1, h, h], X: [0, eta, eta],
        X1: [1, 1 - eta, 1 - eta], Y: [h, 0, h], Z: [h, h, 0],
      };
    }
    case 'ORCF2': {
      const eta = (1 + a ** 2 / b ** 2 - a ** 2 / c ** 2) / 4;
      const delta = (1 + b ** 2 / a ** 2 - b ** 2 / c ** 2) / 4;
      const phi = (1 + c ** 2 / b ** 2 - c ** 2 / a ** 2) / 4;
      return {
        Γ: G, C: [h, h - eta, 1 - eta], C1: [h, h + eta, eta], D: [h - delta, h, 1 - delta], D1: [h + delta, h, delta],
        L: [h, h, h], H: [1 - phi, h - phi, h], H1: [phi, h + phi, h], X: [0, h, h], Y: [h, 0, h], Z: [h, h, 0],
      };
    }
    case 'ORCI': {
      const zeta = (1 + a ** 2 / c ** 2) / 4;
      const eta = (1 + b ** 2 / c ** 2) / 4;
      const delta = (b ** 2 - a ** 2) / (4 * c ** 2);
      const mu = (a ** 2 + b ** 2) / (4 * c ** 2);
      return {
        Γ: G, L: [-mu, mu, h - delta], L1: [mu, -mu, h + delta], L2: [h - delta, h + delta, -mu], R: [0, h, 0], S: [h, 0, 0],
        T: [0, 0, h], W: [1 / 4, 1 / 4, 1 / 4], X: [-zeta, zeta, zeta], X1: [zeta, 1 - zeta, -zeta], Y: [eta, -eta, eta],
        Y1: [1 - eta, eta, -eta], Z: [h, h, -h],
      };
    }
    case 'ORCC': {
      const zeta = (1 + a ** 2 / b ** 2) / 4;
      return {
        Γ: G, A: [zeta, zeta, h], A1: [-zeta, 1 - zeta, h], R: [0, h, h], S: [0, h, 0], T: [-h, h, h], X: [zeta, zeta, 0],
        X1: [-zeta, 1 - zeta, 0], Y: [-h, h, 0], Z: [0, 0, h],
      };
    }
    case 'HEX':
      return { Γ: G, A: [0, 0, h], H: [1 / 3, 1 / 3, h], K: [1 / 3, 1 / 3, 0], L: [h, 0, h], M: [h, 0, 0] };
    case 'RHL1': {
      const eta = (1 + 4 * Math.cos(al)) / (2 + 4 * Math.cos(al));
      const nu = 3 / 4 - eta / 2;
      return {
        Γ: G, B: [eta, h, 1 - eta], B1: [h, 1 - eta, eta - 1], F: [h, h, 0], L: [h, 0, 0], L1: [0, 0, -h], P: [eta, nu, nu],
        P1: [1 - nu, 1 - nu, 1 - eta], P2: [nu, nu, eta - 1], Q: [1 - nu, nu, 0], X: [nu, 0, -nu], Z: [h, h, h],
      };
    }
    case 'RHL2': {
      const eta = 1 / (2 * Math.tan(al / 2) ** 2);
      const nu = 3 / 4 - eta / 2;
      return {
        Γ: G, F: [h, -h, 0], L: [h, 0, 0], P: [1 - nu, -nu, 1 - nu], P1: [nu, nu - 1, nu - 1], Q: [eta, eta, eta],
        Q1: [1 - eta, -eta, -eta], Z: [h, -h, h],
      };
    }
    case 'MCL': {
      const eta = (1 - (b * Math.cos(al)) / c) / (2 * Math.sin(al) ** 2);
      const nu = h - (eta * c * Math.cos(al)) / b;
      return {
        Γ: G, A: [h, h, 0], C: [0, h, h], D: [h, 0, h], D1: [h, 0, -h], E: [h, h, h], H: [0, eta, 1 - nu], H1: [0, 1 - eta, nu],
        H2: [0, eta, -nu], M: [h, eta, 1 - nu], M1: [h, 1 - eta, nu], M2: [h, eta, -nu], X: [0, h, 0], Y: [0, 0, h],
        Y1: [0, 0, -h], Z: [h, 0, 0],
      };
    }
    case 'MCLC1':
    case 'MCLC2': {
      const zeta = (2 - (b * Math.cos(al)) / c) / (4 * Math.sin(al) ** 2);
      const eta = h + (2 * zeta * c * Math.cos(al)) / b;
      const psi = 3 / 4 - a ** 2 / (4 * b ** 2 * Math.sin(al) ** 2);
      const phi = psi + ((3 / 4 - psi) * b * Math.cos(al)) / c;
      const common: Record<string, Vec3> = {
        Γ: G, N: [h, 0, 0], N1: [0, -h, 0], F: [1 - zeta, 1 - zeta, 1 - eta], F1: [zeta, zeta, eta], F2: [-zeta, -zeta, 1 - eta],
        I: [phi, 1 - phi, h], I1: [1 - phi, phi - 1, h], L: [h, h, h], M: [h, 0, h], X: [1 - psi, psi - 1, 0],
        Y: [h, h, 0], Y1: [-h, -h, 0], Z: [0, 0, h],
      };
      return variant === 'MCLC1'
        ? { ...common, X1: [psi, 1 - psi, 0], X2: [psi - 1, -psi, 0] }
        : { ...common, F3: [1 - zeta, -zeta, 1 - eta] };
    }
    case 'MCLC3':
    case 'MCLC4': {
      const mu = (1 + b ** 2 / a ** 2) / 4;
      const delta = (b * c * Math.cos(al)) / (2 * a ** 2);
      const zeta = mu - 1 / 4 + (1 - (b * Math.cos(al)) / c) / (4 * Math.sin(al) ** 2);
      const eta = h + (2 * zeta * c * Math.cos(al)) / b;
      const phi = 1 + zeta - 2 * mu;
      const psi = eta - 2 * delta;
      const common: Record<string, Vec3> = {
        Γ: G, F: [1 - phi, 1 - phi, 1 - psi], H: [zeta, zeta, eta], H1: [1 - zeta, -zeta, 1 - eta], H2: [-zeta, -zeta, 1 - eta],
        I: [h, -h, h], M: [h, 0, h], N: [h, 0, 0], N1: [0, -h, 0], X: [h, -h, 0], Y: [mu, mu, delta], Y1: [1 - mu, -mu, -delta],
        Y2: [-mu, -mu, -delta], Y3: [mu, mu - 1, delta], Z: [0, 0, h],
      };
      return variant === 'MCLC3' ? { ...common, F1: [phi, phi - 1, psi], F2: [1 - phi, -phi, 1 - psi] } : common;
    }
    case 'MCLC5': {
      const zeta = (b ** 2 / a ** 2 + (1 - (b * Math.cos(al)) / c) / Math.sin(al) ** 2) / 4;
      const eta = h + (2 * zeta * c * Math.cos(al)) / b;
      const mu = eta / 2 + b ** 2 / (4 * a ** 2) - (b * c * Math.cos(al)) / (2 * a ** 2);
      const nu = 2 * mu - zeta;
      const rho = 1 - (zeta * a ** 2) / b ** 2;
      const omega = ((4 * nu - 1 - (b ** 2 * Math.sin(al) ** 2) / a ** 2) * c) / (2 * b * Math.cos(al));
      const delta = (zeta * c * Math.cos(al)) / b + omega / 2 - 1 / 4;
      return {
        Γ: G, F: [nu, nu, omega], F1: [1 - nu, 1 - nu, 1 - omega], F2: [nu, nu - 1, omega], H: [zeta, zeta, eta],
        H1: [1 - zeta, -zeta, 1 - eta], H2: [-zeta, -zeta, 1 - eta], I: [rho, 1 - rho, h], I1: [1 - rho, rho - 1, h], L: [h, h, h],
        M: [h, 0, h], N: [h, 0, 0], N1: [0, -h, 0], X: [h, -h, 0], Y: [mu, mu, delta], Y1: [1 - mu, -mu, -delta],
        Y2: [-mu, -mu, -delta], Y3: [mu, mu - 1, delta], Z: [0, 0, h],
      };
    }
    case 'TRI1a':
    case 'TRI2a':
      return { Γ: G, L: [h, h, 0], M: [0, h, h], N: [h, 0, h], R: [h, h, h], X: [h, 0, 0], Y: [0, h, 0], Z: [0, 0, h] };
    case 'TRI1b':
    case 'TRI2b':
      return { Γ: G, L: [h, -h, 0], M: [0, 0, h], N: [-h, -h, h], R: [0, -h, h], X: [0, -h, 0], Y: [h, 0, 0], Z: [-h, 0, h] };
  }
}

const PATHS: Readonly<Record<ScVariant, string>> = {
  CUB: 'Γ-X-M-Γ-R-X|M-R',
  FCC: 'Γ-X-W-K-Γ-L-U-W-L-K|U-X',
  BCC: 'Γ-H-N-Γ-P-H|P-N',
  TET: 'Γ-X-M-Γ-Z-R-A-Z|X-R|M-A',
  BCT1: 'Γ-X-M-Γ-Z-P-N-Z1-M|X-P',
  BCT2: 'Γ-X-Y-Σ-Γ-Z-Σ1-N-P-Y1-Z|X-P',
  ORC: 'Γ-X-S-Y-Γ-Z-U-R-T-Z|Y-T|U-X|S-R',
  ORCF1: 'Γ-Y-T-Z-Γ-X-A1-Y|T-X1|X-A-Z|L-Γ',
  ORCF2: 'Γ-Y-C-D-X-Γ-Z-D1-H-C|C1-Z|X-H1|H-Y|L-Γ',
  ORCF3: 'Γ-Y-T-Z-Γ-X-A1-Y|X-A-Z|L-Γ',
  ORCI: 'Γ-X-L-T-W-R-X1-Z-Γ-Y-S-W|L1-Y|Y1-Z',
  ORCC: 'Γ-X-S-R-A-Z-Γ-Y-X1-A1-T-Y|Z-T',
  HEX: 'Γ-M-K-Γ-A-L-H-A|L-M|K-H',
  RHL1: 'Γ-L-B1|B-Z-Γ-X|Q-F-P1-Z|L-P',
  RHL2: 'Γ-P-Z-Q-Γ-F-P1-Q1-L-Z',
  MCL: 'Γ-Y-H-C-E-M1-A-X-H1|M-D-Z|Y-D',
  MCLC1: 'Γ-Y-F-L-I|I1-Z-F1|Y-X1|X-Γ-N|M-Γ',
  MCLC2: 'Γ-Y-F-L-I|I1-Z-F1|N-Γ-M',
  MCLC3: 'Γ-Y-F-H-Z-I-F1|H1-Y1-X-Γ-N|M-Γ',
  MCLC4: 'Γ-Y-F-H-Z-I|H1-Y1-X-Γ-N|M-Γ',
  MCLC5: 'Γ-Y-F-L-I|I1-Z-H-F1|H1-Y1-X-Γ-N|M-Γ',
  TRI1a: 'X-Γ-Y|L-Γ-Z|N-Γ-M|R-Γ',
  TRI2a: 'X-Γ-Y|L-Γ-Z|N-Γ-M|R-Γ',
  TRI1b: 'X-Γ-Y|L-Γ-Z|N-Γ-M|R-Γ',
  TRI2b: 'X-Γ-Y|L-Γ-Z|N-Γ-M|R-Γ',
};

/** Parse 'Γ-X-W|U-X' (also 'G-X-W,U-X'; dashes optional around spaces) into segments of normalized labels. */
export function parseKPathSpec(spec: string): string[][] {
  return spec
    .split(/[|,]/)
    .map((piece) => piece.split(/[-–—\s]+/).filter((l) => l.length > 0).map(normalizeKLabel))
    .filter((piece) => piece.length > 0);
}

/** SC's default path segments of a variant (labels as in `kPath`). */
export function defaultKPathSegments(variant: ScVariant): string[][] {
  const spec = PATHS[variant];
  if (!spec) throw new Error(`unknown Setyawan–Curtarolo variant '${String(variant)}'`);
  return parseKPathSpec(spec);
}

/**
 * SC's special points and default path for `variant`, for SC's primitive lattice `primitive` (rows, Å, or a
 * structure with that lattice) as built by `bravais.ts` (`scStandardize(...).cell` / `.primitive`, or
 * `scLattice(...).primitive`). The lattice supplies the
 * parameters some points depend on (BCT, ORCF, ORCI, ORCC, RHL, MCL, MCLC).
 */
export function kPath(primitive: Mat3 | Structure, variant: ScVariant): KPath {
  const lattice: Mat3 = 'lattice' in primitive ? primitive.lattice : primitive;
  const type = scLatticeTypeOf(variant);
  const conventional = matMul(inverse3(scPrimitiveMatrix(type)), lattice);
  const p = type === 'RHL' || type === 'TRI' ? cellParameters(lattice) : cellParameters(conventional);
  const points = specialPoints(variant, p);
  const segments = defaultKPathSegments(variant);
  return { variant, points, segments };
}

/**
 * A path through chosen special points of `base` ('G-X-W|L-Γ' or segments); labels are normalized ('G' → 'Γ')
 * and must be among `base.points`.
 */
export function customKPath(base: KPath, spec: string | string[][]): KPath {
  const segments = typeof spec === 'string' ? parseKPathSpec(spec) : spec.map((s) => s.map(normalizeKLabel));
  for (const s of segments) {
    if (s.length < 2) throw new Error(`a k-path segment needs at least two points, got [${s.join(', ')}]`);
    for (const l of s) {
      if (!(l in base.points)) throw new Error(`unknown special point '${l}' for ${base.variant} (known: ${Object.keys(base.points).join(', ')})`);
    }
  }
  return { variant: base.variant, points: base.points, segments };
}

/**
 * The same path expressed for another basis of the same lattice or a superlattice: `m` with
 * L_other = m · L_path (rows). Fractional k coordinates transform as f_other = m · f.
 */
export function kPathInBasis(path: KPath, m: Mat3): KPath {
  const points: Record<string, Vec3> = {};
  for (const [label, f] of Object.entries(path.points)) points[label] = matVec(m, f).map((x) => (Math.abs(x) < 1e-14 ? 0 : x)) as Vec3;
  return { variant: path.variant, points, segments: path.segments.map((s) => [...s]) };
}

// ---------------------------------------------------------------------------------------------------------
// Sampling and pw.x crystal_b

/** How finely to sample: a fixed number of intervals per straight segment, or points per Å⁻¹ (2π included). */
export type KPathSampling = { pointsPerSegment: number } | { density: number };

export interface SampledKPath {
  /** Fractional coordinates (reciprocal basis of the path's cell), suitable for `K_POINTS crystal`. */
  kpoints: Vec3[];
  /** Cumulative Cartesian distance along the path (Å⁻¹, 2π included); a break adds no distance. */
  distances: number[];
  /** Special points: index into `kpoints` and label. At a break both sides are listed (consecutive indices). */
  labels: { index: number; label: string }[];
}

function pointOf(path: KPath, label: string): Vec3 {
  const p = path.points[normalizeKLabel(label)];
  if (!p) throw new Error(`k-path ${path.variant}: no special point '${label}'`);
  return p;
}

/** Number of intervals per straight segment, one array per continuous piece of the path. */
export function kPathIntervals(path: KPath, sampling: KPathSampling, reciprocal?: Mat3): number[][] {
  if ('pointsPerSegment' in sampling) {
    const n = sampling.pointsPerSegment;
    if (!Number.isInteger(n) || n < 1) throw new Error(`pointsPerSegment must be an integer >= 1, got ${n}`);
    return path.segments.map((s) => s.slice(1).map(() => n));
  }
  const d = sampling.density;
  if (!Number.isFinite(d) || d <= 0) throw new Error(`k-path density must be a positive number of points per 1/Å, got ${d}`);
  if (!reciprocal) throw new Error('a k-path density needs the reciprocal lattice');
  return path.segments.map((s) =>
    s.slice(1).map((label, i) => {
      const a = vecMat(pointOf(path, s[i]!), reciprocal), b = vecMat(pointOf(path, label), reciprocal);
      return Math.max(1, Math.round(norm([b[0] - a[0], b[1] - a[1], b[2] - a[2]]) * d));
    }),
  );
}

/**
 * Points along the path: each straight segment A→B gets A + (j/n)(B − A), j = 0..n−1, and each continuous piece
 * ends exactly on its last special point. This is the list pw.x generates from `toCrystalB` with the same
 * sampling. `reciprocal` is the reciprocal lattice (rows, with 2π, as `reciprocalLattice` gives) of the cell
 * the path refers to.
 */
export function sampleKPath(path: KPath, reciprocal: Mat3, sampling: KPathSampling): SampledKPath {
  const intervals = kPathIntervals(path, sampling, reciprocal);
  const kpoints: Vec3[] = [];
  const distances: number[] = [];
  const labels: { index: number; label: string }[] = [];
  let distance = 0;
  let previous: Vec3 | undefined;
  const push = (f: Vec3, label?: string) => {
    const cart = vecMat(f, reciprocal);
    if (previous) distance += norm([cart[0] - previous[0], cart[1] - previous[1], cart[2] - previous[2]]);
    previous = cart;
    if (label !== undefined) labels.push({ index: kpoints.length, label });
    kpoints.push(f);
    distances.push(distance);
  };
  path.segments.forEach((piece, k) => {
    previous = undefined; // a break adds no distance
    piece.slice(1).forEach((label, i) => {
      const from = normalizeKLabel(piece[i]!);
      const a = pointOf(path, from), b = pointOf(path, label);
      const n = intervals[k]![i]!;
      push([...a] as Vec3, from);
      for (let j = 1; j < n; j++) push([0, 1, 2].map((x) => a[x]! + (j / n) * (b[x]! - a[x]!)) as Vec3);
    });
    const last = normalizeKLabel(piece[piece.length - 1]!);
    push([...pointOf(path, last)] as Vec3, last);
  });
  return { kpoints, distances, labels };
}

/** One line of `K_POINTS crystal_b`: label, fractional coordinates, number of points to the next line. */
export type CrystalBLine = [label: string, k: Vec3, n: number];

/**
 * Lines for pw.x `K_POINTS crystal_b` (coordinates in the reciprocal basis of the cell pw.x runs on, which must
 * be the cell the path was made for). Within a continuous piece each point carries the number of intervals to
 * the next; the last point of a piece carries 1, so pw.x jumps straight to the next piece's first point (both
 * end points are computed; nothing lies between them). The final weight is ignored by pw.x (1 here).
 */
export function toCrystalB(path: KPath, pointsPerSegment: number | { density: number; reciprocal: Mat3 }): CrystalBLine[] {
  const intervals =
    typeof pointsPerSegment === 'number'
      ? kPathIntervals(path, { pointsPerSegment })
      : kPathIntervals(path, { density: pointsPerSegment.density }, pointsPerSegment.reciprocal);
  const lines: CrystalBLine[] = [];
  path.segments.forEach((piece, k) => {
    piece.forEach((label, i) => {
      const l = normalizeKLabel(label);
      lines.push([l, [...pointOf(path, l)] as Vec3, i < piece.length - 1 ? intervals[k]![i]! : 1]);
    });
  });
  return lines;
}

// ---------------------------------------------------------------------------------------------------------
// From a symmetry analysis to a band path

export interface BandPath {
  variant: ScVariant;
  /** SC's primitive cell with the atoms: the cell the path refers to; run scf and bands on it. */
  cell: Structure;
  /** The default SC path for `cell`. */
  path: KPath;
  /** How the input cell relates to `cell`, when `primitiveFromInput` was given. */
  input?: {
    /** m with L_input = m · L_cell (rows, up to a rotation); integer. */
    fromCell: Mat3;
    /** Number of `cell`s in the input cell (1: the input cell is primitive). */
    multiplicity: number;
    /** The path in the input cell's reciprocal basis (only when the input cell is primitive). */
    path?: KPath;
  };
  /** Re-orientations done and advice, in words. */
  notes: string[];
}

/**
 * The SC band path for a crystal from its standardized cells. When `primitiveFromInput` is given (moyo's
 * `prim_std_linear`, `SymmetryAnalysis.primitiveFromInput`: primitive standardized = P · input, rows), also
 * relates the input cell: for a primitive input cell the path is re-expressed in its basis (`input.path`), for a
 * supercell (e.g. a conventional cell) it is not, because the bands would be folded; use `cell` instead.
 */
export function bandPath(cells: StandardizedCells, options: ScOptions & { primitiveFromInput?: Mat3 } = {}): BandPath {
  const sc = scStandardize(cells, options);
  const path = kPath(sc.primitive, sc.variant);
  const notes = [...sc.notes];
  const out: BandPath = { variant: sc.variant, cell: sc.cell, path, notes };
  if (options.primitiveFromInput) {
    // L_sc = N · L_prim, L_prim = P · L_in  =>  L_in = (N P)^-1 · L_sc
    const m = inverse3(matMul(sc.fromPrimitive, options.primitiveFromInput));
    const r = m.map((row) => row.map((x) => Math.round(x))) as Mat3;
    const off = Math.max(...m.flatMap((row, i) => row.map((x, j) => Math.abs(x - r[i]![j]!))));
    if (off > 1e-5) {
      notes.push('the input cell is not a supercell of the primitive cell (unexpected); the path is given for `cell` only');
    } else {
      const fromCell = r.map((row) => row.map((x) => (x === 0 ? 0 : x))) as Mat3;
      const multiplicity = Math.round(Math.abs(det3(fromCell)));
      out.input = { fromCell, multiplicity };
      if (multiplicity === 1) {
        out.input.path = kPathInBasis(path, fromCell);
        notes.push('the input cell is primitive: `input.path` gives the same points in its reciprocal basis');
      } else {
        notes.push(
          `the input cell holds ${multiplicity} primitive cells: its bands would be folded; run the band structure on \`cell\` (SC's primitive cell), for which \`path\` is given`,
        );
      }
    }
  }
  return out;
}
