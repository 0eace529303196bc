/**
 * The exit rules of a pw.x run: what its stdout, XML, CRASH file, process and scheduler said → an exit name of
 * ./exit-codes.ts (the rules of aiida-quantumespresso's PwParser).
 */
import type { PwExitName } from './exit-codes.ts';
import { isRelaxation, paramNumber, type Namelists, type PwCalculationType } from './pw-parameters.ts';
import { FATAL_MARKERS, ionicConvergenceDeclared, type IonicFrame, type PwStdoutData } from './pw-stdout.ts';
import type { PwXmlData, PwXmlProblem } from './pw-xml.ts';
import { asLogical } from './text.ts';

const DEFAULT_FORC_CONV_THR_RY_BOHR = 1e-3;
const DEFAULT_PRESS_CONV_THR_KBAR = 0.5;

/** What the rules look at. */
export interface PwExitFacts {
  stdout: PwStdoutData;
  xml: PwXmlData;
  xmlProblem?: PwXmlProblem;
  /** Why the stdout and the readable XML are not of one run (./pw-cross-check.ts), if they are not. */
  filesDisagree?: string;
  crashPresent: boolean;
  parameters: Namelists;
  calculation?: PwCalculationType;
  processExitStatus?: number;
  schedulerOutOfWalltime?: boolean;
}

export interface PwExitDecision {
  name: PwExitName;
  /** A warning the decision adds to the run's. */
  warning?: string;
  /** Says what happened more precisely than the exit code's own message (e.g. which files disagree). */
  message?: string;
}

/**
 * The exit name of a run whose stdout exists (no stdout is 302, decided before reading); first match wins, in the
 * order of aiida-quantumespresso's PwParser:
 *   1. "Maximum CPU time exceeded" but no `JOB DONE` (pw.x began a clean stop and was killed during it) → 340
 *   2. the scheduler reported out-of-walltime and stdout or XML is incomplete/missing:
 *      relax / vc-relax → 503 (restart from the partial trajectory), anything else → 400
 *   3. a known pw.x failure message in stdout or CRASH, in the order of FATAL_MARKERS: 400 Maximum CPU time,
 *      531 charge is wrong, 541 not orthogonal operation, 461 dexx, 462 cholesky, 481 npools, 463 too many bands
 *      not converged, 464 S matrix, 465 zhegvd, 466 qr, 360 G_par, 467 eigenvectors, 468 broyden, 542 radial FFT
 *   4. stdout incomplete (no `JOB DONE` and no CRASH file) and XML missing/unparseable → 305;
 *      stdout incomplete alone → 312 (also: killed from outside, see PW_EXIT_KILLED_OR_TRUNCATED)
 *   5. stdout and a readable XML not of one run (`filesDisagree`: atoms, k-points, energy, or a stdout that is not
 *      pw.x's) → 305, with a message saying which files disagree and how;
 *      XML missing → 303 (`xmlProblem` is 'missing' only when the XML was expected); not well-formed → 321
 *   6. scf / nscf / bands / md: "convergence NOT achieved" → 410, or 710 if `scf_must_converge = .false.` or
 *      `electron_maxstep = 0` (from the parameters, else electron_maxstep from the XML input)
 *   7. relax / vc-relax (aiida's `validate_ionic`):
 *        ionic not converged and an SCF failed                               → 510
 *        ionic not converged and "The maximum number of steps has been reached" (or, as aiida, as many
 *        "number of bfgs steps" lines as `nstep`)                             → 502
 *        BFGS history reset twice: 521 if an SCF failed, success if forces (and stress) of the last ionic step
 *        are below the thresholds anyway, else                               → 520
 *        an SCF failed: in the final SCF → 511, during the ionic cycle       → 510
 *        forces/stress above the thresholds: only in the final SCF of a vc-relax → 501, else → 500
 *      "ionic converged" = "bfgs converged", damped dynamics "convergence achieved" or "End final coordinates".
 *      Thresholds: see ionicThresholds; force components of atoms fixed by if_pos are ignored.
 *   8. nothing wrong so far but a non-zero `processExitStatus`: 2 → as a failed SCF (410 / 510), 3 → 502 for
 *      relax / vc-relax; any other status → 312
 *   9. → 0.
 * pw.x writes `JOB DONE.` even when the SCF does not converge or max_seconds is hit: the messages decide.
 */
export function decidePwExit(f: PwExitFacts): PwExitDecision {
  const name = outputFilesRule(f) ?? (isRelaxation(f.calculation) ? ionicRule(f) : electronicRule(f));
  if (name === 'ERROR_OUTPUT_FILES' && f.filesDisagree) return { name, message: f.filesDisagree };
  if (name) return { name };
  const status = f.processExitStatus;
  if (status !== undefined && status !== 0) {
    return { name: 'ERROR_OUTPUT_STDOUT_INCOMPLETE', warning: `pw.x exited with status ${status} although its output reports no failure` };
  }
  return { name: 'SUCCESS' };
}

/** Rules 1–5: walltime, failure messages, missing or broken output files. */
function outputFilesRule(f: PwExitFacts): PwExitName | undefined {
  const s = f.stdout;
  const stdoutIncomplete = !s.jobDone && !f.crashPresent;
  if (s.markers.has('ERROR_OUT_OF_WALLTIME') && stdoutIncomplete) return 'ERROR_OUT_OF_WALLTIME_INTERRUPTED';
  if (f.schedulerOutOfWalltime && (stdoutIncomplete || f.xmlProblem)) {
    return isRelaxation(f.calculation) ? 'ERROR_IONIC_INTERRUPTED_PARTIAL_TRAJECTORY' : 'ERROR_OUT_OF_WALLTIME';
  }
  const fatal = FATAL_MARKERS.find((m) => s.markers.has(m.name));
  if (fatal) return fatal.name;
  if (stdoutIncomplete && f.xmlProblem) return 'ERROR_OUTPUT_FILES';
  if (stdoutIncomplete) return 'ERROR_OUTPUT_STDOUT_INCOMPLETE';
  if (f.filesDisagree) return 'ERROR_OUTPUT_FILES';
  if (f.xmlProblem === 'missing') return 'ERROR_OUTPUT_XML_MISSING';
  if (f.xmlProblem === 'unparseable') return 'ERROR_OUTPUT_XML_PARSE';
  return undefined;
}

/** Rule 6. */
function electronicRule(f: PwExitFacts): PwExitName | undefined {
  if (!f.stdout.electronicNotConverged && f.processExitStatus !== 2) return undefined;
  const electrons = f.parameters.get('electrons');
  const mustConverge = asLogical(electrons?.get('scf_must_converge'));
  const maxstep = paramNumber(electrons?.get('electron_maxstep')) ?? f.xml.electronMaxstep;
  return mustConverge === false || maxstep === 0
    ? 'WARNING_ELECTRONIC_CONVERGENCE_NOT_REACHED'
    : 'ERROR_ELECTRONIC_CONVERGENCE_NOT_REACHED';
}

/** Rule 7 (and 8's statuses 2 and 3); 'SUCCESS' when a BFGS history failure still ended within the thresholds. */
function ionicRule(f: PwExitFacts): PwExitName | undefined {
  const s = f.stdout;
  const status = f.processExitStatus;
  const declared = ionicConvergenceDeclared(s);
  const electronicFailed = s.electronicNotConverged || status === 2;
  const maxSteps =
    s.maxStepsReached || (s.nstep !== undefined && s.bfgsStepLines > 0 && s.nstep === s.bfgsStepLines) || status === 3;
  if (!declared && electronicFailed) return 'ERROR_IONIC_CYCLE_ELECTRONIC_CONVERGENCE_NOT_REACHED';
  // pw.x 6.7 counts the final SCF of a vc-relax as a step: with a small nstep it stops there with exit
  // status 3 after "bfgs converged". The relaxed structure exists, so this too is nstep exceeded.
  if ((!declared && maxSteps) || (declared && status === 3)) return 'ERROR_IONIC_CYCLE_EXCEEDED_NSTEP';
  const thresholds = ionicThresholds(f);
  if (s.bfgsHistoryFailure) {
    if (electronicFailed) return 'ERROR_IONIC_CYCLE_BFGS_HISTORY_AND_FINAL_SCF_FAILURE';
    return withinThresholds(f, thresholds, false) ? 'SUCCESS' : 'ERROR_IONIC_CYCLE_BFGS_HISTORY_FAILURE';
  }
  if (electronicFailed) {
    return s.finalScf && s.finalScfFailed && !s.ionicScfFailed
      ? 'ERROR_IONIC_CONVERGENCE_REACHED_FINAL_SCF_FAILED'
      : 'ERROR_IONIC_CYCLE_ELECTRONIC_CONVERGENCE_NOT_REACHED';
  }
  if (!declared) return 'ERROR_IONIC_CONVERGENCE_NOT_REACHED';
  if (!withinThresholds(f, thresholds, false)) {
    return withinThresholds(f, thresholds, true)
      ? 'ERROR_IONIC_CONVERGENCE_REACHED_EXCEPT_IN_FINAL_SCF'
      : 'ERROR_IONIC_CONVERGENCE_NOT_REACHED';
  }
  return undefined;
}

interface IonicThresholds {
  forcRyBohr: number;
  pressKbar: number;
  referencePressureKbar: number;
  /** The stress is not checked for a constrained cell. */
  cellConstrained: boolean;
  /** if_pos per atom (0 = fixed component). */
  fixed?: number[][];
}

/**
 * The thresholds of the ionic double check: the parameters (control.forc_conv_thr, cell.press_conv_thr,
 * cell.press), else what pw.x printed or wrote to the XML, else QE's defaults (1e-3 Ry/bohr, 0.5 kbar). The cell
 * is constrained when cell_dofree ≠ 'all', or the XML says fix_volume/fix_area/isotropic/free_cell, or stdout
 * "Volume is kept fixed".
 */
function ionicThresholds(f: PwExitFacts): IonicThresholds {
  const { stdout: s, xml } = f;
  const control = f.parameters.get('control');
  const cell = f.parameters.get('cell');
  const dofree = cell?.get('cell_dofree');
  const t: IonicThresholds = {
    forcRyBohr:
      paramNumber(control?.get('forc_conv_thr')) ?? s.forcThrRyBohr ?? xml.forcConvThrRyBohr ?? DEFAULT_FORC_CONV_THR_RY_BOHR,
    pressKbar: paramNumber(cell?.get('press_conv_thr')) ?? s.pressThrKbar ?? xml.pressConvThrKbar ?? DEFAULT_PRESS_CONV_THR_KBAR,
    referencePressureKbar: paramNumber(cell?.get('press')) ?? xml.referencePressureKbar ?? 0,
    cellConstrained: typeof dofree === 'string' ? dofree.trim().toLowerCase() !== 'all' : (xml.cellConstrained ?? s.volumeFixed),
  };
  const fixed = s.positions?.ifPos ?? xml.freePositions;
  if (fixed) t.fixed = fixed;
  return t;
}

function frameConverged(frame: IonicFrame | undefined, checkStress: boolean, t: IonicThresholds): boolean {
  if (!frame) return true;
  if (frame.forces) {
    for (let a = 0; a < frame.forces.length; a++) {
      const force = frame.forces[a] ?? [];
      for (let c = 0; c < 3; c++) {
        if (t.fixed?.[a]?.[c] === 0) continue;
        if (Math.abs(force[c] ?? 0) >= t.forcRyBohr) return false;
      }
    }
  }
  if (checkStress && !t.cellConstrained) {
    const p = frame.pressure ?? (frame.stress ? (frame.stress[0]![0]! + frame.stress[1]![1]! + frame.stress[2]![2]!) / 3 : undefined);
    if (p !== undefined && Math.abs(p - t.referencePressureKbar) >= t.pressKbar) return false;
  }
  return true;
}

/**
 * The last ionic step's forces (and for a vc-relax the stress, of the relaxed structure and of the final SCF
 * unless `exceptFinalScf`) are within the thresholds.
 */
function withinThresholds(f: PwExitFacts, t: IonicThresholds, exceptFinalScf: boolean): boolean {
  const s = f.stdout;
  const frames = s.frames;
  const last = frames[frames.length - 1];
  if (f.calculation === 'relax') return frameConverged(last, false, t);
  const hasFinal = s.finalScf && s.finalScfFrameIndex !== undefined && s.finalScfFrameIndex < frames.length;
  const relaxFrame = hasFinal ? frames[(s.finalScfFrameIndex ?? frames.length) - 1] : last;
  const converged = frameConverged(relaxFrame, true, t);
  const finalOk = hasFinal ? frameConverged(last, true, t) : converged;
  return converged && (finalOk || exceptFinalScf);
}
