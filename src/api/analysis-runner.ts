/**
 * What the analysis runners (StandardAnalysis, ElasticAnalysis) share: their common options and the checks made
 * before anything runs, and their results' files (JSON, CSV, LaTeX).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { CodeName } from '../domain/codes/catalog.ts';
import type { Magnetism } from '../domain/electronic-defaults.ts';
import { LOCAL_CLUSTER, type ExecutorSpec } from '../domain/jobs.ts';
import type { ErrorRecoveryStrategy } from '../domain/recovery/strategy.ts';
import { getClusterProfile } from '../clusters/loader.ts';
import { BuildError } from './builder.ts';
import { toJSON } from './exporters.ts';

export interface AnalysisRunnerOptions {
  cluster?: string;
  protocol?: 'fast' | 'moderate' | 'precise';
  /** Spin polarisation; default `auto`. */
  magnetism?: Magnetism;
  dftCode?: CodeName;
  /** Where `run()` writes results.json, results.csv and results.tex (and the analysis's figures). */
  outputDir?: string;
  recoveryStrategy?: ErrorRecoveryStrategy;
  maxAttempts?: number;
  client?: Client;
  taskQueue?: string;
}

/** Throws a BuildError, naming the runner, for a code other than Quantum ESPRESSO or a cluster profile that does not load. */
export function checkRunnerOptions(runner: string, options: AnalysisRunnerOptions): void {
  const code = options.dftCode ?? 'quantum_espresso';
  if (code !== 'quantum_espresso') throw new BuildError(`${runner}: dftCode ${code} is not supported yet (supported: quantum_espresso)`);
  const cluster = options.cluster ?? 'local';
  if (cluster !== 'local') getClusterProfile(cluster); // an unknown cluster fails here, naming the file and field
}

/** Where a runner's calculations run: the `cluster` option's SLURM profile, or this machine. */
export function runnerExecutor(options: AnalysisRunnerOptions): ExecutorSpec {
  const cluster = options.cluster ?? LOCAL_CLUSTER;
  return cluster === LOCAL_CLUSTER ? { kind: 'local' } : { kind: 'slurm', cluster };
}

export abstract class AnalysisResultFiles<T extends { formula: string }> {
  constructor(readonly data: T) {}
  get formula(): string {
    return this.data.formula;
  }
  toJSON(): string {
    return toJSON(this.data);
  }
  abstract toCSV(): string;
  abstract toLatexTable(): string;
  /** Writes results.json, results.csv and results.tex into `dir`. */
  save(dir: string): void {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'results.json'), this.toJSON());
    writeFileSync(join(dir, 'results.csv'), this.toCSV());
    writeFileSync(join(dir, 'results.tex'), this.toLatexTable());
  }
}
