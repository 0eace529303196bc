/**
 * The one interface every code implements (`qe` pw.x today; VASP, CRYSTAL23, YAMBO, ... each a folder of its own
 * under src/domain/codes plus one line in ./registry.ts). The `calculation` workflow, the recovery strategies
 * and the calculation activities know codes only through it, so adding a code touches nothing else.
 *
 * A code says, purely (no I/O: this runs inside workflows too):
 * - what it computes (`calculations`) and how its parameters look (`parametersSchema`: groups of keys, written
 *   'group.key' in repairs, rules and results: a pw.x namelist, an INCAR, a d12 block);
 * - inputs → files (`writeInput`), the command line, the files it writes and which of them are kept;
 * - outputs → a typed result with an exit code (`parse`); which exit codes are successes;
 * - its handlers (`repair`: failure → the repaired next attempt), and what the generic strategies need to
 *   know about it (a convergence or walltime failure, how to loosen convergence, whether files are reusable);
 * - what a restart stages from the previous attempt (`restartFiles`) and the parameters that make the code
 *   read them (`restartEdits`), and the structure a run ends with (`outputStructure`).
 */
import type { z } from 'zod';
import type { CalculationType } from '../calculation-types.ts';
import type { ElectronicType, Magnetism } from '../electronic-defaults.ts';
import type { ProtocolName } from '../protocols.ts';
import type { Structure } from '../structure/structure.ts';
import type { CodeParameters, ParameterChanges, ParameterEdit } from './parameters.ts';
import type { PseudoFamily } from './qe/pseudos.ts';

/** Which files of the previous attempt the next one starts from. `scratch`: none. */
export type RestartFrom = 'scratch' | 'charge-density' | 'full';

/**
 * What every parser returns; a code's own result type extends it. The observables are those any electronic-
 * structure code reports, in the units every consumer reads (eV, kbar), so exports and the CLI need no code.
 */
export interface CodeResult {
  exitCode: number;
  exitName: string;
  exitMessage: string;
  /** Fatal messages of the run, short (error blocks, crash files). */
  errorMessages: string[];
  /** Notable messages, short. */
  warnings: string[];
  totalEnergyEv?: number;
  fermiEnergyEv?: number;
  highestOccupiedEv?: number;
  lowestUnoccupiedEv?: number;
  /** The gap on the run's own k-points (a mesh can miss the band edges). */
  bandGapEv?: number;
  pressureKbar?: number;
  /** Spin-polarised runs: the cell's total and absolute magnetisation, Bohr magnetons (μB). */
  totalMagnetizationBohrMag?: number;
  absoluteMagnetizationBohrMag?: number;
  wallTimeSeconds?: number;
  cpuTimeSeconds?: number;
}

/** What a code's input writer is given. Everything but `overrides` and `structure` is fixed for a calculation. */
export interface CodeInputRequest {
  structure: Structure;
  calculation: string;
  protocol: ProtocolName;
  /** The user's parameter overrides and those of earlier repairs, applied after the protocol. */
  overrides: CodeParameters;
  /** k-points: a mesh, or a density; absent: the protocol's. */
  kpoints?: { mesh: [number, number, number]; offset?: [0 | 1, 0 | 1, 0 | 1] } | { distance: number };
  /** A band-structure path as crystal_b vertices [label, [x, y, z], points to the next vertex]. */
  kpath?: readonly (readonly [string, readonly [number, number, number], number])[];
  electronicType: ElectronicType;
  /** Spin polarisation; absent in requests of activities scheduled before it existed (then 'auto'). */
  magnetism?: Magnetism;
  walltimeSeconds: number;
  /**
   * The input's pseudopotential family, when the code uses one (`pseudopotentials: 'family'`): its description,
   * the directory as seen by the machine that runs the code, and the valence charge per element.
   */
  pseudos?: { family: PseudoFamily; dir: string; valenceElectrons: Record<string, number> };
}

export interface CodeInput {
  /** File name (relative to the work directory) → content. */
  files: Record<string, string>;
  /** The complete parameters the run uses (protocol and overrides applied), for the parser and repairs. */
  parameters: CodeParameters;
  /** The k-mesh and cutoffs that were used (0x0x0: a path, not a mesh). */
  summary: InputSummary;
}

export interface InputSummary {
  kMesh: [number, number, number];
  kOffset: [number, number, number];
  ecutwfc: number;
  ecutrho: number;
}

/** What the parser is given: the kept files that exist (name → text) and what the executor saw. */
export interface CodeOutputs {
  files: Record<string, string | undefined>;
  /** The process's exit status, when known. */
  processExitStatus?: number;
  /** The executor stopped the job at its walltime. */
  schedulerOutOfWalltime: boolean;
  parameters: CodeParameters;
}

/** A repair made earlier in the same calculation (handlers look at them, e.g. not to try an algorithm twice). */
export interface RepairRecord {
  handler: string;
  changes: ParameterChanges;
  restartFrom?: RestartFrom;
}

export interface FailureContext<R extends CodeResult = CodeResult> {
  calculation: string;
  /** The parameters the attempt ran with (final: protocol and overrides). */
  parameters: CodeParameters;
  /** The overrides so far; a repair returns new ones. */
  overrides: CodeParameters;
  /** The structure the attempt started from. */
  structure: Structure;
  result: R;
  previousRepairs: readonly RepairRecord[];
}

/** A handler's verdict on an attempt. */
export type Repair =
  | {
      action: 'restart';
      handler: string;
      /** What was found and what the restart changes ("... insufficient bands: increased nbnd from 20 to 24, ..."). */
      message: string;
      /**
       * What was found, without the repair ("the highest band holds up to 0.02 electrons (insufficient bands)"): the
       * message of a strategy that does not repair (fail_fast, retry) or of an attempt limit that stops the repair.
       */
      problem?: string;
      /** The complete new overrides. */
      overrides: CodeParameters;
      changes: ParameterChanges;
      /** The structure to start from, when not the failed attempt's. */
      structure?: Structure;
      restartFrom: RestartFrom;
    }
  | { action: 'finish'; handler: string; message: string; exitCode: number; structure?: Structure }
  | { action: 'abort'; handler: string; message: string };

export interface Code<R extends CodeResult = CodeResult> {
  /** The code's id: the key of a cluster profile's `executables` and the `code` of a calculation input. */
  id: string;
  /** The program, in messages ("pw.x scf failed ..."). */
  program: string;
  /** Short name of its runs in work-directory paths and job names (`<workflow>/<step>/<attempt>`; pw.x: `pw`). */
  step: string;
  calculations: readonly CalculationType[];
  /** Calculations whose output structure differs from the input one (relaxations). */
  relaxations: readonly CalculationType[];
  /** Validates a calculation's `parameters` (the overrides). */
  parametersSchema: z.ZodType<CodeParameters>;
  /** 'family': the worker loads the input's pseudopotential family and passes it to `writeInput`. */
  pseudopotentials: 'family' | 'none';
  files: {
    stdout: string;
    stderr: string;
    /** Files parsed and copied into the artifact store, relative to the work directory. */
    kept: readonly string[];
  };
  command(executable: string): string[];
  /** Throws an Error with a message for the user when the request cannot be written (not retried). */
  writeInput(req: CodeInputRequest): CodeInput;
  parse(outputs: CodeOutputs): R;
  isSuccess(exitCode: number): boolean;
  /** The code's handlers, first that applies; on a success, its sanity checks. undefined: none applies. */
  repair(ctx: FailureContext<R>): Repair | undefined;
  /** What the generic strategies (adaptive, checkpoint) need to know about this code. */
  generic: {
    /** Which convergence failed, if one did (the seed's generic rules loosen the threshold for either). */
    convergenceFailure(result: R): 'electronic' | 'ionic' | undefined;
    /** The edits that loosen the electronic convergence threshold (× factor), if the code has one. */
    loosenConvergence(ctx: FailureContext<R>, factor: number): ParameterEdit[] | undefined;
    isWalltimeFailure(result: R): boolean;
    /** The attempt shut down cleanly, so its restart files (e.g. a charge density) are complete. */
    leftReusableFiles(result: R): boolean;
  };
  /** Paths (relative to the work directory) a restart of this kind copies from the previous attempt. */
  restartFiles(kind: Exclude<RestartFrom, 'scratch'>): readonly string[];
  /** The parameter settings that make the code start from those files (and clear those of other kinds). */
  restartEdits(kind: RestartFrom): ParameterEdit[];
  /** The structure a relaxation ended with; throws when the result has none. */
  outputStructure(result: R, start: Structure): Structure;
}
