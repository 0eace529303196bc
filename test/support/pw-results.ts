/** Synthetic pw.x attempts for the handler and recovery-strategy unit tests: a parsed result and its namelists. */
import { pwExitByCode } from '../../src/domain/codes/qe/exit-codes.ts';
import type { PwFailureContext } from '../../src/domain/codes/qe/handlers.ts';
import type { PwParameters } from '../../src/domain/codes/qe/inputs.ts';
import type { PwResult } from '../../src/domain/codes/qe/parse.ts';
import type { CalculationResult } from '../../src/domain/calculation.ts';

/** A parsed result with the exit code's own name and message. */
export function pwResult(exitCode: number, extra: Partial<PwResult> = {}): PwResult {
  const e = pwExitByCode(exitCode);
  if (!e) throw new Error(`no exit code ${exitCode}`);
  return { exitCode, exitName: e.name, exitMessage: e.message, jobDone: true, warnings: [], errorMessages: [], ...extra };
}

/** The namelists buildPwInput writes for the moderate protocol (what the failed attempt ran with), plus `extra`. */
export function pwParametersFor(calculation: PwFailureContext['calculation'], extra: PwParameters = {}): PwParameters {
  const p: PwParameters = {
    control: { calculation, prefix: 'pwscf', outdir: './out', pseudo_dir: './pseudo', tprnfor: true, tstress: true },
    system: { ibrav: 0, nat: 2, ntyp: 1, ecutwfc: 30, ecutrho: 240, occupations: 'smearing', smearing: 'cold', degauss: 0.02 },
    electrons: { conv_thr: 4e-10, mixing_beta: 0.4, electron_maxstep: 80 },
  };
  if (calculation === 'relax' || calculation === 'vc-relax') {
    p.control!.nstep = 50;
    p.ions = { ion_dynamics: 'bfgs' };
  }
  if (calculation === 'vc-relax') p.cell = { cell_dynamics: 'bfgs', press_conv_thr: 0.5 };
  for (const [nl, values] of Object.entries(extra) as [keyof PwParameters, Record<string, string | number | boolean>][]) {
    p[nl] = { ...(p[nl] ?? {}), ...values };
  }
  return p;
}

/** A pw.x calculation's outputs with pw.x's own fields (a `calculation` result is typed for any code). */
export const pwOutputs = (r: CalculationResult): PwResult => r.outputs as PwResult;
