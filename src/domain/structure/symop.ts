import type { Mat3, Vec3 } from './structure.ts';

/** A symmetry operation in fractional coordinates: x' = rot · x + trans. */
export interface SymOp {
  rot: Mat3;
  trans: Vec3;
}

// One signed term of a coordinate expression: "+x", "-1/2", "2*y", "0.5".
const TERM = /[+-]?[^+-]+/y;
const TERM_BODY = /^(?:(\d+(?:\.\d*)?|\.\d+)(?:\/(\d+(?:\.\d*)?))?)?\*?([xyz])?$/;

/**
 * Parse a CIF symmetry operation such as `-x+1/2, y, z+0.5` or `x-y,x,z+1/2` (case and spaces ignored).
 * Throws a plain Error with the reason; callers add the file location.
 */
export function parseSymop(text: string): SymOp {
  const parts = text.replace(/\s+/g, '').toLowerCase().split(',');
  if (parts.length !== 3) throw new Error(`symmetry operation "${text}" must have three comma-separated parts`);
  const rows = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  const shift = [0, 0, 0];
  parts.forEach((part, i) => {
    if (part === '') throw new Error(`symmetry operation "${text}" has an empty part`);
    TERM.lastIndex = 0;
    while (TERM.lastIndex < part.length) {
      const m = TERM.exec(part);
      const body = m?.[0] ?? '';
      const sign = body.startsWith('-') ? -1 : 1;
      const t = TERM_BODY.exec(body.replace(/^[+-]/, ''));
      if (!m || !t || (t[1] === undefined && t[3] === undefined)) {
        throw new Error(`cannot read term "${body || part}" of symmetry operation "${text}"`);
      }
      const coef = sign * (t[1] === undefined ? 1 : Number(t[1]) / (t[2] === undefined ? 1 : Number(t[2])));
      if (t[3] === undefined) shift[i] = (shift[i] ?? 0) + coef;
      else {
        const row = rows[i] ?? [];
        const j = 'xyz'.indexOf(t[3]);
        row[j] = (row[j] ?? 0) + coef;
      }
    }
  });
  const rot = rows as Mat3;
  const trans = shift as Vec3;
  const [a, b, c] = rot;
  const det = a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
  if (Math.abs(Math.abs(det) - 1) > 1e-6) throw new Error(`symmetry operation "${text}" is not a crystallographic operation (determinant ${det})`);
  return { rot, trans };
}

export const IDENTITY: SymOp = { rot: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], trans: [0, 0, 0] };

export function applySymop(op: SymOp, f: Vec3): Vec3 {
  return [0, 1, 2].map((i) => op.rot[i]![0] * f[0] + op.rot[i]![1] * f[1] + op.rot[i]![2] * f[2] + op.trans[i]!) as Vec3;
}
