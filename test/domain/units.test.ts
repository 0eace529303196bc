import { describe, expect, it } from 'vitest';
import { BOHR_TO_ANGSTROM, EV_PER_CUBIC_ANGSTROM_TO_GPA, HA_TO_EV, KBAR_TO_GPA, RY_TO_EV } from '../../src/domain/units.ts';

describe('units', () => {
  it('are the CODATA 2018 values QE uses', () => {
    expect(HA_TO_EV).toBe(27.211386245988);
    expect(RY_TO_EV).toBe(13.605693122994);
    expect(BOHR_TO_ANGSTROM).toBe(0.529177210903);
  });

  it('pressures: 1 kbar = 0.1 GPa, 1 eV/Å³ = e · 10³⁰ Pa', () => {
    expect(KBAR_TO_GPA).toBe(0.1);
    expect(EV_PER_CUBIC_ANGSTROM_TO_GPA).toBeCloseTo((1.602176634e-19 / 1e-30) / 1e9, 10);
  });
});
