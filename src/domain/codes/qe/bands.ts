/**
 * pw.x `calculation = 'bands'`: the k-path card, the input, and the band energies it produces.
 *
 * Pure: text in, data out. The k-path is given in `crystal_b` form (`[label, [x, y, z], nPoints]`, fractional
 * coordinates of the reciprocal lattice vectors, `nPoints` points from this vertex up to the next one); pw.x
 * expands it exactly as `expandKPath` does, so a vertex's label sits at a known k-point index.
 *
 * Band energies are read from pw.x's XML (`data-file-schema.xml`: `<ks_energies>` with `<k_point>` in
 * cartesian 2π/alat units and `<eigenvalues>` in Hartree) when it is given, else from stdout. Prefer the XML:
 * pw.x leaves the band energies out of stdout for 100 k-points or more unless `verbosity = 'high'`, and
 * prints them with 4 decimals only. Both are read by pw.x's readers (./pw-xml.ts, ./pw-stdout.ts); this checks
 * and arranges what they read.
 */
import { ReadError } from '../../read-error.ts';
import { normalizeKLabel } from '../../structure/kpath.ts';
import { BOHR_TO_ANGSTROM } from '../../units.ts';
import { reciprocalLattice } from '../../structure/lattice.ts';
import type { Mat3, Vec3 } from '../../structure/structure.ts';
import { buildPwInput, insulatorBands } from './inputs.ts';
import type { PwInputRequest, PwParameters } from './inputs.ts';
import { readPwStdout } from './pw-stdout.ts';
import { readPwXml } from './pw-xml.ts';
import { parseXmlDocument, type XmlElement } from './xml.ts';

/** Bohr radius in Å (CODATA 2018). */

// ---------------------------------------------------------------------------------------------------------------
// k-paths

/** One vertex of a `crystal_b` path: label, fractional coordinates (reciprocal lattice basis), points to the next vertex. */
export type KPathVertex = readonly [label: string, frac: readonly [number, number, number], nPoints: number];

export interface KPathLabel {
  /** Index of the k-point (0-based) in the expanded path. */
  index: number;
  /** Normalised label ('Γ' for G, GAMMA, Gamma, \Gamma). */
  label: string;
}

export interface ExpandedKPath {
  /** Every k-point of the path in crystal coordinates, in pw.x's order. */
  kpoints: Vec3[];
  /** The vertices' labels at their k-point indices. */
  labels: KPathLabel[];
  /**
   * Indices i where the path jumps from k-point i−1 to k-point i (no line between them): after a vertex with
   * nPoints = 1 when `jumpAfterSinglePoint` (the usual `K 1` / `U ...` trick for `K|U`).
   */
  breaks: number[];
}

/** A label as ASCII for a Fortran comment: Γ → G, anything else outside printable ASCII dropped. */
function asciiLabel(label: string): string {
  return normalizeKLabel(label).replace(/Γ/g, 'G').replace(/[^\x21-\x7e]/g, '');
}

function checkPath(path: readonly KPathVertex[]): void {
  if (path.length < 2) throw new Error('a k-path needs at least two vertices');
  path.forEach(([label, frac, n], i) => {
    if (frac.length !== 3 || !frac.every(Number.isFinite)) throw new Error(`k-path vertex ${i} (${label}): coordinates must be three finite numbers`);
    const last = i === path.length - 1;
    if (!Number.isInteger(n) || n < (last ? 0 : 1)) {
      throw new Error(`k-path vertex ${i} (${label}): nPoints must be an integer >= ${last ? 0 : 1}, got ${n}`);
    }
  });
}

/** Fixed 10 decimals, no '-0'. */
const f10 = (x: number) => {
  const s = x.toFixed(10);
  return /^-0\.0+$/.test(s) ? s.slice(1) : s;
};

/**
 * The `K_POINTS crystal_b` card for a path, one vertex a line with its label as a `!` comment (pw.x ignores
 * it; Γ is written G). The last vertex's nPoints is written as 1 (pw.x ignores it).
 */
export function kPointsCrystalBCard(path: readonly KPathVertex[]): string {
  checkPath(path);
  const lines = path.map(([label, frac, n], i) => {
    const coords = frac.map((x) => f10(x).padStart(14)).join(' ');
    const count = i === path.length - 1 ? 1 : n;
    const comment = asciiLabel(label);
    return `  ${coords} ${String(count).padStart(4)}${comment ? ` ! ${comment}` : ''}`;
  });
  return ['K_POINTS crystal_b', `  ${path.length}`, ...lines].join('\n') + '\n';
}

/**
 * The k-points pw.x generates from a `crystal_b` path: nPoints_i evenly spaced points from vertex i (included)
 * towards vertex i+1 (excluded), then the last vertex. Σ nPoints_i (all but the last) + 1 points.
 */
export function expandKPath(path: readonly KPathVertex[], options: { jumpAfterSinglePoint?: boolean } = {}): ExpandedKPath {
  checkPath(path);
  const jump = options.jumpAfterSinglePoint ?? true;
  const kpoints: Vec3[] = [];
  const labels: KPathLabel[] = [];
  const breaks: number[] = [];
  for (let i = 0; i < path.length - 1; i++) {
    const [label, a, n] = path[i]!;
    const b = path[i + 1]![1];
    labels.push({ index: kpoints.length, label: normalizeKLabel(label) });
    for (let j = 0; j < n; j++) {
      const t = j / n;
      kpoints.push([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]);
    }
    if (jump && n === 1 && i < path.length - 2) breaks.push(kpoints.length);
  }
  const last = path[path.length - 1]!;
  labels.push({ index: kpoints.length, label: normalizeKLabel(last[0]) });
  kpoints.push([last[1][0], last[1][1], last[1][2]]);
  return { kpoints, labels, breaks };
}

/**
 * Cumulative distance along a path of cartesian k-points (any unit; Å⁻¹ with 2π included for effective masses);
 * the step into an index listed in `breaks` counts as zero (a jump).
 */
export function pathDistances(kpointsCartesian: readonly Vec3[], breaks: readonly number[] = []): number[] {
  const jumps = new Set(breaks);
  const out: number[] = [];
  let d = 0;
  kpointsCartesian.forEach((k, i) => {
    if (i > 0 && !jumps.has(i)) {
      const p = kpointsCartesian[i - 1]!;
      d += Math.hypot(k[0] - p[0], k[1] - p[1], k[2] - p[2]);
    }
    out.push(d);
  });
  return out;
}

/** Crystal (fractional, reciprocal basis) → cartesian Å⁻¹ (2π included) for a real-space lattice in Å (rows). */
export function crystalToCartesianK(lattice: Mat3, kpoints: readonly Vec3[]): Vec3[] {
  const b = reciprocalLattice(lattice);
  return kpoints.map((k) => [0, 1, 2].map((j) => k[0] * b[0][j]! + k[1] * b[1][j]! + k[2] * b[2][j]!) as Vec3);
}

// ---------------------------------------------------------------------------------------------------------------
// Input

export interface PwBandsInputRequest extends Omit<PwInputRequest, 'calculation' | 'kpoints'> {
  path: readonly KPathVertex[];
}

export interface PwBandsInput {
  /** The pw.x input file (calculation = 'bands', K_POINTS crystal_b). */
  text: string;
  parameters: PwParameters;
  /** Ry, as written. */
  ecutwfc: number;
  ecutrho: number;
  /** The k-points pw.x will compute, with the vertices' labels. */
  path: ExpandedKPath;
}

/**
 * A pw.x `bands` input: buildPwInput with calculation 'bands' (same structure, pseudos, cutoffs and prefix as
 * the scf it continues from) and the path's `K_POINTS crystal_b` card. Unless the overrides set `nbnd`, and when
 * the valence charges are known, nbnd = occupied + max(4, 20 %) so conduction bands are computed (pw.x's own
 * default for an insulator is the occupied bands only).
 */
export function buildPwBandsInput(req: PwBandsInputRequest): PwBandsInput {
  const { path, ...rest } = req;
  checkPath(path);
  const nbnd = req.overrides?.system?.nbnd === undefined ? insulatorBands(req.structure, req.valenceElectrons) : undefined;
  const overrides: PwParameters = { ...(req.overrides ?? {}) };
  if (nbnd !== undefined) overrides.system = { ...(overrides.system ?? {}), nbnd };
  const input = buildPwInput({ ...rest, calculation: 'bands', overrides });
  const card = kPointsCrystalBCard(path);
  const text = input.text.replace(/^K_POINTS automatic\n.*\n$/m, card);
  if (text === input.text) throw new Error('internal: buildPwInput wrote no K_POINTS automatic card to replace');
  return { text, parameters: input.parameters, ecutwfc: input.ecutwfc, ecutrho: input.ecutrho, path: expandKPath(path) };
}

// ---------------------------------------------------------------------------------------------------------------
// Output

export interface PwBands {
  source: 'xml' | 'stdout';
  /**
   * `kpoints` units: 'crystal' (fractional, reciprocal lattice basis) when the cell is known (always from the XML,
   * from stdout when it prints the crystal axes), else 'tpiba' (cartesian, 2π/alat).
   */
  kpointsUnits: 'crystal' | 'tpiba';
  kpoints: Vec3[];
  /** Cartesian, units of 2π/alat, as pw.x lists them. */
  kpointsTpiba: Vec3[];
  /** Cartesian Å⁻¹ with 2π included (when alat is known): use these for path distances and effective masses. */
  kpointsCartesianInvAngstrom?: Vec3[];
  alatBohr?: number;
  /** Reciprocal lattice vectors (rows) in 2π/alat. */
  reciprocalAxesTpiba?: Mat3;
  /** k-point weights as written (bands runs: meaningless but present). */
  weights?: number[];
  /** [k][band], eV; spin up for a spin-polarised run. */
  eigenvaluesEv: number[][];
  /** [k][band], eV; spin down, only for a spin-polarised (lsda) run. */
  eigenvaluesDownEv?: number[][];
  spinPolarized: boolean;
  noncollinear: boolean;
  /** Bands per k-point (per spin channel). */
  nBands: number;
  nElectrons?: number;
  /** The Fermi energy as written (for an insulator's bands run it is the scf's and may sit inside the gap). */
  fermiEnergyEv?: number;
  highestOccupiedEv?: number;
  lowestUnoccupiedEv?: number;
  calculation?: string;
  warnings: string[];
}

export interface PwBandsParseInput {
  xml?: string;
  stdout?: string;
}

const isXml = (text: string) => /^\s*(<\?xml|<[A-Za-z_][\w.-]*:espresso\b|<espresso\b)/.test(text);

const XML = 'data-file-schema.xml';
const STDOUT = 'pw.x stdout';
const malformed = (source: string, reason: string) => new ReadError({ source, reason });

const vec3 = (nums: number[], what: string, source: string): Vec3 => {
  if (nums.length !== 3) throw new ReadError({ source, field: what, reason: `expected 3 numbers, got ${nums.length}` });
  return [nums[0]!, nums[1]!, nums[2]!];
};

/** k (cartesian 2π/alat) → crystal, with real-space axes in alat units: c_i = k · a_i. */
const toCrystal = (k: Vec3, axesAlat: Mat3): Vec3 => axesAlat.map((a) => clean(k[0] * a[0] + k[1] * a[1] + k[2] * a[2])) as Vec3;
/** Rounded to 1e-10 (no float noise such as 0.12500000000000008), no -0. */
const clean = (x: number) => Math.round(x * 1e10) / 1e10 + 0;

/** PwBands before its k-points are converted. */
type PwBandsBase = Omit<PwBands, 'kpointsUnits' | 'kpoints' | 'kpointsCartesianInvAngstrom'>;

function finish(base: PwBandsBase, axesAlat: Mat3 | undefined): PwBands {
  const kpoints = axesAlat ? base.kpointsTpiba.map((k) => toCrystal(k, axesAlat)) : base.kpointsTpiba;
  const out: PwBands = { ...base, kpointsUnits: axesAlat ? 'crystal' : 'tpiba', kpoints };
  if (base.alatBohr !== undefined) {
    const f = (2 * Math.PI) / (base.alatBohr * BOHR_TO_ANGSTROM);
    out.kpointsCartesianInvAngstrom = base.kpointsTpiba.map((k) => [k[0] * f, k[1] * f, k[2] * f]);
  }
  return out;
}

function parseBandsXml(text: string): PwBands {
  let root: XmlElement;
  try {
    root = parseXmlDocument(text);
  } catch (e) {
    throw malformed(XML, `not well-formed XML: ${(e as Error).message}`);
  }
  const xml = readPwXml(root);
  if (!xml.kpoints) throw malformed(XML, 'no output/band_structure (not a QE >= 6.4 data-file-schema.xml, or the run did not finish)');
  const kpointsTpiba = xml.kpoints.map((k, i) => vec3(k.kTpiba, `ks_energies ${i + 1}: k_point`, XML));
  if (kpointsTpiba.length === 0) throw malformed(XML, 'no <ks_energies>');
  const lsda = xml.lsda === true;
  const eigenvalues = xml.eigenvaluesEv ?? [];
  const upCount = (e: number[]) => xml.nbndUp ?? xml.nbnd ?? e.length / 2;
  const up = lsda ? eigenvalues.map((e) => e.slice(0, upCount(e))) : eigenvalues;
  const down = lsda ? eigenvalues.map((e) => e.slice(upCount(e))) : [];
  const nBands = up[0]?.length ?? 0;
  if (
    up.length !== kpointsTpiba.length ||
    up.some((b) => b.length !== nBands) ||
    down.some((b) => b.length !== (xml.nbndDw ?? nBands))
  ) {
    throw malformed(XML, 'eigenvalue counts differ between k-points');
  }
  const weights = xml.kpoints.flatMap((k) => (k.weight === undefined ? [] : [k.weight]));
  const base: PwBandsBase = {
    source: 'xml',
    kpointsTpiba,
    eigenvaluesEv: up,
    spinPolarized: lsda,
    noncollinear: xml.noncolin === true,
    nBands,
    warnings: [],
  };
  if (xml.alatBohr !== undefined) base.alatBohr = xml.alatBohr;
  if (xml.reciprocalAxesTpiba) base.reciprocalAxesTpiba = xml.reciprocalAxesTpiba as Mat3;
  if (weights.length === kpointsTpiba.length) base.weights = weights;
  if (lsda) base.eigenvaluesDownEv = down;
  if (xml.nelec !== undefined) base.nElectrons = xml.nelec;
  if (xml.fermiEv !== undefined) base.fermiEnergyEv = xml.fermiEv;
  if (xml.homoEv !== undefined) base.highestOccupiedEv = xml.homoEv;
  if (xml.lumoEv !== undefined) base.lowestUnoccupiedEv = xml.lumoEv;
  if (xml.calculation) base.calculation = xml.calculation;
  const alat = xml.alatBohr;
  return finish(base, xml.cellBohr && alat ? (xml.cellBohr.map((r) => r.map((x) => x / alat)) as Mat3) : undefined);
}

function parseBandsStdout(stdout: string): PwBands {
  const s = readPwStdout(stdout);
  if (s.bandsOverflowLine !== undefined) {
    throw malformed(STDOUT, `band energies overflow the print format (${s.bandsOverflowLine}); read the XML instead`);
  }
  const listed = s.kpointList;
  const [upCh, downCh] = s.bands ?? [];
  if (!upCh || upCh.length === 0) {
    const many = (listed && listed.length >= 100) || /Number of k-points >= 100/.test(stdout);
    throw malformed(
      STDOUT,
      many
        ? `no band energies listed: pw.x leaves them out for ${listed?.length ?? 'at least 100'} k-points (>= 100) unless verbosity = 'high'; read the XML (data-file-schema.xml) instead`
        : 'no band energies listed (no "End of band structure calculation" listing)',
    );
  }
  const nk = upCh.length;
  if (downCh && downCh.length !== nk) throw malformed(STDOUT, 'spin up and down listings have different k-point counts');
  const warnings: string[] = [];
  let kpointsTpiba: Vec3[];
  let weights: number[] | undefined;
  if (listed && (listed.length === nk || listed.length === 2 * nk)) {
    // lsda lists every k twice (up, then down); the first half are the k-points
    kpointsTpiba = listed.slice(0, nk).map((x, i) => vec3(x.kTpiba, `k(${i + 1})`, STDOUT));
    weights = listed.slice(0, nk).map((x) => x.weight);
  } else {
    kpointsTpiba = upCh.map((x, i) => vec3(x.kTpiba, `band listing, k-point ${i + 1}`, STDOUT));
    warnings.push('k-points taken from the band listing headers (4 decimals): the k-point list was not printed');
  }
  const nBands = upCh[0]!.energiesEv.length;
  const all = [...upCh, ...(downCh ?? [])];
  if (all.some((x) => x.energiesEv.length !== nBands)) throw malformed(STDOUT, 'band counts differ between k-points');
  const base: PwBandsBase = {
    source: 'stdout',
    kpointsTpiba,
    eigenvaluesEv: upCh.map((x) => x.energiesEv),
    spinPolarized: downCh !== undefined,
    noncollinear: s.hints.noncollinear,
    nBands,
    warnings,
  };
  if (downCh) base.eigenvaluesDownEv = downCh.map((x) => x.energiesEv);
  if (weights) base.weights = weights;
  if (s.alatBohr !== undefined) base.alatBohr = s.alatBohr;
  if (s.reciprocalAxesTpiba) base.reciprocalAxesTpiba = s.reciprocalAxesTpiba as Mat3;
  if (s.nelec !== undefined) base.nElectrons = s.nelec;
  if (s.fermiEv !== undefined) base.fermiEnergyEv = s.fermiEv;
  if (s.homoEv !== undefined) base.highestOccupiedEv = s.homoEv;
  if (s.lumoEv !== undefined) base.lowestUnoccupiedEv = s.lumoEv;
  if (s.hints.bandStructure) base.calculation = 'bands';
  return finish(base, s.crystalAxesAlat as Mat3 | undefined);
}

/**
 * Band energies of a pw.x run (bands, nscf or scf): from the XML when given (a string that starts like
 * `<?xml` / `<qes:espresso`, or `{ xml }`), else from stdout. With both, the XML wins; a broken XML falls back
 * to stdout with a warning. Throws when neither yields band energies, saying why.
 */
export function parsePwBands(input: string | PwBandsParseInput): PwBands {
  const { xml, stdout } = typeof input === 'string' ? (isXml(input) ? { xml: input, stdout: undefined } : { xml: undefined, stdout: input }) : input;
  if (xml !== undefined) {
    try {
      return parseBandsXml(xml);
    } catch (e) {
      if (stdout === undefined) throw e;
      const out = parseBandsStdout(stdout);
      out.warnings.unshift(`XML unusable (${(e as Error).message}); band energies read from stdout`);
      return out;
    }
  }
  if (stdout === undefined) throw new Error('parsePwBands: give the XML (data-file-schema.xml) or the stdout of pw.x');
  return parseBandsStdout(stdout);
}

/** Path distances (Å⁻¹, 2π included) of parsed bands; `breaks` from `expandKPath` when the path jumps. */
export function bandsPathDistances(bands: PwBands, breaks: readonly number[] = []): number[] {
  if (!bands.kpointsCartesianInvAngstrom) throw new Error('the lattice parameter (alat) is unknown: cannot convert k-points to Å⁻¹');
  return pathDistances(bands.kpointsCartesianInvAngstrom, breaks);
}
