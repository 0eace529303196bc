/**
 * The elastic domain's pieces on exact and textbook data: linear algebra, Voigt notation, the strain set and its
 * symmetry reduction, the least-squares fit (exact generated data, finite strain included), the moduli (cubic
 * Si from experiment, an isotropic solid) and the Born criteria, and pw.x's stress sign convention.
 */
import { describe, expect, it } from 'vitest';
import { cauchyStressGpaOfPwStress, strainedCellParameters } from '../../../src/domain/codes/qe/elastic.ts';
import { fitElasticTensor, greenLagrangeStrain, secondPiolaKirchhoff, type StressStrainPoint } from '../../../src/domain/elastic/fit.ts';
import { inverse, leastSquares, multiply, solve, symmetricEigenvalues } from '../../../src/domain/elastic/linear-algebra.ts';
import { elasticModuli } from '../../../src/domain/elastic/moduli.ts';
import { bornStability } from '../../../src/domain/elastic/stability.ts';
import { axisPermutations, cartesianRotations, deformationOf, deformedStructure, reduceBySymmetry, rotateTensor, strainSet } from '../../../src/domain/elastic/strains.ts';
import { cij, strainToVoigt, stressToVoigt, voigtToStrain, voigtToStress } from '../../../src/domain/elastic/voigt.ts';
import { det3, matMul, transpose } from '../../../src/domain/structure/bravais.ts';
import { builtinStructure } from '../../../src/domain/structure/builtins.ts';
import { inverse3, volume } from '../../../src/domain/structure/lattice.ts';
import type { Mat3 } from '../../../src/domain/structure/structure.ts';
import { analyzeSymmetry } from '../../../src/symmetry/index.ts';

/** A cubic tensor in Voigt form. */
function cubic(c11: number, c12: number, c44: number): number[][] {
  return [
    [c11, c12, c12, 0, 0, 0],
    [c12, c11, c12, 0, 0, 0],
    [c12, c12, c11, 0, 0, 0],
    [0, 0, 0, c44, 0, 0],
    [0, 0, 0, 0, c44, 0],
    [0, 0, 0, 0, 0, c44],
  ];
}

/** Silicon at room temperature, GPa (H. J. McSkimin, J. Appl. Phys. 24, 988 (1953); the values Hopcroft et al., JMEMS 19, 229 (2010) recommend). */
const SI_EXPERIMENT = { c11: 165.7, c12: 63.9, c44: 79.6 };

/**
 * The Cauchy stress a crystal with elastic tensor C (and reference stress S0) shows under deformation F, exactly
 * in finite strain: S = C·E + S0 with E the Green–Lagrange strain, σ = F S Fᵀ / det F.
 */
function exactCauchyStress(c: number[][], f: Mat3, s0: number[] = [0, 0, 0, 0, 0, 0]): Mat3 {
  const e = strainToVoigt(greenLagrangeStrain(f));
  const s = voigtToStress(c.map((row, i) => row.reduce((sum, v, j) => sum + v * e[j]!, s0[i]!)));
  const sigma = matMul(matMul(f, s), transpose(f));
  return sigma.map((row) => row.map((v) => v / det3(f))) as Mat3;
}

/** A rotation by `angle` (radians) about a unit axis (Rodrigues). */
function rotation(axis: [number, number, number], angle: number): Mat3 {
  const [x, y, z] = axis.map((v) => v / Math.hypot(...axis)) as [number, number, number];
  const c = Math.cos(angle), s = Math.sin(angle), t = 1 - c;
  return [
    [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
    [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
    [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
  ];
}

describe('linear algebra', () => {
  it('solves, inverts and fits exact data', () => {
    const a = [
      [4, -2, 1],
      [-2, 4, -2],
      [1, -2, 4],
    ];
    const x = solve(a, [[11], [-16], [17]]);
    expect(x.map((r) => r[0])).toEqual([expect.closeTo(1, 12), expect.closeTo(-2, 12), expect.closeTo(3, 12)]);
    const product = multiply(a, inverse(a));
    product.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(i === j ? 1 : 0, 12)));
    expect(() => solve([[1, 2], [2, 4]], [[1], [2]])).toThrow(/singular/);
    // y = 2 − 3x + 0.5x², exactly: the coefficients come back, residuals vanish
    const xs = [-2, -1, 0, 1, 2, 3];
    const fit = leastSquares(xs.map((v) => [1, v, v * v]), xs.map((v) => [2 - 3 * v + 0.5 * v * v]));
    expect(fit.coefficients.map((r) => r[0])).toEqual([expect.closeTo(2, 10), expect.closeTo(-3, 10), expect.closeTo(0.5, 10)]);
    expect(Math.max(...fit.residuals.flat().map(Math.abs))).toBeLessThan(1e-10);
    expect(() => leastSquares([[1, 1], [2, 2], [3, 3]], [[1], [2], [3]])).toThrow(/do not determine every coefficient/);
  });

  it('finds the eigenvalues of a symmetric matrix', () => {
    // eigenvalues of the cubic tensor: C11 + 2C12 (once), C11 − C12 (twice), C44 (three times)
    const e = symmetricEigenvalues(cubic(165.7, 63.9, 79.6));
    const expected = [79.6, 79.6, 79.6, 101.8, 101.8, 293.5];
    e.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 10));
    expect(symmetricEigenvalues([[2, 1], [1, 2]])).toEqual([expect.closeTo(1, 12), expect.closeTo(3, 12)]);
  });
});

describe('Voigt notation', () => {
  it('carries the engineering factor on shear strains, not on stresses', () => {
    const strain: Mat3 = [
      [0.01, 0.003, 0.002],
      [0.003, -0.02, 0.001],
      [0.002, 0.001, 0.005],
    ];
    expect(strainToVoigt(strain)).toEqual([0.01, -0.02, 0.005, 0.002, 0.004, 0.006]);
    expect(voigtToStrain(strainToVoigt(strain))).toEqual(strain);
    expect(stressToVoigt(strain)).toEqual([0.01, -0.02, 0.005, 0.001, 0.002, 0.003]);
    expect(voigtToStress(stressToVoigt(strain))).toEqual(strain);
    expect(cij(cubic(1, 2, 3), 4, 4)).toBe(3);
    expect(() => voigtToStress([1, 2, 3])).toThrow(/6 finite components/);
  });
});

describe('strain set', () => {
  it('has numStrains magnitudes in ± pairs per Voigt component, shears on the tensor component', () => {
    const set = strainSet({ strainMagnitude: 0.01, numStrains: 4 });
    expect(set).toHaveLength(24);
    expect(set.slice(0, 4).map((s) => s.label)).toEqual(['xx+1', 'xx-1', 'xx+2', 'xx-2']);
    expect(set.slice(0, 4).map((s) => s.strain[0][0])).toEqual([0.005, -0.005, 0.01, -0.01]);
    const yz = set.find((s) => s.label === 'yz-2')!;
    expect(yz.strain).toEqual([
      [0, 0, 0],
      [0, 0, -0.01],
      [0, -0.01, 0],
    ]);
    expect(strainToVoigt(yz.strain)[3]).toBe(-0.02);
    expect(() => strainSet({ strainMagnitude: 0.01, numStrains: 3 })).toThrow(/numStrains: must be even/);
    expect(() => strainSet({ strainMagnitude: 0.2, numStrains: 2 })).toThrow(/strainMagnitude: at most 0.05/);
  });

  it('deforms the lattice vectors by F = I + ε and keeps fractional coordinates', () => {
    const si = builtinStructure('Si')!;
    const f = deformationOf(strainSet({ strainMagnitude: 0.01, numStrains: 2 })[0]!.strain); // xx +1 %
    const strained = deformedStructure(si, f, 'Si xx+1');
    expect(strained.lattice[1]).toEqual([si.lattice[1][0] * 1.01, si.lattice[1][1], si.lattice[1][2]]);
    expect(volume(strained.lattice) / volume(si.lattice)).toBeCloseTo(1.01, 12);
    expect(strained.sites).toEqual(si.sites);
    expect(strained.title).toBe('Si xx+1');
  });

  it('cubic Si: the symmetry spares all but xx and the positive yz strains', () => {
    const si = builtinStructure('Si')!;
    const rotations = cartesianRotations(si.lattice, analyzeSymmetry(si).pointGroupRotations);
    expect(rotations).toHaveLength(48);
    // Cartesian rotations of a symmetry are orthogonal (a check of the fractional → Cartesian conversion)
    for (const r of rotations) matMul(r, transpose(r)).forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(i === j ? 1 : 0, 10)));
    expect(axisPermutations(rotations)).toHaveLength(48);
    const { computed, derived } = reduceBySymmetry(strainSet({ strainMagnitude: 0.01, numStrains: 4 }), rotations);
    expect(computed.map((s) => s.label)).toEqual(['xx+1', 'xx-1', 'xx+2', 'xx-2', 'yz+1', 'yz+2']);
    expect(derived).toHaveLength(18);
    for (const d of derived) {
      const source = computed.find((c) => c.label === d.from)!;
      expect(rotateTensor(d.rotation, source.strain)).toEqual(d.strain.strain.map((row) => row.map((v) => v + 0)));
    }
    expect(derived.find((d) => d.strain.label === 'zz-2')!.from).toBe('xx-2');
    expect(derived.find((d) => d.strain.label === 'yz-1')!.from).toBe('yz+1');
  });

  it('hexagonal MoS2 keeps all six components (only shear signs are spared); a rotated cubic cell gets the full set', () => {
    const mos2 = builtinStructure('MoS2')!;
    const hex = reduceBySymmetry(strainSet({ strainMagnitude: 0.01, numStrains: 2 }), cartesianRotations(mos2.lattice, analyzeSymmetry(mos2).pointGroupRotations));
    expect(hex.computed.map((s) => s.label)).toEqual(['xx+1', 'xx-1', 'yy+1', 'yy-1', 'zz+1', 'zz-1', 'yz+1', 'xz+1', 'xy+1']);
    const si = builtinStructure('Si')!;
    const turned = { ...si, lattice: transpose(matMul(rotation([1, 2, 3], 0.4), transpose(si.lattice))) };
    const full = reduceBySymmetry(strainSet({ strainMagnitude: 0.01, numStrains: 2 }), cartesianRotations(turned.lattice, analyzeSymmetry(turned).pointGroupRotations));
    expect(full.computed).toHaveLength(12);
    expect(reduceBySymmetry(strainSet({ strainMagnitude: 0.01, numStrains: 2 }), []).computed).toHaveLength(12);
  });
});

describe('elastic fit', () => {
  /** A generic symmetric positive-definite tensor (no symmetry at all), GPa. */
  const triclinic = [
    [210, 95, 80, 6, -4, 3],
    [95, 190, 70, -5, 2, 7],
    [80, 70, 230, 4, 5, -6],
    [6, -5, 4, 60, 3, -2],
    [-4, 2, 5, 3, 55, 4],
    [3, 7, -6, -2, 4, 70],
  ];

  it('recovers a triclinic tensor and the reference stress exactly from finite-strain data', () => {
    const s0 = [0.05, -0.03, 0.02, 0.01, 0, -0.02];
    const points: StressStrainPoint[] = strainSet({ strainMagnitude: 0.02, numStrains: 4 }).map((s) => {
      const f = deformationOf(s.strain);
      return { label: s.label, deformation: f, stressGpa: exactCauchyStress(triclinic, f, s0) };
    });
    const fit = fitElasticTensor(points);
    fit.elasticTensorGpa.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(triclinic[i]![j]!, 8)));
    fit.referenceStressGpa.forEach((v, i) => expect(v).toBeCloseTo(s0[i]!, 9));
    expect(fit.residuals.rmsGpa).toBeLessThan(1e-9);
    expect(fit.asymmetryGpa).toBeLessThan(1e-8);
    expect(fit.residuals.perPoint).toHaveLength(24);
  });

  it('recovers cubic Si from the strains its symmetry leaves, the rest rotated from them', () => {
    const c = cubic(SI_EXPERIMENT.c11, SI_EXPERIMENT.c12, SI_EXPERIMENT.c44);
    const si = builtinStructure('Si')!;
    const strains = strainSet({ strainMagnitude: 0.01, numStrains: 2 });
    const { computed, derived } = reduceBySymmetry(strains, cartesianRotations(si.lattice, analyzeSymmetry(si).pointGroupRotations));
    const stress = new Map(computed.map((s) => [s.label, exactCauchyStress(c, deformationOf(s.strain))]));
    for (const d of derived) stress.set(d.strain.label, rotateTensor(d.rotation, stress.get(d.from)!));
    const fit = fitElasticTensor(strains.map((s) => ({ label: s.label, deformation: deformationOf(s.strain), stressGpa: stress.get(s.label)! })));
    fit.elasticTensorGpa.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(c[i]![j]!, 8)));
  });

  it('reports a nonlinear response in the residuals and refuses strains that miss a component', () => {
    const c = cubic(165.7, 63.9, 79.6);
    const points = strainSet({ strainMagnitude: 0.01, numStrains: 4 }).map((s) => {
      const f = deformationOf(s.strain);
      const sigma = exactCauchyStress(c, f);
      // a cubic term in the normal response: σ_xx += 5000 ε_xx³ (GPa)
      sigma[0][0] += 5000 * s.strain[0][0] ** 3;
      return { label: s.label, deformation: f, stressGpa: sigma };
    });
    const fit = fitElasticTensor(points);
    expect(fit.residuals.maxAbsGpa).toBeGreaterThan(1e-3);
    expect(fit.residuals.relative).toBeGreaterThan(1e-4);
    expect(() => fitElasticTensor(points.filter((p) => !p.label.startsWith('xy')))).toThrow(/do not determine every Voigt component/);
  });

  it('converts between Cauchy and second Piola–Kirchhoff stress consistently', () => {
    const f = deformationOf(voigtToStrain([0.01, -0.02, 0.005, 0.004, 0.002, -0.006]));
    const sigma = voigtToStress([1, 2, 3, 0.5, -0.4, 0.3]);
    const s = secondPiolaKirchhoff(f, sigma);
    const back = matMul(matMul(f, s), transpose(f)).map((row) => row.map((v) => v / det3(f)));
    back.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(sigma[i]![j]!, 12)));
    expect(inverse3(f)).toBeDefined();
  });
});

describe('moduli', () => {
  it('cubic Si: Voigt, Reuss and Hill from the closed cubic forms; E ≈ 163 GPa, ν ≈ 0.22', () => {
    const { c11, c12, c44 } = SI_EXPERIMENT;
    const m = elasticModuli(cubic(c11, c12, c44));
    const k = (c11 + 2 * c12) / 3;
    const gV = (c11 - c12 + 3 * c44) / 5;
    const gR = (5 * (c11 - c12) * c44) / (4 * c44 + 3 * (c11 - c12));
    expect(m.voigt.bulkGpa).toBeCloseTo(k, 10);
    expect(m.reuss.bulkGpa).toBeCloseTo(k, 10);
    expect(m.voigt.shearGpa).toBeCloseTo(gV, 10);
    expect(m.reuss.shearGpa).toBeCloseTo(gR, 10);
    expect(m.hill.shearGpa).toBeCloseTo((gV + gR) / 2, 10);
    const g = (gV + gR) / 2;
    expect(m.youngsModulusGpa).toBeCloseTo((9 * k * g) / (3 * k + g), 10);
    expect(m.poissonRatio).toBeCloseTo((3 * k - 2 * g) / (2 * (3 * k + g)), 10);
    // polycrystalline Si: E 160–169 GPa, ν about 0.22 (Hopcroft et al. 2010)
    expect(m.youngsModulusGpa).toBeGreaterThan(160);
    expect(m.youngsModulusGpa).toBeLessThan(169);
    expect(m.poissonRatio).toBeCloseTo(0.22, 2);
    // S11 = (C11 + C12) / ((C11 − C12)(C11 + 2 C12)), S44 = 1 / C44
    expect(m.complianceTensorPerGpa[0]![0]).toBeCloseTo((c11 + c12) / ((c11 - c12) * (c11 + 2 * c12)), 12);
    expect(m.complianceTensorPerGpa[3]![3]).toBeCloseTo(1 / c44, 12);
  });

  it('an isotropic solid: all averages agree, and E and ν are the Lamé relations', () => {
    const lambda = 60, mu = 40;
    const m = elasticModuli(cubic(lambda + 2 * mu, lambda, mu));
    expect(m.voigt.shearGpa).toBeCloseTo(mu, 10);
    expect(m.reuss.shearGpa).toBeCloseTo(mu, 10);
    expect(m.hill.bulkGpa).toBeCloseTo(lambda + (2 * mu) / 3, 10);
    expect(m.youngsModulusGpa).toBeCloseTo((mu * (3 * lambda + 2 * mu)) / (lambda + mu), 10);
    expect(m.poissonRatio).toBeCloseTo(lambda / (2 * (lambda + mu)), 10);
    expect(() => elasticModuli(cubic(100, 100, 50))).toThrow(/singular/);
  });
});

describe('Born stability (Mouhat & Coudert 2014)', () => {
  it('cubic: Si is stable; C12 > C11 or C44 < 0 is not, and the failing condition is named', () => {
    const si = bornStability(cubic(165.7, 63.9, 79.6), 'cubic');
    expect(si.stable).toBe(true);
    expect(si.criteria.map((c) => c.condition)).toEqual(['C11 − C12 > 0', 'C11 + 2 C12 > 0', 'C44 > 0']);
    expect(si.criteria.every((c) => c.holds)).toBe(true);
    expect(si.notes).toEqual([]);
    const tetragonalShear = bornStability(cubic(100, 120, 50), 'cubic');
    expect(tetragonalShear.stable).toBe(false);
    expect(tetragonalShear.criteria.filter((c) => !c.holds).map((c) => c.condition)).toEqual(['C11 − C12 > 0']);
    expect(bornStability(cubic(165.7, 63.9, -5), 'cubic').criteria.filter((c) => !c.holds).map((c) => c.condition)).toEqual(['C44 > 0']);
  });

  it('hexagonal Mg (experiment) is stable; a soft C13 makes it unstable', () => {
    // Mg at 298 K, GPa (L. J. Slutsky and C. W. Garland, Phys. Rev. 107, 972 (1957))
    const hex = (c11: number, c12: number, c13: number, c33: number, c44: number): number[][] => [
      [c11, c12, c13, 0, 0, 0],
      [c12, c11, c13, 0, 0, 0],
      [c13, c13, c33, 0, 0, 0],
      [0, 0, 0, c44, 0, 0],
      [0, 0, 0, 0, c44, 0],
      [0, 0, 0, 0, 0, (c11 - c12) / 2],
    ];
    expect(bornStability(hex(59.4, 25.6, 21.4, 61.6, 16.4), 'hexagonal')).toMatchObject({ stable: true, notes: [] });
    const soft = bornStability(hex(59.4, 25.6, 55, 61.6, 16.4), 'hexagonal');
    expect(soft.stable).toBe(false);
    expect(soft.criteria.filter((c) => !c.holds).map((c) => c.condition)).toEqual(['2 C13² < C33 (C11 + C12)']);
  });

  it('monoclinic and triclinic: positive definiteness itself', () => {
    const r = bornStability(cubic(165.7, 63.9, 79.6), 'triclinic');
    expect(r.criteria).toEqual([{ condition: 'C positive definite (all eigenvalues > 0)', holds: true }]);
    expect(r.eigenvaluesGpa[0]).toBeCloseTo(79.6, 10);
  });
});

describe("pw.x's side", () => {
  it('pw.x prints a pressure-positive stress: the Cauchy stress is its negative, in GPa', () => {
    // a compressed cell, as pw.x printed it (kbar): P = +45.81
    const printed = [
      [45.81, 0, 0],
      [0, 45.81, 0],
      [0, 0, 45.81],
    ];
    expect(cauchyStressGpaOfPwStress(printed)).toEqual([
      [-4.581, 0, 0],
      [0, -4.581, 0],
      [0, 0, -4.581],
    ]);
    expect(() => cauchyStressGpaOfPwStress([[1, 2]])).toThrow(/3×3/);
  });

  it('strained cells relax to 1e-4 Ry/bohr at most, unless the caller says otherwise', () => {
    expect(strainedCellParameters('fast', {})).toEqual({ control: { forc_conv_thr: 1e-4 } });
    expect(strainedCellParameters('precise', { system: { ecutwfc: 40 } })).toEqual({ system: { ecutwfc: 40 }, control: { forc_conv_thr: 0.5e-4 } });
    expect(strainedCellParameters('fast', { control: { forc_conv_thr: 1e-5, tprnfor: true } })).toEqual({ control: { forc_conv_thr: 1e-5, tprnfor: true } });
  });
});
