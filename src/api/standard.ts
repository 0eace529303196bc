/**
 * StandardAnalysis (seed 000): relax → scf → bands → DOS on one structure, with results people can publish:
 * numbers (`AnalysisResults`), exports (JSON, CSV, LaTeX) and the bands + DOS figure (SVG, PNG).
 *
 *   const results = await new StandardAnalysis({ protocol: 'moderate', outputDir: './results/Si' }).run('Si');
 *   console.log(results.bandGapEv, results.bandGapCharacter);
 *   const { png } = await results.plotBandsDos();
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import type { CodeName } from '../domain/codes/catalog.ts';
import { QE_PW_ID } from '../domain/codes/qe/pw.ts';
import type { Magnetism } from '../domain/electronic-defaults.ts';
import type { ErrorRecoveryStrategy } from '../domain/recovery/strategy.ts';
import type { Structure } from '../domain/structure/structure.ts';
import { getClusterProfile } from '../clusters/loader.ts';
import { loadSettings } from '../settings.ts';
import { bandPathForStructure } from '../symmetry/index.ts';
import type { AnalysisResults, StandardInput } from '../workflows/standard.ts';
import { BuildError } from './builder.ts';
import { withClient } from './connection.ts';
import { toCSV, toJSON, toLatexTable } from './exporters.ts';
import { resolveStructure } from './structures.ts';
import { Workflow, workflowIdFor } from './workflow.ts';

export interface StandardAnalysisOptions {
  cluster?: string;
  protocol?: 'fast' | 'moderate' | 'precise';
  /** Spin polarisation; default `auto`. */
  magnetism?: Magnetism;
  includeRelax?: boolean;
  includeBands?: boolean;
  includeDos?: boolean;
  /** "auto": the Setyawan–Curtarolo path of the crystal's Bravais lattice. */
  kpath?: 'auto';
  kpointsPerSegment?: number;
  dosMesh?: [number, number, number];
  dftCode?: CodeName;
  /** Where `run()` writes results.json, results.csv, results.tex and the figure. */
  outputDir?: string;
  recoveryStrategy?: ErrorRecoveryStrategy;
  maxAttempts?: number;
  client?: Client;
  taskQueue?: string;
}

export class StandardAnalysis {
  constructor(private readonly options: StandardAnalysisOptions = {}) {
    const code = options.dftCode ?? 'quantum_espresso';
    if (code !== 'quantum_espresso') throw new BuildError(`StandardAnalysis: dftCode ${code} is not supported yet (supported: quantum_espresso)`);
    if (options.kpath !== undefined && options.kpath !== 'auto') throw new BuildError('StandardAnalysis: an explicit kpath is not supported yet (use "auto")');
    const cluster = options.cluster ?? 'local';
    if (cluster !== 'local') getClusterProfile(cluster); // an unknown cluster fails here, naming the file and field
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
    const { input } = this.input(structure);
    const id = workflowIdFor('standard', input.structure);
    await withClient(this.options.client, (client) => client.workflow.start('standardAnalysis', { taskQueue: this.options.taskQueue ?? loadSettings().taskQueue, workflowId: id, args: [input] }));
    return id;
  }

  async run(structure: string | Structure): Promise<StandardResults> {
    const id = await this.submit(structure);
    const results = new StandardResults(await Workflow.getResult<AnalysisResults>(id, { client: this.options.client }));
    if (this.options.outputDir) results.save(this.options.outputDir);
    return results;
  }
}

/** AnalysisResults with the exports and the figure at hand. */
export class StandardResults {
  constructor(readonly data: AnalysisResults) {}
  get formula() {
    return this.data.formula;
  }
  get bandGapEv() {
    return this.data.bandGapEv;
  }
  get bandGapCharacter() {
    return this.data.bandGapCharacter;
  }
  toJSON(): string {
    return toJSON(this.data);
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
  save(dir: string): void {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'results.json'), this.toJSON());
    writeFileSync(join(dir, 'results.csv'), this.toCSV());
    writeFileSync(join(dir, 'results.tex'), this.toLatexTable());
    if (this.data.figure) this.plotBandsDos(dir);
  }
}
