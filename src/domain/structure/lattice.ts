import type { Mat3, Structure, Vec3 } from './structure.ts';

export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
export const norm = (a: Vec3): number => Math.sqrt(dot(a, a));

/** Cell volume in Å^3 (always positive). */
export function volume(lattice: Mat3): number {
  return Math.abs(dot(lattice[0], cross(lattice[1], lattice[2])));
}

/** Reciprocal lattice vectors as rows, including the 2π factor (Å^-1). */
export function reciprocalLattice(lattice: Mat3): Mat3 {
  const [a, b, c] = lattice;
  const v = dot(a, cross(b, c));
  const f = (2 * Math.PI) / v;
  const scale = (x: Vec3): Vec3 => [x[0] * f, x[1] * f, x[2] * f];
  return [scale(cross(b, c)), scale(cross(c, a)), scale(cross(a, b))];
}

/** Lengths a, b, c (Å) and angles alpha, beta, gamma (degrees). */
export function cellParameters(lattice: Mat3): { a: number; b: number; c: number; alpha: number; beta: number; gamma: number } {
  const [va, vb, vc] = lattice;
  const a = norm(va), b = norm(vb), c = norm(vc);
  const deg = (x: number) => (Math.acos(Math.max(-1, Math.min(1, x))) * 180) / Math.PI;
  return { a, b, c, alpha: deg(dot(vb, vc) / (b * c)), beta: deg(dot(va, vc) / (a * c)), gamma: deg(dot(va, vb) / (a * b)) };
}

/** Lattice rows from cell parameters, a along x, b in the xy plane (the CIF / crystallographic convention). */
export function latticeFromParameters(a: number, b: number, c: number, alphaDeg: number, betaDeg: number, gammaDeg: number): Mat3 {
  const r = Math.PI / 180;
  const ca = Math.cos(alphaDeg * r), cb = Math.cos(betaDeg * r), cg = Math.cos(gammaDeg * r), sg = Math.sin(gammaDeg * r);
  const cx = c * cb;
  const cy = (c * (ca - cb * cg)) / sg;
  const cz = Math.sqrt(Math.max(0, c * c - cx * cx - cy * cy));
  const clean = (x: number) => (Math.abs(x) < 1e-12 ? 0 : x);
  return [
    [a, 0, 0],
    [clean(b * cg), clean(b * sg), 0],
    [clean(cx), clean(cy), clean(cz)],
  ];
}

export function fracToCart(lattice: Mat3, f: Vec3): Vec3 {
  return [0, 1, 2].map((j) => f[0] * lattice[0][j]! + f[1] * lattice[1][j]! + f[2] * lattice[2][j]!) as Vec3;
}

/** Inverse of a 3x3 matrix (throws on a singular one). */
export function inverse3(m: Mat3): Mat3 {
  const [a, b, c] = m;
  const det = dot(a, cross(b, c));
  if (Math.abs(det) < 1e-12) throw new Error('singular 3x3 matrix (lattice vectors are linearly dependent)');
  const r0 = cross(b, c), r1 = cross(c, a), r2 = cross(a, b);
  // inverse = transpose of [r0; r1; r2] / det
  return [
    [r0[0] / det, r1[0] / det, r2[0] / det],
    [r0[1] / det, r1[1] / det, r2[1] / det],
    [r0[2] / det, r1[2] / det, r2[2] / det],
  ];
}

export function cartToFrac(lattice: Mat3, x: Vec3): Vec3 {
  const inv = inverse3(lattice);
  return [0, 1, 2].map((j) => x[0] * inv[0][j]! + x[1] * inv[1][j]! + x[2] * inv[2][j]!) as Vec3;
}

/** Wrap a fractional coordinate into [0, 1), snapping values within tol of 1 to 0. */
export function wrapFrac(x: number, tol = 1e-8): number {
  let w = x - Math.floor(x);
  if (w > 1 - tol) w = 0;
  return w;
}

/** Chemical formula of the whole cell in Hill order (C, H, then alphabetical; others alphabetical): "Si2", "Mo2S4". */
export function cellFormula(s: Structure): string {
  const counts = new Map<string, number>();
  for (const site of s.sites) counts.set(site.species, (counts.get(site.species) ?? 0) + 1);
  const elements = [...counts.keys()].sort();
  const order = counts.has('C') ? ['C', ...(counts.has('H') ? ['H'] : []), ...elements.filter((e) => e !== 'C' && e !== 'H')] : elements;
  return order.map((e) => `${e}${counts.get(e) === 1 ? '' : counts.get(e)}`).join('');
}
