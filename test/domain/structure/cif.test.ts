import { describe, it, expect } from 'vitest';
import { elementFromSymbolOrLabel, parseCif, parseCifFirst, writeCif } from '../../../src/domain/structure/cif.ts';
import { StructureParseError } from '../../../src/domain/structure/errors.ts';
import { builtinStructure, builtinStructureNames } from '../../../src/domain/structure/builtins.ts';
import { cellFormula, cellParameters, volume } from '../../../src/domain/structure/lattice.ts';
import { parseSymop } from '../../../src/domain/structure/symop.ts';
import type { Structure } from '../../../src/domain/structure/structure.ts';
import { fracSet, neighbourDistances, shortestDistance, speciesCounts, structureData, thrown } from './helpers.ts';

/** A minimal P1 CIF around the given atom-site rows (label, type, x, y, z[, occupancy]). */
const p1 = (rows: string, opts: { occupancy?: boolean; cell?: string; name?: string } = {}): string =>
  [
    `data_${opts.name ?? 'test'}`,
    opts.cell ?? '_cell_length_a 4.0\n_cell_length_b 4.0\n_cell_length_c 4.0\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90',
    'loop_',
    '_atom_site_label',
    '_atom_site_type_symbol',
    '_atom_site_fract_x',
    '_atom_site_fract_y',
    '_atom_site_fract_z',
    ...(opts.occupancy ? ['_atom_site_occupancy'] : []),
    rows,
  ].join('\n');

describe('parseCif: symmetry expansion of published-style CIFs', () => {
  it('Si, Fd-3m origin choice 2 (192 operations, _space_group_symop_operation_xyz): 8 atoms, 4 neighbours at 2.35 Å', () => {
    const s = parseCifFirst(structureData('Si-Fd-3m.cif'), 'Si-Fd-3m.cif');
    expect(s.title).toBe('Si_diamond');
    expect(s.sites).toHaveLength(8);
    expect(cellFormula(s)).toBe('Si8');
    expect(s.sites.every((x) => x.label === 'Si1')).toBe(true);
    const p = cellParameters(s.lattice);
    expect(p.a).toBeCloseTo(5.431, 10); // "5.4310(1)" with its uncertainty stripped
    expect(p.gamma).toBeCloseTo(90, 10);
    expect(volume(s.lattice)).toBeCloseTo(5.431 ** 3, 8);
    for (let i = 0; i < 8; i++) {
      const d = neighbourDistances(s, i, 3.0);
      expect(d).toHaveLength(4);
      for (const r of d) expect(r).toBeCloseTo((5.431 * Math.sqrt(3)) / 4, 6); // 2.3517 Å
    }
    // 8a in origin choice 2: (1/8,1/8,1/8), (7/8,3/8,3/8) + F centring
    expect(fracSet(s)).toContain('Si 0.125 0.125 0.125');
    expect(fracSet(s)).toContain('Si 0.875 0.375 0.375');
    expect(s.sites.every((x) => x.frac.every((f) => f >= 0 && f < 1))).toBe(true);
  });

  it('NaCl, Fm-3m (_symmetry_equiv_pos_as_xyz, charged type symbols): 4 Na + 4 Cl, Na–Cl 2.82 Å', () => {
    const s = parseCifFirst(structureData('NaCl-Fm-3m.cif'), 'NaCl-Fm-3m.cif');
    expect(speciesCounts(s)).toEqual({ Na: 4, Cl: 4 });
    expect(cellFormula(s)).toBe('Cl4Na4');
    expect(shortestDistance(s, 'Na', 'Cl')).toBeCloseTo(5.6402 / 2, 6);
    expect(shortestDistance(s, 'Na', 'Na')).toBeCloseTo(5.6402 / Math.SQRT2, 6);
    for (let i = 0; i < 8; i++) expect(neighbourDistances(s, i, 3.0)).toHaveLength(6);
  });

  it('rutile TiO2, P4_2/mnm, species from labels: 2 Ti + 4 O in octahedra (4 × 1.95 Å, 2 × 1.98 Å)', () => {
    const s = parseCifFirst(structureData('TiO2-rutile.cif'), 'TiO2-rutile.cif');
    expect(speciesCounts(s)).toEqual({ Ti: 2, O: 4 });
    const a = 4.5937, c = 2.9587, x = 0.30478;
    const apical = Math.SQRT2 * x * a;
    const equatorial = Math.sqrt(2 * (a * (0.5 - x)) ** 2 + (c / 2) ** 2);
    s.sites.forEach((site, i) => {
      if (site.species !== 'Ti') return;
      const d = neighbourDistances(s, i, 2.2);
      expect(d).toHaveLength(6);
      expect(d.slice(0, 4).every((r) => Math.abs(r - equatorial) < 1e-6)).toBe(true);
      expect(d.slice(4).every((r) => Math.abs(r - apical) < 1e-6)).toBe(true);
    });
    expect(equatorial).toBeCloseTo(1.949, 3);
    expect(apical).toBeCloseTo(1.98, 2);
  });

  it('2H-MoS2, P6_3/mmc with DDLm tags and 5-decimal special positions: 2 Mo + 4 S, same sites as the built-in', () => {
    const s = parseCifFirst(structureData('MoS2-2H.cif'), 'MoS2-2H.cif');
    expect(speciesCounts(s)).toEqual({ Mo: 2, S: 4 }); // 0.33333 / 0.66667 images merged, not doubled
    expect(cellParameters(s.lattice).gamma).toBeCloseTo(120, 10);
    expect(shortestDistance(s, 'Mo', 'S')).toBeCloseTo(2.41, 1);
    expect(fracSet(s, 3)).toEqual(fracSet(builtinStructure('MoS2')!, 3));
  });

  it('rutile expansion matches the built-in TiO2 sites', () => {
    const s = parseCifFirst(structureData('TiO2-rutile.cif'), 'TiO2-rutile.cif');
    const b = builtinStructure('TiO2')!;
    // Same Wyckoff positions; the built-in uses x = 0.3048 rather than 0.30478.
    expect(fracSet(s, 3)).toEqual(fracSet(b, 3));
  });

  it('two listed atoms at one place (Cu5 is Cu1 across the cell boundary) are refused, naming both, as a POSCAR would', () => {
    const text = p1('Cu1 Cu 0 0 0\nCu2 Cu 0.5 0.5 0\nCu3 Cu 0.5 0 0.5\nCu4 Cu 0 0.5 0.5\nCu5 Cu 1.0 1.0 0.99999', { name: 'Cu' });
    const e = thrown(() => parseCifFirst(text, 'Cu.cif')) as StructureParseError;
    expect(e).toMatchObject({ kind: 'malformed', field: '_atom_site_fract_x' });
    expect(e.message).toMatch(/^Cu\.cif line \d+ \(_atom_site_fract_x\): Cu1 and Cu5 occupy the same position \(0\.\d+ Å apart\): the same atom listed twice\?$/);
  });
});

describe('parseCif: syntax', () => {
  it('strips standard uncertainties from numbers', () => {
    const s = parseCifFirst(
      p1('Si1 Si 0.1250(5) -0.25(3) 1.5e-1(2)', {
        cell: '_cell_length_a 5.431(2)\n_cell_length_b 5.431(12)\n_cell_length_c 7.0\n_cell_angle_alpha 90.00(1)\n_cell_angle_beta 90\n_cell_angle_gamma 120.0(3)',
      }),
      'u.cif',
    );
    const p = cellParameters(s.lattice);
    expect([p.a, p.b, p.c, p.alpha, p.beta, p.gamma].map((v) => Number(v.toFixed(9)))).toEqual([5.431, 5.431, 7, 90, 90, 120]);
    expect(s.sites[0]!.frac[0]).toBeCloseTo(0.125, 12);
    expect(s.sites[0]!.frac[1]).toBeCloseTo(0.75, 12); // -0.25 wrapped into [0,1)
    expect(s.sites[0]!.frac[2]).toBeCloseTo(0.15, 12);
  });

  it('reads several data blocks and skips blocks without a structure', () => {
    const text = [
      '# two structures and a metadata block',
      'data_global',
      "_publ_contact_author_name 'A. N. Author'",
      p1('Al1 Al 0 0 0', { name: 'first' }),
      p1('Cu1 Cu 0 0 0\nCu2 Cu 0.5 0.5 0.5', { name: 'second' }),
    ].join('\n');
    const all = parseCif(text, 'two.cif');
    expect(all.map((s) => s.title)).toEqual(['first', 'second']);
    expect(all.map((s) => s.sites.length)).toEqual([1, 2]);
    expect(parseCifFirst(text, 'two.cif').title).toBe('first');
  });

  it('handles quotes, text fields and comments', () => {
    const text = [
      'data_quoted # comment after the block name',
      "_chemical_name_common 'O'Neil's phase'", // a quote closes only before whitespace
      '_journal_name_full "Acta \'Quoted\' Crystallographica"',
      '_publ_section_comment',
      ';',
      'data_notablock loop_ _not_a_tag  # none of this is syntax inside a text field',
      ';',
      '_cell_length_a 3 _cell_length_b 3 _cell_length_c 3 # several items on one line',
      '_cell_angle_alpha 90 _cell_angle_beta 90 _cell_angle_gamma 90',
      'loop_ _atom_site_label _atom_site_fract_x _atom_site_fract_y _atom_site_fract_z',
      "'Fe1' 0 0 0   # quoted label",
      '"Fe2" 0.5 0.5 0.5',
    ].join('\n');
    const s = parseCifFirst(text, 'q.cif');
    expect(s.title).toBe('quoted');
    expect(s.sites.map((x) => [x.species, x.label])).toEqual([
      ['Fe', 'Fe1'],
      ['Fe', 'Fe2'],
    ]);
  });

  it('takes the element from type symbols with charges and from labels', () => {
    const s = parseCifFirst(
      p1("Fe1 Fe2+ 0 0 0\nO1 O2- 0.5 0 0\nX1 Si4+ 0 0.5 0\nCa1 ? 0 0 0.5\nC1a . 0.5 0.5 0\nS1 'S' 0.5 0.5 0.5"),
      'el.cif',
    );
    expect(s.sites.map((x) => x.species)).toEqual(['Fe', 'O', 'Si', 'Ca', 'C', 'S']);
    // type symbols are element + charge (any case); in labels only a lower-case second letter counts
    expect(['SI', 'FE3+', 'Oh', 'Xx'].map((t) => elementFromSymbolOrLabel(t, 'symbol'))).toEqual(['Si', 'Fe', 'O', undefined]);
    expect(['CA1', 'Co12', 'Oh1', '1A'].map((t) => elementFromSymbolOrLabel(t, 'label'))).toEqual(['C', 'Co', 'O', undefined]);
  });

  it('with no operations and no space group, uses the identity; P1 named without operations is fine too', () => {
    expect(parseCifFirst(p1('Na1 Na 0 0 0\nCl1 Cl 0.5 0.5 0.5'), 'id.cif').sites).toHaveLength(2);
    const named = p1('Na1 Na 0 0 0').replace('data_test', "data_test\n_symmetry_space_group_name_H-M 'P 1'");
    expect(parseCifFirst(named, 'p1.cif').sites).toHaveLength(1);
  });

  it('parses symmetry-operation strings', () => {
    expect(parseSymop('-x+1/2, y, z+0.5')).toEqual({ rot: [[-1, 0, 0], [0, 1, 0], [0, 0, 1]], trans: [0.5, 0, 0.5] });
    expect(parseSymop('x-y,x,z+1/2')).toEqual({ rot: [[1, -1, 0], [1, 0, 0], [0, 0, 1]], trans: [0, 0, 0.5] });
    expect(parseSymop('1/2+X, -Y, .25-Z')).toEqual({ rot: [[1, 0, 0], [0, -1, 0], [0, 0, -1]], trans: [0.5, 0, 0.25] });
    expect(parseSymop('+y,-x+y,-z+3/4').trans).toEqual([0, 0, 0.75]);
    expect(() => parseSymop('x,y')).toThrow(/three/);
    expect(() => parseSymop('x,y,q')).toThrow(/cannot read/);
    expect(() => parseSymop('x,x,z')).toThrow(/determinant/);
  });
});

describe('parseCif: errors', () => {
  it('a non-numeric cell parameter names the file, line and field', () => {
    const text = p1('Si1 Si 0 0 0').replace('_cell_length_a 4.0', '_cell_length_a abc');
    const e = thrown(() => parseCif(text, 'Si.cif'));
    expect(e).toBeInstanceOf(StructureParseError);
    expect(e.message).toBe('Si.cif line 2 (_cell_length_a): not a number: "abc"');
    expect(e).toMatchObject({ source: 'Si.cif', line: 2, field: '_cell_length_a', reason: 'not a number: "abc"' });
  });

  it('a non-numeric coordinate names its line', () => {
    const e = thrown(() => parseCif(p1('Si1 Si 0 0 0\nSi2 Si 0.25 0.2x5 0.25'), 'Si.cif')) as StructureParseError;
    expect(e).toMatchObject({ line: 15, field: '_atom_site_fract_y' });
  });

  it('a missing cell parameter names the field and the data block', () => {
    const text = '# header\n' + p1('Si1 Si 0 0 0').replace('_cell_length_b 4.0\n', '');
    const e = thrown(() => parseCif(text, 'Si.cif')) as StructureParseError;
    expect(e).toBeInstanceOf(StructureParseError);
    expect(e.field).toBe('_cell_length_b');
    expect(e.line).toBe(2);
    expect(e.message).toBe('Si.cif line 2 (_cell_length_b): missing from data block "test"');
  });

  it('missing atom sites, or only Cartesian ones, are errors', () => {
    const cellOnly = 'data_x\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n';
    expect(thrown(() => parseCif(cellOnly, 'x.cif'))).toMatchObject({ field: '_atom_site_fract_x' });
    const cart = cellOnly + 'loop_\n_atom_site_label\n_atom_site_Cartn_x\n_atom_site_Cartn_y\n_atom_site_Cartn_z\nSi1 0 0 0\n';
    expect(thrown(() => parseCif(cart, 'x.cif'))).toMatchObject({ kind: 'unsupported', message: expect.stringMatching(/not supported yet: atom sites given only as Cartesian coordinates.*fractional coordinates are required/) });
  });

  it('partial occupancy is an error naming the site and its occupancy', () => {
    const e = thrown(() => parseCif(p1('Fe1 Fe 0 0 0 0.5\nO1 O 0.5 0.5 0.5 1.0', { occupancy: true }), 'FeO.cif')) as StructureParseError;
    expect(e.message).toContain('not supported yet: partial occupancy (site Fe1 has occupancy 0.5)');
    expect(e.kind).toBe('unsupported');
    expect(e).toMatchObject({ field: '_atom_site_occupancy', line: 15 });
    // within tolerance of 1 is full occupancy
    expect(parseCifFirst(p1('Fe1 Fe 0 0 0 0.9999(2)', { occupancy: true }), 'ok.cif').sites).toHaveLength(1);
  });

  it('two species on one position is an error', () => {
    const e = thrown(() => parseCif(p1('Fe1 Fe 0.25 0.25 0.25\nNi1 Ni 0.2500 0.25 1.25'), 'mix.cif'));
    expect(e).toMatchObject({ kind: 'unsupported', line: 15 });
    expect(e.message).toBe('mix.cif line 15 (_atom_site_fract_x): not supported yet: Fe1 and Ni1 occupy the same position with two elements, Fe and Ni: a site shared by two elements (mixed occupancy)');
  });

  it('a named space group without operations is an error asking for them', () => {
    const text = p1('Si1 Si 0.125 0.125 0.125').replace('data_test', "data_test\n_symmetry_space_group_name_H-M 'F d -3 m'");
    const e = thrown(() => parseCif(text, 'Si.cif')) as StructureParseError;
    expect(e.field).toBe('_symmetry_space_group_name_h-m');
    expect(e.kind).toBe('unsupported');
    expect(e.message).toMatch(/not supported yet: space group "F d -3 m" is named but its symmetry operations are not listed/);
    expect(e.message).toMatch(/_space_group_symop_operation_xyz/);
  });

  it('a bad symmetry operation names its line', () => {
    const text = p1('Si1 Si 0 0 0') + "\nloop_\n_symmetry_equiv_pos_as_xyz\n'x,y,z'\n'x,y,w'\n";
    expect(thrown(() => parseCif(text, 's.cif'))).toMatchObject({ line: 18, field: '_symmetry_equiv_pos_as_xyz' });
  });

  it('syntax errors: unclosed text field, loop with a wrong number of values, values outside a block', () => {
    expect(thrown(() => parseCif('data_x\n_a\n;\nnever closed\n', 'x.cif'))).toMatchObject({ line: 3 });
    expect(thrown(() => parseCif(p1('Si1 Si 0 0 0\nSi2 Si 0.5 0.5'), 'x.cif')).message).toMatch(/5 tags but 9 values/);
    expect(thrown(() => parseCif('_cell_length_a 3\n', 'x.cif')).message).toMatch(/before any data_ block/);
  });

  it('parseCifFirst with no structure is an error; parseCif gives an empty list', () => {
    expect(parseCif('data_meta\n_journal_year 2001\n', 'm.cif')).toEqual([]);
    expect(() => parseCifFirst('data_meta\n_journal_year 2001\n', 'm.cif')).toThrow(/m\.cif: no data block with a crystal structure/);
  });
});

describe('writeCif', () => {
  const expectSame = (a: Structure, b: Structure) => {
    const pa = cellParameters(a.lattice), pb = cellParameters(b.lattice);
    for (const k of ['a', 'b', 'c', 'alpha', 'beta', 'gamma'] as const) expect(Math.abs(pa[k] - pb[k])).toBeLessThan(1e-8);
    expect(b.sites.map((s) => s.species)).toEqual(a.sites.map((s) => s.species));
    a.sites.forEach((s, i) => {
      for (let k = 0; k < 3; k++) {
        const w = s.frac[k]! - Math.floor(s.frac[k]!);
        expect(Math.abs(b.sites[i]!.frac[k]! - w)).toBeLessThan(1e-8);
      }
    });
  };

  it('round-trips every built-in structure (cell parameters and fractional coordinates)', () => {
    for (const name of builtinStructureNames()) {
      const s = builtinStructure(name)!;
      const text = writeCif(s);
      expect(text).toContain("_space_group_symop_operation_xyz\n'x, y, z'");
      const back = parseCifFirst(text, `${name}.cif`);
      expectSame(s, back);
      expect(back.title).toBe(s.title!.replace(/\s+/g, '_'));
      expect(volume(back.lattice)).toBeCloseTo(volume(s.lattice), 8);
    }
  });

  it('round-trips a triclinic cell with labels and awkward coordinates', () => {
    const s: Structure = {
      lattice: [
        [4.1, 0.2, -0.3],
        [0.7, 5.3, 0.1],
        [-0.4, 1.1, 6.7],
      ],
      sites: [
        { species: 'Fe', frac: [0.123456789012, 0.98765432109, 1e-9], label: 'Fe_a' },
        { species: 'O', frac: [0.5, 1 / 3, 2 / 3], label: 'O1' },
        { species: 'O', frac: [-0.25, 0.1, 0.9], label: 'O2' },
      ],
      title: 'triclinic test',
    };
    const back = parseCifFirst(writeCif(s), 't.cif');
    expectSame(s, back);
    expect(back.sites.map((x) => x.label)).toEqual(['Fe_a', 'O1', 'O2']);
  });

  it('makes labels unique when the source labels repeat (as after symmetry expansion)', () => {
    const si = parseCifFirst(structureData('Si-Fd-3m.cif'), 'Si.cif');
    const back = parseCifFirst(writeCif(si), 'Si-P1.cif');
    expect(back.sites.map((x) => x.label)).toEqual(['Si1', 'Si2', 'Si3', 'Si4', 'Si5', 'Si6', 'Si7', 'Si8']);
    expect(fracSet(back, 6)).toEqual(fracSet(si, 6));
  });
});
