/**
 * Activities of the `calculation` workflow: stage the inputs, run the job on an executor, parse the
 * outputs and store artifacts. They return summaries and references only; files stay on disk.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactRef } from '../domain/artifacts.ts';
import type { ValidCalculationInput } from '../domain/calculation.ts';
import { buildPwInput, type PwParameters } from '../domain/codes/qe/inputs.ts';
import type { RestartFrom } from '../domain/codes/qe/handlers.ts';
import type { Structure } from '../domain/structure/structure.ts';
import { parsePwOutput, type PwResult } from '../domain/codes/qe/parse.ts';
import { PW_FILES, pwCommand, pwXmlPath } from '../domain/codes/qe/files.ts';
import { jobNameFor, type JobOutcome, type JobSpec, type Resources } from '../domain/jobs.ts';
import type { ArtifactStore } from './artifacts.ts';
import { loadPseudoFamily } from './pseudos.ts';

export interface PrepareRequest {
  /** Code, calculation, protocol, pseudo family, k-points, electronic type: fixed for the whole calculation. */
  input: ValidCalculationInput;
  /** What may change between attempts (repairs): the structure, the overrides, the resources. */
  structure: Structure;
  overrides: PwParameters;
  resources: Resources;
  workflowId: string;
  step: string;
  attempt: number;
  /** Stage a parent attempt's files: its charge density (`<prefix>.save`) or its whole outdir (full restart). */
  restart?: { fromWorkDir: string; kind: Exclude<RestartFrom, 'scratch'> };
}

export interface PreparedCalculation {
  job: JobSpec;
  inputSummary: { kMesh: [number, number, number]; kOffset: [number, number, number]; ecutwfc: number; ecutrho: number };
  /** The final namelists, for the parser (e.g. scf_must_converge) and for repairs. */
  parameters: Record<string, Record<string, unknown>>;
}

export interface ParseRequest {
  workflowId: string;
  step: string;
  attempt: number;
  workDir: string;
  outcome: JobOutcome;
  parameters: Record<string, Record<string, unknown>>;
}

export interface ParsedCalculation {
  result: PwResult;
  artifacts: ArtifactRef[];
}

/**
 * Copies what a restart reads from its parent: the `<prefix>.save` directory (charge density, XML) for
 * `startingpot='file'`, or the whole outdir (wavefunctions, restart files too) for `restart_mode='restart'`.
 * Copies, not links: the parent's files stay as they were, for provenance and for a later retry.
 */
async function stageParentFiles(parentDir: string, workDir: string, kind: 'charge-density' | 'full'): Promise<void> {
  const from = kind === 'full' ? join(parentDir, PW_FILES.outdir) : join(parentDir, PW_FILES.outdir, `${PW_FILES.prefix}.save`);
  const to = kind === 'full' ? join(workDir, PW_FILES.outdir) : join(workDir, PW_FILES.outdir, `${PW_FILES.prefix}.save`);
  if (!existsSync(from)) {
    throw ApplicationFailure.nonRetryable(`cannot restart from ${from}: the parent calculation left no such files`, 'RestartFilesMissing');
  }
  await cp(from, to, { recursive: true });
}

export const safePathPart = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');

export function calculationActivities(deps: { workRoot: string; pseudoRoot: string; store: ArtifactStore }) {
  return {
    async prepareCalculation(req: PrepareRequest): Promise<PreparedCalculation> {
      const { input } = req;
      const workDir = join(deps.workRoot, safePathPart(req.workflowId), safePathPart(req.step), String(req.attempt));
      const { family, dir: pseudoDir, valenceElectrons } = await loadPseudoFamily(deps.pseudoRoot, input.pseudoFamily);
      let pw;
      try {
        pw = buildPwInput({
          structure: req.structure,
          calculation: input.calculation,
          protocol: input.protocol,
          family,
          pseudoDir,
          outdir: PW_FILES.outdir,
          prefix: PW_FILES.prefix,
          kpoints: input.kpoints,
          electronicType: input.electronicType,
          valenceElectrons,
          overrides: req.overrides,
          walltimeSeconds: req.resources.walltimeSeconds,
        });
      } catch (e) {
        // Bad parameters or a structure the family cannot describe: retrying cannot help.
        throw ApplicationFailure.nonRetryable((e as Error).message, 'InvalidCalculationInput');
      }
      await mkdir(workDir, { recursive: true });
      // A retried prepare must not touch the files of a job that has already started.
      if (!existsSync(join(workDir, '.crystalmath', 'started'))) {
        if (req.restart) await stageParentFiles(req.restart.fromWorkDir, workDir, req.restart.kind);
        await writeFile(join(workDir, PW_FILES.input), pw.text);
      }
      return {
        job: {
          jobName: jobNameFor(req.workflowId, req.step, req.attempt),
          workDir,
          command: pwCommand(),
          stdoutFile: PW_FILES.stdout,
          stderrFile: PW_FILES.stderr,
          resources: req.resources,
        },
        inputSummary: { kMesh: pw.kpoints.mesh, kOffset: pw.kpoints.offset, ecutwfc: pw.ecutwfc, ecutrho: pw.ecutrho },
        parameters: pw.parameters as Record<string, Record<string, unknown>>,
      };
    },

    async parseCalculation(req: ParseRequest): Promise<ParsedCalculation> {
      const read = async (name: string) => (existsSync(join(req.workDir, name)) ? readFile(join(req.workDir, name), 'utf8') : undefined);
      const result = parsePwOutput({
        stdout: await read(PW_FILES.stdout),
        xml: await read(pwXmlPath()),
        crash: await read(PW_FILES.crash),
        processExitStatus: req.outcome.exitStatus,
        schedulerOutOfWalltime: req.outcome.state === 'timeout',
        parameters: req.parameters,
      });
      const artifacts: ArtifactRef[] = [];
      const prefix = `${safePathPart(req.workflowId)}/${safePathPart(req.step)}/${req.attempt}`;
      for (const name of [PW_FILES.input, PW_FILES.stdout, PW_FILES.stderr, PW_FILES.crash, pwXmlPath()]) {
        const path = join(req.workDir, name);
        if (existsSync(path)) artifacts.push(await deps.store.putFile(`${prefix}/${name.split('/').pop()}`, path));
      }
      return { result, artifacts };
    },
  };
}
