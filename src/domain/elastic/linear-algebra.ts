/**
 * Small dense linear algebra for the elastic fits (6×6 tensors, a few dozen data points): solving, least
 * squares, inversion and the eigenvalues of a symmetric matrix. Pure and deterministic (runs inside workflows).
 * Sizes here are tiny, so the textbook algorithms are the right ones; no library is worth its weight.
 */

export type Matrix = number[][];

export const identity = (n: number): Matrix => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

export const transposeOf = (a: Matrix): Matrix => (a[0] ?? []).map((_, j) => a.map((row) => row[j]!));

export function multiply(a: Matrix, b: Matrix): Matrix {
  const inner = b.length;
  return a.map((row) => {
    if (row.length !== inner) throw new Error(`matrix product: ${row.length} columns times ${inner} rows`);
    return (b[0] ?? []).map((_, j) => row.reduce((sum, x, k) => sum + x * b[k]![j]!, 0));
  });
}

/**
 * X with A·X = B, by Gaussian elimination with partial pivoting. Throws when A is singular (a pivot below
 * `singularTolerance` times A's largest entry).
 */
export function solve(a: Matrix, b: Matrix, singularTolerance = 1e-12): Matrix {
  const n = a.length;
  if (b.length !== n || a.some((row) => row.length !== n)) throw new Error(`solve: A must be square and B must have ${n} rows`);
  const m = a.map((row, i) => [...row, ...b[i]!]);
  const width = m[0]?.length ?? 0;
  const scale = Math.max(...a.flat().map(Math.abs));
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    if (!(Math.abs(m[pivot]![col]!) > singularTolerance * scale)) throw new Error('solve: the matrix is singular');
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    const p = m[col]!;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / p[col]!;
      if (f === 0) continue;
      const row = m[r]!;
      for (let c = col; c < width; c++) row[c] = row[c]! - f * p[c]!;
    }
  }
  return m.map((row, i) => row.slice(n).map((x) => x / row[i]!));
}

export const inverse = (a: Matrix): Matrix => solve(a, identity(a.length));

/**
 * Least squares: the p×m coefficients K minimising |X·K − Y| column by column (X: n×p design, Y: n×m
 * observations), and the n×m residuals Y − X·K. Normal equations on unit-scaled columns (the columns here
 * differ in size by orders of magnitude: strains of 1e-2 beside a constant). Throws, naming the problem, when
 * the columns of X are linearly dependent (the data do not determine every coefficient).
 */
export function leastSquares(x: Matrix, y: Matrix): { coefficients: Matrix; residuals: Matrix } {
  const n = x.length;
  const p = x[0]?.length ?? 0;
  if (n < p) throw new Error(`least squares: ${n} data points cannot determine ${p} coefficients`);
  if (y.length !== n) throw new Error(`least squares: ${n} rows of X but ${y.length} of Y`);
  const scales = transposeOf(x).map((col) => Math.sqrt(col.reduce((s, v) => s + v * v, 0)) || 1);
  const xs = x.map((row) => row.map((v, j) => v / scales[j]!));
  const xt = transposeOf(xs);
  let scaled: Matrix;
  try {
    scaled = solve(multiply(xt, xs), multiply(xt, y), 1e-10);
  } catch {
    throw new Error('least squares: the data do not determine every coefficient (linearly dependent columns)');
  }
  const coefficients = scaled.map((row, j) => row.map((v) => v / scales[j]!));
  const fitted = multiply(x, coefficients);
  return { coefficients, residuals: y.map((row, i) => row.map((v, j) => v - fitted[i]![j]!)) };
}

/**
 * Eigenvalues of a symmetric matrix, ascending, by cyclic Jacobi rotations (Golub & Van Loan, "Matrix
 * Computations", 4th ed., §8.5): exact to rounding for the 6×6 tensors here, and simple enough to trust.
 */
export function symmetricEigenvalues(a: Matrix): number[] {
  const n = a.length;
  const m = a.map((row) => [...row]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (Math.abs(m[i]![j]! - m[j]![i]!) > 1e-9 * Math.max(1, Math.abs(m[i]![j]!))) throw new Error('symmetricEigenvalues: the matrix is not symmetric');
    }
  }
  const offNorm = () => m.reduce((s, row, i) => s + row.reduce((t, v, j) => (i === j ? t : t + v * v), 0), 0);
  const total = m.flat().reduce((s, v) => s + v * v, 0);
  for (let sweep = 0; sweep < 100 && offNorm() > 1e-30 * total; sweep++) {
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p]![q]!;
        if (apq === 0) continue;
        // the rotation that zeroes m[p][q]: tan(2θ) = 2 a_pq / (a_qq − a_pp)
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k]![p]!;
          const mkq = m[k]![q]!;
          m[k]![p] = c * mkp - s * mkq;
          m[k]![q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p]![k]!;
          const mqk = m[q]![k]!;
          m[p]![k] = c * mpk - s * mqk;
          m[q]![k] = s * mpk + c * mqk;
        }
      }
    }
  }
  return m.map((row, i) => row[i]!).sort((x, y) => x - y);
}
