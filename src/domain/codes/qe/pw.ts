/**
 * pw.x as a `Code` (../code.ts): the writer, parser, handlers and restart rules of this folder behind the one
 * interface the calculation workflow, the strategies and the activities use.
 */
import type { CalculationResult } from '../../calculation.ts';
import type { Code, CodeInputRequest } from '../code.ts';
import type { ParameterEdit } from '../parameters.ts';
import { numberParameter, roundSignificant } from '../parameters.ts';
import { buildPwBandsInput } from './bands.ts';
import { isSuccessfulPwExit, PW_EXIT } from './exit-codes.ts';
import { PW_FILES, pwCommand, pwXmlPath } from './files.ts';
import { handlePwResult, pwRestartEdits, QE_DEFAULTS } from './handlers.ts';
import { buildPwInput, PwParametersSchema, type PwCalculation } from './inputs.ts';
import { parsePwOutput, type PwResult } from './parse.ts';
import { structureFromPwOutput } from './restart.ts';

/** Exit codes of a failed SCF (also inside an ionic cycle) and of a failed ionic minimisation. */
const ELECTRONIC_CONVERGENCE_EXITS: readonly number[] = [
  PW_EXIT.ERROR_ELECTRONIC_CONVERGENCE_NOT_REACHED,
  PW_EXIT.ERROR_IONIC_CYCLE_ELECTRONIC_CONVERGENCE_NOT_REACHED,
  PW_EXIT.ERROR_IONIC_CONVERGENCE_REACHED_FINAL_SCF_FAILED,
];
const IONIC_CONVERGENCE_EXITS: readonly number[] = [
  PW_EXIT.ERROR_IONIC_CONVERGENCE_NOT_REACHED,
  PW_EXIT.ERROR_IONIC_CONVERGENCE_REACHED_EXCEPT_IN_FINAL_SCF,
  PW_EXIT.ERROR_IONIC_CYCLE_EXCEEDED_NSTEP,
  PW_EXIT.ERROR_IONIC_CYCLE_BFGS_HISTORY_FAILURE,
  PW_EXIT.ERROR_IONIC_CYCLE_BFGS_HISTORY_AND_FINAL_SCF_FAILURE,
];

function writePwInput(req: CodeInputRequest) {
  if (!req.pseudos) throw new Error('pw.x needs a pseudopotential family');
  const request = {
    structure: req.structure,
    calculation: req.calculation as PwCalculation,
    protocol: req.protocol,
    family: req.pseudos.family,
    pseudoDir: req.pseudos.dir,
    outdir: PW_FILES.outdir,
    prefix: PW_FILES.prefix,
    kpoints: req.kpoints,
    electronicType: req.electronicType,
    magnetism: req.magnetism,
    valenceElectrons: req.pseudos.valenceElectrons,
    overrides: req.overrides,
    walltimeSeconds: req.walltimeSeconds,
  };
  if (req.calculation === 'bands' && req.kpath) {
    // A band structure along a path: the k-points are the path's (kMesh 0x0x0 says "not a mesh").
    const bands = buildPwBandsInput({ ...request, path: req.kpath });
    return { ...bands, kpoints: { mesh: [0, 0, 0] as [number, number, number], offset: [0, 0, 0] as [0 | 1, 0 | 1, 0 | 1] } };
  }
  return buildPwInput(request);
}

/** pw.x's code id (the key of a cluster profile's `executables`). */
export const QE_PW_ID = 'qe-pw';

export const qePw: Code<PwResult> = {
  id: QE_PW_ID,
  program: 'pw.x',
  step: 'pw',
  calculations: ['scf', 'nscf', 'bands', 'relax', 'vc-relax'],
  relaxations: ['relax', 'vc-relax'],
  parametersSchema: PwParametersSchema,
  pseudopotentials: 'family',
  files: {
    stdout: PW_FILES.stdout,
    stderr: PW_FILES.stderr,
    kept: [PW_FILES.input, PW_FILES.stdout, PW_FILES.stderr, PW_FILES.crash, pwXmlPath()],
  },
  command: pwCommand,
  writeInput(req) {
    const pw = writePwInput(req);
    return {
      files: { [PW_FILES.input]: pw.text },
      parameters: pw.parameters,
      summary: { kMesh: pw.kpoints.mesh, kOffset: pw.kpoints.offset, ecutwfc: pw.ecutwfc, ecutrho: pw.ecutrho },
    };
  },
  parse(outputs) {
    return parsePwOutput({
      stdout: outputs.files[PW_FILES.stdout],
      xml: outputs.files[pwXmlPath()],
      crash: outputs.files[PW_FILES.crash],
      processExitStatus: outputs.processExitStatus,
      schedulerOutOfWalltime: outputs.schedulerOutOfWalltime,
      parameters: outputs.parameters as Record<string, Record<string, unknown>>,
    });
  },
  isSuccess: isSuccessfulPwExit,
  repair: handlePwResult,
  generic: {
    convergenceFailure: (r) =>
      ELECTRONIC_CONVERGENCE_EXITS.includes(r.exitCode) ? 'electronic' : IONIC_CONVERGENCE_EXITS.includes(r.exitCode) ? 'ionic' : undefined,
    loosenConvergence(ctx, factor): ParameterEdit[] {
      const from = numberParameter(ctx.parameters, 'electrons', 'conv_thr', QE_DEFAULTS.conv_thr);
      return [{ group: 'electrons', key: 'conv_thr', value: roundSignificant(from * factor), assumed: QE_DEFAULTS.conv_thr }];
    },
    isWalltimeFailure: (r) => r.exitCode === PW_EXIT.ERROR_OUT_OF_WALLTIME_INTERRUPTED,
    // JOB DONE: pw.x shut down cleanly, so <prefix>.save holds a charge density; not after an interrupted
    // trajectory (503), whose files belong to a structure that is not the one restarted from.
    leftReusableFiles: (r) => r.jobDone && r.exitCode !== PW_EXIT.ERROR_IONIC_INTERRUPTED_PARTIAL_TRAJECTORY,
  },
  restartFiles: (kind) => [kind === 'full' ? PW_FILES.outdir : `${PW_FILES.outdir}/${PW_FILES.prefix}.save`],
  restartEdits: pwRestartEdits,
  outputStructure: structureFromPwOutput,
};

/** A `calculation` workflow's result for pw.x (what the QE analyses — relax loop, bands, DOS, plans — read). */
export type PwCalculationResult = CalculationResult<PwResult>;
