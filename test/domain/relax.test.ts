import { describe, expect, it } from 'vitest';
import { relaxVerdict } from '../../src/domain/relax.ts';
import type { Mat3 } from '../../src/domain/structure/structure.ts';

const fcc = (a: number): Mat3 => [[0, a / 2, a / 2], [a / 2, 0, a / 2], [a / 2, a / 2, 0]];

describe('relaxVerdict (PwRelaxWorkChain meta-convergence)', () => {
  it('converged: low final-SCF pressure, same volume, mesh still dense enough', () => {
    const v = relaxVerdict({ protocol: 'fast', latticeBefore: fcc(5.40), latticeAfter: fcc(5.401), kMesh: [7, 7, 7], finalPressureKbar: 0.3, exitCode: 0 });
    expect(v).toMatchObject({ converged: true, stressOk: true, meshOk: true, volumeOk: true, nextKMesh: [7, 7, 7] });
  });
  it('Pulay stress in the final SCF (pressure above threshold, or exit 501) asks for another iteration', () => {
    expect(relaxVerdict({ protocol: 'fast', latticeBefore: fcc(5.4), latticeAfter: fcc(5.4), kMesh: [7, 7, 7], finalPressureKbar: -2.2, exitCode: 0 })).toMatchObject({ converged: false, stressOk: false });
    expect(relaxVerdict({ protocol: 'fast', latticeBefore: fcc(5.4), latticeAfter: fcc(5.4), kMesh: [7, 7, 7], finalPressureKbar: 0.1, exitCode: 501 }).stressOk).toBe(false);
  });
  it('a large volume change is not converged; a cell that shrank below the mesh density gets a new mesh', () => {
    // Si expanded by 15 %: 6x6x6 satisfies 0.3 1/Å there, but not on the relaxed cell (needs 7x7x7).
    const v = relaxVerdict({ protocol: 'fast', latticeBefore: fcc(5.431 * 1.15), latticeAfter: fcc(5.40), kMesh: [6, 6, 6], finalPressureKbar: 0.1, exitCode: 0 });
    expect(v.volumeOk).toBe(false);
    expect(v.meshOk).toBe(false);
    expect(v.nextKMesh).toEqual([7, 7, 7]);
    expect(v.reason).toMatch(/volume changed by .* %.*|mesh is too coarse/);
  });
});
