/**
 * projwfc.x: the input file, its stdout (atomic states, projections, Löwdin charges) and the projected DOS files
 * (`<filpdos>.pdos_tot`, `<filpdos>.pdos_atm#N(El)_wfc#M(l)`).
 *
 * Pure: text in, data out. pdos columns: `E ldos pdos_m1 pdos_m2 ...` (spin-polarised: `ldosup ldosdw` then
 * `pdosup pdosdw` per m); pdos_tot: `E dos pdos` (spin: `dosup dosdw pdosup pdosdw`). `dos` in pdos_tot is the
 * DOS from the eigenvalues, `pdos` the sum of all projections (smaller: the spilling).
 */
import { writeToolNamelist, parseQeToolStdout } from './dos.ts';
import type { QeToolStdout } from './dos.ts';
import type { Namelist } from './inputs.ts';
import { numbersIn } from './text.ts';

export type OrbitalL = 's' | 'p' | 'd' | 'f';
const L_LETTERS: readonly OrbitalL[] = ['s', 'p', 'd', 'f'];

// ---------------------------------------------------------------------------------------------------------------
// Input

export interface ProjwfcInputRequest {
  prefix: string;
  outdir: string;
  /** Prefix of the pdos files; default `prefix`. */
  filpdos?: string;
  /** Energy window and step, eV. */
  emin?: number;
  emax?: number;
  deltaE?: number;
  /** Gaussian broadening, Ry (projwfc.x uses it even after a tetrahedra nscf when given). */
  degauss?: number;
  ngauss?: number;
}

export interface ProjwfcInput {
  text: string;
  parameters: Namelist;
  filpdos: string;
}

/** The projwfc.x input (`&PROJWFC` namelist). */
export function buildProjwfcInput(req: ProjwfcInputRequest): ProjwfcInput {
  for (const k of ['emin', 'emax', 'deltaE', 'degauss'] as const) {
    const v = req[k];
    if (v !== undefined && !Number.isFinite(v)) throw new Error(`${k} must be a finite number`);
  }
  if (req.emin !== undefined && req.emax !== undefined && !(req.emin < req.emax)) throw new Error(`emin (${req.emin}) must be below emax (${req.emax})`);
  if (req.deltaE !== undefined && !(req.deltaE > 0)) throw new Error(`deltaE must be positive, got ${req.deltaE}`);
  if (req.degauss !== undefined && !(req.degauss > 0)) throw new Error(`degauss must be positive (Ry), got ${req.degauss}`);
  for (const [k, v] of [['prefix', req.prefix], ['outdir', req.outdir], ['filpdos', req.filpdos]] as const) {
    if (v !== undefined && (!v || /[\r\n]/.test(v))) throw new Error(`${k} must be a non-empty string without line breaks`);
  }
  const filpdos = req.filpdos ?? req.prefix;
  const p: Namelist = { prefix: req.prefix, outdir: req.outdir, filpdos };
  if (req.emin !== undefined) p.Emin = req.emin;
  if (req.emax !== undefined) p.Emax = req.emax;
  if (req.deltaE !== undefined) p.DeltaE = req.deltaE;
  if (req.degauss !== undefined) p.degauss = req.degauss;
  if (req.ngauss !== undefined) p.ngauss = req.ngauss;
  return { text: writeToolNamelist('PROJWFC', p), parameters: p, filpdos };
}

// ---------------------------------------------------------------------------------------------------------------
// stdout

export interface AtomicState {
  /** 1-based state number (the `#` of `[#  3]`). */
  state: number;
  /** 1-based atom index. */
  atomIndex: number;
  element: string;
  /** 1-based index of the pseudo-atomic wavefunction of that species. */
  wfcIndex: number;
  l: number;
  orbital: OrbitalL;
  /** Magnetic quantum number (1..2l+1, QE's real-harmonic order) without spin-orbit. */
  m?: number;
  /** With spin-orbit: j and m_j. */
  j?: number;
  mj?: number;
}

export interface LowdinCharges {
  total: number;
  /** Charge per l ('s', 'p', 'd', 'f'). */
  byL: Partial<Record<OrbitalL, number>>;
  /** Per real harmonic as printed: pz, px, py, dz2, dxz, ... */
  components: Record<string, number>;
}

export interface LowdinAtom extends LowdinCharges {
  atomIndex: number;
  element?: string;
  spinUp?: LowdinCharges;
  spinDown?: LowdinCharges;
  /** up − down per l, as printed. */
  polarization?: LowdinCharges;
}

export interface BandProjection {
  kIndex: number;
  /** Cartesian 2π/alat, as printed. */
  k: [number, number, number];
  band: number;
  energyEv: number;
  /** |<state|psi>|² per atomic state (only those printed: projwfc.x drops small ones). */
  weights: { state: number; weight: number }[];
  psiSquared: number;
}

export interface ProjwfcStdout extends QeToolStdout {
  states: AtomicState[];
  lowdin: LowdinAtom[];
  spillingParameter?: number;
  /** Only with `{ bandProjections: true }`: one entry per k-point and band (large for big runs). */
  bandProjections?: BandProjection[];
}

const NUM = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?`;

function readCharges(text: string): LowdinCharges {
  const total = Number(new RegExp(String.raw`(?:total charge|spin up|spin down|polarization)\s*=\s*(${NUM})`).exec(text)?.[1] ?? Number.NaN);
  const byL: Partial<Record<OrbitalL, number>> = {};
  const components: Record<string, number> = {};
  const after = text.replace(new RegExp(String.raw`^.*?(?:total charge|spin up|spin down|polarization)\s*=\s*${NUM}\s*,?`), '');
  for (const m of after.matchAll(new RegExp(String.raw`([a-z][a-z0-9-]*)\s*=\s*(${NUM})`, 'g'))) {
    const key = m[1]!;
    const v = Number(m[2]);
    if ((L_LETTERS as readonly string[]).includes(key)) byL[key as OrbitalL] = v;
    else components[key] = v;
  }
  return { total, byL, components };
}

function mergeCharges(into: LowdinCharges, from: LowdinCharges): void {
  Object.assign(into.byL, from.byL);
  Object.assign(into.components, from.components);
  if (!Number.isFinite(into.total)) into.total = from.total;
}

/**
 * projwfc.x stdout: the atomic states (atom, element, wfc, l, m or j/m_j), Löwdin charges per atom (and per spin),
 * the spilling parameter, errors; with `bandProjections`, the projections of every band on the states.
 */
export function parseProjwfcStdout(stdout: string, options: { bandProjections?: boolean } = {}): ProjwfcStdout {
  const base = parseQeToolStdout(stdout, 'projwfc');
  const states: AtomicState[] = [];
  const lowdin: LowdinAtom[] = [];
  const projections: BandProjection[] = [];
  let spilling: number | undefined;
  const lines = stdout.split('\n');
  let current: LowdinAtom | undefined;
  let inLowdin = false;
  let k: [number, number, number] | undefined;
  let kIndex = -1;
  let proj: BandProjection | undefined;
  let psiText = '';
  const flushPsi = () => {
    if (proj) {
      for (const m of psiText.matchAll(new RegExp(String.raw`(${NUM})\s*\*\s*\[#\s*(\d+)\s*\]`, 'g'))) {
        proj.weights.push({ state: Number(m[2]), weight: Number(m[1]) });
      }
    }
    psiText = '';
  };

  for (const line of lines) {
    const st = /state #\s*(\d+):\s*atom\s+(\d+)\s*\(\s*([A-Za-z0-9_]+)\s*\)\s*,\s*wfc\s+(\d+)\s*\((.*)\)/.exec(line);
    if (st) {
      const inside = st[5]!;
      const l = Number(/l=\s*(\d+)/.exec(inside)?.[1]);
      const s: AtomicState = {
        state: Number(st[1]),
        atomIndex: Number(st[2]),
        element: st[3]!,
        wfcIndex: Number(st[4]),
        l,
        orbital: L_LETTERS[l] ?? ('f' as OrbitalL),
      };
      const jm = new RegExp(String.raw`j=\s*(${NUM})\s+m_j=\s*(${NUM})`).exec(inside);
      if (jm) {
        s.j = Number(jm[1]);
        s.mj = Number(jm[2]);
      } else {
        const m = /\bm=\s*(-?\d+)/.exec(inside);
        if (m) s.m = Number(m[1]);
      }
      states.push(s);
      continue;
    }
    if (options.bandProjections) {
      const km = /^\s*k\s*=\s*(.*)$/.exec(line);
      if (km && !/bands/.test(line)) {
        const nums = numbersIn(km[1]!);
        if (nums.length === 3) {
          flushPsi();
          proj = undefined;
          kIndex++;
          k = [nums[0]!, nums[1]!, nums[2]!];
          continue;
        }
      }
      const em = new RegExp(String.raw`^==== e\(\s*(\d+)\)\s*=\s*(${NUM})\s*eV`).exec(line);
      if (em && k) {
        flushPsi();
        proj = { kIndex, k, band: Number(em[1]), energyEv: Number(em[2]), weights: [], psiSquared: Number.NaN };
        projections.push(proj);
        continue;
      }
      if (proj && /^\s*psi\s*=/.test(line)) {
        psiText = line.replace(/^\s*psi\s*=/, '');
        continue;
      }
      const ps = new RegExp(String.raw`^\s*\|psi\|\^2\s*=\s*(${NUM})`).exec(line);
      if (proj && ps) {
        flushPsi();
        proj.psiSquared = Number(ps[1]);
        continue;
      }
      if (proj && psiText && /^\s*[+\d.]/.test(line) && line.includes('[#')) {
        psiText += line;
        continue;
      }
    }
    if (/Lowdin Charges/i.test(line)) {
      inLowdin = true;
      continue;
    }
    if (inLowdin) {
      const sp = new RegExp(String.raw`Spilling Parameter:\s*(${NUM})`).exec(line);
      if (sp) {
        spilling = Number(sp[1]);
        inLowdin = false;
        continue;
      }
      const am = /Atom #\s*(\d+):(.*)$/.exec(line);
      if (am) {
        const idx = Number(am[1]);
        const c = readCharges(am[2]!);
        if (!current || current.atomIndex !== idx) {
          current = { atomIndex: idx, ...c };
          lowdin.push(current);
        } else mergeCharges(current, c);
        continue;
      }
      const sm = /^\s*(spin up|spin down|polarization)\s*=(.*)$/.exec(line);
      if (sm && current) {
        const c = readCharges(line.trim());
        const key = sm[1] === 'spin up' ? 'spinUp' : sm[1] === 'spin down' ? 'spinDown' : 'polarization';
        const prev = current[key];
        if (prev) mergeCharges(prev, c);
        else current[key] = c;
      }
    }
  }
  flushPsi();
  for (const a of lowdin) {
    const el = states.find((s) => s.atomIndex === a.atomIndex)?.element;
    if (el) a.element = el;
  }
  const out: ProjwfcStdout = { ...base, states, lowdin };
  if (spilling !== undefined) out.spillingParameter = spilling;
  if (options.bandProjections) out.bandProjections = projections;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// pdos files

export interface PdosProjection {
  atomIndex: number;
  element: string;
  wfcIndex: number;
  /** 's', 'p', 'd', 'f'. */
  orbital: OrbitalL;
  l: number;
  /** Spin-orbit files (`_wfc#1(p_j1.5)`): j. */
  j?: number;
  /** The file's name (basename) it came from. */
  file: string;
  /** ldos: summed over m (and over spin for spin-polarised runs), states/eV. */
  pdos: number[];
  spin?: { up: number[]; down: number[] };
  /** Per m (or m_j) column, summed over spin. */
  components: number[][];
}

export interface PdosTotal {
  energiesEv: number[];
  /** DOS from the eigenvalues (dos(E) column; up + down when spin-polarised). */
  total: number[];
  /** Sum of all projections (pdos(E) column). */
  projectedTotal: number[];
  spin?: { up: number[]; down: number[]; projectedUp: number[]; projectedDown: number[] };
}

export interface Pdos extends PdosTotal {
  projections: PdosProjection[];
  /**
   * E.g. an all-zero DOS: projwfc.x 6.7 writes zeros everywhere when `degauss` is given after an nscf with
   * occupations = 'tetrahedra_opt' (leave degauss out there, or use 'tetrahedra' / smearing).
   */
  warnings: string[];
}

const PDOS_NAME = /pdos_atm#(\d+)\(([^)]+)\)_wfc#(\d+)\(([spdf])(?:_j(\d+(?:\.\d+)?))?\)$/;

/** Which projection a pdos file holds, from its name (`<filpdos>.pdos_atm#1(Si)_wfc#2(p)`); undefined for other names. */
export function pdosFileInfo(name: string): Omit<PdosProjection, 'pdos' | 'spin' | 'components' | 'file'> | undefined {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const m = PDOS_NAME.exec(base);
  if (!m) return undefined;
  const orbital = m[4] as OrbitalL;
  const out: Omit<PdosProjection, 'pdos' | 'spin' | 'components' | 'file'> = {
    atomIndex: Number(m[1]),
    element: m[2]!.trim(),
    wfcIndex: Number(m[3]),
    orbital,
    l: L_LETTERS.indexOf(orbital),
  };
  if (m[5] !== undefined) out.j = Number(m[5]);
  return out;
}

interface Table {
  columns: string[];
  rows: number[][];
}

function readTable(text: string, what: string): Table {
  const lines = text.split('\n');
  const header = lines.find((l) => l.trimStart().startsWith('#'));
  if (!header) throw new Error(`${what}: no '#' header line`);
  // "# E (eV)  ldosup(E) ..." → ['E', 'ldosup', ...]; k-resolved files start with 'ik'
  const columns = header
    .replace(/^\s*#/, '')
    .replace(/E \(eV\)/, 'E')
    .replace(/\(E\)/g, '')
    .trim()
    .split(/\s+/);
  if (columns[0] === 'ik') throw new Error(`${what}: k-resolved pdos (kresolveddos = .true.) is not supported`);
  const rows: number[][] = [];
  for (const line of lines) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const nums = numbersIn(t);
    if (nums.length !== columns.length) throw new Error(`${what}: a row has ${nums.length} numbers for ${columns.length} columns (${columns.join(' ')})`);
    rows.push(nums);
  }
  if (!rows.length) throw new Error(`${what}: no data rows`);
  return { columns, rows };
}

const col = (t: Table, i: number) => t.rows.map((r) => r[i]!);
const add = (a: number[], b: number[]) => a.map((x, i) => x + b[i]!);

/** One `pdos_atm#N(El)_wfc#M(l)` file; `name` is its file name (it says which atom and orbital). */
export function parsePdosFile(name: string, text: string): PdosProjection & { energiesEv: number[] } {
  const info = pdosFileInfo(name);
  if (!info) throw new Error(`${name}: not a pdos_atm#N(El)_wfc#M(l) file name`);
  const t = readTable(text, name);
  const c = t.columns;
  const energiesEv = col(t, 0);
  const file = name.slice(name.lastIndexOf('/') + 1);
  const out: PdosProjection & { energiesEv: number[] } = { ...info, file, energiesEv, pdos: [], components: [] };
  const up = c.indexOf('ldosup');
  const dw = c.indexOf('ldosdw');
  if (up >= 0 && dw >= 0) {
    out.spin = { up: col(t, up), down: col(t, dw) };
    out.pdos = add(out.spin.up, out.spin.down);
    // then pdosup, pdosdw pairs per m
    for (let i = 3; i + 1 < c.length; i += 2) out.components.push(add(col(t, i), col(t, i + 1)));
  } else if (c[1] === 'ldos') {
    out.pdos = col(t, 1);
    const rest = c.slice(2);
    if (rest.every((x) => x === 'pdos')) for (let i = 2; i < c.length; i++) out.components.push(col(t, i));
    else if (rest.length % 2 === 0 && rest.every((x, i) => x === (i % 2 ? 'pdosdw' : 'pdosup'))) {
      // noncollinear without spin-orbit: up, down per m
      for (let i = 2; i + 1 < c.length; i += 2) out.components.push(add(col(t, i), col(t, i + 1)));
    } else throw new Error(`${name}: unexpected columns ${c.join(' ')}`);
  } else throw new Error(`${name}: unexpected columns ${c.join(' ')}`);
  return out;
}

/** The `pdos_tot` file. */
export function parsePdosTot(text: string): PdosTotal {
  const t = readTable(text, 'pdos_tot');
  const c = t.columns;
  const energiesEv = col(t, 0);
  const du = c.indexOf('dosup');
  const dd = c.indexOf('dosdw');
  if (du >= 0 && dd >= 0) {
    const pu = c.indexOf('pdosup');
    const pd = c.indexOf('pdosdw');
    if (pu < 0 || pd < 0) throw new Error(`pdos_tot: unexpected columns ${c.join(' ')}`);
    const spin = { up: col(t, du), down: col(t, dd), projectedUp: col(t, pu), projectedDown: col(t, pd) };
    return { energiesEv, total: add(spin.up, spin.down), projectedTotal: add(spin.projectedUp, spin.projectedDown), spin };
  }
  const d = c.indexOf('dos');
  const p = c.indexOf('pdos');
  if (d < 0 || p < 0) throw new Error(`pdos_tot: unexpected columns ${c.join(' ')}`);
  return { energiesEv, total: col(t, d), projectedTotal: col(t, p) };
}

/**
 * All pdos files of one projwfc.x run (`{ name, text }`, names as written: the `pdos_tot` one and the
 * `pdos_atm#...` ones; other names are ignored). Projections are sorted by atom, then wfc. Throws when pdos_tot
 * is missing or the energy grids differ.
 */
export function parseProjwfcPdos(files: readonly { name: string; text: string }[]): Pdos {
  const totFile = files.find((f) => /pdos_tot$/.test(f.name));
  if (!totFile) throw new Error('no pdos_tot file among the files given');
  const tot = parsePdosTot(totFile.text);
  const projections: PdosProjection[] = [];
  for (const f of files) {
    if (!pdosFileInfo(f.name)) continue;
    const p = parsePdosFile(f.name, f.text);
    if (p.energiesEv.length !== tot.energiesEv.length || p.energiesEv.some((e, i) => Math.abs(e - tot.energiesEv[i]!) > 1e-6)) {
      throw new Error(`${f.name}: energy grid differs from pdos_tot's`);
    }
    const { energiesEv: _grid, ...proj } = p;
    projections.push(proj);
  }
  projections.sort((a, b) => a.atomIndex - b.atomIndex || a.wfcIndex - b.wfcIndex);
  const warnings: string[] = [];
  if (tot.total.every((v) => v === 0)) {
    warnings.push(
      "pdos_tot is zero everywhere: no states in the window, or projwfc.x was given degauss after an nscf with occupations = 'tetrahedra_opt' (projwfc.x 6.7 then writes zeros)",
    );
  }
  return { ...tot, projections, warnings };
}

export interface PdosSum {
  /** 'Si', 'p', 'Si p'. */
  label: string;
  element?: string;
  orbital?: OrbitalL;
  values: number[];
  spin?: { up: number[]; down: number[] };
}

/**
 * Sum projections by element ('element'), by l ('l') or by element and l ('element-l'), in order of first
 * appearance. Different wfcs of one l (semicore 3s and valence 4s) are summed together.
 */
export function sumPdos(projections: readonly PdosProjection[], by: 'element' | 'l' | 'element-l'): PdosSum[] {
  const out = new Map<string, PdosSum>();
  for (const p of projections) {
    const key = by === 'element' ? p.element : by === 'l' ? p.orbital : `${p.element} ${p.orbital}`;
    let s = out.get(key);
    if (!s) {
      s = { label: key, values: p.pdos.map(() => 0) };
      if (by !== 'l') s.element = p.element;
      if (by !== 'element') s.orbital = p.orbital;
      if (p.spin) s.spin = { up: p.pdos.map(() => 0), down: p.pdos.map(() => 0) };
      out.set(key, s);
    }
    if (s.values.length !== p.pdos.length) throw new Error(`${p.file}: ${p.pdos.length} points, others have ${s.values.length}`);
    p.pdos.forEach((v, i) => (s.values[i]! += v));
    if (s.spin && p.spin) {
      p.spin.up.forEach((v, i) => (s.spin!.up[i]! += v));
      p.spin.down.forEach((v, i) => (s.spin!.down[i]! += v));
    }
  }
  return [...out.values()];
}
