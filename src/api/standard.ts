/**
 * StandardAnalysis (seed 000): relax → scf → bands → DOS on one structure, with results people can publish:
 * numbers (`AnalysisResults`), exports (JSON, CSV, LaTeX) and the bands + DOS figure (SVG, PNG).
 *
 *   const results = await new StandardAnalysis({ protocol: 'moderate', outputDir: './results/Si' }).run('Si');
 *   console.log(results.bandGapEv, results.bandGapCharacter);
 *   const { png } = await results.plotBandsDos();
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QE_PW_ID } from '../domain/codes/qe/pw.ts';
import type { Structure } from '../domain/structure/structure.ts';
import { bandPathForStructure } from '../symmetry/index.ts';
import type { AnalysisResults, StandardInput } from '../workflows/standard.ts';
import { BuildError } from './builder.ts';
import { toCSV, toLatexTable } from './exporters.ts';
import { AnalysisResultFiles, checkRunnerOptions, runnerExecutor, type AnalysisRunnerOptions } from './analysis-runner.ts';
import { resolveStructure } from './structures.ts';
import { analysisResults, startAnalysis } from './workflow.ts';

export interface StandardAnalysisOptions extends AnalysisRunnerOptions {
  includeRelax?: boolean;
  includeBands?: boolean;
  includeDos?: boolean;
  /** "auto": the Setyawan–Curtarolo path of the crystal's Bravais lattice. */
  kpath?: 'auto';
  kpointsPerSegment?: number;
  dosMesh?: [number, number, number];
}

export class StandardAnalysis {
  constructor(private readonly options: StandardAnalysisOptions = {}) {
    checkRunnerOptions('StandardAnalysis', options);
    if (options.kpath !== undefined && options.kpath !== 'auto') throw new BuildError('StandardAnalysis: an explicit kpath is not supported yet (use "auto")');
  }

  /** Builds the workflow input. With bands, the structure becomes its standardized primitive cell (the k-path's cell). */
  input(structure: string | Structure): { input: StandardInput; notes: string[] } {
    let s = typeof structure === 'string' ? resolveStructure(structure) : structure;
    const notes: string[] = [];
    if (this.options.includeBands !== false) {
      const bp = bandPathForStructure(s);
      notes.push(`runs on the standardized primitive cell (${bp.symmetry.internationalSymbol}, ${bp.variant}) so the k-path applies`);
      s = bp.cell;
    }
    const o = this.options;
    return {
      notes,
      input: {
        code: QE_PW_ID,
        structure: s,
        protocol: o.protocol ?? 'moderate',
        ...(o.magnetism ? { magnetism: o.magnetism } : {}),
        executor: runnerExecutor(o),
        recovery: { strategy: o.recoveryStrategy ?? 'adaptive', maxAttempts: o.maxAttempts ?? 5 },
        includeRelax: o.includeRelax ?? true,
        includeBands: o.includeBands ?? true,
        includeDos: o.includeDos ?? true,
        ...(o.kpointsPerSegment ? { kpointsPerSegment: o.kpointsPerSegment } : {}),
        ...(o.dosMesh ? { dosMesh: o.dosMesh } : {}),
      },
    };
  }

  async submit(structure: string | Structure): Promise<string> {
    return startAnalysis('standardAnalysis', 'standard', this.input(structure).input, this.options);
  }

  async run(structure: string | Structure): Promise<StandardResults> {
    return analysisResults(await this.submit(structure), (data: AnalysisResults) => new StandardResults(data), this.options);
  }
}

/** AnalysisResults with the exports and the figure at hand. */
export class StandardResults extends AnalysisResultFiles<AnalysisResults> {
  get bandGapEv() {
    return this.data.bandGapEv;
  }
  get bandGapCharacter() {
    return this.data.bandGapCharacter;
  }
  toCSV(): string {
    return toCSV(this.data);
  }
  toLatexTable(): string {
    return toLatexTable(this.data);
  }
  /** Copies the bands + DOS figure (made by the worker, kept in the artifact store) into `dir`. */
  plotBandsDos(dir = '.'): { svg: string; png: string } {
    if (!this.data.figure) throw new Error('no figure: the analysis ran without bands');
    mkdirSync(dir, { recursive: true });
    const out = { svg: join(dir, `${this.data.formula}_bands_dos.svg`), png: join(dir, `${this.data.formula}_bands_dos.png`) };
    copyFileSync(fileURLToPath(this.data.figure.svg.uri), out.svg);
    copyFileSync(fileURLToPath(this.data.figure.png.uri), out.png);
    return out;
  }
  /** results.json, results.csv, results.tex and the figure. */
  override save(dir: string): void {
    super.save(dir);
    if (this.data.figure) this.plotBandsDos(dir);
  }
}
