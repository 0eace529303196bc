/**
 * pw.x output → a small, JSON-safe summary plus an exit code (numbers and names: ./exit-codes.ts, after
 * aiida-quantumespresso). Pure: the caller reads the files and passes their text.
 *
 * Inputs: stdout (required for anything but 302), the XML pw.x writes at the end (`data-file-schema.xml`, or an
 * older `data-file.xml`), the `CRASH` file pw.x writes when it stops on an error, the process exit status and
 * whether the scheduler/executor killed the job for walltime, and the input namelists if known.
 *
 * Exit-code rules, first match wins (the same order as aiida-quantumespresso's PwParser):
 *   1. no stdout                                                                   → 302
 *   2. "Maximum CPU time exceeded" but no `JOB DONE` (pw.x began a clean stop and was killed during it)
 *                                                                                  → 340
 *   3. the scheduler reported out-of-walltime and stdout or XML is incomplete/missing:
 *      relax / vc-relax → 503 (restart from the partial trajectory), anything else → 400
 *   4. a known pw.x failure message in stdout or CRASH, in this priority: 400 Maximum CPU time, 531 charge is
 *      wrong, 541 not orthogonal operation, 461 dexx, 462 cholesky, 481 npools, 463 too many bands not
 *      converged, 464 S matrix, 465 zhegvd, 466 qr, 360 G_par, 467 eigenvectors, 468 broyden, 542 radial FFT
 *   5. stdout incomplete (no `JOB DONE` and no CRASH file) and XML missing/unparseable → 305;
 *      stdout incomplete alone → 312 (also: killed from outside, see PW_EXIT_KILLED_OR_TRUNCATED)
 *   6. XML missing → 303 (only when `expectXml`, default true: our runs always write it; pass `expectXml: false`
 *      to judge a stdout on its own, like aiida's `without_xml`); XML present but not well-formed → 321
 *   7. scf / nscf / bands / md: "convergence NOT achieved" → 410, or 710 if `scf_must_converge = .false.` or
 *      `electron_maxstep = 0` (from `parameters`, else electron_maxstep from the XML input)
 *   8. relax / vc-relax (aiida's `validate_ionic`):
 *        ionic not converged and an SCF failed                               → 510
 *        ionic not converged and "The maximum number of steps has been reached" (or, as aiida, as many
 *        "number of bfgs steps" lines as `nstep`)                             → 502
 *        BFGS history reset twice: 521 if an SCF failed, success if forces (and stress) of the last ionic step
 *        are below the thresholds anyway, else                               → 520
 *        an SCF failed: in the final SCF → 511, during the ionic cycle       → 510
 *        forces/stress above the thresholds: only in the final SCF of a vc-relax → 501, else → 500
 *      "ionic converged" = "bfgs converged", damped dynamics "convergence achieved" or "End final coordinates".
 *      Thresholds: `parameters` (control.forc_conv_thr, cell.press_conv_thr, cell.press) or else the values pw.x
 *      printed / wrote to the XML, or else QE's defaults (1e-3 Ry/bohr, 0.5 kbar); the stress is not checked when
 *      the cell is constrained (cell_dofree ≠ 'all', XML fix_volume/fix_area/isotropic/free_cell, or "Volume is
 *      kept fixed"); force components of atoms fixed by if_pos are ignored.
 *   9. nothing wrong so far but a non-zero `processExitStatus`: 2 → as a failed SCF (410 / 510), 3 → 502 for
 *      relax / vc-relax; any other status → 312
 *  10. → 0.
 *
 * pw.x writes `JOB DONE.` even when the SCF does not converge or max_seconds is hit: the messages decide.
 * The result keeps final values only (no per-iteration arrays) so it can live in workflow history.
 */
import { PW_SANITY_CHECKS, pwExitByName, type PwExitName } from './exit-codes.ts';

export type PwCalculationType = 'scf' | 'nscf' | 'bands' | 'relax' | 'vc-relax' | 'md' | 'vc-md';

export interface PwParseInput {
  /** pw.x stdout; undefined → 302. */
  stdout: string | undefined;
  /** data-file-schema.xml (new) or data-file.xml text, if present. */
  xml?: string;
  /** CRASH file text if present. */
  crash?: string;
  /** pw.x process exit status if known. */
  processExitStatus?: number;
  /** The scheduler/executor killed it for walltime. */
  schedulerOutOfWalltime?: boolean;
  /** The input namelists if known, e.g. {control: {calculation: 'scf'}, electrons: {scf_must_converge: false}}; keys of any case. */
  parameters?: Record<string, Record<string, unknown>>;
  /** Whether an XML file is required (default true): a missing XML is then 303, as in aiida without `without_xml`. */
  expectXml?: boolean;
}

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

export type PwBandGapSource =
  /** "highest occupied, lowest unoccupied level" printed by pw.x (fixed occupations with empty bands). */
  | 'stdout-homo-lumo'
  /** highestOccupiedLevel / lowestUnoccupiedLevel of the XML. */
  | 'xml-homo-lumo'
  /**
   * Band energies printed in stdout, fixed occupations, no spin polarisation: nelec/2 bands filled; gap = lowest
   * empty band minimum − highest filled band maximum over the printed k-points (for a `bands` run along a path,
   * the gap along that path). 0 if the bands overlap.
   */
  | 'stdout-band-energies'
  /** The same from the XML eigenvalues. */
  | 'xml-band-energies';

export interface PwResult {
  exitCode: number;
  exitName: string;
  exitMessage: string;
  /** From the parameters, else the XML input, else guessed from stdout. */
  calculation?: PwCalculationType;
  qeVersion?: string;
  /** `JOB DONE` was printed (pw.x prints it also after SCF non-convergence or max_seconds). */
  jobDone: boolean;
  /** The last `!    total energy` (the final SCF's for relaxations). */
  totalEnergyRy?: number;
  totalEnergyEv?: number;
  /** vc-relax: `Final enthalpy`; relax: `Final energy` is in `finalEnergyRy`. */
  finalEnthalpyRy?: number;
  finalEnergyRy?: number;
  /** "the Fermi energy is" (smearing / tetrahedra); for fixed occupations see highestOccupiedEv. */
  fermiEnergyEv?: number;
  /** Two Fermi energies (fixed total magnetisation). */
  fermiEnergyUpEv?: number;
  fermiEnergyDownEv?: number;
  highestOccupiedEv?: number;
  lowestUnoccupiedEv?: number;
  bandGapEv?: number;
  bandGapSource?: PwBandGapSource;
  numberOfElectrons?: number;
  numberOfAtoms?: number;
  numberOfBands?: number;
  /** k-points of the irreducible wedge as printed (not doubled for spin). */
  numberOfKPoints?: number;
  spinPolarized?: boolean;
  /** Occupations: 'fixed', 'smearing', 'tetrahedra', ... */
  occupations?: string;
  /** Smearing kind ('gaussian', 'mp', 'mv', 'fd') and width (Ry) when smearing is used. */
  smearing?: string;
  smearingWidthRy?: number;
  totalMagnetizationBohrMag?: number;
  absoluteMagnetizationBohrMag?: number;
  /** Iterations of the last SCF. */
  scfIterations?: number;
  /** Iterations of all SCF cycles of the run. */
  totalScfIterations?: number;
  /** Whether the last SCF converged (undefined when the run has no SCF, e.g. nscf/bands). */
  scfConverged?: boolean;
  /** relax/vc-relax/md: ionic configurations whose SCF finished (the final SCF of a vc-relax not included). */
  ionicSteps?: number;
  /** relax/vc-relax: pw.x declared the ionic minimisation converged. */
  ionicConverged?: boolean;
  /** Final forces, one [x, y, z] per atom, Ry/bohr. */
  forcesRyBohr?: number[][];
  totalForceRyBohr?: number;
  /** Final stress tensor, kbar. */
  stressKbar?: number[][];
  pressureKbar?: number;
  /** The last structure printed in stdout; for a relaxation whose stdout has none, the XML's output structure (bohr). */
  finalCell?: PwCellBlock;
  finalPositions?: PwPositionsBlock;
  wallTimeSeconds?: number;
  cpuTimeSeconds?: number;
  /** Notable messages, deduplicated and short. */
  warnings: string[];
  /** The text of `%%%%` error blocks (stdout and CRASH) and other fatal messages, short. */
  errorMessages: string[];
  /**
   * Largest occupation (electrons per state: ×2 for unpolarised runs) of the highest band over k-points and spins;
   * from the XML occupations, or from the printed band energies with the smearing function.
   */
  highestBandOccupationMax?: number;
  /**
   * highestBandOccupationMax > 0.005 (PW_SANITY_CHECKS.INSUFFICIENT_BANDS); only for non-fixed occupations and
   * when occupations are known; undefined otherwise.
   */
  insufficientBands?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Units

const RY_TO_EV = 13.605693122994;
export const HA_TO_EV = 27.211386245988;
const DEFAULT_FORC_CONV_THR_RY_BOHR = 1e-3;
const DEFAULT_PRESS_CONV_THR_KBAR = 0.5;
const MAX_WARNINGS = 30;
const MAX_ERRORS = 10;
const MAX_MESSAGE_CHARS = 300;

// ---------------------------------------------------------------------------------------------------------------
// Known messages → exit names (which string means what: aiida-quantumespresso's parse_raw/pw.py)

interface Marker {
  name: PwExitName;
  test: (line: string) => boolean;
}
const includes = (s: string) => (line: string) => line.includes(s);

/** Premature-exit messages, in the order they are checked. */
const FATAL_MARKERS: readonly Marker[] = [
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
// Small helpers

const NUM = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?`;
const NUM_RE = new RegExp(NUM, 'g');

function toNumber(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const v = Number.parseFloat(s.replace(/[dD]/, 'e'));
  if (!Number.isFinite(v)) return undefined;
  return v === 0 ? 0 : v; // no -0: JSON cannot carry it
}

/** All numbers of a line; Fortran output may glue them ("-0.3536-0.3536"), which this splits. */
export function numbersIn(s: string): number[] {
  const out: number[] = [];
  for (const m of s.matchAll(NUM_RE)) {
    const v = toNumber(m[0]);
    if (v !== undefined) out.push(v);
  }
  return out;
}

function firstNumberAfter(line: string, re: RegExp): number | undefined {
  const m = re.exec(line);
  return m ? toNumber(m[1]) : undefined;
}

/** "1d 2h 3m", "1h 2m", "1m 2.34s", "3.73s" → seconds. */
export function qeDurationToSeconds(text: string): number | undefined {
  let total = 0;
  let any = false;
  for (const m of text.matchAll(/(\d+(?:\.\d*)?)\s*([dhms])/g)) {
    const v = Number.parseFloat(m[1] ?? '');
    if (!Number.isFinite(v)) continue;
    any = true;
    total += v * (m[2] === 'd' ? 86400 : m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  }
  return any ? Math.round(total * 1000) / 1000 : undefined;
}

function shorten(s: string, max = MAX_MESSAGE_CHARS): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

class MessageSet {
  private readonly items: string[] = [];
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  /** Messages that differ only in their numbers count as one (the first is kept). */
  add(message: string): void {
    const m = shorten(message);
    const key = m.replace(NUM_RE, '#');
    if (!m || this.seen.has(key)) return;
    this.seen.add(key);
    if (this.items.length < this.max) this.items.push(m);
  }
  has(pred: (m: string) => boolean): boolean {
    return this.items.some(pred);
  }
  list(): string[] {
    return [...this.items];
  }
}

function normaliseParameters(
  parameters: Record<string, Record<string, unknown>> | undefined,
): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>();
  if (!parameters) return out;
  for (const [ns, vars] of Object.entries(parameters)) {
    if (!vars || typeof vars !== 'object') continue;
    const m = new Map<string, unknown>();
    for (const [k, v] of Object.entries(vars)) m.set(k.toLowerCase(), v);
    out.set(ns.toLowerCase().replace(/^&/, ''), m);
  }
  return out;
}

function paramNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return toNumber(v.trim());
  return undefined;
}

function paramBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase().replace(/^\.|\.$/g, '');
    if (s === 'true' || s === 't') return true;
    if (s === 'false' || s === 'f') return false;
  }
  return undefined;
}

const CALCULATIONS: readonly PwCalculationType[] = ['scf', 'nscf', 'bands', 'relax', 'vc-relax', 'md', 'vc-md'];
function asCalculation(v: unknown): PwCalculationType | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase().replace(/^['"]|['"]$/g, '');
  return (CALCULATIONS as readonly string[]).includes(s) ? (s as PwCalculationType) : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Smearing (QE's wgauss): occupation fraction of a state at x = (E_F - e) / degauss

function erfc(x: number): number {
  // Numerical Recipes erfcc: fractional error < 1.2e-7 everywhere.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

type SmearingKind = 'gaussian' | 'mp' | 'mv' | 'fd';

function smearingKind(text: string): SmearingKind | undefined {
  const s = text.toLowerCase();
  if (/fermi|dirac|^f-d$|^fd$/.test(s)) return 'fd';
  if (/marzari|vanderbilt|cold|^m-v$|^mv$/.test(s)) return 'mv';
  if (/methfessel|paxton|^m-p$|^mp$/.test(s)) return 'mp';
  if (/gauss/.test(s)) return 'gaussian';
  return undefined;
}

function wgauss(x: number, kind: SmearingKind): number {
  switch (kind) {
    case 'gaussian':
      return 0.5 * erfc(-x);
    case 'mp': {
      // first-order Methfessel-Paxton
      const arg = Math.min(200, x * x);
      return 0.5 * erfc(-x) + (x * Math.exp(-arg)) / (2 * Math.sqrt(Math.PI));
    }
    case 'mv': {
      const xp = x - 1 / Math.SQRT2;
      const arg = Math.min(200, xp * xp);
      return 0.5 * (1 - erfc(xp)) + Math.exp(-arg) / Math.sqrt(2 * Math.PI) + 0.5;
    }
    case 'fd':
      if (x < -200) return 0;
      if (x > 200) return 1;
      return 1 / (1 + Math.exp(-x));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Minimal XML reader: well-formedness check (a truncated file fails) and a tree for the few values we read.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const XML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (whole, ent: string) => {
    if (ent.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ent.slice(2), 16));
    if (ent.startsWith('#')) return String.fromCodePoint(Number.parseInt(ent.slice(1), 10));
    return XML_ENTITIES[ent] ?? whole;
  });
}

const XML_NAME = /^[A-Za-z_:][-\w:.]*$/;

export function parseXmlDocument(src: string): XmlElement {
  const stack: { el: XmlElement; text: string[] }[] = [];
  let root: XmlElement | undefined;
  let rootClosed = false;
  let i = 0;
  const n = src.length;
  while (i < n) {
    const lt = src.indexOf('<', i);
    const textEnd = lt === -1 ? n : lt;
    if (textEnd > i) {
      const text = src.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.text.push(text);
      else if (text.trim()) throw new Error('text outside the root element');
    }
    if (lt === -1) break;
    if (src.startsWith('<!--', lt)) {
      const end = src.indexOf('-->', lt + 4);
      if (end < 0) throw new Error('unterminated comment');
      i = end + 3;
      continue;
    }
    if (src.startsWith('<![CDATA[', lt)) {
      const end = src.indexOf(']]>', lt + 9);
      if (end < 0) throw new Error('unterminated CDATA');
      const top = stack[stack.length - 1];
      if (!top) throw new Error('CDATA outside the root element');
      top.text.push(src.slice(lt + 9, end));
      i = end + 3;
      continue;
    }
    if (src.startsWith('<?', lt)) {
      const end = src.indexOf('?>', lt + 2);
      if (end < 0) throw new Error('unterminated processing instruction');
      i = end + 2;
      continue;
    }
    if (src.startsWith('<!', lt)) {
      // DOCTYPE (an internal subset in [...] is skipped as a whole)
      const bracket = src.indexOf('[', lt);
      const close = src.indexOf('>', lt);
      if (close < 0) throw new Error('unterminated declaration');
      if (bracket >= 0 && bracket < close) {
        const end = src.indexOf(']>', bracket);
        if (end < 0) throw new Error('unterminated declaration');
        i = end + 2;
      } else i = close + 1;
      continue;
    }
    // a tag: find its end outside quotes
    let j = lt + 1;
    let quote = '';
    for (; j < n; j++) {
      const c = src[j];
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '>') break;
      else if (c === '<') throw new Error('unexpected < inside a tag');
    }
    if (j >= n) throw new Error('unterminated tag');
    const inner = src.slice(lt + 1, j);
    i = j + 1;
    if (inner.startsWith('/')) {
      const name = inner.slice(1).trim();
      const top = stack.pop();
      if (!top || top.el.name !== name) throw new Error(`mismatched closing tag </${name}>`);
      top.el.text = decodeEntities(top.text.join(''));
      if (stack.length === 0) rootClosed = true;
      continue;
    }
    const selfClosing = inner.endsWith('/');
    const body = selfClosing ? inner.slice(0, -1) : inner;
    const nameMatch = /^\s*([^\s/>]+)/.exec(body);
    const name = nameMatch?.[1];
    if (!name || !XML_NAME.test(name)) throw new Error('invalid element name');
    const attrs: Record<string, string> = {};
    const rest = body.slice((nameMatch?.index ?? 0) + (nameMatch?.[0].length ?? 0));
    const attrRe = /\s*([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/gy;
    let pos = 0;
    while (pos < rest.length) {
      if (!rest.slice(pos).trim()) break;
      attrRe.lastIndex = pos;
      const m = attrRe.exec(rest);
      if (!m || !XML_NAME.test(m[1] ?? '')) throw new Error(`invalid attributes in <${name}>`);
      attrs[m[1] ?? ''] = decodeEntities(m[2] ?? m[3] ?? '');
      pos = attrRe.lastIndex;
    }
    const el: XmlElement = { name, attrs, children: [], text: '' };
    const parent = stack[stack.length - 1];
    if (parent) parent.el.children.push(el);
    else {
      if (root || rootClosed) throw new Error('more than one root element');
      root = el;
    }
    if (selfClosing) {
      if (!parent) rootClosed = true;
    } else stack.push({ el, text: [] });
  }
  if (stack.length > 0) throw new Error(`unclosed element <${stack[stack.length - 1]?.el.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}

const localName = (name: string) => name.slice(name.indexOf(':') + 1);
export function xChild(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => localName(c.name) === name);
}
export function xChildren(el: XmlElement | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => localName(c.name) === name) : [];
}
function xPath(el: XmlElement | undefined, path: string): XmlElement | undefined {
  let cur = el;
  for (const part of path.split('/')) cur = xChild(cur, part);
  return cur;
}
export function xNumber(el: XmlElement | undefined): number | undefined {
  return el ? toNumber(el.text.trim()) : undefined;
}
function xBool(el: XmlElement | undefined): boolean | undefined {
  return el ? paramBool(el.text) : undefined;
}
export function xText(el: XmlElement | undefined): string | undefined {
  const t = el?.text.trim();
  return t ? t : undefined;
}

interface XmlData {
  calculation?: PwCalculationType;
  forcConvThrRyBohr?: number;
  pressConvThrKbar?: number;
  referencePressureKbar?: number;
  cellConstrained?: boolean;
  electronMaxstep?: number;
  freePositions?: number[][];
  lsda?: boolean;
  noncolin?: boolean;
  nbnd?: number;
  nbndUp?: number;
  nbndDw?: number;
  nelec?: number;
  nks?: number;
  occupationsKind?: string;
  smearing?: string;
  degaussRy?: number;
  fermiEv?: number;
  fermiUpEv?: number;
  fermiDownEv?: number;
  homoEv?: number;
  lumoEv?: number;
  /** per k-point: all eigenvalues (eV), spin up then down for lsda */
  eigenvaluesEv?: number[][];
  occupations?: number[][];
  etotRy?: number;
  scfConverged?: boolean;
  totalMag?: number;
  absoluteMag?: number;
  /** output/atomic_structure: the last structure pw.x wrote (cell and cartesian positions in bohr). */
  outputCell?: PwCellBlock;
  outputPositions?: PwPositionsBlock;
}

function readXml(root: XmlElement): XmlData {
  const data: XmlData = {};
  if (localName(root.name) !== 'espresso') return data; // legacy iotk `Root` format: only checked for integrity
  const input = xChild(root, 'input');
  const control = xChild(input, 'control_variables');
  data.calculation = asCalculation(xText(xChild(control, 'calculation')));
  const forc = xNumber(xChild(control, 'forc_conv_thr'));
  if (forc !== undefined) data.forcConvThrRyBohr = forc * 2; // Ha/bohr → Ry/bohr
  data.pressConvThrKbar = xNumber(xChild(control, 'press_conv_thr'));
  const cellControl = xChild(input, 'cell_control');
  if (cellControl) {
    data.referencePressureKbar = xNumber(xChild(cellControl, 'pressure'));
    data.cellConstrained =
      xBool(xChild(cellControl, 'fix_volume')) === true ||
      xBool(xChild(cellControl, 'fix_area')) === true ||
      xBool(xChild(cellControl, 'isotropic')) === true ||
      xChild(cellControl, 'free_cell') !== undefined;
  }
  data.electronMaxstep = xNumber(xPath(input, 'electron_control/max_nstep'));
  const free = xChild(input, 'free_positions');
  if (free) {
    const flat = numbersIn(free.text);
    if (flat.length % 3 === 0) {
      const rows: number[][] = [];
      for (let k = 0; k < flat.length; k += 3) rows.push(flat.slice(k, k + 3));
      data.freePositions = rows;
    }
  }
  const output = xChild(root, 'output');
  const structure = xChild(output, 'atomic_structure');
  const cell = ['a1', 'a2', 'a3'].map((a) => numbersIn(xPath(structure, `cell/${a}`)?.text ?? ''));
  const atoms = xChildren(xChild(structure, 'atomic_positions'), 'atom');
  if (cell.every((v) => v.length === 3) && atoms.length > 0 && atoms.every((a) => numbersIn(a.text).length === 3 && a.attrs.name)) {
    data.outputCell = { units: 'bohr', vectors: cell };
    data.outputPositions = { units: 'bohr', species: atoms.map((a) => a.attrs.name!), positions: atoms.map((a) => numbersIn(a.text)) };
  }
  const bs = xChild(output, 'band_structure');
  if (bs) {
    data.lsda = xBool(xChild(bs, 'lsda'));
    data.noncolin = xBool(xChild(bs, 'noncolin'));
    data.nbnd = xNumber(xChild(bs, 'nbnd'));
    data.nbndUp = xNumber(xChild(bs, 'nbnd_up'));
    data.nbndDw = xNumber(xChild(bs, 'nbnd_dw'));
    data.nelec = xNumber(xChild(bs, 'nelec'));
    data.nks = xNumber(xChild(bs, 'nks'));
    const toEv = (v: number | undefined) => (v === undefined ? undefined : v * HA_TO_EV);
    data.fermiEv = toEv(xNumber(xChild(bs, 'fermi_energy')));
    const two = xChild(bs, 'two_fermi_energies');
    if (two) {
      const [up, dw] = numbersIn(two.text);
      data.fermiUpEv = toEv(up);
      data.fermiDownEv = toEv(dw);
    }
    data.homoEv = toEv(xNumber(xChild(bs, 'highestOccupiedLevel')));
    data.lumoEv = toEv(xNumber(xChild(bs, 'lowestUnoccupiedLevel')));
    data.occupationsKind = xText(xChild(bs, 'occupations_kind'));
    const smear = xChild(bs, 'smearing');
    if (smear) {
      data.smearing = xText(smear);
      const d = toNumber(smear.attrs.degauss);
      if (d !== undefined) data.degaussRy = d * 2;
    }
    const eig: number[][] = [];
    const occ: number[][] = [];
    for (const ks of xChildren(bs, 'ks_energies')) {
      const e = xChild(ks, 'eigenvalues');
      const o = xChild(ks, 'occupations');
      if (e) eig.push(numbersIn(e.text).map((v) => v * HA_TO_EV));
      if (o) occ.push(numbersIn(o.text));
    }
    if (eig.length) data.eigenvaluesEv = eig;
    if (occ.length && occ.length === eig.length) data.occupations = occ;
  }
  // occupations kind of older schemas: the input
  if (!data.occupationsKind) data.occupationsKind = xText(xPath(input, 'bands/occupations'));
  if (!data.smearing) {
    const smear = xPath(input, 'bands/smearing');
    if (smear) {
      data.smearing = xText(smear);
      const d = toNumber(smear.attrs.degauss);
      if (d !== undefined) data.degaussRy = d * 2;
    }
  }
  data.scfConverged = xBool(xPath(output, 'convergence_info/scf_conv/convergence_achieved'));
  const etot = xNumber(xPath(output, 'total_energy/etot'));
  if (etot !== undefined) data.etotRy = etot * 2;
  const mag = xChild(output, 'magnetization');
  if (mag) {
    // a non-magnetic run writes zeros here: keep them only for spin-polarised runs
    const total = xNumber(xChild(mag, 'total'));
    const absolute = xNumber(xChild(mag, 'absolute'));
    const spin = xBool(xChild(mag, 'lsda')) === true || xBool(xChild(mag, 'noncolin')) === true;
    if (spin || (total ?? 0) !== 0 || (absolute ?? 0) !== 0) {
      data.totalMag = total;
      data.absoluteMag = absolute;
    }
  }
  return data;
}

// ---------------------------------------------------------------------------------------------------------------
// stdout

interface Frame {
  energyRy?: number;
  forces?: number[][];
  totalForce?: number;
  stress?: number[][];
  pressure?: number;
}

interface ScfBlock {
  iterations: number;
  state: 'running' | 'converged' | 'failed';
}

interface StdoutData {
  jobDone: boolean;
  qeVersion?: string;
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
  frames: Frame[];
  scfBlocks: ScfBlock[];
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
  totalMag?: number;
  absoluteMag?: number;
  finalEnthalpyRy?: number;
  finalEnergyRy?: number;
  cell?: PwCellBlock;
  positions?: PwPositionsBlock;
  /** the last printed band listing: [spin][k][band] in eV */
  bands?: number[][][];
  wallSeconds?: number;
  cpuSeconds?: number;
  warnings: MessageSet;
  errors: MessageSet;
}

const RE_VERSION = /Program PWSCF v\.(\S+)\s/;
const RE_ENERGY = new RegExp(String.raw`^\s*!+\s*total energy\s*=\s*(${NUM})\s*Ry`);
const RE_FERMI = new RegExp(String.raw`the Fermi energy is\s+(${NUM})\s*ev`, 'i');
const RE_FERMI2 = new RegExp(String.raw`the spin up/dw Fermi energies are\s+(${NUM})\s+(${NUM})\s*ev`, 'i');
const RE_HOMO_LUMO = new RegExp(String.raw`highest occupied, lowest unoccupied level \(ev\):\s*(${NUM})\s+(${NUM})`, 'i');
const RE_HOMO = new RegExp(String.raw`highest occupied level \(ev\):\s*(${NUM})`, 'i');
const RE_ATOM_FORCE = new RegExp(String.raw`^\s*atom\s+\d+\s+type\s+\d+\s+force\s*=\s*(${NUM})\s*(${NUM})\s*(${NUM})`);
const RE_POSITION = new RegExp(
  String.raw`^\s*([A-Za-z][\w.-]*)\s+(${NUM})\s+(${NUM})\s+(${NUM})(?:\s+([-+]?\d+)\s+([-+]?\d+)\s+([-+]?\d+))?\s*$`,
);
const RE_K_HEADER = /^\s*k\s*=.*bands \(ev\)/;
const RE_FINAL = new RegExp(String.raw`^\s*Final (enthalpy|energy)\s*=\s*(${NUM})\s*Ry`);
const RE_PRESSURE = new RegExp(String.raw`P\s*=\s*(${NUM})`);
const RE_FORCE_THR = new RegExp(String.raw`force convergence thresh\.\s*=\s*(${NUM})`);
const RE_CRITERIA_FORCE = new RegExp(String.raw`force\s*<\s*(${NUM})`);
const RE_CRITERIA_CELL = new RegExp(String.raw`cell\s*<\s*(${NUM})`);
const RE_PRESS_THR = new RegExp(String.raw`press convergence thresh\.\s*=\s*(${NUM})`);
const RE_NELEC = new RegExp(String.raw`number of electrons\s*=\s*(${NUM})`);
const RE_SMEARING = new RegExp(String.raw`number of k points\s*=\s*\d+\s+(.*?)\s*smearing,\s*width \(Ry\)\s*=\s*(${NUM})`);
const RE_TOTAL_MAG = new RegExp(String.raw`^\s*total magnetization\s*=\s*(${NUM})`);
const RE_ABS_MAG = new RegExp(String.raw`^\s*absolute magnetization\s*=\s*(${NUM})`);
const RE_ALAT = new RegExp(String.raw`alat\s*=\s*(${NUM})`);

function blockUnits(header: string): { units: string; alat?: number } {
  const paren = /\(([^)]*)\)/.exec(header)?.[1] ?? header.replace(/^\s*\w+\s*/, '').replace(/[{}]/g, '');
  const alatMatch = RE_ALAT.exec(paren);
  if (alatMatch) return { units: 'alat', alat: toNumber(alatMatch[1]) };
  return { units: paren.trim().toLowerCase() || 'alat' };
}

function parseStdout(stdout: string, crash: string | undefined): StdoutData {
  const lines = stdout.split('\n');
  const d: StdoutData = {
    jobDone: /JOB DONE/.test(stdout),
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
    scfBlocks: [],
    tetrahedra: false,
    lsda: false,
    warnings: new MessageSet(MAX_WARNINGS),
    errors: new MessageSet(MAX_ERRORS),
  };
  d.qeVersion = RE_VERSION.exec(stdout)?.[1];

  const currentFrame = (): Frame => {
    let f = d.frames[d.frames.length - 1];
    if (!f) {
      f = {};
      d.frames.push(f);
    }
    return f;
  };
  let lastIteration = 0;
  let scfThresholdRy: number | undefined;
  let lastAccuracyRy: number | undefined;
  const currentScf = (): ScfBlock => {
    let b = d.scfBlocks[d.scfBlocks.length - 1];
    if (!b || b.state !== 'running') {
      b = { iterations: 0, state: 'running' };
      d.scfBlocks.push(b);
    }
    return b;
  };
  let cBandsWarnings = 0;
  // band listing state
  let inBands = false;
  let collectingK = false;
  let currentSpin = 0;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';

    for (const m of FATAL_MARKERS) if (m.test(line)) d.markers.add(m.name);

    // --- band listing after "End of ... calculation"
    if (/End of (self-consistent|band structure) calculation/.test(line)) {
      inBands = true;
      collectingK = false;
      currentSpin = 0;
      d.bands = [[]];
      if (/band structure/.test(line)) d.hints.bandStructure = true;
      continue;
    }
    if (inBands) {
      if (/SPIN DOWN/.test(line)) {
        currentSpin = 1;
        collectingK = false;
        if (d.bands && !d.bands[1]) d.bands.push([]);
        continue;
      }
      if (/SPIN UP/.test(line)) continue;
      if (RE_K_HEADER.test(line)) {
        d.bands?.[currentSpin]?.push([]);
        collectingK = true;
        continue;
      }
      if (collectingK) {
        if (!line.trim()) {
          const ks = d.bands?.[currentSpin];
          const last = ks?.[ks.length - 1];
          if (last && last.length > 0) collectingK = false;
          continue;
        }
        if (/^[\s\d.eE+\-*]+$/.test(line)) {
          const ks = d.bands?.[currentSpin];
          const last = ks?.[ks.length - 1];
          if (line.includes('*')) d.bands = undefined; // Fortran overflow: listing unusable
          else last?.push(...numbersIn(line));
          if (!d.bands) inBands = false;
          continue;
        }
        collectingK = false;
      }
      if (
        /Fermi energ|highest occupied|^\s*!|total energy|Writing |convergence has been|convergence NOT|Forces acting|Computing stress/.test(
          line,
        )
      ) {
        inBands = false;
      }
    }

    // --- iterations and SCF state
    const it = /^\s*iteration #\s*(\d+)/.exec(line);
    if (it) {
      const n = Number(it[1]);
      const running = d.scfBlocks[d.scfBlocks.length - 1];
      if (!running || running.state !== 'running' || n <= lastIteration) {
        if (running && running.state === 'running' && n <= lastIteration) running.state = 'failed';
        d.scfBlocks.push({ iterations: n, state: 'running' });
      } else running.iterations = n;
      lastIteration = n;
      continue;
    }
    if (/Self-consistent Calculation/.test(line)) d.hints.selfConsistent = true;
    if (/Band Structure Calculation/.test(line)) d.hints.bandStructure = true;
    const thr = /^\s*(?:scf )?convergence threshold\s*=\s*([-+0-9.eEdD]+)/.exec(line);
    if (thr) scfThresholdRy = Number(thr[1]!.replace(/[dD]/, 'e'));
    const acc = /estimated scf accuracy\s*<\s*([-+0-9.eEdD]+)\s*Ry/.exec(line);
    if (acc) lastAccuracyRy = Number(acc[1]!.replace(/[dD]/, 'e'));
    const conv = /convergence has been achieved in\s+(\d+)\s+iterations/.exec(line);
    if (conv) {
      const b = currentScf();
      b.iterations = Number(conv[1]);
      // With scf_must_converge=.false., pw.x 6.x prints "convergence has been achieved" when it merely ran out
      // of iterations: the last estimated accuracy, not the message, tells.
      if (lastAccuracyRy !== undefined && scfThresholdRy !== undefined && lastAccuracyRy > scfThresholdRy) {
        b.state = 'failed';
        d.electronicNotConverged = true;
        if (d.finalScf) d.finalScfFailed = true;
        else d.ionicScfFailed = true;
        d.warnings.add(`convergence reported after ${b.iterations} iterations, but the estimated scf accuracy ${lastAccuracyRy} Ry is above the threshold ${scfThresholdRy} Ry`);
      } else b.state = 'converged';
      lastIteration = 0;
      lastAccuracyRy = undefined;
      continue;
    }
    const notConv = /convergence NOT achieved after\s+(\d+)\s+iterations/.exec(line);
    if (notConv) {
      const b = currentScf();
      b.iterations = Number(notConv[1]);
      b.state = 'failed';
      lastIteration = 0;
      d.electronicNotConverged = true;
      if (d.finalScf) d.finalScfFailed = true;
      else d.ionicScfFailed = true;
      d.warnings.add(line);
      continue;
    }
    const stopped = /Calculation stopped in scf loop at iteration #\s*(\d+)/.exec(line);
    if (stopped) {
      const b = currentScf();
      b.iterations = Number(stopped[1]);
      b.state = 'failed';
      lastIteration = 0;
      d.warnings.add(line);
      continue;
    }

    // --- energies
    const e = RE_ENERGY.exec(line);
    if (e) {
      const energy = toNumber(e[1]);
      const f: Frame = {};
      if (energy !== undefined) f.energyRy = energy;
      d.frames.push(f);
      continue;
    }
    if (line.includes('Fermi energ')) {
      const two = RE_FERMI2.exec(line);
      if (two) {
        d.fermiUpEv = toNumber(two[1]);
        d.fermiDownEv = toNumber(two[2]);
        continue;
      }
      const one = firstNumberAfter(line, RE_FERMI);
      if (one !== undefined) d.fermiEv = one;
      continue;
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
      continue;
    }
    const fe = RE_FINAL.exec(line);
    if (fe) {
      if (fe[1] === 'enthalpy') d.finalEnthalpyRy = toNumber(fe[2]);
      else d.finalEnergyRy = toNumber(fe[2]);
      continue;
    }

    // --- forces and stress
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
      if (forces.length && forces.every((v) => v.every(Number.isFinite))) currentFrame().forces = forces;
      i = j - 1;
      continue;
    }
    if (/^\s*Total force\s*=/.test(line)) {
      const v = numbersIn(line.split('=')[1] ?? '')[0];
      if (v !== undefined) currentFrame().totalForce = v;
      continue;
    }
    if (/total\s+stress\s+\(Ry\/bohr\*\*3\)/.test(line)) {
      const p = firstNumberAfter(line, RE_PRESSURE);
      const rows: number[][] = [];
      for (let j = i + 1; j <= i + 3 && j < lines.length; j++) {
        const nums = numbersIn(lines[j] ?? '');
        if (nums.length !== 6) break;
        rows.push(nums.slice(3, 6));
      }
      const f = currentFrame();
      if (rows.length === 3) f.stress = rows;
      if (p !== undefined) f.pressure = p;
      i += rows.length;
      continue;
    }

    // --- structures
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
      i += vectors.length;
      continue;
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
      i = j - 1;
      continue;
    }

    // --- relaxation / dynamics markers
    if (/final scf calculation at the relaxed structure/i.test(line)) {
      d.finalScf = true;
      d.finalScfFrameIndex = d.frames.length;
      continue;
    }
    if (line.includes('The maximum number of steps has been reached')) {
      d.maxStepsReached = true;
      d.warnings.add(line);
      continue;
    }
    if (line.includes('history already reset at previous step')) {
      d.bfgsHistoryFailure = true;
      d.warnings.add(line);
      continue;
    }
    if (/bfgs converged in/.test(line)) {
      d.bfgsConverged = true;
      d.hints.bfgs = true;
      continue;
    }
    if (/^\s*End final coordinates/.test(line)) {
      d.endFinalCoordinates = true;
      continue;
    }
    if (/Damped (Cell )?Dynamics/i.test(line)) d.hints.damped = true;
    if (/convergence achieved, Efinal|Damped Dynamics: convergence achieved/i.test(line)) d.dampedConverged = true;
    if (/BFGS Geometry Optimization/.test(line)) d.hints.bfgs = true;
    if (/number of bfgs steps/.test(line)) {
      d.hints.bfgs = true;
      d.bfgsStepLines++;
      continue;
    }
    if (/Molecular Dynamics Calculation/.test(line)) d.hints.md = true;
    if (/press convergence thresh|enthalpy new|Final enthalpy|new unit-cell volume|new lattice vectors|Wentzcovitch/.test(line)) {
      d.hints.cell = true;
    }
    if (/Volume is kept fixed/.test(line)) d.volumeFixed = true;
    const nstep = /^\s*nstep\s*=\s*(\d+)/.exec(line);
    if (nstep) {
      d.nstep = Number(nstep[1]);
      continue;
    }
    const fthr = firstNumberAfter(line, RE_FORCE_THR);
    if (fthr !== undefined) d.forcThrRyBohr = fthr;
    if (/\(criteria:/.test(line)) {
      const f = firstNumberAfter(line, RE_CRITERIA_FORCE);
      const c = firstNumberAfter(line, RE_CRITERIA_CELL);
      if (f !== undefined) d.forcThrRyBohr = f;
      if (c !== undefined) d.pressThrKbar = c;
      continue;
    }
    const pthr = firstNumberAfter(line, RE_PRESS_THR);
    if (pthr !== undefined) d.pressThrKbar = pthr;

    // --- system
    if (line.includes('number of electrons')) {
      const v = firstNumberAfter(line, RE_NELEC);
      if (v !== undefined) d.nelec = v;
      continue;
    }
    if (line.includes('number of atoms/cell')) {
      const v = firstNumberAfter(line, /number of atoms\/cell\s*=\s*(\d+)/);
      if (v !== undefined) d.nat = v;
      continue;
    }
    if (line.includes('number of Kohn-Sham states')) {
      const v = firstNumberAfter(line, /number of Kohn-Sham states\s*=\s*(\d+)/);
      if (v !== undefined) d.nbnd = v;
      continue;
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
      continue;
    }
    if (/^\s*(Noncollinear|Spin-orbit)|noncolinear/i.test(line)) d.hints.noncollinear = true;
    if (/-{3,}\s*SPIN UP/.test(line)) d.lsda = true;
    const tm = RE_TOTAL_MAG.exec(line);
    if (tm) d.totalMag = toNumber(tm[1]);
    const am = RE_ABS_MAG.exec(line);
    if (am) d.absoluteMag = toNumber(am[1]);

    // --- timing
    const timing = /^\s*PWSCF\s*:\s*(.*?)CPU\s*(.*?)WALL/.exec(line);
    if (timing) {
      d.cpuSeconds = qeDurationToSeconds(timing[1] ?? '');
      d.wallSeconds = qeDurationToSeconds(timing[2] ?? '');
      continue;
    }

    // --- warnings
    const from = /^\s*Message from routine\s+(\S+?):?\s*$/.exec(line);
    if (from) {
      const next = (lines[i + 1] ?? '').trim();
      // the message itself (next line) is still looked at by the checks above on the next iteration
      d.warnings.add(next ? `${from[1]}: ${next}` : `message from ${from[1]}`);
      continue;
    }
    if (/c_bands:\s+\d+\s+eigenvalues not converged/.test(line)) {
      cBandsWarnings++;
      continue;
    }
    if (/Warning:|WARNING|DEPRECATED:|SCF correction compared to forces is large/.test(line)) d.warnings.add(line);
  }
  if (cBandsWarnings > 0) d.warnings.add(`c_bands: eigenvalues not converged (${cBandsWarnings} times)`);

  for (const text of [stdout, crash ?? '']) {
    for (const block of errorBlocks(text)) d.errors.add(block);
  }
  if (crash !== undefined) {
    for (const line of crash.split('\n')) for (const m of FATAL_MARKERS) if (m.test(line)) d.markers.add(m.name);
  }
  // known fatal messages that are not inside a %%%% block (e.g. "G_par is NOT a reciprocal lattice vector")
  for (const text of [stdout, crash ?? '']) {
    for (const line of text.split('\n')) {
      if (FATAL_MARKERS.some((m) => m.test(line))) {
        const t = shorten(line);
        if (!d.errors.has((msg) => msg.includes(t))) d.errors.add(t);
      }
    }
  }
  return d;
}

/** Texts between `%%%%%` lines, joined into one line each. */
export function errorBlocks(text: string): string[] {
  if (!text.includes('%%%%%')) return [];
  const out: string[] = [];
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (/^\s*%{5,}\s*$/.test(line)) {
      if (current) {
        if (current.length) out.push(current.join(' '));
        current = undefined;
      } else current = [];
      continue;
    }
    if (current && line.trim()) current.push(line.trim());
  }
  if (current?.length) out.push(current.join(' '));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Derived quantities

function gapFromBands(
  bands: number[][],
  nelec: number | undefined,
  electronsPerBand: number,
): { vbm: number; cbm: number; gap: number } | undefined {
  if (nelec === undefined || bands.length === 0) return undefined;
  const nocc = nelec / electronsPerBand;
  if (Math.abs(nocc - Math.round(nocc)) > 1e-6 || Math.round(nocc) < 1) return undefined;
  const n = Math.round(nocc);
  let vbm = -Infinity;
  let cbm = Infinity;
  for (const k of bands) {
    const v = k[n - 1];
    const c = k[n];
    if (v === undefined || c === undefined) return undefined;
    vbm = Math.max(vbm, v);
    cbm = Math.min(cbm, c);
  }
  if (!Number.isFinite(vbm) || !Number.isFinite(cbm)) return undefined;
  return { vbm, cbm, gap: Math.max(0, cbm - vbm) };
}

const round = (v: number, digits = 6) => Math.round(v * 10 ** digits) / 10 ** digits + 0; // + 0: no -0

// ---------------------------------------------------------------------------------------------------------------

export function parsePwOutput(input: PwParseInput): PwResult {
  try {
    return parseUnsafe(input);
  } catch (err) {
    const info = pwExitByName('ERROR_UNEXPECTED_PARSER_EXCEPTION');
    return {
      exitCode: info.code,
      exitName: info.name,
      exitMessage: `${info.message} ${shorten(err instanceof Error ? err.message : String(err))}`,
      jobDone: false,
      warnings: [],
      errorMessages: [],
    };
  }
}

function parseUnsafe(input: PwParseInput): PwResult {
  const exit = (name: PwExitName) => pwExitByName(name);
  if (input.stdout === undefined) {
    const info = exit('ERROR_OUTPUT_STDOUT_MISSING');
    return { exitCode: info.code, exitName: info.name, exitMessage: info.message, jobDone: false, warnings: [], errorMessages: [] };
  }
  const stdout = input.stdout.replace(/\r\n?/g, '\n');
  const crash = input.crash?.replace(/\r\n?/g, '\n');
  const params = normaliseParameters(input.parameters);
  const expectXml = input.expectXml ?? true;

  const s = parseStdout(stdout, crash);

  // XML
  let xml: XmlData = {};
  let xmlProblem: 'missing' | 'unparseable' | undefined;
  if (input.xml === undefined) {
    if (expectXml) xmlProblem = 'missing';
  } else {
    try {
      const root = parseXmlDocument(input.xml);
      const ln = localName(root.name);
      if (ln !== 'espresso' && ln !== 'Root') throw new Error(`unexpected root element <${root.name}>`);
      xml = readXml(root);
    } catch (err) {
      xmlProblem = 'unparseable';
      s.warnings.add(`XML: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // calculation type
  const control = params.get('control');
  const calculation =
    asCalculation(control?.get('calculation')) ??
    xml.calculation ??
    guessCalculation(s);
  const ionic = calculation === 'relax' || calculation === 'vc-relax';

  // SCF summary
  const lastScf = s.scfBlocks[s.scfBlocks.length - 1];
  const scfConverged = lastScf ? lastScf.state === 'converged' : undefined;
  const totalScfIterations = s.scfBlocks.length ? s.scfBlocks.reduce((a, b) => a + b.iterations, 0) : undefined;

  const ionicConverged = ionic ? s.bfgsConverged || s.dampedConverged || s.endFinalCoordinates : undefined;

  // thresholds for the ionic double check
  const cellParams = params.get('cell');
  const forcThr =
    paramNumber(control?.get('forc_conv_thr')) ?? s.forcThrRyBohr ?? xml.forcConvThrRyBohr ?? DEFAULT_FORC_CONV_THR_RY_BOHR;
  const pressThr =
    paramNumber(cellParams?.get('press_conv_thr')) ?? s.pressThrKbar ?? xml.pressConvThrKbar ?? DEFAULT_PRESS_CONV_THR_KBAR;
  const referencePressure = paramNumber(cellParams?.get('press')) ?? xml.referencePressureKbar ?? 0;
  const dofree = cellParams?.get('cell_dofree');
  const cellConstrained =
    typeof dofree === 'string' ? dofree.trim().toLowerCase() !== 'all' : (xml.cellConstrained ?? s.volumeFixed);
  const fixed = s.positions?.ifPos ?? xml.freePositions;

  const frameConverged = (frame: Frame | undefined, checkStress: boolean): boolean => {
    if (!frame) return true;
    if (frame.forces) {
      for (let a = 0; a < frame.forces.length; a++) {
        const f = frame.forces[a] ?? [];
        for (let c = 0; c < 3; c++) {
          if (fixed?.[a]?.[c] === 0) continue;
          if (Math.abs(f[c] ?? 0) >= forcThr) return false;
        }
      }
    }
    if (checkStress && !cellConstrained) {
      const p = frame.pressure ?? (frame.stress ? (frame.stress[0]![0]! + frame.stress[1]![1]! + frame.stress[2]![2]!) / 3 : undefined);
      if (p !== undefined && Math.abs(p - referencePressure) >= pressThr) return false;
    }
    return true;
  };
  const isIonicallyConverged = (exceptFinalScf: boolean): boolean => {
    const frames = s.frames;
    const last = frames[frames.length - 1];
    if (calculation === 'relax') return frameConverged(last, false);
    const hasFinal = s.finalScf && s.finalScfFrameIndex !== undefined && s.finalScfFrameIndex < frames.length;
    const relaxFrame = hasFinal ? frames[(s.finalScfFrameIndex ?? frames.length) - 1] : last;
    const converged = frameConverged(relaxFrame, true);
    const finalOk = hasFinal ? frameConverged(last, true) : converged;
    return converged && (finalOk || exceptFinalScf);
  };

  // --- exit-code decision
  const stdoutIncomplete = !s.jobDone && crash === undefined;
  const electronics = params.get('electrons');
  const notConvergedIsOk = () => {
    const must = paramBool(electronics?.get('scf_must_converge'));
    const maxstep = paramNumber(electronics?.get('electron_maxstep')) ?? xml.electronMaxstep;
    return must === false || maxstep === 0;
  };

  let name: PwExitName = 'SUCCESS';
  decide: {
    if (s.markers.has('ERROR_OUT_OF_WALLTIME') && stdoutIncomplete) {
      name = 'ERROR_OUT_OF_WALLTIME_INTERRUPTED';
      break decide;
    }
    if (input.schedulerOutOfWalltime && (stdoutIncomplete || xmlProblem)) {
      name = ionic ? 'ERROR_IONIC_INTERRUPTED_PARTIAL_TRAJECTORY' : 'ERROR_OUT_OF_WALLTIME';
      break decide;
    }
    for (const m of FATAL_MARKERS) {
      if (s.markers.has(m.name)) {
        name = m.name;
        break decide;
      }
    }
    if (stdoutIncomplete && xmlProblem) {
      name = 'ERROR_OUTPUT_FILES';
      break decide;
    }
    if (stdoutIncomplete) {
      name = 'ERROR_OUTPUT_STDOUT_INCOMPLETE';
      break decide;
    }
    if (xmlProblem === 'missing') {
      name = 'ERROR_OUTPUT_XML_MISSING';
      break decide;
    }
    if (xmlProblem === 'unparseable') {
      name = 'ERROR_OUTPUT_XML_PARSE';
      break decide;
    }
    const exitStatus = input.processExitStatus;
    if (!ionic) {
      if (s.electronicNotConverged || exitStatus === 2) {
        name = notConvergedIsOk() ? 'WARNING_ELECTRONIC_CONVERGENCE_NOT_REACHED' : 'ERROR_ELECTRONIC_CONVERGENCE_NOT_REACHED';
        break decide;
      }
    } else {
      const electronicFailed = s.electronicNotConverged || exitStatus === 2;
      const maxSteps =
        s.maxStepsReached || (s.nstep !== undefined && s.bfgsStepLines > 0 && s.nstep === s.bfgsStepLines) || exitStatus === 3;
      if (!ionicConverged && electronicFailed) {
        name = 'ERROR_IONIC_CYCLE_ELECTRONIC_CONVERGENCE_NOT_REACHED';
        break decide;
      }
      // pw.x 6.7 counts the final SCF of a vc-relax as a step: with a small nstep it stops there with exit
      // status 3 after "bfgs converged". The relaxed structure exists, so this too is nstep exceeded.
      if ((!ionicConverged && maxSteps) || (ionicConverged && exitStatus === 3)) {
        name = 'ERROR_IONIC_CYCLE_EXCEEDED_NSTEP';
        break decide;
      }
      if (s.bfgsHistoryFailure) {
        if (electronicFailed) name = 'ERROR_IONIC_CYCLE_BFGS_HISTORY_AND_FINAL_SCF_FAILURE';
        else if (!isIonicallyConverged(false)) name = 'ERROR_IONIC_CYCLE_BFGS_HISTORY_FAILURE';
        break decide;
      }
      if (electronicFailed) {
        name =
          s.finalScf && s.finalScfFailed && !s.ionicScfFailed
            ? 'ERROR_IONIC_CONVERGENCE_REACHED_FINAL_SCF_FAILED'
            : 'ERROR_IONIC_CYCLE_ELECTRONIC_CONVERGENCE_NOT_REACHED';
        break decide;
      }
      if (!ionicConverged) {
        name = 'ERROR_IONIC_CONVERGENCE_NOT_REACHED';
        break decide;
      }
      if (!isIonicallyConverged(false)) {
        name = isIonicallyConverged(true)
          ? 'ERROR_IONIC_CONVERGENCE_REACHED_EXCEPT_IN_FINAL_SCF'
          : 'ERROR_IONIC_CONVERGENCE_NOT_REACHED';
        break decide;
      }
    }
    if (exitStatus !== undefined && exitStatus !== 0) {
      name = 'ERROR_OUTPUT_STDOUT_INCOMPLETE';
      s.warnings.add(`pw.x exited with status ${exitStatus} although its output reports no failure`);
    }
  }

  // --- result
  const info = exit(name);
  const r: PwResult = {
    exitCode: info.code,
    exitName: info.name,
    exitMessage: info.message,
    jobDone: s.jobDone,
    warnings: [],
    errorMessages: [],
  };
  if (calculation) r.calculation = calculation;
  if (s.qeVersion) r.qeVersion = s.qeVersion;

  const lastEnergyFrame = [...s.frames].reverse().find((f) => f.energyRy !== undefined);
  // the XML energy only stands in for a converged SCF whose `!` line was lost (truncated stdout)
  const energyRy = lastEnergyFrame?.energyRy ?? (xml.scfConverged ? xml.etotRy : undefined);
  if (energyRy !== undefined) {
    r.totalEnergyRy = energyRy;
    r.totalEnergyEv = round(energyRy * RY_TO_EV, 6);
  }
  if (s.finalEnthalpyRy !== undefined) r.finalEnthalpyRy = s.finalEnthalpyRy;
  if (s.finalEnergyRy !== undefined) r.finalEnergyRy = s.finalEnergyRy;

  // occupations
  const occupationsKind =
    s.smearing !== undefined
      ? 'smearing'
      : s.tetrahedra
        ? 'tetrahedra'
        : (xml.occupationsKind ?? (s.nks !== undefined ? 'fixed' : undefined));
  if (occupationsKind) r.occupations = occupationsKind;
  const smear = s.smearing ?? (xml.smearing ? smearingKind(xml.smearing) : undefined);
  const widthRy = s.smearingWidthRy ?? xml.degaussRy;
  if (occupationsKind === 'smearing' && smear) {
    r.smearing = smear;
    if (widthRy !== undefined) r.smearingWidthRy = widthRy;
  }
  const fixedOccupations = occupationsKind === 'fixed';

  const fermi = s.fermiEv ?? (!fixedOccupations ? xml.fermiEv : undefined);
  if (fermi !== undefined) r.fermiEnergyEv = round(fermi, 6);
  const fermiUp = s.fermiUpEv ?? xml.fermiUpEv;
  const fermiDown = s.fermiDownEv ?? xml.fermiDownEv;
  if (fermiUp !== undefined && fermiDown !== undefined) {
    r.fermiEnergyUpEv = round(fermiUp, 6);
    r.fermiEnergyDownEv = round(fermiDown, 6);
  }

  // HOMO / LUMO / gap
  const lsda = xml.lsda ?? (s.lsda || (s.bands?.length ?? 0) > 1);
  const noncolin = xml.noncolin ?? s.hints.noncollinear;
  if (s.homoEv !== undefined) {
    r.highestOccupiedEv = s.homoEv;
    if (s.lumoEv !== undefined) {
      r.lowestUnoccupiedEv = s.lumoEv;
      r.bandGapEv = round(Math.max(0, s.lumoEv - s.homoEv), 6);
      r.bandGapSource = 'stdout-homo-lumo';
    }
  } else if (xml.homoEv !== undefined) {
    r.highestOccupiedEv = round(xml.homoEv, 6);
    if (xml.lumoEv !== undefined) {
      r.lowestUnoccupiedEv = round(xml.lumoEv, 6);
      r.bandGapEv = round(Math.max(0, xml.lumoEv - xml.homoEv), 6);
      r.bandGapSource = 'xml-homo-lumo';
    }
  }
  if (r.bandGapEv === undefined && fixedOccupations && !lsda) {
    const perBand = noncolin ? 1 : 2;
    const nelec = s.nelec ?? xml.nelec;
    const fromStdout = s.bands?.length === 1 && s.bands[0] ? gapFromBands(s.bands[0], nelec, perBand) : undefined;
    const fromXml = !fromStdout && xml.eigenvaluesEv ? gapFromBands(xml.eigenvaluesEv, nelec, perBand) : undefined;
    const g = fromStdout ?? fromXml;
    if (g) {
      r.bandGapEv = round(g.gap, 6);
      r.bandGapSource = fromStdout ? 'stdout-band-energies' : 'xml-band-energies';
      if (r.highestOccupiedEv === undefined) r.highestOccupiedEv = round(g.vbm, 6);
      if (r.lowestUnoccupiedEv === undefined) r.lowestUnoccupiedEv = round(g.cbm, 6);
    }
  }

  const nelec = s.nelec ?? xml.nelec;
  if (nelec !== undefined) r.numberOfElectrons = nelec;
  if (s.nat !== undefined) r.numberOfAtoms = s.nat;
  else if (s.positions) r.numberOfAtoms = s.positions.species.length;
  const nbnd = s.nbnd ?? xml.nbnd ?? xml.nbndUp;
  if (nbnd !== undefined) r.numberOfBands = nbnd;
  const nks = s.nks ?? xml.nks;
  if (nks !== undefined) r.numberOfKPoints = nks;
  if (lsda || xml.lsda !== undefined || s.nks !== undefined) r.spinPolarized = lsda;
  const totalMag = s.totalMag ?? xml.totalMag;
  const absMag = s.absoluteMag ?? xml.absoluteMag;
  if (totalMag !== undefined) r.totalMagnetizationBohrMag = totalMag;
  if (absMag !== undefined) r.absoluteMagnetizationBohrMag = absMag;

  if (lastScf) r.scfIterations = lastScf.iterations;
  if (totalScfIterations !== undefined) r.totalScfIterations = totalScfIterations;
  if (scfConverged !== undefined) r.scfConverged = scfConverged;
  if (ionic || calculation === 'md' || calculation === 'vc-md') {
    const energyFrames = s.frames.filter((f) => f.energyRy !== undefined).length;
    const finalScfFrames = s.finalScf && s.finalScfFrameIndex !== undefined ? s.frames.length - s.finalScfFrameIndex : 0;
    r.ionicSteps = Math.max(0, energyFrames - Math.min(finalScfFrames, energyFrames));
  }
  if (ionicConverged !== undefined) r.ionicConverged = ionicConverged;

  const forcesFrame = [...s.frames].reverse().find((f) => f.forces);
  if (forcesFrame?.forces) r.forcesRyBohr = forcesFrame.forces;
  const totalForceFrame = [...s.frames].reverse().find((f) => f.totalForce !== undefined);
  if (totalForceFrame?.totalForce !== undefined) r.totalForceRyBohr = totalForceFrame.totalForce;
  const stressFrame = [...s.frames].reverse().find((f) => f.stress || f.pressure !== undefined);
  if (stressFrame?.stress) r.stressKbar = stressFrame.stress;
  if (stressFrame?.pressure !== undefined) r.pressureKbar = stressFrame.pressure;
  if (s.cell) r.finalCell = s.cell;
  if (s.positions) r.finalPositions = s.positions;
  if (ionic && !s.cell && !s.positions && xml.outputCell && xml.outputPositions) {
    // A relaxation's stdout without any structure block (cut short, or trimmed): the structure pw.x wrote to its
    // XML, as aiida's output_structure.
    r.finalCell = xml.outputCell;
    r.finalPositions = xml.outputPositions;
  }
  if (s.wallSeconds !== undefined) r.wallTimeSeconds = s.wallSeconds;
  if (s.cpuSeconds !== undefined) r.cpuTimeSeconds = s.cpuSeconds;

  // insufficient bands (aiida sanity_check_insufficient_bands): highest band occupation per k / spin
  const threshold = PW_SANITY_CHECKS.INSUFFICIENT_BANDS.occupationThreshold;
  let occMax: number | undefined;
  let occFromSmearing = false;
  if (xml.occupations && xml.eigenvaluesEv) {
    const scale = xml.lsda || xml.noncolin ? 1 : 2;
    const up = xml.lsda ? (xml.nbndUp ?? xml.nbnd) : undefined;
    let max = -Infinity;
    for (const occ of xml.occupations) {
      const tops = up !== undefined && occ.length > up ? [occ[up - 1], occ[occ.length - 1]] : [occ[occ.length - 1]];
      for (const t of tops) if (t !== undefined) max = Math.max(max, t * scale);
    }
    if (Number.isFinite(max)) occMax = max;
  } else if (s.smearing && s.smearingWidthRy && s.bands && s.bands.some((k) => k.length > 0)) {
    const widthEv = s.smearingWidthRy * RY_TO_EV;
    const spinFermi = [s.fermiUpEv ?? s.fermiEv, s.fermiDownEv ?? s.fermiEv];
    const scale = s.bands.length > 1 || noncolin ? 1 : 2;
    let max = -Infinity;
    s.bands.forEach((spin, is) => {
      const ef = spinFermi[is];
      if (ef === undefined) return;
      for (const k of spin) {
        const top = k[k.length - 1];
        if (top !== undefined) max = Math.max(max, wgauss((ef - top) / widthEv, s.smearing ?? 'gaussian') * scale);
      }
    });
    if (Number.isFinite(max)) {
      occMax = max;
      occFromSmearing = true;
    }
  }
  if (occMax !== undefined) {
    r.highestBandOccupationMax = round(occMax, 6);
    if (!fixedOccupations || occFromSmearing) {
      r.insufficientBands = occMax > threshold;
      if (r.insufficientBands) {
        s.warnings.add(
          `insufficient bands: the highest band holds up to ${round(occMax, 4)} electrons (> ${threshold}); increase nbnd`,
        );
      }
    }
  }

  r.warnings = s.warnings.list();
  r.errorMessages = s.errors.list();
  return r;
}

function guessCalculation(s: StdoutData): PwCalculationType | undefined {
  const h = s.hints;
  if (h.md && !h.damped) return h.cell ? 'vc-md' : 'md';
  if (h.bfgs || h.damped || s.nstep !== undefined || h.atomicPositionsBlocks > 0) return h.cell ? 'vc-relax' : 'relax';
  if (h.bandStructure && !h.selfConsistent) {
    return s.fermiEv !== undefined || s.homoEv !== undefined || s.fermiUpEv !== undefined ? 'nscf' : 'bands';
  }
  if (h.selfConsistent || s.frames.length > 0) return 'scf';
  return undefined;
}
