/**
 * projwfc.x: the input file, its stdout (atomic states, projections, Löwdin charges) and the projected DOS files
 * (`<filpdos>.pdos_tot`, `<filpdos>.pdos_atm#N(El)_wfc#M(l)`).
 *
 * Pure: text in, data out. pdos columns: `E ldos pdos_m1 pdos_m2 ...` (spin-polarised and noncollinear: `ldosup
 * ldosdw` then `pdosup pdosdw` per m; spin-orbit: one file per (l, j), `ldos` then one column per m_j); pdos_tot:
 * `E dos pdos` (collinear spin: `dosup dosdw pdosup pdosdw`; noncollinear: `dos pdosup pdosdw`): see `PdosSpin`.
 * `dos` in pdos_tot is the DOS from the eigenvalues, `pdos` the sum of all projections (smaller: the spilling).
 * Real noncollinear and spin-orbit outputs: test/data/projwfc-noncollinear/.
 */
import { writeToolNamelist, parseQeToolStdout } from './dos.ts';
import type { QeToolStdout } from './dos.ts';
import type { Namelist } from './inputs.ts';
import { ReadError } from '../../read-error.ts';
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
  /** Noncollinear without spin-orbit: the spinor component, +0.5 or −0.5 (along the cell's z axis). */
  sz?: number;
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
  /** "spin up" / "spin down" as printed: spin channels, or for a noncollinear run (states with `sz`) the s_z components. */
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
        const sz = new RegExp(String.raw`s_z=\s*(${NUM})`).exec(inside);
        if (sz) s.sz = Number(sz[1]);
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

/**
 * How the run treated spin, as the pdos_tot header says (projwfc.x 6.7):
 * - `unpolarised`  `E dos pdos`;
 * - `collinear`    `E dosup dosdw pdosup pdosdw` (nspin = 2): up and down are the two spin channels;
 * - `noncollinear` `E dos pdosup pdosdw` (noncolin without spin-orbit): one DOS; "up"/"dw" of the projections are the
 *                  s_z = ±1/2 components of the spinors along the cell's z axis, not spin channels;
 * - `spin-orbit`   `E dos pdos` again, told apart by the per-orbital files, one per (l, j): `_wfc#M(d_j2.5)`.
 */
export type PdosSpin = 'unpolarised' | 'collinear' | 'noncollinear' | 'spin-orbit';

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
  /** ldos: summed over m (and over spin, or over s_z), states/eV. */
  pdos: number[];
  /** `collinear` runs: the two spin channels. */
  spin?: { up: number[]; down: number[] };
  /** `noncollinear` runs: the s_z = +1/2 and −1/2 components (cell z axis). */
  sz?: { up: number[]; down: number[] };
  /** Per m (or, with spin-orbit, per m_j from −j to j) column, summed over spin or s_z. */
  components: number[][];
}

export interface PdosTotal {
  spinTreatment: Exclude<PdosSpin, 'spin-orbit'> | 'unpolarised-or-spin-orbit';
  energiesEv: number[];
  /** DOS from the eigenvalues (dos(E) column; up + down when collinear spin-polarised). */
  total: number[];
  /** Sum of all projections (pdos(E) column; up + down, or both s_z, when split). */
  projectedTotal: number[];
  /** `collinear`: the DOS and the projections per spin channel. */
  spin?: { up: number[]; down: number[]; projectedUp: number[]; projectedDown: number[] };
  /** `noncollinear`: the projections per s_z component (the DOS itself is not split). */
  sz?: { projectedUp: number[]; projectedDown: number[] };
}

export interface Pdos extends Omit<PdosTotal, 'spinTreatment'> {
  spinTreatment: PdosSpin;
  projections: PdosProjection[];
  /**
   * E.g. an all-zero DOS: projwfc.x 6.7 writes zeros everywhere when `degauss` is given after an nscf with
   * occupations = 'tetrahedra_opt' (leave degauss out there, or use 'tetrahedra' / smearing).
   */
  warnings: string[];
}

const PDOS_NAME = /pdos_atm#(\d+)\(([^)]+)\)_wfc#(\d+)\(([spdf])(?:_j(\d+(?:\.\d+)?))?\)$/;

/** Which projection a pdos file holds, from its name (`<filpdos>.pdos_atm#1(Si)_wfc#2(p)`); undefined for other names. */
export function pdosFileInfo(name: string): Omit<PdosProjection, 'pdos' | 'spin' | 'sz' | 'components' | 'file'> | undefined {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const m = PDOS_NAME.exec(base);
  if (!m) return undefined;
  const orbital = m[4] as OrbitalL;
  const out: Omit<PdosProjection, 'pdos' | 'spin' | 'sz' | 'components' | 'file'> = {
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

function readTable(text: string, source: string): Table {
  const lines = text.split('\n');
  const headerIndex = lines.findIndex((l) => l.trimStart().startsWith('#'));
  if (headerIndex < 0) throw new ReadError({ source, reason: "no '#' header line" });
  // "# E (eV)  ldosup(E) ..." → ['E', 'ldosup', ...]; spin-orbit "pdos(E)_1" → 'pdos_1'; k-resolved files start with 'ik'
  const columns = lines[headerIndex]!
    .replace(/^\s*#/, '')
    .replace(/E \(eV\)/, 'E')
    .replace(/\(E\)/g, '')
    .trim()
    .split(/\s+/);
  if (columns[0] === 'ik') {
    throw new ReadError({ source, line: headerIndex + 1, kind: 'unsupported', reason: 'k-resolved PDOS (kresolveddos = .true.); run projwfc.x without it' });
  }
  const rows: number[][] = [];
  lines.forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    const nums = numbersIn(t);
    if (nums.length !== columns.length) {
      throw new ReadError({ source, line: i + 1, reason: `a row has ${nums.length} numbers for ${columns.length} columns (${columns.join(' ')})` });
    }
    rows.push(nums);
  });
  if (!rows.length) throw new ReadError({ source, reason: 'no data rows' });
  return { columns, rows };
}

const col = (t: Table, i: number) => t.rows.map((r) => r[i]!);
const add = (a: number[], b: number[]) => a.map((x, i) => x + b[i]!);
const same = (columns: readonly string[], expected: readonly string[]) => columns.length === expected.length && columns.every((c, i) => c === expected[i]);
const repeat = (n: number, ...names: string[]) => Array.from({ length: n }, () => names).flat();

/** The columns a per-orbital file of this spin treatment has, after `E`. */
function expectedOrbitalColumns(spin: PdosSpin, info: { l: number; j?: number }): string[][] {
  const m = 2 * info.l + 1;
  switch (spin) {
    case 'unpolarised':
      return [['ldos', ...repeat(m, 'pdos')]];
    case 'collinear':
    case 'noncollinear':
      return [['ldosup', 'ldosdw', ...repeat(m, 'pdosup', 'pdosdw')]];
    case 'spin-orbit': {
      const mj = Math.round(2 * (info.j ?? 0) + 1);
      // QE 6.7 numbers the m_j columns; earlier versions repeated "pdos(E)"
      return [['ldos', ...Array.from({ length: mj }, (_, k) => `pdos_${k + 1}`)], ['ldos', ...repeat(mj, 'pdos')]];
    }
  }
}

/**
 * One `pdos_atm#N(El)_wfc#M(l)` file; `name` is its file name (it says which atom and orbital, and `_j` the j of a
 * spin-orbit run), `spin` how the run treated spin (from pdos_tot: `pdosSpinTreatment`; a per-orbital file alone
 * cannot tell collinear from noncollinear). Throws a ReadError when the columns are not the ones that go with both.
 */
export function parsePdosFile(name: string, text: string, spin: PdosSpin): PdosProjection & { energiesEv: number[] } {
  const file = name.slice(name.lastIndexOf('/') + 1);
  const info = pdosFileInfo(name);
  if (!info) throw new ReadError({ source: file, reason: 'not a pdos_atm#N(El)_wfc#M(l) file name' });
  if ((info.j !== undefined) !== (spin === 'spin-orbit')) {
    throw new ReadError({
      source: file,
      reason: info.j !== undefined ? `a spin-orbit (_j) file among the files of a ${spin} run (pdos_tot): files of different runs?` : `a file without j among the files of a spin-orbit run: files of different runs?`,
    });
  }
  const t = readTable(text, file);
  const c = t.columns;
  const expected = expectedOrbitalColumns(spin, info);
  if (c[0] !== 'E' || !expected.some((e) => same(c.slice(1), e))) {
    throw new ReadError({
      source: file,
      line: text.split('\n').findIndex((l) => l.trimStart().startsWith('#')) + 1,
      reason: `unexpected columns ${c.join(' ')} for ${info.orbital}${info.j !== undefined ? ` j=${info.j}` : ''} of a ${spin} run (expected E ${expected[0]!.join(' ')})`,
    });
  }
  const out: PdosProjection & { energiesEv: number[] } = { ...info, file, energiesEv: col(t, 0), pdos: [], components: [] };
  if (spin === 'collinear' || spin === 'noncollinear') {
    const pair = { up: col(t, 1), down: col(t, 2) };
    out[spin === 'collinear' ? 'spin' : 'sz'] = pair;
    out.pdos = add(pair.up, pair.down);
    for (let i = 3; i + 1 < c.length; i += 2) out.components.push(add(col(t, i), col(t, i + 1)));
  } else {
    out.pdos = col(t, 1);
    for (let i = 2; i < c.length; i++) out.components.push(col(t, i));
  }
  return out;
}

/** The `pdos_tot` file (`source`: its name, for messages). */
export function parsePdosTot(text: string, source = 'pdos_tot'): PdosTotal {
  const t = readTable(text, source);
  const c = t.columns;
  const energiesEv = col(t, 0);
  if (same(c, ['E', 'dosup', 'dosdw', 'pdosup', 'pdosdw'])) {
    const spin = { up: col(t, 1), down: col(t, 2), projectedUp: col(t, 3), projectedDown: col(t, 4) };
    return { spinTreatment: 'collinear', energiesEv, total: add(spin.up, spin.down), projectedTotal: add(spin.projectedUp, spin.projectedDown), spin };
  }
  if (same(c, ['E', 'dos', 'pdosup', 'pdosdw'])) {
    const sz = { projectedUp: col(t, 2), projectedDown: col(t, 3) };
    return { spinTreatment: 'noncollinear', energiesEv, total: col(t, 1), projectedTotal: add(sz.projectedUp, sz.projectedDown), sz };
  }
  if (same(c, ['E', 'dos', 'pdos'])) return { spinTreatment: 'unpolarised-or-spin-orbit', energiesEv, total: col(t, 1), projectedTotal: col(t, 2) };
  throw new ReadError({
    source,
    line: text.split('\n').findIndex((l) => l.trimStart().startsWith('#')) + 1,
    reason: `unexpected columns ${c.join(' ')} (expected E dos pdos; E dosup dosdw pdosup pdosdw; or, noncollinear, E dos pdosup pdosdw)`,
  });
}

/**
 * All pdos files of one projwfc.x run (`{ name, text }`, names as written: the `pdos_tot` one and the
 * `pdos_atm#...` ones; other names are ignored). Projections are sorted by atom, then wfc. Throws a ReadError when
 * pdos_tot is missing, a file does not fit the run's spin treatment, or the energy grids differ.
 */
export function parseProjwfcPdos(files: readonly { name: string; text: string }[]): Pdos {
  const totFile = files.find((f) => /pdos_tot$/.test(f.name));
  if (!totFile) throw new ReadError({ source: 'projwfc.x output', reason: 'no pdos_tot file among the files given' });
  const { spinTreatment: totSpin, ...tot } = parsePdosTot(totFile.text, totFile.name.slice(totFile.name.lastIndexOf('/') + 1));
  const orbitalFiles = files.filter((f) => pdosFileInfo(f.name));
  const spinTreatment: PdosSpin =
    totSpin === 'unpolarised-or-spin-orbit' ? (orbitalFiles.some((f) => pdosFileInfo(f.name)!.j !== undefined) ? 'spin-orbit' : 'unpolarised') : totSpin;
  const projections: PdosProjection[] = [];
  for (const f of orbitalFiles) {
    const p = parsePdosFile(f.name, f.text, spinTreatment);
    if (p.energiesEv.length !== tot.energiesEv.length || p.energiesEv.some((e, i) => Math.abs(e - tot.energiesEv[i]!) > 1e-6)) {
      throw new ReadError({ source: p.file, reason: `energy grid differs from ${totFile.name}'s: files of different runs?` });
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
  return { ...tot, spinTreatment, projections, warnings };
}

export interface PdosSum {
  /** 'Si', 'p', 'Si p'. */
  label: string;
  element?: string;
  orbital?: OrbitalL;
  values: number[];
  spin?: { up: number[]; down: number[] };
  sz?: { up: number[]; down: number[] };
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
      if (p.sz) s.sz = { up: p.pdos.map(() => 0), down: p.pdos.map(() => 0) };
      out.set(key, s);
    }
    if (s.values.length !== p.pdos.length) throw new ReadError({ source: p.file, reason: `${p.pdos.length} points, others have ${s.values.length}` });
    p.pdos.forEach((v, i) => (s.values[i]! += v));
    for (const pair of ['spin', 'sz'] as const) {
      const into = s[pair];
      const from = p[pair];
      if (!into || !from) continue;
      from.up.forEach((v, i) => (into.up[i]! += v));
      from.down.forEach((v, i) => (into.down[i]! += v));
    }
  }
  return [...out.values()];
}
