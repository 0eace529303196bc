import { describe, expect, it } from 'vitest';
import { kMeshDensityOk, kMeshFromDistance, kPointDistanceOfMesh, reciprocalLengths } from '../../../src/domain/structure/kpoints.ts';
import { latticeFromParameters } from '../../../src/domain/structure/lattice.ts';
import type { Mat3 } from '../../../src/domain/structure/structure.ts';

const fcc = (a: number): Mat3 => [
  [0, a / 2, a / 2],
  [a / 2, 0, a / 2],
  [a / 2, a / 2, 0],
];
const scale = (m: Mat3, f: number): Mat3 => m.map((r) => r.map((x) => x * f)) as Mat3;

// Si primitive, a = 5.431 Å. The reciprocal vectors of the FCC primitive cell are (2π/a)(-1,1,1) etc., so
// |b| = 2π√3/a = 10.88280/5.431 = 2.003829 Å⁻¹ (2π included, the aiida kpoints_distance convention).
const SI = fcc(5.431);

describe('kMeshFromDistance', () => {
  it('gives |b| with the 2π factor', () => {
    for (const b of reciprocalLengths(SI)) expect(b).toBeCloseTo(2.003829, 5);
  });

  it('Si at 0.15 Å⁻¹: 2.003829/0.15 = 13.359 → 14 along each axis', () => {
    expect(kMeshFromDistance(SI, 0.15)).toEqual([14, 14, 14]);
  });

  it('Si at 0.5 Å⁻¹: 2.003829/0.5 = 4.0077 → 5 (ceil, not round)', () => {
    expect(kMeshFromDistance(SI, 0.5)).toEqual([5, 5, 5]);
  });

  it('Si at 0.30 Å⁻¹ (fast protocol): 6.679 → 7', () => {
    expect(kMeshFromDistance(SI, 0.3)).toEqual([7, 7, 7]);
  });

  it('forceParity rounds odd counts up to even', () => {
    expect(kMeshFromDistance(SI, 0.5, { forceParity: true })).toEqual([6, 6, 6]);
    expect(kMeshFromDistance(SI, 0.15, { forceParity: true })).toEqual([14, 14, 14]);
  });

  it('hexagonal a = 3, c = 5 Å at 0.2 Å⁻¹: |b1| = |b2| = 2π/(a sin 60°) = 2.4184 → 12.09 → 13; |b3| = 2π/5 = 1.2566 → 6.28 → 7', () => {
    const hex = latticeFromParameters(3, 3, 5, 90, 90, 120);
    const [b1, b2, b3] = reciprocalLengths(hex);
    expect(b1).toBeCloseTo(2.418399, 5);
    expect(b2).toBeCloseTo(2.418399, 5);
    expect(b3).toBeCloseTo(1.256637, 5);
    expect(kMeshFromDistance(hex, 0.2)).toEqual([13, 13, 7]);
  });

  it('a very long axis gets 1: c = 100 Å → 2π/100/0.15 = 0.42 → 1; a = b = 3 Å → 2π/3/0.15 = 13.96 → 14', () => {
    const slab: Mat3 = [
      [3, 0, 0],
      [0, 3, 0],
      [0, 0, 100],
    ];
    expect(kMeshFromDistance(slab, 0.15)).toEqual([14, 14, 1]);
  });

  it('rounds |b|/distance to 5 decimals first: exactly 3 spacings stay 3', () => {
    // a = 2π/1.5 gives |b| = 1.5 up to rounding error; 1.5/0.5 = 3.0000000000000004 must not become 4
    const a = (2 * Math.PI) / 1.5;
    const cube: Mat3 = [
      [a, 0, 0],
      [0, a, 0],
      [0, 0, a],
    ];
    expect(kMeshFromDistance(cube, 0.5)).toEqual([3, 3, 3]);
  });

  it('rejects a non-positive distance', () => {
    expect(() => kMeshFromDistance(SI, 0)).toThrow(/positive/);
    expect(() => kMeshFromDistance(SI, -0.1)).toThrow(/positive/);
    expect(() => kMeshFromDistance(SI, Number.NaN)).toThrow(/positive/);
  });
});

describe('kPointDistanceOfMesh', () => {
  it('is the largest |b_i|/n_i: Si 14×14×14 → 2.003829/14 = 0.14313', () => {
    expect(kPointDistanceOfMesh(SI, [14, 14, 14])).toBeCloseTo(0.143131, 5);
    expect(kPointDistanceOfMesh(SI, [14, 14, 5])).toBeCloseTo(0.400766, 5);
  });

  it('is never above the requested distance for the mesh kMeshFromDistance returns', () => {
    const hex = latticeFromParameters(3.1, 3.1, 12.3, 90, 90, 120);
    for (const d of [0.1, 0.15, 0.3, 0.5]) expect(kPointDistanceOfMesh(hex, kMeshFromDistance(hex, d))).toBeLessThanOrEqual(d);
  });

  it('rejects a bad mesh', () => {
    expect(() => kPointDistanceOfMesh(SI, [0, 1, 1])).toThrow(/integers >= 1/);
    expect(() => kPointDistanceOfMesh(SI, [1.5, 1, 1])).toThrow(/integers >= 1/);
  });
});

describe('kMeshDensityOk', () => {
  it('accepts the generated mesh and denser ones, rejects sparser ones', () => {
    expect(kMeshDensityOk(SI, [14, 14, 14], 0.15)).toBe(true);
    expect(kMeshDensityOk(SI, [16, 15, 14], 0.15)).toBe(true);
    expect(kMeshDensityOk(SI, [13, 13, 13], 0.15)).toBe(false);
    expect(kMeshDensityOk(SI, [14, 14, 13], 0.15)).toBe(false);
  });

  it('tracks a cell change: a 3% expanded cell still fits 14, a 5% compressed one needs 2.1093/0.15 = 14.06 → 15', () => {
    expect(kMeshDensityOk(scale(SI, 1.03), [14, 14, 14], 0.15)).toBe(true);
    expect(kMeshDensityOk(scale(SI, 0.95), [14, 14, 14], 0.15)).toBe(false);
    expect(kMeshFromDistance(scale(SI, 0.95), 0.15)).toEqual([15, 15, 15]);
  });
});
