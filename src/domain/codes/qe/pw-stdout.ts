/**
 * What is read from pw.x's stdout (and its CRASH file): SCF and ionic progress, energies, forces, stress,
 * structures, the system's sizes, k-points and band listings, timings, warnings and failure messages.
 */
import type { PwExitName } from './exit-codes.ts';
import { MessageSet, shorten } from './messages.ts';
import type { PwCalculationType } from './pw-parameters.ts';
import { smearingKind, type SmearingKind } from './smearing.ts';
import { NUM, errorBlocks, firstNumberAfter, numbersIn, qeDurationToSeconds, toNumber } from './text.ts';

/** A cell or positions block as pw.x printed it: the unit string in the header is kept verbatim. */
export interface PwCellBlock {
  /** The header's unit, e.g. 'alat', 'bohr', 'angstrom'. */
  units: string;
  /** For `CELL_PARAMETERS (alat= 10.6)`: the alat in bohr. */
  alatBohr?: number;
  /** Three lattice vectors (rows), in `units` (times alat for 'alat'). */
  vectors: number[][];
}

export interface PwPositionsBlock {
  /** The header's unit: 'alat', 'bohr', 'angstrom', 'crystal', ... */
  units: string;
  species: string[];
  positions: number[][];
  /** The if_pos flags (0 = fixed) when printed. */
  ifPos?: number[][];
}

/** One ionic configuration: what pw.x printed from its `!` total energy on. */
export interface IonicFrame {
  energyRy?: number;
  forces?: number[][];
  totalForce?: number;
  stress?: number[][];
  pressure?: number;
}

export interface ScfCycle {
  iterations: number;
  state: 'running' | 'converged' | 'failed';
}

/** One k-point of a band listing: the k of its header (cartesian, 2π/alat, 4 decimals) and its energies (eV). */
export interface ListedKpoint {
  kTpiba: number[];
  energiesEv: number[];
}

export interface PwStdoutData {
  jobDone: boolean;
  qeVersion?: string;
  /** The failure messages (FATAL_MARKERS) found in stdout or CRASH. */
  markers: Set<PwExitName>;
  electronicNotConverged: boolean;
  maxStepsReached: boolean;
  bfgsHistoryFailure: boolean;
  bfgsConverged: boolean;
  dampedConverged: boolean;
  endFinalCoordinates: boolean;
  finalScf: boolean;
  /** The index of the first frame of the final SCF (if any). */
  finalScfFrameIndex?: number;
  /** An SCF failed after the final-SCF marker. */
  finalScfFailed: boolean;
  /** An SCF failed before the final-SCF marker. */
  ionicScfFailed: boolean;
  nstep?: number;
  bfgsStepLines: number;
  forcThrRyBohr?: number;
  pressThrKbar?: number;
  volumeFixed: boolean;
  /** What the run looks like (for guessCalculation; noncollinear also for the spin). */
  hints: {
    selfConsistent: boolean;
    bandStructure: boolean;
    bfgs: boolean;
    damped: boolean;
    md: boolean;
    cell: boolean;
    atomicPositionsBlocks: number;
    noncollinear: boolean;
  };
  frames: IonicFrame[];
  scfCycles: ScfCycle[];
  fermiEv?: number;
  fermiUpEv?: number;
  fermiDownEv?: number;
  homoEv?: number;
  lumoEv?: number;
  nelec?: number;
  nat?: number;
  nbnd?: number;
  nks?: number;
  smearing?: SmearingKind;
  smearingWidthRy?: number;
  tetrahedra: boolean;
  lsda: boolean;
  /** Collinear: the total magnetisation; noncollinear: the length of its vector. */
  totalMag?: number;
  /** Noncollinear: the magnetisation vector (x, y, z) as printed (2 decimals). */
  totalMagVector?: number[];
  absoluteMag?: number;
  finalEnthalpyRy?: number;
  finalEnergyRy?: number;
  cell?: PwCellBlock;
  positions?: PwPositionsBlock;
  /** `lattice parameter (alat)`, bohr. */
  alatBohr?: number;
  /** The last `a(1..3)` / `b(1..3)` printed: crystal axes in alat, reciprocal axes in 2π/alat (rows). */
  crystalAxesAlat?: number[][];
  reciprocalAxesTpiba?: number[][];
  /** The first k-point list printed after `number of k points` (cartesian, 2π/alat). */
  kpointList?: { kTpiba: number[]; weight: number }[];
  /** The last band listing, per spin channel (one, or up then down); undefined when its format overflowed. */
  bands?: ListedKpoint[][];
  /** The line of asterisks where the last band listing overflowed Fortran's print format. */
  bandsOverflowLine?: string;
  wallSeconds?: number;
  cpuSeconds?: number;
  /** The run's warnings: those of stdout, and the parser adds its own. */
  warnings: MessageSet;
  errors: MessageSet;
}

const MAX_WARNINGS = 30;
const MAX_ERRORS = 10;

// ---------------------------------------------------------------------------------------------------------------
// Known failure messages → exit names (which string means what: aiida-quantumespresso's parse_raw/pw.py)

interface Marker {
  name: PwExitName;
  test: (line: string) => boolean;
}
const includes = (s: string) => (line: string) => line.includes(s);

/** pw.x's premature-exit messages, in the order the exit rules check them. */
export const FATAL_MARKERS: readonly Marker[] = [
  { name: 'ERROR_OUT_OF_WALLTIME', test: includes('Maximum CPU time exceeded') },
  { name: 'ERROR_CHARGE_IS_WRONG', test: includes('charge is wrong') },
  { name: 'ERROR_SYMMETRY_NON_ORTHOGONAL_OPERATION', test: includes('not orthogonal operation') },
  { name: 'ERROR_DEXX_IS_NEGATIVE', test: includes('dexx is negative') },
  { name: 'ERROR_COMPUTING_CHOLESKY', test: includes('problems computing cholesky') },
  // "suboptimal parallelization: some nodes have no k-points" (QE >= 6.8) is only a note.
  { name: 'ERROR_NPOOLS_TOO_HIGH', test: (l) => /^\s+some nodes have no k-points/.test(l) },
  { name: 'ERROR_DIAGONALIZATION_TOO_MANY_BANDS_NOT_CONVERGED', test: includes('too many bands are not converged') },
  { name: 'ERROR_S_MATRIX_NOT_POSITIVE_DEFINITE', test: includes('S matrix not positive definite') },
  { name: 'ERROR_ZHEGVD_FAILED', test: includes('zhegvd failed') },
  { name: 'ERROR_QR_FAILED', test: includes('[Q, R] = qr(X, 0) failed') },
  { name: 'ERROR_G_PAR', test: includes('probably because G_par is NOT a reciprocal lattice vector') },
  { name: 'ERROR_EIGENVECTOR_CONVERGENCE', test: includes('eigenvectors failed to converge') },
  { name: 'ERROR_BROYDEN_FACTORIZATION', test: includes('Error in routine broyden') },
  {
    name: 'ERROR_RADIAL_FFT_SIGNIFICANT_VOLUME_CONTRACTION',
    test: includes('Not enough space allocated for radial FFT'),
  },
];

// ---------------------------------------------------------------------------------------------------------------
// The line loop: each reader looks at line i and either takes it (returning the index of the last line it used,
// for blocks) or leaves it to the next reader (undefined).

interface Scan {
  lines: string[];
  d: PwStdoutData;
  /** The SCF cycle being read: its last iteration number, threshold and estimated accuracy. */
  lastIteration: number;
  scfThresholdRy?: number;
  lastAccuracyRy?: number;
  cBandsWarnings: number;
  /** Inside a band listing: its spin channel, and whether energy lines of a k-point are being read. */
  listing?: { spin: number; collecting: boolean };
  crystalAxes: (number[] | undefined)[];
  reciprocalAxes: (number[] | undefined)[];
}

type LineReader = (scan: Scan, i: number) => number | undefined;

const LINE_READERS: readonly LineReader[] = [
  readBandListing,
  readScfProgress,
  readScfEnd,
  readEnergies,
  readForcesAndStress,
  readStructures,
  readIonicEvents,
  readIonicSettings,
  readSystem,
  readCell,
  readTiming,
  readWarnings,
];

export function readPwStdout(stdoutText: string, crashText?: string): PwStdoutData {
  const stdout = stdoutText.replace(/\r\n?/g, '\n');
  const crash = crashText?.replace(/\r\n?/g, '\n');
  const scan: Scan = {
    lines: stdout.split('\n'),
    d: emptyStdoutData(stdout),
    lastIteration: 0,
    cBandsWarnings: 0,
    crystalAxes: [undefined, undefined, undefined],
    reciprocalAxes: [undefined, undefined, undefined],
  };
  for (let i = 0; i < scan.lines.length; i++) {
    for (const read of LINE_READERS) {
      const last = read(scan, i);
      if (last !== undefined) {
        i = last;
        break;
      }
    }
  }
  const { d } = scan;
  if (scan.cBandsWarnings > 0) d.warnings.add(`c_bands: eigenvalues not converged (${scan.cBandsWarnings} times)`);
  if (scan.crystalAxes.every(Boolean)) d.crystalAxesAlat = scan.crystalAxes as number[][];
  if (scan.reciprocalAxes.every(Boolean)) d.reciprocalAxesTpiba = scan.reciprocalAxes as number[][];
  readFailures(d, [stdout, crash ?? '']);
  return d;
}

function emptyStdoutData(stdout: string): PwStdoutData {
  return {
    jobDone: /JOB DONE/.test(stdout),
    qeVersion: /Program PWSCF v\.(\S+)\s/.exec(stdout)?.[1],
    markers: new Set(),
    electronicNotConverged: false,
    maxStepsReached: false,
    bfgsHistoryFailure: false,
    bfgsConverged: false,
    dampedConverged: false,
    endFinalCoordinates: false,
    finalScf: false,
    finalScfFailed: false,
    ionicScfFailed: false,
    bfgsStepLines: 0,
    volumeFixed: false,
    hints: {
      selfConsistent: false,
      bandStructure: false,
      bfgs: false,
      damped: false,
      md: false,
      cell: false,
      atomicPositionsBlocks: 0,
      noncollinear: false,
    },
    frames: [],
    scfCycles: [],
    tetrahedra: false,
    lsda: false,
    warnings: new MessageSet(MAX_WARNINGS),
    errors: new MessageSet(MAX_ERRORS),
  };
}

/** `%%%%` error blocks, and the lines with a known failure message (also those outside a block). */
function readFailures(d: PwStdoutData, texts: string[]): void {
  for (const text of texts) for (const block of errorBlocks(text)) d.errors.add(block);
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const found = FATAL_MARKERS.filter((m) => m.test(line));
      if (found.length === 0) continue;
      for (const m of found) d.markers.add(m.name);
      const t = shorten(line);
      if (!d.errors.has((msg) => msg.includes(t))) d.errors.add(t);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Band listings

/** `k = 0.0000 0.0000 0.0000 (  1243 PWs)   bands (ev):` → the k. */
const RE_K_HEADER = /^\s*k\s*=(.*?)(?:\(.*\))?\s*bands \(ev\)/;
/** What pw.x prints after a band listing. Other lines inside one (occupation numbers, `eband, Ef`) do not end it. */
const RE_AFTER_LISTING =
  /Fermi energ|highest occupied|^\s*!|total energy|Writing |convergence has been|convergence NOT|Forces acting|Computing stress/;

/**
 * The band listing after "End of ... calculation": per spin channel (SPIN UP / SPIN DOWN), per k-point a header
 * and the lines of its energies. A line of asterisks (a number too wide for Fortran's format) voids it.
 */
function readBandListing(scan: Scan, i: number): number | undefined {
  const { d } = scan;
  const line = scan.lines[i] ?? '';
  if (/End of (self-consistent|band structure) calculation/.test(line)) {
    scan.listing = { spin: 0, collecting: false };
    d.bands = [[]];
    d.bandsOverflowLine = undefined;
    if (/band structure/.test(line)) d.hints.bandStructure = true;
    return i;
  }
  const { listing } = scan;
  if (!listing || !d.bands) return undefined;
  if (/SPIN DOWN/.test(line)) {
    listing.spin = 1;
    listing.collecting = false;
    d.bands[1] ??= [];
    return i;
  }
  if (/SPIN UP/.test(line)) return i;
  const header = RE_K_HEADER.exec(line);
  if (header) {
    d.bands[listing.spin]?.push({ kTpiba: numbersIn(header[1] ?? ''), energiesEv: [] });
    listing.collecting = true;
    return i;
  }
  if (listing.collecting) {
    const last = d.bands[listing.spin]?.at(-1);
    if (!line.trim()) {
      if (last && last.energiesEv.length > 0) listing.collecting = false;
      return i;
    }
    if (/^[\s\d.eE+\-*]+$/.test(line)) {
      if (line.includes('*')) {
        d.bands = undefined;
        d.bandsOverflowLine = line.trim();
        scan.listing = undefined;
      } else last?.energiesEv.push(...numbersIn(line));
      return i;
    }
    listing.collecting = false;
  }
  if (RE_AFTER_LISTING.test(line)) scan.listing = undefined;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// SCF cycles

/** The cycle being read, or a new one when the last has ended. */
function runningScf(d: PwStdoutData): ScfCycle {
  let b = d.scfCycles[d.scfCycles.length - 1];
  if (!b || b.state !== 'running') {
    b = { iterations: 0, state: 'running' };
    d.scfCycles.push(b);
  }
  return b;
}

function scfFailed(d: PwStdoutData): void {
  d.electronicNotConverged = true;
  if (d.finalScf) d.finalScfFailed = true;
  else d.ionicScfFailed = true;
}

/** Iterations, the kind of run, the threshold and the estimated accuracy. */
function readScfProgress(scan: Scan, i: number): number | undefined {
  const { d } = scan;
  const line = scan.lines[i] ?? '';
  const it = /^\s*iteration #\s*(\d+)/.exec(line);
  if (it) {
    const n = Number(it[1]);
    const running = d.scfCycles[d.scfCycles.length - 1];
    if (!running || running.state !== 'running' || n <= scan.lastIteration) {
      if (running && running.state === 'running' && n <= scan.lastIteration) running.state = 'failed';
      d.scfCycles.push({ iterations: n, state: 'running' });
    } else running.iterations = n;
    scan.lastIteration = n;
    return i;
  }
  if (/Self-consistent Calculation/.test(line)) d.hints.selfConsistent = true;
  if (/Band Structure Calculation/.test(line)) d.hints.bandStructure = true;
  const thr = /^\s*(?:scf )?convergence threshold\s*=\s*([-+0-9.eEdD]+)/.exec(line);
  if (thr) scan.scfThresholdRy = Number(thr[1]!.replace(/[dD]/, 'e'));
  const acc = /estimated scf accuracy\s*<\s*([-+0-9.eEdD]+)\s*Ry/.exec(line);
  if (acc) scan.lastAccuracyRy = Number(acc[1]!.replace(/[dD]/, 'e'));
  return undefined;
}

/** How a cycle ended: converged, not converged, or stopped. */
function readScfEnd(scan: Scan, i: number): number | undefined {
  const { d } = scan;
  const line = scan.lines[i] ?? '';
  const conv = /convergence has been achieved in\s+(\d+)\s+iterations/.exec(line);
  if (conv) {
    const b = runningScf(d);
    b.iterations = Number(conv[1]);
    // With scf_must_converge=.false., pw.x 6.x prints "convergence has been achieved" when it merely ran out
    // of iterations: the last estimated accuracy, not the message, tells.
    const { lastAccuracyRy, scfThresholdRy } = scan;
    if (lastAccuracyRy !== undefined && scfThresholdRy !== undefined && lastAccuracyRy > scfThresholdRy) {
      b.state = 'failed';
      scfFailed(d);
      d.warnings.add(`convergence reported after ${b.iterations} iterations, but the estimated scf accuracy ${lastAccuracyRy} Ry is above the threshold ${scfThresholdRy} Ry`);
    } else b.state = 'converged';
    scan.lastIteration = 0;
    scan.lastAccuracyRy = undefined;
    return i;
  }
  const notConv = /convergence NOT achieved after\s+(\d+)\s+iterations/.exec(line);
  const stopped = notConv ? undefined : /Calculation stopped in scf loop at iteration #\s*(\d+)/.exec(line);
  const failed = notConv ?? stopped;
  if (!failed) return undefined;
  const b = runningScf(d);
  b.iterations = Number(failed[1]);
  b.state = 'failed';
  scan.lastIteration = 0;
  if (notConv) scfFailed(d);
  d.warnings.add(line);
  return i;
}

// ---------------------------------------------------------------------------------------------------------------
// Energies, forces, stress

const RE_ENERGY = new RegExp(String.raw`^\s*!+\s*total energy\s*=\s*(${NUM})\s*Ry`);
const RE_FERMI = new RegExp(String.raw`the Fermi energy is\s+(${NUM})\s*ev`, 'i');
const RE_FERMI2 = new RegExp(String.raw`the spin up/dw Fermi energies are\s+(${NUM})\s+(${NUM})\s*ev`, 'i');
const RE_HOMO_LUMO = new RegExp(String.raw`highest occupied, lowest unoccupied level \(ev\):\s*(${NUM})\s+(${NUM})`, 'i');
const RE_HOMO = new RegExp(String.raw`highest occupied level \(ev\):\s*(${NUM})`, 'i');
const RE_FINAL = new RegExp(String.raw`^\s*Final (enthalpy|energy)\s*=\s*(${NUM})\s*Ry`);
const RE_ATOM_FORCE = new RegExp(String.raw`^\s*atom\s+\d+\s+type\s+\d+\s+force\s*=\s*(${NUM})\s*(${NUM})\s*(${NUM})`);
const RE_PRESSURE = new RegExp(String.raw`P\s*=\s*(${NUM})`);

/** The frame being read: the last, or a first one when no `!` energy came yet. */
function currentFrame(d: PwStdoutData): IonicFrame {
  let f = d.frames[d.frames.length - 1];
  if (!f) {
    f = {};
    d.frames.push(f);
  }
  return f;
}

/** Total energy (a new frame), Fermi energies, band edges, final energy or enthalpy. */
function readEnergies(scan: Scan, i: number): number | undefined {
  const { d } = scan;
  const line = scan.lines[i] ?? '';
  const e = RE_ENERGY.exec(line);
  if (e) {
    const energy = toNumber(e[1]);
    const f: IonicFrame = {};
    if (energy !== undefined) f.energyRy = energy;
    d.frames.push(f);
    return i;
  }
  if (line.includes('Fermi energ')) {
    const two = RE_FERMI2.exec(line);
    if (two) {
      d.fermiUpEv = toNumber(two[1]);
      d.fermiDownEv = toNumber(two[2]);
      return i;
    }
    const one = firstNumberAfter(line, RE_FERMI);
    if (one !== undefined) d.fermiEv = one;
    return i;
  }
  if (line.includes('highest occupied')) {
    const hl = RE_HOMO_LUMO.exec(line);
    if (hl) {
      d.homoEv = toNumber(hl[1]);
      d.lumoEv = toNumber(hl[2]);
    } else {
      const h = firstNumberAfter(line, RE_HOMO);
      if (h !== undefined) {
        d.homoEv = h;
        d.lumoEv = undefined;
      }
    }
    return i;
  }
  const fe = RE_FINAL.exec(line);
  if (fe) {
    if (fe[1] === 'enthalpy') d.finalEnthalpyRy = toNumber(fe[2]);
    else d.finalEnergyRy = toNumber(fe[2]);
    return i;
  }
  return undefined;
}

function readForcesAndStress(scan: Scan, i: number): number | undefined {
  const { d, lines } = scan;
  const line = lines[i] ?? '';
  if (/Forces acting on atoms/.test(line)) {
    const forces: number[][] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j] ?? '';
      if (!l.trim() && forces.length === 0) continue;
      const m = RE_ATOM_FORCE.exec(l);
      if (!m) break;
      forces.push([toNumber(m[1]) ?? Number.NaN, toNumber(m[2]) ?? Number.NaN, toNumber(m[3]) ?? Number.NaN]);
    }
    if (forces.length && forces.every((v) => v.every(Number.isFinite))) currentFrame(d).forces = forces;
    return j - 1;
  }
  if (/^\s*Total force\s*=/.test(line)) {
    const v = numbersIn(line.split('=')[1] ?? '')[0];
    if (v !== undefined) currentFrame(d).totalForce = v;
    return i;
  }
  if (/total\s+stress\s+\(Ry\/bohr\*\*3\)/.test(line)) {
    const p = firstNumberAfter(line, RE_PRESSURE);
    const rows: number[][] = [];
    for (let j = i + 1; j <= i + 3 && j < lines.length; j++) {
      const nums = numbersIn(lines[j] ?? '');
      if (nums.length !== 6) break;
      rows.push(nums.slice(3, 6));
    }
    const f = currentFrame(d);
    if (rows.length === 3) f.stress = rows;
    if (p !== undefined) f.pressure = p;
    return i + rows.length;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Structures

const RE_POSITION = new RegExp(
  String.raw`^\s*([A-Za-z][\w.-]*)\s+(${NUM})\s+(${NUM})\s+(${NUM})(?:\s+([-+]?\d+)\s+([-+]?\d+)\s+([-+]?\d+))?\s*$`,
);
const RE_ALAT = new RegExp(String.raw`alat\s*=\s*(${NUM})`);

function blockUnits(header: string): { units: string; alat?: number } {
  const paren = /\(([^)]*)\)/.exec(header)?.[1] ?? header.replace(/^\s*\w+\s*/, '').replace(/[{}]/g, '');
  const alatMatch = RE_ALAT.exec(paren);
  if (alatMatch) return { units: 'alat', alat: toNumber(alatMatch[1]) };
  return { units: paren.trim().toLowerCase() || 'alat' };
}

/** `CELL_PARAMETERS` and `ATOMIC_POSITIONS` blocks: the last of each. */
function readStructures(scan: Scan, i: number): number | undefined {
  const { d, lines } = scan;
  const line = lines[i] ?? '';
  if (/^\s*CELL_PARAMETERS/.test(line)) {
    const { units, alat } = blockUnits(line);
    const vectors: number[][] = [];
    for (let j = i + 1; j <= i + 3 && j < lines.length; j++) {
      const nums = numbersIn(lines[j] ?? '');
      if (nums.length !== 3) break;
      vectors.push(nums);
    }
    if (vectors.length === 3) {
      d.cell = { units, vectors };
      if (alat !== undefined) d.cell.alatBohr = alat;
    }
    d.hints.cell = true;
    return i + vectors.length;
  }
  if (/^\s*ATOMIC_POSITIONS/.test(line)) {
    const { units } = blockUnits(line);
    const species: string[] = [];
    const positions: number[][] = [];
    const ifPos: number[][] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const m = RE_POSITION.exec(lines[j] ?? '');
      if (!m) break;
      species.push(m[1] ?? '');
      positions.push([toNumber(m[2]) ?? Number.NaN, toNumber(m[3]) ?? Number.NaN, toNumber(m[4]) ?? Number.NaN]);
      ifPos.push(m[5] !== undefined ? [Number(m[5]), Number(m[6]), Number(m[7])] : [1, 1, 1]);
    }
    if (species.length && positions.every((p) => p.every(Number.isFinite))) {
      d.positions = { units, species, positions };
      if (ifPos.some((f) => f.some((v) => v === 0))) d.positions.ifPos = ifPos;
    }
    d.hints.atomicPositionsBlocks++;
    return j - 1;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Relaxation and dynamics

/** The final SCF, and how the ionic minimisation ends or stalls. */
function readIonicEvents(scan: Scan, i: number): number | undefined {
  const { d } = scan;
  const line = scan.lines[i] ?? '';
  if (/final scf calculation at the relaxed structure/i.test(line)) {
    d.finalScf = true;
    d.finalScfFrameIndex = d.frames.length;
    return i;
  }
  if (line.includes('The maximum number of steps has been reached')) {
    d.maxStepsReached = true;
    d.warnings.add(line);
    return i;
  }
  if (line.includes('history already reset at previous step')) {
    d.bfgsHistoryFailure = true;
    d.warnings.add(line);
    return i;
  }
  if (/bfgs converged in/.test(line)) {
    d.bfgsConverged = true;
    d.hints.bfgs = true;
    return i;
  }
  if (/^\s*End final coordinates/.test(line)) {
    d.endFinalCoordinates = true;
    return i;
  }
  if (/Damped (Cell )?Dynamics/i.test(line)) d.hints.damped = true;
  if (/convergence achieved, Efinal|Damped Dynamics: convergence achieved/i.test(line)) d.dampedConverged = true;
  if (/BFGS Geometry Optimization/.test(line)) d.hints.bfgs = true;
  if (/number of bfgs steps/.test(line)) {
    d.hints.bfgs = true;
    d.bfgsStepLines++;
    return i;
  }
  return undefined;
}

const RE_FORCE_THR = new RegExp(String.raw`force convergence thresh\.\s*=\s*(${NUM})`);
const RE_CRITERIA_FORCE = new RegExp(String.raw`force\s*<\s*(${NUM})`);
const RE_CRITERIA_CELL = new RegExp(String.raw`cell\s*<\s*(${NUM})`);
const RE_PRESS_THR = new RegExp(String.raw`press convergence thresh\.\s*=\s*(${NUM})`);

/** Dynamics and variable-cell hints, nstep and the convergence thresholds pw.x uses. */
function readIonicSettings(scan: Scan, i: number): number | undefined {
  const { d } = scan;
  const line = scan.lines[i] ?? '';
  if (/Molecular Dynamics Calculation/.test(line)) d.hints.md = true;
  if (/press convergence thresh|enthalpy new|Final enthalpy|new unit-cell volume|new lattice vectors|Wentzcovitch/.test(line)) {
    d.hints.cell = true;
  }
  if (/Volume is kept fixed/.test(line)) d.volumeFixed = true;
  const nstep = /^\s*nstep\s*=\s*(\d+)/.exec(line);
  if (nstep) {
    d.nstep = Number(nstep[1]);
    return i;
  }
  const fthr = firstNumberAfter(line, RE_FORCE_THR);
  if (fthr !== undefined) d.forcThrRyBohr = fthr;
  if (/\(criteria:/.test(line)) {
    const f = firstNumberAfter(line, RE_CRITERIA_FORCE);
    const c = firstNumberAfter(line, RE_CRITERIA_CELL);
    if (f !== undefined) d.forcThrRyBohr = f;
    if (c !== undefined) d.pressThrKbar = c;
    return i;
  }
  const pthr = firstNumberAfter(line, RE_PRESS_THR);
  if (pthr !== undefined) d.pressThrKbar = pthr;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The system

const RE_NELEC = new RegExp(String.raw`number of electrons\s*=\s*(${NUM})`);
const RE_SMEARING = new RegExp(String.raw`number of k points\s*=\s*\d+\s+(.*?)\s*smearing,\s*width \(Ry\)\s*=\s*(${NUM})`);
const RE_K_LISTED = new RegExp(String.raw`^\s*k\(\s*\d+\)\s*=\s*\((.*)\),\s*wk\s*=\s*(${NUM})`);
const RE_TOTAL_MAG = new RegExp(String.raw`^\s*total magnetization\s*=\s*(${NUM})`);
const RE_ABS_MAG = new RegExp(String.raw`^\s*absolute magnetization\s*=\s*(${NUM})`);
const RE_ALAT_BOHR = new RegExp(String.raw`lattice parameter \(alat\)\s*=\s*(${NUM})\s*a\.u\.`);

/** Electrons, atoms, bands, k-points (and the first list of them), occupations, spin and magnetisation. */
function readSystem(scan: Scan, i: number): number | undefined {
  const { d } = scan;
  const line = scan.lines[i] ?? '';
  if (line.includes('number of electrons')) {
    const v = firstNumberAfter(line, RE_NELEC);
    if (v !== undefined) d.nelec = v;
    return i;
  }
  if (line.includes('number of atoms/cell')) {
    const v = firstNumberAfter(line, /number of atoms\/cell\s*=\s*(\d+)/);
    if (v !== undefined) d.nat = v;
    return i;
  }
  if (line.includes('number of Kohn-Sham states')) {
    const v = firstNumberAfter(line, /number of Kohn-Sham states\s*=\s*(\d+)/);
    if (v !== undefined) d.nbnd = v;
    return i;
  }
  if (line.includes('number of k points')) {
    const v = firstNumberAfter(line, /number of k points\s*=\s*(\d+)/);
    if (v !== undefined) d.nks = v;
    const sm = RE_SMEARING.exec(line);
    if (sm) {
      d.smearing = smearingKind(sm[1] ?? '') ?? 'gaussian';
      d.smearingWidthRy = toNumber(sm[2]);
    }
    if (/tetrahedr/i.test(line)) d.tetrahedra = true;
    return d.kpointList === undefined ? readKpointList(scan, i + 1) : i;
  }
  if (/^\s*(Noncollinear|Spin-orbit)|noncolinear/i.test(line)) d.hints.noncollinear = true;
  if (/-{3,}\s*SPIN UP/.test(line)) d.lsda = true;
  const tm = RE_TOTAL_MAG.exec(line);
  if (tm) {
    // noncollinear runs print the vector: "total magnetization = 1.23 -0.00 2.13 Bohr mag/cell"
    const v = numbersIn(line.slice(line.indexOf('=') + 1).replace(/Bohr.*$/, ''));
    if (v.length === 3) {
      d.totalMagVector = v;
      d.totalMag = Math.round(Math.hypot(v[0]!, v[1]!, v[2]!) * 100) / 100;
    } else d.totalMag = toNumber(tm[1]);
  }
  const am = RE_ABS_MAG.exec(line);
  if (am) d.absoluteMag = toNumber(am[1]);
  return undefined;
}

/** `k(    1) = (   0.0000000   0.0000000   0.0000000), wk =   0.2500000` lines from `start` (cartesian first). */
function readKpointList(scan: Scan, start: number): number {
  const { lines } = scan;
  const list: { kTpiba: number[]; weight: number }[] = [];
  let j = start;
  if (/cart\. coord/.test(lines[j] ?? '')) j++;
  for (; j < lines.length; j++) {
    const m = RE_K_LISTED.exec(lines[j] ?? '');
    const weight = toNumber(m?.[2]);
    if (!m || weight === undefined) break;
    list.push({ kTpiba: numbersIn(m[1] ?? ''), weight });
  }
  if (list.length) scan.d.kpointList = list;
  return j - 1;
}

/** The lattice parameter and the crystal and reciprocal axes. */
function readCell(scan: Scan, i: number): number | undefined {
  const line = scan.lines[i] ?? '';
  const alat = RE_ALAT_BOHR.exec(line);
  if (alat) {
    scan.d.alatBohr = toNumber(alat[1]);
    return i;
  }
  const axis = /^\s*([ab])\(([123])\)\s*=\s*\((.*)\)/.exec(line);
  if (!axis) return undefined;
  const v = numbersIn(axis[3] ?? '');
  (axis[1] === 'a' ? scan.crystalAxes : scan.reciprocalAxes)[Number(axis[2]) - 1] = v.length === 3 ? v : undefined;
  return i;
}

// ---------------------------------------------------------------------------------------------------------------
// Timing and warnings

function readTiming(scan: Scan, i: number): number | undefined {
  const timing = /^\s*PWSCF\s*:\s*(.*?)CPU\s*(.*?)WALL/.exec(scan.lines[i] ?? '');
  if (!timing) return undefined;
  scan.d.cpuSeconds = qeDurationToSeconds(timing[1] ?? '');
  scan.d.wallSeconds = qeDurationToSeconds(timing[2] ?? '');
  return i;
}

function readWarnings(scan: Scan, i: number): number | undefined {
  const { d, lines } = scan;
  const line = lines[i] ?? '';
  const from = /^\s*Message from routine\s+(\S+?):?\s*$/.exec(line);
  if (from) {
    const next = (lines[i + 1] ?? '').trim();
    // the message itself (next line) is still looked at by the readers on the next iteration
    d.warnings.add(next ? `${from[1]}: ${next}` : `message from ${from[1]}`);
    return i;
  }
  if (/c_bands:\s+\d+\s+eigenvalues not converged/.test(line)) {
    scan.cBandsWarnings++;
    return i;
  }
  if (/Warning:|WARNING|DEPRECATED:|SCF correction compared to forces is large/.test(line)) d.warnings.add(line);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Conclusions from what stdout says

/** pw.x declared the ionic minimisation converged (BFGS, damped dynamics, or the final coordinates printed). */
export const ionicConvergenceDeclared = (s: PwStdoutData): boolean => s.bfgsConverged || s.dampedConverged || s.endFinalCoordinates;

/** The calculation type stdout suggests, when neither the parameters nor the XML say. */
export function guessCalculation(s: PwStdoutData): PwCalculationType | undefined {
  const h = s.hints;
  if (h.md && !h.damped) return h.cell ? 'vc-md' : 'md';
  if (h.bfgs || h.damped || s.nstep !== undefined || h.atomicPositionsBlocks > 0) return h.cell ? 'vc-relax' : 'relax';
  if (h.bandStructure && !h.selfConsistent) {
    return s.fermiEv !== undefined || s.homoEv !== undefined || s.fermiUpEv !== undefined ? 'nscf' : 'bands';
  }
  if (h.selfConsistent || s.frames.length > 0) return 'scf';
  return undefined;
}
