/**
 * Space group, Bravais lattice and standardized cells of a crystal with moyo (`@spglib/moyo-wasm`).
 *
 * Loading the WebAssembly module reads a file, so this module is for activities and the client, never for
 * workflow code. The wasm is instantiated lazily, once per process, on the first call.
 *
 * Conventions (moyo's "Standard" setting = ITA standard settings): the standardized cell is the conventional
 * cell (hexagonal axes, obverse, for rhombohedral groups; unique axis b and C-centring for monoclinic), the
 * primitive standardized cell is a primitive cell of the same crystal in the same Cartesian frame. Both are
 * idealized (symmetrized) and may be rotated with respect to the input.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { MoyoCell, MoyoDataset } from '@spglib/moyo-wasm';
import { analyze_cell, initSync, operations_from_number, space_group_type } from '@spglib/moyo-wasm';
import { atomicNumber, isElement } from '../domain/elements.ts';
import { CRYSTAL_SYSTEMS, type BravaisLattice, type CrystalSystem, type StandardizedCells } from '../domain/structure/bravais.ts';
import type { Mat3, Structure, Vec3 } from '../domain/structure/structure.ts';

export type { CrystalSystem };

export interface SymmetryOptions {
  /** Distance tolerance in Å (moyo's `symprec`). Default 1e-4. */
  symprec?: number;
  /**
   * Angle tolerance (radians). Not supported: `@spglib/moyo-wasm` 0.15 exposes no angle tolerance (it always uses
   * its default), so passing one throws rather than being silently ignored.
   */
  angleTolerance?: number;
}

export interface SymmetryAnalysis extends StandardizedCells {
  spaceGroupNumber: number;
  /** Hall number (1–530) of the ITA standard setting moyo standardized to. */
  hallNumber: number;
  /** Hermann–Mauguin symbol as moyo writes it, e.g. 'F d -3 m', 'P 6_3/m m c'. */
  internationalSymbol: string;
  /** Pearson symbol, e.g. 'cF8'. */
  pearsonSymbol: string;
  crystalSystem: CrystalSystem;
  bravaisLattice: BravaisLattice;
  /** Symmetry operations of the input cell (pure translations included when the input cell is not primitive). */
  operationsCount: number;
  /**
   * The distinct rotation parts of the input cell's operations (its point group on fractional coordinates:
   * x' = W x, row-major, integer), e.g. for the strains an elastic calculation can spare (src/domain/elastic).
   */
  pointGroupRotations: Mat3[];
  /** Wyckoff letter of each input site, in input order. */
  wyckoffs: string[];
  /** Conventional standardized cell (ITA standard setting, idealized). */
  standardizedCell: Structure;
  /** Primitive standardized cell (same frame as `standardizedCell`). */
  primitiveStandardizedCell: Structure;
  /**
   * P with primitiveStandardizedCell.lattice = P · input lattice (rows), up to the rotation moyo applies (moyo's
   * `prim_std_linear`). Integer with |det| = 1 when the input cell is primitive.
   */
  primitiveFromInput: Mat3;
  /** The distance tolerance used (Å). */
  symprec: number;
}

export class SymmetryAnalysisError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SymmetryAnalysisError';
  }
}

let initialized = false;

/** Instantiate moyo's WebAssembly module once per process (reads the .wasm file next to the package). */
function ensureMoyo(): void {
  if (initialized) return;
  const require = createRequire(import.meta.url);
  const wasmPath = require.resolve('@spglib/moyo-wasm/moyo_wasm_bg.wasm');
  initSync({ module: readFileSync(wasmPath) });
  initialized = true;
}

const BRAVAIS: Readonly<Record<string, BravaisLattice>> = {
  cP: 'cP', cF: 'cF', cI: 'cI', tP: 'tP', tI: 'tI', oP: 'oP', oF: 'oF', oI: 'oI', oS: 'oS', oC: 'oS', oA: 'oS', oB: 'oS',
  hP: 'hP', hR: 'hR', mP: 'mP', mS: 'mS', mC: 'mS', mA: 'mS', mI: 'mS', aP: 'aP',
};

const KNOWN_CRYSTAL_SYSTEMS: ReadonlySet<string> = new Set(CRYSTAL_SYSTEMS);

const rows9 = (b: readonly number[]): Mat3 => [
  [b[0]!, b[1]!, b[2]!],
  [b[3]!, b[4]!, b[5]!],
  [b[6]!, b[7]!, b[8]!],
];

/** Round off float noise (1e-12) and negative zeros so results are stable and JSON-clean. */
const clean = (x: number): number => {
  const r = Math.round(x * 1e12) / 1e12;
  return r === 0 ? 0 : r;
};

function fromMoyoCell(cell: MoyoCell, speciesOf: ReadonlyMap<number, string>, title: string | undefined): Structure {
  const wrap = (x: number) => {
    let w = clean(x - Math.floor(x));
    if (w >= 1) w = 0;
    return w;
  };
  const s: Structure = {
    lattice: rows9(cell.lattice.basis).map((r) => r.map(clean)) as Mat3,
    sites: cell.positions.map((p, i) => ({ species: speciesOf.get(cell.numbers[i]!) ?? `X${cell.numbers[i]}`, frac: p.map(wrap) as Vec3 })),
  };
  if (title !== undefined) s.title = title;
  return s;
}

/**
 * Space group, Bravais lattice, Wyckoff letters and standardized cells of `structure`, with a distance tolerance
 * `symprec` (Å, default 1e-4). Throws `SymmetryAnalysisError` (naming the structure and the tolerance) when moyo
 * fails, e.g. for overlapping atoms or a tolerance too large for the cell.
 */
export function analyzeSymmetry(structure: Structure, options: SymmetryOptions = {}): SymmetryAnalysis {
  const symprec = options.symprec ?? 1e-4;
  const name = structure.title ? `"${structure.title}"` : 'the structure';
  if (options.angleTolerance !== undefined) {
    throw new SymmetryAnalysisError(
      `symmetry of ${name}: angleTolerance is not supported (@spglib/moyo-wasm 0.15 has no angle tolerance); use symprec (Å) only`,
    );
  }
  if (!Number.isFinite(symprec) || symprec <= 0) {
    throw new SymmetryAnalysisError(`symmetry of ${name}: symprec must be a positive number of Å, got ${symprec}`);
  }
  if (structure.sites.length === 0) throw new SymmetryAnalysisError(`symmetry of ${name} (symprec ${symprec} Å): the structure has no atoms`);

  // Distinct species → distinct integers (the atomic number when the species is an element).
  const numberOf = new Map<string, number>();
  const speciesOf = new Map<number, string>();
  let extra = 1000;
  for (const site of structure.sites) {
    if (numberOf.has(site.species)) continue;
    let n = isElement(site.species) ? atomicNumber(site.species) : extra++;
    if (speciesOf.has(n)) n = extra++;
    numberOf.set(site.species, n);
    speciesOf.set(n, site.species);
  }
  const cell: MoyoCell = {
    lattice: { basis: structure.lattice.flat() as MoyoCell['lattice']['basis'] },
    positions: structure.sites.map((s) => [...s.frac] as [number, number, number]),
    numbers: structure.sites.map((s) => numberOf.get(s.species)!),
  };

  let d: MoyoDataset;
  try {
    ensureMoyo();
    d = analyze_cell(JSON.stringify(cell), symprec, 'Standard');
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new SymmetryAnalysisError(`symmetry analysis of ${name} failed (symprec ${symprec} Å): ${why}`, { cause: e });
  }

  const type = space_group_type(d.number);
  const bravaisLattice = BRAVAIS[type.bravais_class];
  const crystalSystem = type.crystal_system.toLowerCase();
  if (!bravaisLattice || !KNOWN_CRYSTAL_SYSTEMS.has(crystalSystem)) {
    throw new SymmetryAnalysisError(`symmetry of ${name} (symprec ${symprec} Å): unexpected moyo classification ${type.bravais_class}/${type.crystal_system}`);
  }
  const base = structure.title;
  return {
    spaceGroupNumber: d.number,
    hallNumber: d.hall_number,
    internationalSymbol: d.hm_symbol,
    pearsonSymbol: d.pearson_symbol,
    crystalSystem: crystalSystem as CrystalSystem,
    bravaisLattice,
    operationsCount: d.operations.length,
    pointGroupRotations: distinct(d.operations.map((op) => fromColumnMajor(op.rotation))),
    wyckoffs: [...d.wyckoffs],
    standardizedCell: fromMoyoCell(d.std_cell, speciesOf, base !== undefined ? `${base} (standardized conventional)` : undefined),
    primitiveStandardizedCell: fromMoyoCell(d.prim_std_cell, speciesOf, base !== undefined ? `${base} (primitive standardized)` : undefined),
    primitiveFromInput: rows9(d.prim_std_linear).map((r) => r.map(clean)) as Mat3,
    symprec,
  };
}

/** Crystal system and Bravais lattice of a space-group number (1–230), from moyo's tables. */
export function spaceGroupInfo(spaceGroupNumber: number): { crystalSystem: CrystalSystem; bravaisLattice: BravaisLattice; internationalSymbol: string } {
  if (!Number.isInteger(spaceGroupNumber) || spaceGroupNumber < 1 || spaceGroupNumber > 230) {
    throw new SymmetryAnalysisError(`space-group number must be an integer 1–230, got ${spaceGroupNumber}`);
  }
  ensureMoyo();
  const t = space_group_type(spaceGroupNumber);
  return { crystalSystem: t.crystal_system.toLowerCase() as CrystalSystem, bravaisLattice: BRAVAIS[t.bravais_class]!, internationalSymbol: t.hm_short };
}

/** A symmetry operation on fractional coordinates: x' = rotation · x + translation (rotation row-major). */
export interface SymmetryOperation {
  rotation: Mat3;
  translation: Vec3;
}

/**
 * The operations of a space group (1–230) in its ITA standard setting, conventional cell, centring translations
 * included (e.g. 192 for Fm-3m). moyo serializes its 3x3 matrices column by column; they are returned here as
 * row-major matrices acting on column vectors of fractional coordinates.
 */
export function spaceGroupOperations(spaceGroupNumber: number): SymmetryOperation[] {
  spaceGroupInfo(spaceGroupNumber); // validates and initializes
  return operations_from_number(spaceGroupNumber, { type: 'Standard' }, false).map((op) => ({
    rotation: fromColumnMajor(op.rotation),
    translation: [...op.translation] as Vec3,
  }));
}

/** A moyo 3x3 matrix (serialized column by column) as a row-major matrix. */
function fromColumnMajor(m: readonly number[]): Mat3 {
  return [0, 1, 2].map((i) => [0, 1, 2].map((j) => m[3 * j + i]!)) as Mat3;
}

function distinct(matrices: Mat3[]): Mat3[] {
  const seen = new Set<string>();
  return matrices.filter((m) => {
    const key = JSON.stringify(m);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
