/**
 * The third-order Birch–Murnaghan equation of state fitted to E(V) points (F. Birch, Phys. Rev. 71, 809 (1947)):
 *
 *   E(V) = E0 + (9 V0 B0 / 16) { [(V0/V)^(2/3) − 1]³ B0' + [(V0/V)^(2/3) − 1]² [6 − 4 (V0/V)^(2/3)] }
 *
 * is exactly a cubic polynomial in x = V^(−2/3), so the least-squares fit is linear: a cubic in x (the fit
 * pymatgen's `DeltaFactor` equation of state makes), then V0 where dE/dx = 0 and, with x_V = dx/dV,
 *   B0 = V0 E''(V0) = (4/9) V0^(−7/3) E_xx,     B0' = 4 + (2/3) x0 E_xxx / E_xx.
 * Pure and deterministic.
 */
import { EV_PER_CUBIC_ANGSTROM_TO_GPA } from '../units.ts';
import { leastSquares } from './linear-algebra.ts';

export interface EnergyVolumePoint {
  volumeA3: number;
  energyEv: number;
}

export interface BirchMurnaghanFit {
  volumeA3: number;
  energyEv: number;
  bulkModulusGpa: number;
  /** dB/dP at V0. */
  bulkModulusDerivative: number;
  rmsResidualEv: number;
  /** V0 lies between the smallest and largest volume fitted (else it is an extrapolation). */
  minimumInRange: boolean;
}

export function fitBirchMurnaghan(points: readonly EnergyVolumePoint[]): BirchMurnaghanFit {
  if (points.length < 5) throw new Error(`Birch–Murnaghan fit: ${points.length} E(V) points; at least 5 (4 parameters and a residual)`);
  if (!points.every((p) => p.volumeA3 > 0 && Number.isFinite(p.energyEv))) throw new Error('Birch–Murnaghan fit: volumes must be positive and energies finite');
  const xs = points.map((p) => p.volumeA3 ** (-2 / 3));
  // a well-conditioned variable: t = (x − center) / halfWidth in [−1, 1]
  const center = (Math.max(...xs) + Math.min(...xs)) / 2;
  const halfWidth = (Math.max(...xs) - Math.min(...xs)) / 2;
  if (!(halfWidth > 0)) throw new Error('Birch–Murnaghan fit: the volumes must differ');
  const ts = xs.map((x) => (x - center) / halfWidth);
  const { coefficients, residuals } = leastSquares(
    ts.map((t) => [1, t, t * t, t * t * t]),
    points.map((p) => [p.energyEv]),
  );
  const [c0, c1, c2, c3] = coefficients.map((row) => row[0]!) as [number, number, number, number];
  // dE/dt = c1 + 2 c2 t + 3 c3 t² = 0 at the minimum (d²E/dt² = 2 c2 + 6 c3 t > 0)
  const candidates =
    Math.abs(c3) < 1e-14 * (Math.abs(c1) + Math.abs(c2))
      ? [-c1 / (2 * c2)]
      : (() => {
          const disc = 4 * c2 * c2 - 12 * c1 * c3;
          if (disc < 0) return [];
          const r = Math.sqrt(disc);
          return [(-2 * c2 + r) / (6 * c3), (-2 * c2 - r) / (6 * c3)];
        })();
  // a minimum of the cubic far outside the data (|t| > 2: more than a data range beyond it) is no equilibrium volume
  const minima = candidates.filter((t) => Number.isFinite(t) && Math.abs(t) <= 2 && 2 * c2 + 6 * c3 * t > 0).sort((a, b) => Math.abs(a) - Math.abs(b));
  const t0 = minima[0];
  if (t0 === undefined) throw new Error('Birch–Murnaghan fit: E(V) has no minimum near the volumes given (they do not come near an equilibrium volume)');
  const x0 = center + halfWidth * t0;
  const exx = (2 * c2 + 6 * c3 * t0) / halfWidth ** 2;
  const exxx = (6 * c3) / halfWidth ** 3;
  const v0 = x0 ** -1.5;
  const volumes = points.map((p) => p.volumeA3);
  return {
    volumeA3: v0,
    energyEv: c0 + c1 * t0 + c2 * t0 ** 2 + c3 * t0 ** 3,
    bulkModulusGpa: (4 / 9) * v0 ** (-7 / 3) * exx * EV_PER_CUBIC_ANGSTROM_TO_GPA,
    bulkModulusDerivative: 4 + ((2 / 3) * x0 * exxx) / exx,
    rmsResidualEv: Math.sqrt(residuals.reduce((s, [r]) => s + r! * r!, 0) / residuals.length),
    minimumInRange: v0 >= Math.min(...volumes) && v0 <= Math.max(...volumes),
  };
}
