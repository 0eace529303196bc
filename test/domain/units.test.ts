import { describe, expect, it } from 'vitest';
import { BOHR_TO_ANGSTROM, HA_TO_EV, RY_TO_EV } from '../../src/domain/units.ts';

describe('units', () => {
  it('are the CODATA 2018 values QE uses', () => {
    expect(HA_TO_EV).toBe(27.211386245988);
    expect(RY_TO_EV).toBe(13.605693122994);
    expect(BOHR_TO_ANGSTROM).toBe(0.529177210903);
  });
});
