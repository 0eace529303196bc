/**
 * Error handlers for pw.x, after aiida-quantumespresso's `PwBaseWorkChain` (workflows/pw/base.py; the behaviour
 * described in the workflow notes ../shared/seeds/001). Pure and deterministic (no I/O, no clock, no randomness):
 * the calculation workflow calls `handlePwResult` after every attempt and passes the repair on.
 *
 * A repair never edits the namelists the failed attempt ran with: it returns the complete new user overrides
 * (`overrides`, merged last by `buildPwInput`), the changes it made (`changes`, keyed 'namelist.key', `from` = the
 * value the failed attempt used or pw.x's default when it was unset, `null` = not set), the structure to start
 * from when it is not the same as before, and which files of the failed attempt the next one needs (`restartFrom`).
 *
 * Handlers, highest priority first; for each failed exit code the first handler that takes it wins (aiida's
 * priorities; 0 for the sanity check, aiida's default):
 *
 *   585 handle_diagonalization_errors           462-468  electrons.diagonalization: next untried of david → ppcg →
 *                                                          paro → cg (ppcg skipped for QE ≥ 7.5, which removed it);
 *                                                          all tried → abort.                          scratch
 *   580 handle_out_of_walltime                   400      output structure of a relax if printed; restart_mode =
 *                                                          'restart'.                                   full
 *   575 handle_ionic_interrupted_partial_trajectory 503   last output structure.                       scratch
 *   570 handle_vcrelax_converged_except_final_scf  501    finish with exit code 501 and the output structure.
 *   561 handle_relax_recoverable_ionic_convergence_bfgs_history_error 520, 521
 *                                                          relax: ions.ion_dynamics = 'damp';
 *                                                          vc-relax, ions.trust_radius_min (default 1e-3) > 1e-4:
 *                                                          ions.trust_radius_ini = trust_radius_min,
 *                                                          ions.trust_radius_min × 0.1;
 *                                                          vc-relax otherwise: ions.ion_dynamics = 'damp',
 *                                                          cell.cell_dynamics = 'damp-w'; output structure.
 *                                                          (other calculations: declines)       charge-density
 *   560 handle_relax_recoverable_ionic_convergence_error 500, 502, 520, 521
 *                                                          output structure.                    charge-density
 *   555 handle_vcrelax_recoverable_fft_significant_volume_contraction_error 542
 *                                                          output structure; cell.cell_factor × 2 (unset: 2 → 4).
 *                                                                                                       scratch
 *   550 handle_relax_recoverable_electronic_convergence_error 510, 511
 *                                                          electrons.mixing_beta × 0.8 (unset: 0.7); output
 *                                                          structure.                                   scratch
 *   430 handle_metal_with_fixed_occupations      0, 410,  fixed occupations on a metal: pw.x's "charge is wrong"
 *                                                531, 710 (531, odd electron counts) or band edges that overlap
 *                                                          (`metallicWithFixedOccupations`): system.occupations =
 *                                                          'smearing' (the protocol's smearing and degauss). scratch
 *   420 handle_electronic_convergence_warning    710      finish with exit code 710.
 *   410 handle_electronic_convergence_not_reached 410     electrons.mixing_beta × 0.8 (unset: 0.7).    full
 *     0 sanity_check_insufficient_bands          0        smearing and the highest band occupied (> 0.005):
 *                                                          system.nbnd = n + max(floor(0.05 n), 4), n = the bands
 *                                                          the run used.                        charge-density
 *
 * Restart types set the namelists as aiida's `set_restart_type` does:
 *   scratch         control.restart_mode, electrons.startingpot, electrons.startingwfc removed (pw.x defaults:
 *                   from_scratch, atomic, atomic+random): no stale restart settings of an earlier repair survive;
 *   charge-density  electrons.startingpot = 'file'; restart_mode and startingwfc removed;
 *   full            control.restart_mode = 'restart' (pw.x reads the wavefunctions and charge density itself);
 *                   startingpot and startingwfc removed.
 * The workflow stages the failed attempt's `<prefix>.save` (charge-density) or its whole outdir (full).
 *
 * Where this differs from aiida on purpose:
 * - diagonalization: aiida leaves the restart settings as they were (a first attempt is from scratch); a crashed
 *   diagonalization leaves its files half-written, so the next attempt always starts from scratch here.
 * - a handler that needs the output structure but finds none printed (e.g. interrupted before the first ionic
 *   step) restarts from the input structure and says so; aiida would fail on the missing output node.
 * - products are rounded to 12 significant digits (0.4 × 0.8 = 0.32, not 0.32000000000000006; 1e-3 × 0.1 = 1e-4,
 *   so the second BFGS failure of a vc-relax switches to damped dynamics as aiida's `> 1.0e-4` intends, where
 *   aiida's float arithmetic would reduce trust_radius_min a second time).
 * - handle_metal_with_fixed_occupations is ours: aiida has no handler for 531 (its message only says smearing might
 *   be required) nor a check of the band edges of a fixed-occupation run. Above the 410 / 710 handlers: no mixing
 *   converges a metal with fixed occupations.
 * - newer aiida (2026-07) rattles a low-symmetry relax once on a BFGS failure; that needs randomness and the
 *   symmetry count, and is not done here (the seed's behaviour, aiida's priority 561).
 */
import type { Structure } from '../../structure/structure.ts';
import type { FailureContext, RepairRecord, Repair, RestartFrom } from '../code.ts';
import { applyParameterEdits, getParameter, numberParameter, numberValue, roundSignificant, stringValue, type ParameterChanges, type ParameterEdit } from '../parameters.ts';
import { PW_EXIT } from './exit-codes.ts';
import type { PwParameters } from './inputs.ts';
import type { PwResult } from './parse.ts';
import { structureFromPwOutput } from './restart.ts';

// ---------------------------------------------------------------------------------------------------------------
// Types

export type PwFailureContext = FailureContext<PwResult>;

// ---------------------------------------------------------------------------------------------------------------
// Defaults and factors (aiida's PwBaseWorkChain.defaults and its qe defaults)

/** pw.x defaults of the variables the handlers change, used when the failed attempt did not set them. */
export const QE_DEFAULTS = {
  mixing_beta: 0.7,
  diagonalization: 'david',
  trust_radius_min: 1e-3,
  ion_dynamics: 'bfgs',
  cell_dynamics: 'bfgs',
  /** aiida assumes 2 (pw.x's default for variable-cell runs). */
  cell_factor: 2,
  conv_thr: 1e-6,
} as const;

export const HANDLER_FACTORS = {
  mixingBeta: 0.8,
  nbndFactor: 0.05,
  nbndMinimum: 4,
  trustRadiusMin: 0.1,
  trustRadiusMinThreshold: 1e-4,
  cellFactor: 2,
} as const;

/** Diagonalization algorithms in the order they are tried. */
export const DIAGONALIZATION_ORDER = ['david', 'ppcg', 'paro', 'cg'] as const;

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** The namelist settings that make pw.x start from scratch, from a charge density, or continue a run (aiida's set_restart_type). */
export function pwRestartEdits(restartFrom: RestartFrom): ParameterEdit[] {
  switch (restartFrom) {
    case 'scratch':
      return [
        { group: 'control', key: 'restart_mode', value: undefined },
        { group: 'electrons', key: 'startingpot', value: undefined },
        { group: 'electrons', key: 'startingwfc', value: undefined },
      ];
    case 'charge-density':
      return [
        { group: 'control', key: 'restart_mode', value: undefined },
        { group: 'electrons', key: 'startingpot', value: 'file' },
        { group: 'electrons', key: 'startingwfc', value: undefined },
      ];
    case 'full':
      return [
        { group: 'control', key: 'restart_mode', value: 'restart' },
        { group: 'electrons', key: 'startingpot', value: undefined },
        { group: 'electrons', key: 'startingwfc', value: undefined },
      ];
  }
}

/** New overrides with `edits` and the namelist settings of `restartFrom` applied (see parameters.ts). */
function applyPwEdits(ctx: Pick<PwFailureContext, 'parameters' | 'overrides'>, edits: readonly ParameterEdit[], restartFrom: RestartFrom) {
  return applyParameterEdits(ctx, [...edits, ...pwRestartEdits(restartFrom)]);
}

/** The restart type the namelists of an attempt imply (what the workflow staged for it). */
export function restartFromParameters(params: PwParameters): RestartFrom {
  if (stringValue(getParameter(params, 'control', 'restart_mode')) === 'restart') return 'full';
  if (stringValue(getParameter(params, 'electrons', 'startingpot')) === 'file') return 'charge-density';
  return 'scratch';
}

type OutputStructure = { structure: Structure | undefined; note: string } | { error: string };

/** The output structure if pw.x printed one; a note for the message when the input structure is kept. */
function outputStructure(ctx: PwFailureContext): OutputStructure {
  if (!ctx.result.finalPositions) {
    return { structure: undefined, note: ' (no output structure was printed: using the input structure)' };
  }
  try {
    return { structure: structureFromPwOutput(ctx.result, ctx.structure), note: ' using the output structure' };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

function restart(
  ctx: PwFailureContext,
  handler: string,
  message: string,
  edits: readonly ParameterEdit[],
  restartFrom: RestartFrom,
  structure?: Structure,
): Repair {
  const { overrides, changes } = applyPwEdits(ctx, edits, restartFrom);
  const repair: Repair = { action: 'restart', handler, message, overrides, changes, restartFrom };
  if (structure) repair.structure = structure;
  return repair;
}

/** A restart that uses the output structure (or the input one if none was printed). */
function restartWithOutputStructure(
  ctx: PwFailureContext,
  handler: string,
  message: string,
  edits: readonly ParameterEdit[],
  restartFrom: RestartFrom,
): Repair {
  const out = outputStructure(ctx);
  if ('error' in out) return { action: 'abort', handler, message: `cannot read the output structure: ${out.error}` };
  return restart(ctx, handler, `${message}${out.note}`, edits, restartFrom, out.structure);
}

function qeVersionAtLeast(version: string | undefined, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

const relaxing = (c: string) => c === 'relax' || c === 'vc-relax';

// ---------------------------------------------------------------------------------------------------------------
// Handlers

interface PwHandler {
  name: string;
  priority: number;
  exitCodes: readonly number[];
  /** undefined: declines (the next handler for the exit code is tried). */
  run(ctx: PwFailureContext): Repair | undefined;
}

function mixingBetaEdit(ctx: PwFailureContext): { edit: ParameterEdit; from: number; to: number } {
  const from = numberParameter(ctx.parameters, 'electrons', 'mixing_beta', QE_DEFAULTS.mixing_beta);
  const to = roundSignificant(from * HANDLER_FACTORS.mixingBeta);
  return { edit: { group: 'electrons', key: 'mixing_beta', value: to, assumed: QE_DEFAULTS.mixing_beta }, from, to };
}

const HANDLERS: readonly PwHandler[] = [
  {
    name: 'handle_diagonalization_errors',
    priority: 585,
    exitCodes: [
      PW_EXIT.ERROR_COMPUTING_CHOLESKY,
      PW_EXIT.ERROR_DIAGONALIZATION_TOO_MANY_BANDS_NOT_CONVERGED,
      PW_EXIT.ERROR_S_MATRIX_NOT_POSITIVE_DEFINITE,
      PW_EXIT.ERROR_ZHEGVD_FAILED,
      PW_EXIT.ERROR_QR_FAILED,
      PW_EXIT.ERROR_EIGENVECTOR_CONVERGENCE,
      PW_EXIT.ERROR_BROYDEN_FACTORIZATION,
    ],
    run(ctx) {
      const name = 'handle_diagonalization_errors';
      const key = 'electrons.diagonalization';
      const current = stringValue(getParameter(ctx.parameters, 'electrons', 'diagonalization')) ?? QE_DEFAULTS.diagonalization;
      // As aiida's ctx.diagonalizations: the algorithm of the first diagonalization failure is never retried, and
      // every algorithm switched to since is used up.
      const earlier = ctx.previousRepairs.filter((r) => r.handler === name && r.changes[key]);
      const first = earlier[0]?.changes[key]?.from;
      const initial = typeof first === 'string' ? first.toLowerCase() : current;
      const tried = new Set<string>([initial, current]);
      for (const r of earlier) {
        const to = r.changes[key]?.to;
        if (typeof to === 'string') tried.add(to.toLowerCase());
      }
      const ppcgRemoved = qeVersionAtLeast(ctx.result.qeVersion, 7, 5);
      const next = DIAGONALIZATION_ORDER.find((d) => !tried.has(d) && !(d === 'ppcg' && ppcgRemoved));
      if (!next) {
        return {
          action: 'abort',
          handler: name,
          message: `found diagonalization issues (${ctx.result.exitName}) but already tried all supported algorithms (${[...tried].join(', ')}), aborting`,
        };
      }
      return restart(
        ctx,
        name,
        `found diagonalization issues (${ctx.result.exitName}) for '${current}', switching to '${next}' diagonalization; restarting from scratch`,
        [{ group: 'electrons', key: 'diagonalization', value: next, assumed: QE_DEFAULTS.diagonalization }],
        'scratch',
      );
    },
  },
  {
    name: 'handle_out_of_walltime',
    priority: 580,
    exitCodes: [PW_EXIT.ERROR_OUT_OF_WALLTIME],
    run(ctx) {
      const name = 'handle_out_of_walltime';
      const message = "out of walltime but clean shutdown: full restart with control.restart_mode = 'restart'";
      if (relaxing(ctx.calculation) && ctx.result.finalPositions) {
        return restartWithOutputStructure(ctx, name, message, [], 'full');
      }
      return restart(ctx, name, message, [], 'full');
    },
  },
  {
    name: 'handle_ionic_interrupted_partial_trajectory',
    priority: 575,
    exitCodes: [PW_EXIT.ERROR_IONIC_INTERRUPTED_PARTIAL_TRAJECTORY],
    run: (ctx) =>
      restartWithOutputStructure(
        ctx,
        'handle_ionic_interrupted_partial_trajectory',
        'ionic cycle interrupted (its charge density and wavefunctions are likely corrupt): restarting from scratch',
        [],
        'scratch',
      ),
  },
  {
    name: 'handle_vcrelax_converged_except_final_scf',
    priority: 570,
    exitCodes: [PW_EXIT.ERROR_IONIC_CONVERGENCE_REACHED_EXCEPT_IN_FINAL_SCF],
    run(ctx) {
      const name = 'handle_vcrelax_converged_except_final_scf';
      const out = outputStructure(ctx);
      if ('error' in out) return { action: 'abort', handler: name, message: `cannot read the output structure: ${out.error}` };
      const repair: Repair = {
        action: 'finish',
        handler: name,
        message: 'ionic convergence reached except in the final SCF: structure considered final, exit code reported',
        exitCode: PW_EXIT.ERROR_IONIC_CONVERGENCE_REACHED_EXCEPT_IN_FINAL_SCF,
      };
      if (out.structure) repair.structure = out.structure;
      return repair;
    },
  },
  {
    name: 'handle_relax_recoverable_ionic_convergence_bfgs_history_error',
    priority: 561,
    exitCodes: [PW_EXIT.ERROR_IONIC_CYCLE_BFGS_HISTORY_FAILURE, PW_EXIT.ERROR_IONIC_CYCLE_BFGS_HISTORY_AND_FINAL_SCF_FAILURE],
    run(ctx) {
      const name = 'handle_relax_recoverable_ionic_convergence_bfgs_history_error';
      const trm = numberParameter(ctx.parameters, 'ions', 'trust_radius_min', QE_DEFAULTS.trust_radius_min);
      let edits: ParameterEdit[];
      let message: string;
      if (ctx.calculation === 'relax') {
        edits = [{ group: 'ions', key: 'ion_dynamics', value: 'damp', assumed: QE_DEFAULTS.ion_dynamics }];
        message = "bfgs history (ionic only) failure: restarting with 'damp' dynamics from the charge density";
      } else if (ctx.calculation === 'vc-relax' && trm > HANDLER_FACTORS.trustRadiusMinThreshold) {
        const next = roundSignificant(trm * HANDLER_FACTORS.trustRadiusMin);
        edits = [
          { group: 'ions', key: 'trust_radius_ini', value: trm }, // start close
          { group: 'ions', key: 'trust_radius_min', value: next, assumed: QE_DEFAULTS.trust_radius_min },
        ];
        message = `bfgs history (vc-relax) failure: restarting with trust_radius_min = ${next} from the charge density`;
      } else if (ctx.calculation === 'vc-relax') {
        edits = [
          { group: 'ions', key: 'ion_dynamics', value: 'damp', assumed: QE_DEFAULTS.ion_dynamics },
          { group: 'cell', key: 'cell_dynamics', value: 'damp-w', assumed: QE_DEFAULTS.cell_dynamics },
        ];
        message = "bfgs history (vc-relax) failure: restarting with 'damp' / 'damp-w' dynamics from the charge density";
      } else {
        return undefined;
      }
      return restartWithOutputStructure(ctx, name, message, edits, 'charge-density');
    },
  },
  {
    name: 'handle_relax_recoverable_ionic_convergence_error',
    priority: 560,
    exitCodes: [
      PW_EXIT.ERROR_IONIC_CONVERGENCE_NOT_REACHED,
      PW_EXIT.ERROR_IONIC_CYCLE_EXCEEDED_NSTEP,
      PW_EXIT.ERROR_IONIC_CYCLE_BFGS_HISTORY_FAILURE,
      PW_EXIT.ERROR_IONIC_CYCLE_BFGS_HISTORY_AND_FINAL_SCF_FAILURE,
    ],
    run: (ctx) =>
      restartWithOutputStructure(
        ctx,
        'handle_relax_recoverable_ionic_convergence_error',
        'no ionic convergence but clean shutdown: restarting from the charge density',
        [],
        'charge-density',
      ),
  },
  {
    name: 'handle_vcrelax_recoverable_fft_significant_volume_contraction_error',
    priority: 555,
    exitCodes: [PW_EXIT.ERROR_RADIAL_FFT_SIGNIFICANT_VOLUME_CONTRACTION],
    run(ctx) {
      const from = numberParameter(ctx.parameters, 'cell', 'cell_factor', QE_DEFAULTS.cell_factor);
      const to = roundSignificant(from * HANDLER_FACTORS.cellFactor);
      return restartWithOutputStructure(
        ctx,
        'handle_vcrelax_recoverable_fft_significant_volume_contraction_error',
        `significant volume scaling but clean shutdown: restarting from scratch with cell_factor = ${to}`,
        [{ group: 'cell', key: 'cell_factor', value: to, assumed: QE_DEFAULTS.cell_factor }],
        'scratch',
      );
    },
  },
  {
    name: 'handle_relax_recoverable_electronic_convergence_error',
    priority: 550,
    exitCodes: [
      PW_EXIT.ERROR_IONIC_CYCLE_ELECTRONIC_CONVERGENCE_NOT_REACHED,
      PW_EXIT.ERROR_IONIC_CONVERGENCE_REACHED_FINAL_SCF_FAILED,
    ],
    run(ctx) {
      const m = mixingBetaEdit(ctx);
      return restartWithOutputStructure(
        ctx,
        'handle_relax_recoverable_electronic_convergence_error',
        `no electronic convergence but clean shutdown: reduced mixing_beta from ${m.from} to ${m.to}, restarting from scratch`,
        [m.edit],
        'scratch',
      );
    },
  },
  {
    name: 'handle_metal_with_fixed_occupations',
    priority: 430,
    exitCodes: [
      PW_EXIT.SUCCESS,
      PW_EXIT.ERROR_ELECTRONIC_CONVERGENCE_NOT_REACHED,
      PW_EXIT.ERROR_CHARGE_IS_WRONG,
      PW_EXIT.WARNING_ELECTRONIC_CONVERGENCE_NOT_REACHED,
    ],
    run(ctx) {
      // pw.x's default occupations are fixed
      if ((stringValue(getParameter(ctx.parameters, 'system', 'occupations')) ?? 'fixed') !== 'fixed') return undefined;
      const r = ctx.result;
      let why: string;
      if (r.exitCode === PW_EXIT.ERROR_CHARGE_IS_WRONG) why = 'the charge is wrong with fixed occupations';
      else if (r.metallicWithFixedOccupations) why = `the lowest unoccupied level (${r.lowestUnoccupiedEv} eV) lies below the highest occupied one (${r.highestOccupiedEv} eV)`;
      else return undefined;
      return restart(
        ctx,
        'handle_metal_with_fixed_occupations',
        `${why}: a metal, switching to smearing and restarting from scratch`,
        [{ group: 'system', key: 'occupations', value: 'smearing', assumed: 'fixed' }],
        'scratch',
      );
    },
  },
  {
    name: 'handle_electronic_convergence_warning',
    priority: 420,
    exitCodes: [PW_EXIT.WARNING_ELECTRONIC_CONVERGENCE_NOT_REACHED],
    run: () => ({
      action: 'finish',
      handler: 'handle_electronic_convergence_warning',
      message: 'electronic convergence not reached but the inputs say this is ok: considered finished',
      exitCode: PW_EXIT.WARNING_ELECTRONIC_CONVERGENCE_NOT_REACHED,
    }),
  },
  {
    name: 'handle_electronic_convergence_not_reached',
    priority: 410,
    exitCodes: [PW_EXIT.ERROR_ELECTRONIC_CONVERGENCE_NOT_REACHED],
    run(ctx) {
      const m = mixingBetaEdit(ctx);
      return restart(
        ctx,
        'handle_electronic_convergence_not_reached',
        `reduced mixing_beta from ${m.from} to ${m.to} and restarting in full from the last calculation`,
        [m.edit],
        'full',
      );
    },
  },
  {
    name: 'sanity_check_insufficient_bands',
    priority: 0,
    exitCodes: [PW_EXIT.SUCCESS],
    run(ctx) {
      const name = 'sanity_check_insufficient_bands';
      // aiida skips the check only when occupations are explicitly 'fixed'; the parser flags only smearing runs.
      if (stringValue(getParameter(ctx.parameters, 'system', 'occupations')) === 'fixed') return undefined;
      if (ctx.result.insufficientBands !== true) return undefined;
      const current = ctx.result.numberOfBands ?? numberValue(getParameter(ctx.parameters, 'system', 'nbnd'));
      if (current === undefined || !(current > 0)) {
        return {
          action: 'abort',
          handler: name,
          message: 'the highest band is occupied (insufficient bands) but the number of bands used is unknown',
        };
      }
      const next = current + Math.max(Math.floor(current * HANDLER_FACTORS.nbndFactor), HANDLER_FACTORS.nbndMinimum);
      const problem = `the highest band holds up to ${ctx.result.highestBandOccupationMax ?? '?'} electrons (insufficient bands)`;
      const repair = restart(ctx, name, `${problem}: increased nbnd from ${current} to ${next}, restarting from the charge density`, [{ group: 'system', key: 'nbnd', value: next, assumed: current }], 'charge-density');
      return { ...repair, problem };
    },
  },
];

/** The handler table (name, priority, exit codes), highest priority first. */
export const PW_HANDLERS: readonly { name: string; priority: number; exitCodes: readonly number[] }[] = [...HANDLERS]
  .sort((a, b) => b.priority - a.priority)
  .map(({ name, priority, exitCodes }) => Object.freeze({ name, priority, exitCodes: Object.freeze([...exitCodes]) }));

const SORTED_HANDLERS = [...HANDLERS].sort((a, b) => b.priority - a.priority);

/**
 * The repair for a pw.x attempt: the first handler (by priority) for its exit code that takes it. undefined when
 * no handler applies: for a failure, fail with the parsed reason; for a success (exit 0), the sanity check found
 * nothing wrong.
 */
export function handlePwResult(ctx: PwFailureContext): Repair | undefined {
  for (const h of SORTED_HANDLERS) {
    if (!h.exitCodes.includes(ctx.result.exitCode)) continue;
    const repair = h.run(ctx);
    if (repair) return repair;
  }
  return undefined;
}
