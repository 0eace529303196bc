/**
 * dos.x and projwfc.x after an nscf: their input (reading the nscf's outdir in place) and which executable runs
 * them. One place for both the local run beside the worker and the SLURM job on a cluster.
 */
import type { CodeExecutable } from '../../cluster-profile.ts';
import { buildDosInput } from './dos.ts';
import { PW_FILES } from './files.ts';
import { buildProjwfcInput } from './projwfc.ts';

export type PostprocessKind = 'dos' | 'projwfc';

export interface PostprocessWindow {
  emin?: number;
  emax?: number;
  deltaE?: number;
}

export interface PostprocessInput {
  text: string;
  /** Relative to the tool's work directory. */
  inputFile: string;
  stdoutFile: string;
  stderrFile: string;
  /** The tool's name on PATH, and its code id in a cluster profile's `executables`. */
  program: 'dos.x' | 'projwfc.x';
  codeId: 'qe-dos' | 'qe-projwfc';
}

/**
 * The DOS window: 20 eV either side of the scf's Fermi level, or of its highest occupied level when it has none
 * (fixed occupations), in steps of 0.02 eV; −20..20 eV when it has neither. Band energies have no common zero
 * (each pseudopotential sets its own), so a window fixed in absolute energy cut each material's DOS elsewhere.
 */
export function dosWindow(scf: { fermiEnergyEv?: number; highestOccupiedEv?: number }): Required<PostprocessWindow> {
  const reference = scf.fermiEnergyEv ?? scf.highestOccupiedEv ?? 0;
  const cents = (x: number) => Math.round(x * 100) / 100; // a clean dos.x input: 6.2544 - 20 is written -13.75
  return { emin: cents(reference - 20), emax: cents(reference + 20), deltaE: 0.02 };
}

/** The input of dos.x / projwfc.x for the nscf whose outdir is `nscfOutdir` (absolute, on the machine that runs it). */
export function postprocessInput(kind: PostprocessKind, nscfWorkDir: string, window: PostprocessWindow): PostprocessInput {
  const outdir = `${nscfWorkDir.replace(/\/+$/, '')}/${PW_FILES.outdir}`;
  const text =
    kind === 'dos'
      ? buildDosInput({ prefix: PW_FILES.prefix, outdir, fildos: `${PW_FILES.prefix}.dos`, ...window }).text
      : buildProjwfcInput({ prefix: PW_FILES.prefix, outdir, filpdos: PW_FILES.prefix, ...window }).text;
  return {
    text,
    inputFile: `${kind}.in`,
    stdoutFile: `${kind}.out`,
    stderrFile: `${kind}.err`,
    program: kind === 'dos' ? 'dos.x' : 'projwfc.x',
    codeId: kind === 'dos' ? 'qe-dos' : 'qe-projwfc',
  };
}

/**
 * The executable of a QE post-processing tool on a cluster: the profile's own entry when it has one, else the
 * tool beside the profile's pw.x (same directory, modules and environment: QE installs them together), serial.
 */
export function qeToolExecutable(executables: Record<string, CodeExecutable>, input: Pick<PostprocessInput, 'program' | 'codeId'>): CodeExecutable | undefined {
  const own = executables[input.codeId];
  if (own) return own;
  const pw = executables['qe-pw'];
  if (!pw) return undefined;
  const dir = pw.executable.includes('/') ? pw.executable.slice(0, pw.executable.lastIndexOf('/') + 1) : '';
  return { ...pw, executable: `${dir}${input.program}`, mpi: false };
}
