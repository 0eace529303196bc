/** The exporters' rows, on results made by hand (the workflows that produce them are tested elsewhere). */
import { describe, expect, it } from 'vitest';
import { analysisRows, propertyRows, toCSV } from '../../src/api/exporters.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import type { PlanResult } from '../../src/workflows/plan.ts';
import type { AnalysisResults } from '../../src/workflows/standard.ts';

const fe = builtinStructure('Fe')!;
const lattice = { a: 2.48, b: 2.48, c: 2.48, alpha: 109.47, beta: 109.47, gamma: 109.47, volume: 11.78 };

describe('exporters: the moment of a spin-polarised run beside its energies', () => {
  it('plan results: total and absolute magnetisation per step, in μB', () => {
    const outputs = { exitCode: 0, totalEnergyEv: -755.93, fermiEnergyEv: 12.49, totalMagnetizationBohrMag: 2.23, absoluteMagnetizationBohrMag: 2.32 };
    const result = { workflowId: 'w', formula: 'Fe', ok: true, steps: [], results: { scf: { exitCode: 0, outputs, finalStructure: fe, attempts: [{}] } } } as unknown as PlanResult;
    expect(propertyRows(result)).toEqual(
      expect.arrayContaining([
        { formula: 'Fe', step: 'scf', property: 'total_magnetization', value: 2.23, unit: 'mu_B' },
        { formula: 'Fe', step: 'scf', property: 'absolute_magnetization', value: 2.32, unit: 'mu_B' },
      ]),
    );
    expect(toCSV(result)).toContain('Fe,scf,total_magnetization,2.23,mu_B');
  });

  it("a standard analysis: the scf's moment", () => {
    const r = { workflowId: 'w', formula: 'Fe', latticeBefore: lattice, latticeAfter: lattice, totalMagnetizationBohrMag: 2.2, absoluteMagnetizationBohrMag: 2.3, cpuHours: 0.01, bandGapSource: 'none', steps: [], notes: [] } as AnalysisResults;
    expect(analysisRows(r)).toEqual(expect.arrayContaining([{ formula: 'Fe', step: 'standard', property: 'total_magnetization', value: 2.2, unit: 'mu_B' }]));
  });

  it('no rows for an unpolarised run', () => {
    const result = { workflowId: 'w', formula: 'Si2', ok: true, steps: [], results: { scf: { exitCode: 0, outputs: { exitCode: 0 }, finalStructure: builtinStructure('Si')!, attempts: [] } } } as unknown as PlanResult;
    expect(propertyRows(result).map((r) => r.property)).not.toContain('total_magnetization');
  });
});
