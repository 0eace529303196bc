/**
 * dos.x: the input file, the `.dos` file it writes, and its stdout.
 *
 * Pure: text in, data out. dos.x reads the eigenvalues of a finished pw.x run (`prefix`, `outdir`; an nscf on a
 * denser mesh, with tetrahedra or smearing) and writes `fildos` with the header
 * `#  E (eV)   dos(E)     Int dos(E) EFermi =    6.468 eV` (spin-polarised: `dosup(E) dosdw(E)`).
 * For an insulator, EFermi can sit anywhere in the gap: align to the VBM (../../analysis/bandgap.ts).
 */
import { fortranValue } from './inputs.ts';
import type { Namelist } from './inputs.ts';
import { ReadError } from '../../read-error.ts';
import { errorBlocks, numbersIn } from './text.ts';

export interface DosInputRequest {
  /** pw.x's prefix and outdir (as seen by the machine that runs dos.x). */
  prefix: string;
  outdir: string;
  /** Output file; default `${prefix}.dos`. */
  fildos?: string;
  /** Energy window and step, eV (dos.x defaults: the band range, 0.01 eV). */
  emin?: number;
  emax?: number;
  deltaE?: number;
  /** Gaussian broadening, Ry; without it dos.x uses the run's own smearing or tetrahedra. */
  degauss?: number;
  /** Smearing kind with degauss: 0 Gaussian, 1 Methfessel–Paxton, -1 cold, -99 Fermi–Dirac. */
  ngauss?: number;
  /** Sum over k-points with the run's smearing/tetrahedra; dos.x's `bz_sum` (QE >= 6.8), written only when given. */
  bzSum?: 'smearing' | 'tetrahedra' | 'tetrahedra_lin' | 'tetrahedra_opt';
}

export interface DosInput {
  text: string;
  parameters: Namelist;
  fildos: string;
}

const noBreak = (v: string, what: string) => {
  if (!v || /[\r\n]/.test(v)) throw new Error(`${what} must be a non-empty string without line breaks`);
  return v;
};

/** A `&NAME ... /` namelist with aligned keys, values through fortranValue (shared by dos.x and projwfc.x inputs). */
export function writeToolNamelist(name: string, values: Namelist): string {
  const width = Math.max(0, ...Object.keys(values).map((k) => k.length));
  const lines = Object.entries(values).map(([k, v]) => `  ${k.padEnd(width)} = ${fortranValue(v)}`);
  return [`&${name}`, ...lines, '/'].join('\n') + '\n';
}

function checkWindow(r: { emin?: number; emax?: number; deltaE?: number; degauss?: number }): void {
  for (const [k, v] of Object.entries(r)) if (v !== undefined && !Number.isFinite(v)) throw new Error(`${k} must be a finite number`);
  if (r.emin !== undefined && r.emax !== undefined && !(r.emin < r.emax)) throw new Error(`emin (${r.emin}) must be below emax (${r.emax})`);
  if (r.deltaE !== undefined && !(r.deltaE > 0)) throw new Error(`deltaE must be positive, got ${r.deltaE}`);
  if (r.degauss !== undefined && !(r.degauss > 0)) throw new Error(`degauss must be positive (Ry), got ${r.degauss}`);
}

/** The dos.x input (`&DOS` namelist). Throws on an empty prefix/outdir or an inverted window. */
export function buildDosInput(req: DosInputRequest): DosInput {
  checkWindow({ emin: req.emin, emax: req.emax, deltaE: req.deltaE, degauss: req.degauss });
  const fildos = noBreak(req.fildos ?? `${req.prefix}.dos`, 'fildos');
  const p: Namelist = { prefix: noBreak(req.prefix, 'prefix'), outdir: noBreak(req.outdir, 'outdir'), fildos };
  if (req.emin !== undefined) p.Emin = req.emin;
  if (req.emax !== undefined) p.Emax = req.emax;
  if (req.deltaE !== undefined) p.DeltaE = req.deltaE;
  if (req.degauss !== undefined) p.degauss = req.degauss;
  if (req.ngauss !== undefined) p.ngauss = req.ngauss;
  if (req.bzSum !== undefined) p.bz_sum = req.bzSum;
  return { text: writeToolNamelist('DOS', p), parameters: p, fildos };
}

export interface DosData {
  energiesEv: number[];
  /** States/eV per cell; for spin-polarised runs up + down. */
  dos: number[];
  /** Integrated DOS (electrons per cell up to E). */
  integrated: number[];
  /** The header's EFermi (for an insulator: possibly inside the gap). */
  fermiEnergyEv?: number;
  /** Two Fermi energies (fixed total magnetisation) when the header gives two. */
  fermiEnergiesEv?: [number, number];
  spin?: { up: number[]; down: number[] };
}

/**
 * The `.dos` file of dos.x (also projwfc.x-style rows of `E dos Int`): columns E, dos (or dosup, dosdw), Int dos.
 * Throws a ReadError (naming `source` and the line) on a file without data rows or with rows of different lengths.
 */
export function parseDosFile(text: string, source = 'dos.x .dos file'): DosData {
  const lines = text.split('\n');
  const header = lines.find((l) => l.trimStart().startsWith('#')) ?? '';
  const rows: number[][] = [];
  let firstLine = 0;
  lines.forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    const r = numbersIn(t);
    if (rows.length === 0) {
      firstLine = i + 1;
      if (r.length !== 3 && r.length !== 4) {
        throw new ReadError({ source, line: i + 1, reason: `a row has ${r.length} columns; expected 3 (E, dos, Int) or 4 (E, dosup, dosdw, Int)` });
      }
    } else if (r.length !== rows[0]!.length) {
      throw new ReadError({ source, line: i + 1, reason: `a row has ${r.length} columns, the first (line ${firstLine}) has ${rows[0]!.length}` });
    }
    rows.push(r);
  });
  if (rows.length === 0) throw new ReadError({ source, reason: 'no data rows' });
  const ncol = rows[0]!.length;
  const out: DosData = {
    energiesEv: rows.map((r) => r[0]!),
    dos: rows.map((r) => (ncol === 4 ? r[1]! + r[2]! : r[1]!)),
    integrated: rows.map((r) => r[ncol - 1]!),
  };
  if (ncol === 4) out.spin = { up: rows.map((r) => r[1]!), down: rows.map((r) => r[2]!) };
  const fermi = [...header.matchAll(/EFermi[^=]*=\s*([-+]?\d*\.?\d+(?:[eEdD][-+]?\d+)?)/g)].map((m) => Number(m[1]!.replace(/[dD]/, 'e')));
  if (fermi.length === 1) out.fermiEnergyEv = fermi[0]!;
  else if (fermi.length >= 2) out.fermiEnergiesEv = [fermi[0]!, fermi[1]!];
  return out;
}

export interface QeToolStdout {
  /** `JOB DONE.` was printed. */
  jobDone: boolean;
  /** JOB DONE and no error message. */
  ok: boolean;
  qeVersion?: string;
  /** `%%%%` error blocks joined to one line each (e.g. "Error in routine dos (5010): reading dos namelist"). */
  errors: string[];
  /** "Message from routine ..." notes printed before an error. */
  messages: string[];
}

/** Common to the post-processing tools (dos.x, projwfc.x, bands.x): JOB DONE, `%%%%` error blocks, MPI_ABORT. */
export function parseQeToolStdout(stdout: string, program: string): QeToolStdout {
  const jobDone = /JOB DONE/.test(stdout);
  const errors = errorBlocks(stdout);
  if (!errors.length && /MPI_ABORT was invoked/.test(stdout)) errors.push(`${program} aborted (MPI_ABORT) without an error message`);
  if (!jobDone && !errors.length) errors.push(`${program} stdout has no JOB DONE: the run was interrupted or the output is truncated`);
  const messages: string[] = [];
  const lines = stdout.split('\n');
  lines.forEach((l, i) => {
    if (/Message from routine/.test(l)) messages.push(`${l.trim()} ${(lines[i + 1] ?? '').trim()}`.trim());
  });
  const out: QeToolStdout = { jobDone, ok: jobDone && errors.length === 0, errors, messages };
  const v = new RegExp(String.raw`Program ${program.toUpperCase()} v\.(\S+)`).exec(stdout)?.[1];
  if (v) out.qeVersion = v;
  return out;
}

export interface DosStdout extends QeToolStdout {
  /** How dos.x broadened: 'tetrahedra', or Gaussian-type smearing with ngauss and degauss (Ry). */
  broadening?: { kind: 'tetrahedra' } | { kind: 'smearing'; ngauss: number; degaussRy: number; from: 'input' | 'file' };
}

/** dos.x stdout: success, errors and the broadening it used. */
export function parseDosStdout(stdout: string): DosStdout {
  const out: DosStdout = parseQeToolStdout(stdout, 'dos');
  if (/Tetrahedra used|tetrahedron method/i.test(stdout)) out.broadening = { kind: 'tetrahedra' };
  const m = /Gaussian broadening \(read from (input|file)\):\s*ngauss,degauss=\s*(\S+)\s+(\S+)/.exec(stdout);
  if (m) out.broadening = { kind: 'smearing', ngauss: Number(m[2]), degaussRy: Number(m[3]), from: m[1] as 'input' | 'file' };
  return out;
}
