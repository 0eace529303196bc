/**
 * Structure sanity, the same for every reader and boundary (src/domain/structure/sanity.ts): the bad inputs of
 * docs/INPUTS.md. Each is a real file (test/data/structures, ../shared/fixtures) with the one change named.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeZodError } from '../../../src/domain/calculation.ts';
import { buildPwInput } from '../../../src/domain/codes/qe/inputs.ts';
import { DEBIAN_QE_EXAMPLES_FAMILY } from '../../../src/domain/codes/qe/pseudos.ts';
import { builtinStructure, builtinStructureNames, parseCifFirst, parsePoscar, parseStructureText, StructureParseError } from '../../../src/domain/structure/index.ts';
import { DEFAULT_STRUCTURE_LIMITS, structureProblem } from '../../../src/domain/structure/sanity.ts';
import { StructureSchema } from '../../../src/domain/structure/schema.ts';
import type { Structure } from '../../../src/domain/structure/structure.ts';
import { describeShared, fixture } from '../../support/shared.ts';
import { structureData, thrown } from './helpers.ts';

const MG = structureData('symmetry/Mg-hcp.cif');
const err = (f: () => unknown) => thrown(f) as StructureParseError;

describe('CIF: the cell', () => {
  it('a 1e6 Å cell (Mg hcp with _cell_length_c 1e6) is refused, naming the tag and the reason for the limit', () => {
    const e = err(() => parseCifFirst(MG.replace('_cell_length_c 5.21033', '_cell_length_c 1000000'), 'Mg.cif'));
    expect(e).toBeInstanceOf(StructureParseError);
    expect(e).toMatchObject({ kind: 'malformed', field: '_cell_length_c', line: 11 });
    expect(e.message).toBe(
      'Mg.cif line 11 (_cell_length_c): lattice vector c is 1000000 Å long, longer than 1000 Å: a plane-wave cell this long needs about 10 FFT points per Å along it; a length in bohr, nm or pm read as Å?',
    );
  });

  it('the limits are configurable: a 1200 Å vacuum axis reads with maxLatticeLength 2000', () => {
    const long = MG.replace('_cell_length_c 5.21033', '_cell_length_c 1200');
    expect(() => parseCifFirst(long, 'Mg.cif')).toThrow(/longer than 1000 Å/);
    expect(parseCifFirst(long, 'Mg.cif', { limits: { maxLatticeLength: 2000 } }).sites).toHaveLength(2);
  });

  it('the 120°/120°/120° cell (zero volume, passed the old volume > 1e-6 test) is refused as flat, not blamed on its sites', () => {
    const flat = MG.replace('_cell_angle_alpha 90', '_cell_angle_alpha 120').replace('_cell_angle_beta 90', '_cell_angle_beta 120');
    const e = err(() => parseCifFirst(flat, 'Mg.cif'));
    expect(e).toMatchObject({ field: 'cell angles', line: 12 });
    expect(e.message).toMatch(/^Mg\.cif line 12 \(cell angles\): the cell is flat: its volume is 0\.0+\d* % of a·b·c \(angles 120°, 120°, 120°\), below 1 %/);
    // 119.9° three times is a real (if odd) cell: 8 % of a·b·c
    expect(() => parseCifFirst(flat.replaceAll(' 120\n', ' 119.9\n'), 'Mg.cif')).not.toThrow(/flat/);
  });
});

describe('CIF: overlapping atoms and symmetry images', () => {
  it('symmetry images of one site that coincide (Mg on 2c, 24 operations → 2 atoms) are merged, as before', () => {
    expect(parseCifFirst(MG, 'Mg.cif').sites).toHaveLength(2);
  });

  it('a listed second atom on an image of the first (Mg2 at 2/3 1/3 3/4) is refused, naming both', () => {
    const text = MG.replace('Mg1 Mg 0.333333 0.666667 0.25', 'Mg1 Mg 0.333333 0.666667 0.25\nMg2 Mg 0.666667 0.333333 0.75');
    const e = err(() => parseCifFirst(text, 'Mg.cif'));
    expect(e).toMatchObject({ kind: 'malformed', line: 49, field: '_atom_site_fract_x' });
    expect(e.message).toMatch(/^Mg\.cif line 49 \(_atom_site_fract_x\): Mg1 and Mg2 \(a symmetry image\) occupy the same position \(0(\.\d+)? Å apart\): the same atom listed twice\?$/);
  });

  it('coordinates rounded near a special position (1/3 as 0.33): images 0.03 Å apart are refused with a hint, merged with a larger siteTolerance', () => {
    const rounded = MG.replace('Mg1 Mg 0.333333 0.666667 0.25', 'Mg1 Mg 0.33 0.67 0.25');
    const e = err(() => parseCifFirst(rounded, 'Mg.cif'));
    expect(e.message).toMatch(/^Mg\.cif line 48 \(_atom_site_fract_x\): Mg1 \(a symmetry image\) and Mg1 \(a symmetry image\) are 0\.0\d+ Å apart, closer than 0\.5 Å: .*raise siteTolerance\)$/);
    expect(parseCifFirst(rounded, 'Mg.cif', { siteTolerance: 0.1 }).sites).toHaveLength(2);
  });

  it('two atoms 0.3 Å apart (Mg2 beside Mg1) are refused: no bond is that short', () => {
    const text = MG.replace('Mg1 Mg 0.333333 0.666667 0.25', 'Mg1 Mg 0.333333 0.666667 0.25\nMg2 Mg 0.333333 0.666667 0.3076');
    expect(() => parseCifFirst(text, 'Mg.cif')).toThrow(/^Mg\.cif line 49 \(_atom_site_fract_x\): Mg1 and Mg2 are 0\.3 Å apart, closer than 0\.5 Å: the shortest bond there is, H2, is 0\.74 Å$/);
  });
});

describeShared('POSCAR (a real one: ../shared/fixtures/vasp/outputs/POSCAR, Na2FeNiO4)', () => {
  const poscar = () => readFileSync(fixture('vasp', 'outputs', 'POSCAR'), 'utf8');

  it('reads as it is', () => {
    expect(parsePoscar(poscar(), 'POSCAR').sites).toHaveLength(8);
  });

  it('scaled by 1e6 (a 2.8e6 Å cell) is refused, naming the line of the vector', () => {
    const e = err(() => parsePoscar(poscar().replace(/^1\.0$/m, '1e6'), 'POSCAR'));
    expect(e.message).toBe('POSCAR line 3 (lattice): lattice vector a is 2820000 Å long, longer than 1000 Å: a plane-wave cell this long needs about 10 FFT points per Å along it; a length in bohr, nm or pm read as Å?');
  });

  it('a flat cell (the third vector in the plane of the first two) is refused as flat', () => {
    const flat = poscar().replace('-1.408050 0.812938 4.684533', '-1.408050 0.812938 0.000000');
    expect(() => parsePoscar(flat, 'POSCAR')).toThrow(/^POSCAR line 3 \(lattice\): the cell is flat: its volume is 0 % of a·b·c/);
  });

  it('counts that say fewer atoms than the positions listed (2 1 1 3 for 8 positions) are refused', () => {
    const e = err(() => parsePoscar(poscar().replace('2 1 1 4', '2 1 1 3'), 'POSCAR'));
    expect(e).toMatchObject({ field: 'counts', line: 16 });
    expect(e.message).toBe('POSCAR line 16 (counts): the counts (2 1 1 3, line 7) say 7 position(s), but line 16 is one more; counts and positions disagree');
  });

  it('a CONTCAR-style block after a blank line (velocities) is not taken for positions', () => {
    const withVelocities = `${poscar().trimEnd()}\n\n${'  0.0 0.0 0.0\n'.repeat(8)}`;
    expect(parsePoscar(withVelocities, 'CONTCAR').sites).toHaveLength(8);
  });

  it('two atoms at the same place (O moved onto Na) are refused, naming both and the line, the same way as a CIF', () => {
    const e = err(() => parsePoscar(poscar().replace('0.140735 0.619755 0.718530 O', '0.000000 0.000000 0.000000 O'), 'POSCAR'));
    expect(e).toMatchObject({ kind: 'unsupported', field: 'position', line: 16 });
    expect(e.message).toBe('POSCAR line 16 (position): not supported yet: Na1 (line 9) and O4 (line 16) occupy the same position with two elements, Na and O: a site shared by two elements (mixed occupancy)');
    const same = err(() => parsePoscar(poscar().replace('0.500000 0.500000 0.000000 Na', '1.000000 0.000000 0.000000 Na'), 'POSCAR'));
    expect(same.message).toBe('POSCAR line 10 (position): Na1 (line 9) and Na2 (line 10) occupy the same position (0 Å apart): the same atom listed twice?');
  });

  it('parseStructureText passes the reader errors through', () => {
    expect(() => parseStructureText(poscar().replace('2 1 1 4', '2 1 1 3'), 'POSCAR')).toThrow(/counts and positions disagree/);
  });
});

describe('built-ins and the boundaries (StructureSchema: calculation and plan inputs, PWD import, the pw.x input writer)', () => {
  it('every built-in passes, with room to spare', () => {
    for (const name of builtinStructureNames()) expect(structureProblem(builtinStructure(name)!), name).toBeUndefined();
  });

  const si = builtinStructure('Si')!;
  const overlapping: Structure = { ...si, sites: [si.sites[0]!, { species: 'Si', frac: [1, 1, 1] }] };

  it('a structure with two atoms at one place is refused at the boundary, naming the sites, before moyo or pw.x see it', () => {
    const r = StructureSchema.safeParse(overlapping);
    expect(r.success).toBe(false);
    expect(describeZodError(r.error!)).toBe('sites.1: site 1 (Si) and site 2 (Si) occupy the same position (0 Å apart): the same atom listed twice?');
  });

  it('a 1e6 Å cell never reaches a pw.x input', () => {
    const huge: Structure = { ...si, lattice: si.lattice.map((v) => v.map((x) => x * 4e5)) as Structure['lattice'] };
    expect(() =>
      buildPwInput({ structure: huge, calculation: 'scf', protocol: 'fast', family: DEBIAN_QE_EXAMPLES_FAMILY, pseudoDir: '/p', outdir: './out', prefix: 'si', valenceElectrons: { Si: 4 } }),
    ).toThrow(/^invalid pw\.x input request: structure\.lattice\.0: lattice vector a is 1540000 Å long, longer than 1000 Å/);
  });

  it('the defaults', () => {
    expect(DEFAULT_STRUCTURE_LIMITS).toEqual({ minLatticeLength: 1, maxLatticeLength: 1000, minVolumeRatio: 0.01, minDistance: 0.5, overlapTolerance: 0.01 });
  });
});
