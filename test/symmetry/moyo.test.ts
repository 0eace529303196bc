import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinStructure, parseStructureText } from '../../src/domain/structure/index.ts';
import { volume } from '../../src/domain/structure/lattice.ts';
import type { Structure } from '../../src/domain/structure/structure.ts';
import { analyzeSymmetry, spaceGroupInfo, spaceGroupOperations, SymmetryAnalysisError, type CrystalSystem } from '../../src/symmetry/index.ts';
import type { BravaisLattice } from '../../src/domain/structure/bravais.ts';

/** A structure file from test/data/structures (or its symmetry/ subfolder). */
const load = (name: string): Structure =>
  parseStructureText(readFileSync(new URL(`../data/structures/${name}`, import.meta.url), 'utf8'), name);

interface Case {
  file: string;
  atoms: number;
  number: number;
  symbol: string;
  system: CrystalSystem;
  bravais: BravaisLattice;
  pearson: string;
}

// Real structures from published data (sources in each file), covering all seven crystal systems.
const CASES: Case[] = [
  { file: 'Si-Fd-3m.cif', atoms: 8, number: 227, symbol: 'F d -3 m', system: 'cubic', bravais: 'cF', pearson: 'cF8' },
  { file: 'NaCl-Fm-3m.cif', atoms: 8, number: 225, symbol: 'F m -3 m', system: 'cubic', bravais: 'cF', pearson: 'cF8' },
  { file: 'symmetry/SrTiO3-cubic.cif', atoms: 5, number: 221, symbol: 'P m -3 m', system: 'cubic', bravais: 'cP', pearson: 'cP5' },
  { file: 'TiO2-rutile.cif', atoms: 6, number: 136, symbol: 'P 4_2/m n m', system: 'tetragonal', bravais: 'tP', pearson: 'tP6' },
  { file: 'symmetry/Mg-hcp.cif', atoms: 2, number: 194, symbol: 'P 6_3/m m c', system: 'hexagonal', bravais: 'hP', pearson: 'hP2' },
  { file: 'MoS2-2H.cif', atoms: 6, number: 194, symbol: 'P 6_3/m m c', system: 'hexagonal', bravais: 'hP', pearson: 'hP6' },
  { file: 'symmetry/ZnO-wurtzite.cif', atoms: 4, number: 186, symbol: 'P 6_3 m c', system: 'hexagonal', bravais: 'hP', pearson: 'hP4' },
  { file: 'symmetry/Calcite-R-3c.cif', atoms: 30, number: 167, symbol: 'R -3 c', system: 'trigonal', bravais: 'hR', pearson: 'hR30' },
  { file: 'symmetry/Bi2Se3-R-3m.vasp', atoms: 5, number: 166, symbol: 'R -3 m', system: 'trigonal', bravais: 'hR', pearson: 'hR15' },
  { file: 'symmetry/Andalusite-Pnnm.cif', atoms: 32, number: 58, symbol: 'P n n m', system: 'orthorhombic', bravais: 'oP', pearson: 'oP32' },
  { file: 'symmetry/Titanite-P21a.cif', atoms: 32, number: 14, symbol: 'P 2_1/c', system: 'monoclinic', bravais: 'mP', pearson: 'mP32' },
  { file: 'symmetry/Diopside-C2c.cif', atoms: 40, number: 15, symbol: 'C 2/c', system: 'monoclinic', bravais: 'mS', pearson: 'mC40' },
  { file: 'symmetry/Kyanite-P-1.cif', atoms: 32, number: 2, symbol: 'P -1', system: 'triclinic', bravais: 'aP', pearson: 'aP32' },
];

describe('analyzeSymmetry on real structures', () => {
  it.each(CASES)('$file: No. $number ($symbol), $system, $bravais', (c) => {
    const s = load(c.file);
    expect(s.sites).toHaveLength(c.atoms);
    const r = analyzeSymmetry(s);
    expect(r.spaceGroupNumber).toBe(c.number);
    expect(r.internationalSymbol).toBe(c.symbol);
    expect(r.crystalSystem).toBe(c.system);
    expect(r.bravaisLattice).toBe(c.bravais);
    expect(r.pearsonSymbol).toBe(c.pearson);
    expect(r.wyckoffs).toHaveLength(s.sites.length);
    expect(r.symprec).toBe(1e-4);
    // The conventional cell holds the Pearson-symbol count of atoms; the primitive one that divided by the centring.
    expect(r.standardizedCell.sites).toHaveLength(Number(c.pearson.slice(2)));
    const centring = { P: 1, S: 2, C: 2, I: 2, F: 4, R: 3 }[c.pearson[1] as 'P'] ?? 1;
    expect(r.primitiveStandardizedCell.sites).toHaveLength(Number(c.pearson.slice(2)) / centring);
    expect(volume(r.standardizedCell.lattice) / volume(r.primitiveStandardizedCell.lattice)).toBeCloseTo(centring, 8);
    // JSON-safe: survives a round trip unchanged
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('covers all seven crystal systems', () => {
    expect(new Set(CASES.map((c) => c.system))).toEqual(new Set(['cubic', 'tetragonal', 'orthorhombic', 'hexagonal', 'trigonal', 'monoclinic', 'triclinic']));
  });

  it('Wyckoff letters, operation count and the standardized cells for Si (conventional CIF cell and built-in primitive cell)', () => {
    const conv = analyzeSymmetry(load('Si-Fd-3m.cif'));
    expect(conv.wyckoffs).toEqual(Array(8).fill('a'));
    expect(conv.operationsCount).toBe(192); // 48 point operations × 4 centring translations of the 8-atom cell
    expect(conv.hallNumber).toBe(526);
    const prim = analyzeSymmetry(builtinStructure('Si')!);
    expect(prim.operationsCount).toBe(48);
    expect(prim.standardizedCell.lattice).toEqual([[5.431, 0, 0], [0, 5.431, 0], [0, 0, 5.431]]);
    expect(prim.primitiveStandardizedCell.sites.map((x) => x.species)).toEqual(['Si', 'Si']);
    expect(prim.standardizedCell.title).toBe('Si (diamond, primitive) (standardized conventional)');
    // the built-in cell is primitive: P is unimodular
    const p = prim.primitiveFromInput;
    expect(Math.abs(p[0][0] * (p[1][1] * p[2][2] - p[1][2] * p[2][1]) - p[0][1] * (p[1][0] * p[2][2] - p[1][2] * p[2][0]) + p[0][2] * (p[1][0] * p[2][1] - p[1][1] * p[2][0]))).toBe(1);
  });

  it('a tolerance decides: a slightly distorted cubic cell is tetragonal at 1e-4 Å and cubic at 1e-2 Å', () => {
    const s: Structure = { lattice: [[4, 0, 0], [0, 4, 0], [0, 0, 4.001]], sites: [{ species: 'Po', frac: [0, 0, 0] }], title: 'distorted Po' };
    expect(analyzeSymmetry(s).spaceGroupNumber).toBe(123);
    expect(analyzeSymmetry(s, { symprec: 1e-2 }).spaceGroupNumber).toBe(221);
  });

  it('species that are not element symbols are kept apart and mapped back', () => {
    const s: Structure = {
      lattice: [[3, 0, 0], [0, 3, 0], [0, 0, 3]],
      sites: [{ species: 'Fe_up', frac: [0, 0, 0] }, { species: 'Fe_dn', frac: [0.5, 0.5, 0.5] }],
    };
    const r = analyzeSymmetry(s);
    expect(r.spaceGroupNumber).toBe(221); // CsCl-like, not bcc
    expect(r.standardizedCell.sites.map((x) => x.species).sort()).toEqual(['Fe_dn', 'Fe_up']);
  });

  it('a clear error naming the structure and symprec when moyo fails', () => {
    const s: Structure = {
      lattice: [[3, 0, 0], [0, 3, 0], [0, 0, 3]],
      sites: [{ species: 'H', frac: [0, 0, 0] }, { species: 'H', frac: [0, 0, 1e-6] }],
      title: 'overlapping H',
    };
    let err: unknown;
    try {
      analyzeSymmetry(s, { symprec: 1e-3 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SymmetryAnalysisError);
    expect((err as Error).message).toMatch(/"overlapping H".*symprec 0\.001 Å.*moyo/);
  });

  it('rejects a bad symprec, an empty structure and an angle tolerance (moyo-wasm has none)', () => {
    const si = builtinStructure('Si')!;
    expect(() => analyzeSymmetry(si, { symprec: 0 })).toThrow(/symprec must be a positive number/);
    expect(() => analyzeSymmetry(si, { angleTolerance: 0.01 })).toThrow(/angleTolerance is not supported/);
    expect(() => analyzeSymmetry({ ...si, sites: [] })).toThrow(/no atoms/);
  });

  it('space-group tables: crystal system, Bravais lattice, operations', () => {
    expect(spaceGroupInfo(166)).toEqual({ crystalSystem: 'trigonal', bravaisLattice: 'hR', internationalSymbol: 'R -3 m' });
    expect(spaceGroupInfo(38).bravaisLattice).toBe('oS');
    expect(spaceGroupInfo(12).bravaisLattice).toBe('mS');
    expect(() => spaceGroupInfo(231)).toThrow(/1–230/);
    const ops = spaceGroupOperations(194);
    expect(ops).toHaveLength(24);
    // the 6_3 screw axis (x-y, x, z+1/2), written row-major
    expect(ops).toContainEqual({ rotation: [[1, -1, 0], [1, 0, 0], [0, 0, 1]], translation: [0, 0, 0.5] });
    expect(spaceGroupOperations(225)).toHaveLength(192);
  });
});
