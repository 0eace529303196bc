/**
 * What is read from the XML pw.x writes at the end (`data-file-schema.xml`, QE >= 6.4): the input echo
 * (calculation, thresholds), the output structure, the band structure and the totals, converted to Ry, eV, bohr.
 */
import { HA_TO_EV } from '../../units.ts';
import { asCalculation, type PwCalculationType } from './pw-parameters.ts';
import type { PwCellBlock, PwPositionsBlock } from './pw-stdout.ts';
import { numbersIn, toNumber } from './text.ts';
import { localName, parseXmlDocument, xBool, xChild, xChildren, xNumber, xPath, xText, type XmlElement } from './xml.ts';

export interface PwXmlData {
  calculation?: PwCalculationType;
  forcConvThrRyBohr?: number;
  pressConvThrKbar?: number;
  referencePressureKbar?: number;
  cellConstrained?: boolean;
  electronMaxstep?: number;
  freePositions?: number[][];
  /** output/atomic_structure: its nat and alat attributes and its cell (rows, bohr). */
  nat?: number;
  alatBohr?: number;
  cellBohr?: number[][];
  /** output/basis_set/reciprocal_lattice (rows, 2π/alat). */
  reciprocalAxesTpiba?: number[][];
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
  /** per ks_energies: its k_point (cartesian, 2π/alat) and weight; present whenever band_structure is. */
  kpoints?: { kTpiba: number[]; weight?: number }[];
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

export type PwXmlProblem = 'missing' | 'unparseable';

/**
 * The XML text as given to the parser: its data, or the problem with it (`missing` only when `expected`) and, for
 * an unparseable one, why.
 */
export function readPwXmlText(
  text: string | undefined,
  expected: boolean,
): { xml: PwXmlData; problem?: PwXmlProblem; error?: string } {
  if (text === undefined) return expected ? { xml: {}, problem: 'missing' } : { xml: {} };
  try {
    const root = parseXmlDocument(text);
    const ln = localName(root.name);
    if (ln !== 'espresso' && ln !== 'Root') throw new Error(`unexpected root element <${root.name}>`);
    return { xml: readPwXml(root) };
  } catch (err) {
    return { xml: {}, problem: 'unparseable', error: err instanceof Error ? err.message : String(err) };
  }
}

export function readPwXml(root: XmlElement): PwXmlData {
  if (localName(root.name) !== 'espresso') return {}; // legacy iotk `Root` format: only checked for integrity
  const input = xChild(root, 'input');
  const output = xChild(root, 'output');
  const data: PwXmlData = {
    ...readInputEcho(input),
    ...readOutputStructure(output),
    ...readBandStructure(xChild(output, 'band_structure')),
  };
  // occupations kind of older schemas: the input
  if (!data.occupationsKind) data.occupationsKind = xText(xPath(input, 'bands/occupations'));
  if (!data.smearing) readSmearing(xPath(input, 'bands/smearing'), data);
  return { ...data, ...readTotals(output) };
}

/** input: the calculation and what decides convergence. */
function readInputEcho(input: XmlElement | undefined): PwXmlData {
  const data: PwXmlData = {};
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
  return data;
}

/** Three row vectors `<a1> <a2> <a3>` (or b1…) of `el`, when all three are. */
function rows3(el: XmlElement | undefined, prefix: 'a' | 'b'): number[][] | undefined {
  const rows = [1, 2, 3].map((n) => numbersIn(xChild(el, `${prefix}${n}`)?.text ?? ''));
  return rows.every((v) => v.length === 3) ? rows : undefined;
}

/** output: the structure (cell, atoms) and the reciprocal lattice. */
function readOutputStructure(output: XmlElement | undefined): PwXmlData {
  const data: PwXmlData = {};
  const structure = xChild(output, 'atomic_structure');
  const nat = toNumber(structure?.attrs.nat);
  if (nat !== undefined) data.nat = nat;
  const alat = toNumber(structure?.attrs.alat);
  if (alat !== undefined) data.alatBohr = alat;
  const cell = rows3(xChild(structure, 'cell'), 'a');
  if (cell) data.cellBohr = cell;
  const recip = rows3(xPath(output, 'basis_set/reciprocal_lattice'), 'b');
  if (recip) data.reciprocalAxesTpiba = recip;
  const atoms = xChildren(xChild(structure, 'atomic_positions'), 'atom');
  if (cell && atoms.length > 0 && atoms.every((a) => numbersIn(a.text).length === 3 && a.attrs.name)) {
    data.outputCell = { units: 'bohr', vectors: cell };
    data.outputPositions = { units: 'bohr', species: atoms.map((a) => a.attrs.name!), positions: atoms.map((a) => numbersIn(a.text)) };
  }
  return data;
}

const toEv = (v: number | undefined) => (v === undefined ? undefined : v * HA_TO_EV);

/** output/band_structure: spin, counts, Fermi energies and band edges, smearing, and per k-point the bands. */
function readBandStructure(bs: XmlElement | undefined): PwXmlData {
  const data: PwXmlData = {};
  if (!bs) return data;
  data.lsda = xBool(xChild(bs, 'lsda'));
  data.noncolin = xBool(xChild(bs, 'noncolin'));
  data.nbnd = xNumber(xChild(bs, 'nbnd'));
  data.nbndUp = xNumber(xChild(bs, 'nbnd_up'));
  data.nbndDw = xNumber(xChild(bs, 'nbnd_dw'));
  data.nelec = xNumber(xChild(bs, 'nelec'));
  data.nks = xNumber(xChild(bs, 'nks'));
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
  readSmearing(xChild(bs, 'smearing'), data);
  const ks = xChildren(bs, 'ks_energies');
  data.kpoints = ks.map((el) => {
    const kp = xChild(el, 'k_point');
    const weight = toNumber(kp?.attrs.weight);
    return weight === undefined ? { kTpiba: numbersIn(kp?.text ?? '') } : { kTpiba: numbersIn(kp?.text ?? ''), weight };
  });
  const eig: number[][] = [];
  const occ: number[][] = [];
  for (const el of ks) {
    const e = xChild(el, 'eigenvalues');
    const o = xChild(el, 'occupations');
    if (e) eig.push(numbersIn(e.text).map((v) => v * HA_TO_EV));
    if (o) occ.push(numbersIn(o.text));
  }
  if (eig.length) data.eigenvaluesEv = eig;
  if (occ.length && occ.length === eig.length) data.occupations = occ;
  return data;
}

/** A `<smearing degauss="…">` element (degauss in Ha) into `data`. */
function readSmearing(smear: XmlElement | undefined, data: PwXmlData): void {
  if (!smear) return;
  data.smearing = xText(smear);
  const d = toNumber(smear.attrs.degauss);
  if (d !== undefined) data.degaussRy = d * 2;
}

/** output: SCF convergence, total energy and magnetisation. */
function readTotals(output: XmlElement | undefined): PwXmlData {
  const data: PwXmlData = {};
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
