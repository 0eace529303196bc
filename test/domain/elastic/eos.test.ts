/** The Birch–Murnaghan fit on exact E(V) data written with the textbook formula, here independently of the fit. */
import { describe, expect, it } from 'vitest';
import { fitBirchMurnaghan } from '../../../src/domain/elastic/eos.ts';
import { EV_PER_CUBIC_ANGSTROM_TO_GPA } from '../../../src/domain/units.ts';

/** Third-order Birch–Murnaghan E(V), eV (B0 in GPa). */
function birchMurnaghan(v: number, p: { v0: number; e0: number; b0Gpa: number; b0Prime: number }): number {
  const b0 = p.b0Gpa / EV_PER_CUBIC_ANGSTROM_TO_GPA;
  const eta = (p.v0 / v) ** (2 / 3);
  return p.e0 + ((9 * p.v0 * b0) / 16) * ((eta - 1) ** 3 * p.b0Prime + (eta - 1) ** 2 * (6 - 4 * eta));
}

describe('Birch–Murnaghan E(V) fit', () => {
  const si = { v0: 39.5, e0: -215.7, b0Gpa: 96.5, b0Prime: 4.2 };

  it('recovers V0, E0, B0 and B0′ of exact data (Si-like, volumes ±6 %)', () => {
    const points = Array.from({ length: 7 }, (_, k) => {
      const v = si.v0 * (1 - 0.06 + 0.02 * k);
      return { volumeA3: v, energyEv: birchMurnaghan(v, si) };
    });
    const fit = fitBirchMurnaghan(points);
    expect(fit.volumeA3).toBeCloseTo(si.v0, 8);
    expect(fit.energyEv).toBeCloseTo(si.e0, 9);
    expect(fit.bulkModulusGpa).toBeCloseTo(si.b0Gpa, 6);
    expect(fit.bulkModulusDerivative).toBeCloseTo(si.b0Prime, 6);
    expect(fit.rmsResidualEv).toBeLessThan(1e-10);
    expect(fit.minimumInRange).toBe(true);
  });

  it('works off-centre and on a stiff solid; says when V0 is extrapolated', () => {
    const diamond = { v0: 11.3, e0: -18.2, b0Gpa: 443, b0Prime: 3.6 };
    const points = [0.9, 0.93, 0.97, 1.0, 1.02].map((f) => ({ volumeA3: diamond.v0 * f, energyEv: birchMurnaghan(diamond.v0 * f, diamond) }));
    const fit = fitBirchMurnaghan(points);
    expect(fit.bulkModulusGpa).toBeCloseTo(diamond.b0Gpa, 5);
    expect(fit.bulkModulusDerivative).toBeCloseTo(diamond.b0Prime, 6);
    const compressedOnly = [0.85, 0.88, 0.91, 0.94, 0.97].map((f) => ({ volumeA3: si.v0 * f, energyEv: birchMurnaghan(si.v0 * f, si) }));
    const extrapolated = fitBirchMurnaghan(compressedOnly);
    expect(extrapolated.minimumInRange).toBe(false);
    expect(extrapolated.bulkModulusGpa).toBeCloseTo(si.b0Gpa, 5);
  });

  it('refuses too few points and data without a minimum', () => {
    expect(() => fitBirchMurnaghan([1, 2, 3, 4].map((v) => ({ volumeA3: v, energyEv: 0 })))).toThrow(/at least 5/);
    expect(() => fitBirchMurnaghan([10, 11, 12, 13, 14].map((v) => ({ volumeA3: v, energyEv: -((v - 12) ** 2) })))).toThrow(/no minimum/);
  });
});
