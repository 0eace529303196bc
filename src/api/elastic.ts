/**
 * ElasticAnalysis (seed 000): the elastic tensor and the polycrystalline moduli of a crystal from stress–strain
 * with pw.x (the `elasticAnalysis` workflow), with exports (JSON, CSV, LaTeX).
 *
 *   const results = await new ElasticAnalysis({ protocol: 'moderate', strainMagnitude: 0.01, numStrains: 4 }).run('Si');
 *   console.log(results.bulkModulusGpa, results.shearModulusGpa, results.youngsModulusGpa, results.poissonRatio);
 */
import { describeZodError } from '../domain/calculation.ts';
import type { CodeParameters } from '../domain/codes/parameters.ts';
import { QE_PW_ID } from '../domain/codes/qe/pw.ts';
import { StrainSetSchema } from '../domain/elastic/strains.ts';
import type { Structure } from '../domain/structure/structure.ts';
import type { ElasticInput, ElasticResult } from '../workflows/elastic.ts';
import { BuildError } from './builder.ts';
import { csvOfRows, latexTableOfRows, type PropertyRow } from './exporters.ts';
import { AnalysisResultFiles, checkRunnerOptions, runnerExecutor, type AnalysisRunnerOptions } from './analysis-runner.ts';
import { resolveStructure } from './structures.ts';
import { analysisResults, startAnalysis } from './workflow.ts';

export interface ElasticAnalysisOptions extends AnalysisRunnerOptions {
  /** Largest strain, a fraction (default 0.01). */
  strainMagnitude?: number;
  /** Strained cells per strain component, an even number (default 4: ±δ/2, ±δ). */
  numStrains?: number;
  /** Clamped-ion constants (ions strained with the cell) instead of relaxed-ion ones. */
  clampedIon?: boolean;
  /** Relax the structure first (default true). */
  includeRelax?: boolean;
  /** Strained-cell calculations at once (default 4). */
  maxConcurrent?: number;
  /** Also a Birch–Murnaghan E(V) with the same settings (a check of the bulk modulus). */
  equationOfState?: { points?: number; maxStrain?: number };
  /** pw.x overrides for every calculation (namelists, e.g. { system: { ecutwfc: 40 } }). */
  parameters?: CodeParameters;
  pseudoFamily?: string;
}

export class ElasticAnalysis {
  constructor(private readonly options: ElasticAnalysisOptions = {}) {
    checkRunnerOptions('ElasticAnalysis', options);
    const strains = StrainSetSchema.partial().safeParse({ strainMagnitude: options.strainMagnitude, numStrains: options.numStrains });
    if (!strains.success) throw new BuildError(`ElasticAnalysis: ${describeZodError(strains.error)}`);
  }

  /** The workflow input (validated again by the workflow; errors there name the field). */
  input(structure: string | Structure): ElasticInput {
    const o = this.options;
    return {
      code: QE_PW_ID,
      structure: typeof structure === 'string' ? resolveStructure(structure) : structure,
      protocol: o.protocol ?? 'moderate',
      ...(o.magnetism ? { magnetism: o.magnetism } : {}),
      executor: runnerExecutor(o),
      recovery: { strategy: o.recoveryStrategy ?? 'adaptive', maxAttempts: o.maxAttempts ?? 5 },
      ...(o.pseudoFamily ? { pseudoFamily: o.pseudoFamily } : {}),
      ...(o.parameters ? { parameters: o.parameters } : {}),
      ...(o.strainMagnitude !== undefined ? { strainMagnitude: o.strainMagnitude } : {}),
      ...(o.numStrains !== undefined ? { numStrains: o.numStrains } : {}),
      ...(o.clampedIon !== undefined ? { clampedIon: o.clampedIon } : {}),
      ...(o.includeRelax !== undefined ? { includeRelax: o.includeRelax } : {}),
      ...(o.maxConcurrent !== undefined ? { maxConcurrent: o.maxConcurrent } : {}),
      ...(o.equationOfState ? { equationOfState: o.equationOfState } : {}),
    };
  }

  async submit(structure: string | Structure): Promise<string> {
    return startAnalysis('elasticAnalysis', 'elastic', this.input(structure), this.options);
  }

  async run(structure: string | Structure): Promise<ElasticResults> {
    return analysisResults(await this.submit(structure), (data: ElasticResult) => new ElasticResults(data), this.options);
  }
}

/** ElasticResult with the seed's names and the exports at hand. */
export class ElasticResults extends AnalysisResultFiles<ElasticResult> {
  /** C (Voigt order xx, yy, zz, yz, xz, xy), GPa. */
  get elasticTensorGpa() {
    return this.data.elasticTensorGpa;
  }
  get bulkModulusGpa() {
    return this.data.bulkModulusGpa;
  }
  get shearModulusGpa() {
    return this.data.shearModulusGpa;
  }
  get youngsModulusGpa() {
    return this.data.youngsModulusGpa;
  }
  get poissonRatio() {
    return this.data.poissonRatio;
  }
  get stable() {
    return this.data.stability.stable;
  }
  toCSV(): string {
    return csvOfRows(elasticRows(this.data));
  }
  toLatexTable(caption = `Elastic constants and moduli of ${this.data.formula} (${this.data.ions}-ion)`): string {
    return latexTableOfRows(elasticRows(this.data), caption);
  }
}

/** The numbers of an elastic analysis, one row each: the independent-looking Cij (upper triangle), the moduli, the fit's quality. */
export function elasticRows(r: ElasticResult): PropertyRow[] {
  const rows: PropertyRow[] = [];
  const add = (property: string, value: number | string | undefined, unit: string) => {
    if (value !== undefined) rows.push({ formula: r.formula, step: 'elastic', property, value, unit });
  };
  add('space_group', `${r.spaceGroup.symbol} (${r.spaceGroup.number})`, '');
  add('ions', r.ions, '');
  for (let i = 0; i < 6; i++) {
    for (let j = i; j < 6; j++) {
      const v = r.elasticTensorGpa[i]![j]!;
      // the zeros of the crystal's tensor form come out as fit noise; the table keeps what is there
      if (i === j || Math.abs(v) >= 1e-3 * Math.abs(r.elasticTensorGpa[0]![0]!)) add(`C${i + 1}${j + 1}`, v, 'GPa');
    }
  }
  for (const [name, m] of [['voigt', r.moduli.voigt], ['reuss', r.moduli.reuss], ['hill', r.moduli.hill]] as const) {
    add(`bulk_modulus_${name}`, m.bulkGpa, 'GPa');
    add(`shear_modulus_${name}`, m.shearGpa, 'GPa');
  }
  add('youngs_modulus', r.youngsModulusGpa, 'GPa');
  add('poisson_ratio', r.poissonRatio, '');
  add('born_stable', r.stability.stable ? 'yes' : 'no', '');
  add('fit_rms_residual', r.fit.residuals.rmsGpa, 'GPa');
  add('fit_max_residual', r.fit.residuals.maxAbsGpa, 'GPa');
  add('strained_cells_computed', r.fit.computedPoints, '');
  if (r.equationOfState) {
    add('eos_bulk_modulus', r.equationOfState.bulkModulusGpa, 'GPa');
    add('eos_bulk_modulus_derivative', r.equationOfState.bulkModulusDerivative, '');
    add('eos_volume', r.equationOfState.volumeA3, 'angstrom^3');
  }
  return rows;
}
