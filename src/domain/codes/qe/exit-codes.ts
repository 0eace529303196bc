/**
 * Exit codes of a pw.x run as decided by `parsePwOutput` (./parse.ts).
 *
 * Numbers, names and messages follow aiida-quantumespresso's `PwCalculation` so that handlers written for its
 * `PwBaseWorkChain` (see the workflow notes in ../shared/seeds) map one to one:
 *   0          success
 *   3xx        the output files are missing, incomplete or unreadable: nothing to restart from safely
 *   4xx        pw.x stopped early (walltime, diagonalisation, SCF) but cleanly: a handler may repair and restart
 *   5xx        ionic (relax / vc-relax) failures
 *   7xx        warnings: the run did what the input asked for, with a caveat (counts as success)
 */

export interface PwExitCode {
  readonly code: number;
  readonly name: string;
  readonly message: string;
}

export const PW_EXIT_CODES = [
  { code: 0, name: 'SUCCESS', message: 'The calculation finished successfully.' },
  {
    code: 302,
    name: 'ERROR_OUTPUT_STDOUT_MISSING',
    message: 'The retrieved folder did not contain the required stdout output file.',
  },
  { code: 303, name: 'ERROR_OUTPUT_XML_MISSING', message: 'The retrieved folder did not contain the required XML file.' },
  {
    code: 305,
    name: 'ERROR_OUTPUT_FILES',
    message: 'Both the stdout and XML output files could not be read or parsed.',
  },
  {
    // Also the code of a run killed from outside (signal, node failure, OOM killer, walltime without a scheduler
    // report) or of pw.x stopping on an error this parser does not recognise: no `JOB DONE` and no known message.
    code: 312,
    name: 'ERROR_OUTPUT_STDOUT_INCOMPLETE',
    message: 'The stdout output file was incomplete probably because the calculation got interrupted.',
  },
  { code: 321, name: 'ERROR_OUTPUT_XML_PARSE', message: 'The XML output file could not be parsed.' },
  {
    code: 340,
    name: 'ERROR_OUT_OF_WALLTIME_INTERRUPTED',
    message:
      'The calculation stopped prematurely because it ran out of walltime but the job was killed by the scheduler ' +
      'before the files were safely written to disk for a potential restart.',
  },
  { code: 350, name: 'ERROR_UNEXPECTED_PARSER_EXCEPTION', message: 'The parser raised an unexpected exception.' },
  { code: 360, name: 'ERROR_G_PAR', message: 'The code failed in finding a valid reciprocal lattice vector.' },
  {
    code: 400,
    name: 'ERROR_OUT_OF_WALLTIME',
    message: 'The calculation stopped prematurely because it ran out of walltime.',
  },
  {
    code: 410,
    name: 'ERROR_ELECTRONIC_CONVERGENCE_NOT_REACHED',
    message: 'The electronic minimization cycle did not reach self-consistency.',
  },
  {
    code: 461,
    name: 'ERROR_DEXX_IS_NEGATIVE',
    message: 'The code failed with negative dexx in the exchange calculation.',
  },
  { code: 462, name: 'ERROR_COMPUTING_CHOLESKY', message: 'The code failed during the cholesky factorization.' },
  {
    code: 463,
    name: 'ERROR_DIAGONALIZATION_TOO_MANY_BANDS_NOT_CONVERGED',
    message: 'Too many bands failed to converge during the diagonalization.',
  },
  {
    code: 464,
    name: 'ERROR_S_MATRIX_NOT_POSITIVE_DEFINITE',
    message: 'The S matrix was found to be not positive definite.',
  },
  { code: 465, name: 'ERROR_ZHEGVD_FAILED', message: 'The `zhegvd` failed in the PPCG diagonalization.' },
  { code: 466, name: 'ERROR_QR_FAILED', message: 'The `[Q, R] = qr(X, 0)` failed in the PPCG diagonalization.' },
  { code: 467, name: 'ERROR_EIGENVECTOR_CONVERGENCE', message: 'The eigenvector failed to converge.' },
  { code: 468, name: 'ERROR_BROYDEN_FACTORIZATION', message: 'The factorization in the Broyden routine failed.' },
  {
    code: 481,
    name: 'ERROR_NPOOLS_TOO_HIGH',
    message: 'The k-point parallelization "npools" is too high, some nodes have no k-points.',
  },
  {
    code: 500,
    name: 'ERROR_IONIC_CONVERGENCE_NOT_REACHED',
    message: 'The ionic minimization cycle did not converge for the given thresholds.',
  },
  {
    code: 501,
    name: 'ERROR_IONIC_CONVERGENCE_REACHED_EXCEPT_IN_FINAL_SCF',
    message: 'The ionic minimization cycle converged but the thresholds are exceeded in the final SCF.',
  },
  {
    code: 502,
    name: 'ERROR_IONIC_CYCLE_EXCEEDED_NSTEP',
    message: 'The ionic minimization cycle did not converge after the maximum number of steps.',
  },
  {
    code: 503,
    name: 'ERROR_IONIC_INTERRUPTED_PARTIAL_TRAJECTORY',
    message:
      'The ionic minimization cycle did not finish because the calculation was interrupted but a partial ' +
      'trajectory and output structure was successfully parsed which can be used for a restart.',
  },
  {
    code: 510,
    name: 'ERROR_IONIC_CYCLE_ELECTRONIC_CONVERGENCE_NOT_REACHED',
    message: 'The electronic minimization cycle failed during an ionic minimization cycle.',
  },
  {
    code: 511,
    name: 'ERROR_IONIC_CONVERGENCE_REACHED_FINAL_SCF_FAILED',
    message: 'The ionic minimization cycle converged, but electronic convergence was not reached in the final SCF.',
  },
  {
    code: 520,
    name: 'ERROR_IONIC_CYCLE_BFGS_HISTORY_FAILURE',
    message:
      'The ionic minimization cycle terminated prematurely because of two consecutive failures in the BFGS algorithm.',
  },
  {
    code: 521,
    name: 'ERROR_IONIC_CYCLE_BFGS_HISTORY_AND_FINAL_SCF_FAILURE',
    message:
      'The ionic minimization cycle terminated prematurely because of two consecutive failures in the BFGS ' +
      'algorithm and electronic convergence failed in the final SCF.',
  },
  {
    code: 531,
    name: 'ERROR_CHARGE_IS_WRONG',
    message:
      'The difference between the total charge and the number of electrons exceeds the threshold. Smearing might ' +
      'be required, check the output file for details.',
  },
  {
    code: 541,
    name: 'ERROR_SYMMETRY_NON_ORTHOGONAL_OPERATION',
    message: 'The variable cell optimization broke the symmetry of the k-points.',
  },
  {
    code: 542,
    name: 'ERROR_RADIAL_FFT_SIGNIFICANT_VOLUME_CONTRACTION',
    message:
      'The cell relaxation caused a significant volume contraction and there is not enough space allocated for ' +
      'radial FFT.',
  },
  {
    code: 710,
    name: 'WARNING_ELECTRONIC_CONVERGENCE_NOT_REACHED',
    message:
      'The electronic minimization cycle did not reach self-consistency, but `scf_must_converge` is `False` ' +
      'and/or `electron_maxstep` is 0.',
  },
] as const satisfies readonly PwExitCode[];

export type PwExitName = (typeof PW_EXIT_CODES)[number]['name'];

/** Exit code number by name, e.g. `PW_EXIT.ERROR_OUT_OF_WALLTIME === 400`. */
export const PW_EXIT = Object.freeze(
  Object.fromEntries(PW_EXIT_CODES.map((c) => [c.name, c.code])) as { readonly [K in PwExitName]: number },
);

/**
 * A run that ended without `JOB DONE` and without any message saying why: killed from outside (signal, OOM killer,
 * node failure, a walltime limit the scheduler did not report) or truncated output. Same number as
 * ERROR_OUTPUT_STDOUT_INCOMPLETE (aiida-quantumespresso has no separate code for it).
 */
export const PW_EXIT_KILLED_OR_TRUNCATED = PW_EXIT.ERROR_OUTPUT_STDOUT_INCOMPLETE;

const BY_NAME = new Map<string, PwExitCode>(PW_EXIT_CODES.map((c) => [c.name, c]));
const BY_CODE = new Map<number, PwExitCode>(PW_EXIT_CODES.map((c) => [c.code, c]));

export function pwExitByName(name: PwExitName): PwExitCode {
  const found = BY_NAME.get(name);
  if (!found) throw new Error(`unknown pw.x exit name ${name}`);
  return found;
}

export function pwExitByCode(code: number): PwExitCode | undefined {
  return BY_CODE.get(code);
}

/** 7xx: finished as the input asked, with a caveat the caller accepted (e.g. `scf_must_converge = .false.`). */
export function isWarningPwExit(code: number): boolean {
  return code >= 700 && code < 800;
}

/** Success for the workflow: 0, or a 7xx warning. */
export function isSuccessfulPwExit(code: number): boolean {
  return code === 0 || isWarningPwExit(code);
}

/**
 * Post-run sanity checks on a *successful* run. They are not exit codes (the parser keeps exit code 0); the
 * workflow reads the flag from the parsed result and decides (aiida: `sanity_check_insufficient_bands`).
 */
export const PW_SANITY_CHECKS = {
  INSUFFICIENT_BANDS: {
    name: 'SANITY_INSUFFICIENT_BANDS',
    /** A k-point / spin whose highest band holds more electrons than this means `nbnd` was too small. */
    occupationThreshold: 0.005,
    message:
      'The highest band is occupied (> 0.005 electrons) at some k-point or spin channel: too few bands (nbnd) were ' +
      'used; increase nbnd and restart from the charge density.',
    resultField: 'insufficientBands',
  },
  /** Ours (aiida has no such check): found also on failed runs, where it explains the failure. */
  METAL_WITH_FIXED_OCCUPATIONS: {
    name: 'SANITY_METAL_WITH_FIXED_OCCUPATIONS',
    message:
      'Fixed occupations, but the lowest empty level lies below the highest occupied one on the k-points of the run: ' +
      'the system is a metal (or semimetal), which fixed occupations cannot describe; use smearing.',
    resultField: 'metallicWithFixedOccupations',
  },
} as const;
