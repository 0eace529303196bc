/**
 * A small CIF 1.1 reader (and P1 writer). It reads what a crystal structure needs: the cell, the atom
 * sites (fractional coordinates) and the symmetry operations, which it applies to the asymmetric unit.
 * It has no space-group tables: a file that names a space group must also list its operations.
 */
import { StructureParseError } from './errors.ts';
import { isElement } from '../elements.ts';
import { cellParameters, fracToCart, latticeFromParameters, volume, wrapFrac } from './lattice.ts';
import { DEFAULT_STRUCTURE_LIMITS, latticeProblem, structureProblem, type StructureLimits } from './sanity.ts';
import type { Mat3, Site, Structure, Vec3 } from './structure.ts';
import { applySymop, IDENTITY, parseSymop } from './symop.ts';
import type { SymOp } from './symop.ts';

export interface CifReadOptions {
  /** Symmetry images of one site closer than this (Å) are one site. Default: DEFAULT_STRUCTURE_LIMITS.overlapTolerance. */
  siteTolerance?: number;
  /** Occupancies within this of 1 count as full. Default 1e-3. */
  occupancyTolerance?: number;
  /** The physical range the structure must be in (./sanity.ts); defaults: DEFAULT_STRUCTURE_LIMITS. */
  limits?: Partial<StructureLimits>;
}

// ---------------------------------------------------------------- tokens

interface Token {
  text: string;
  /** 1-based line where the token starts. */
  line: number;
  /** bare: unquoted word; quoted: '...' or "..."; text: a ;-delimited text field. */
  kind: 'bare' | 'quoted' | 'text';
}

function tokenize(text: string, source: string): Token[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const tokens: Token[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? '';
    let lineNo = i + 1;
    if (line.startsWith(';')) {
      // Text field: from a ';' in column 1 to the next line starting with ';'.
      const body = [line.slice(1)];
      let j = i + 1;
      while (j < lines.length && !(lines[j] ?? '').startsWith(';')) body.push(lines[j++] ?? '');
      if (j >= lines.length) throw new StructureParseError({ source, line: lineNo, reason: "text field opened with ';' is never closed" });
      tokens.push({ text: body.join('\n'), line: lineNo, kind: 'text' });
      i = j;
      line = ' ' + (lines[j] ?? '').slice(1); // anything after the closing ';' is more tokens
      lineNo = j + 1;
    }
    let pos = 0;
    while (pos < line.length) {
      const ch = line[pos];
      if (ch === ' ' || ch === '\t') {
        pos++;
        continue;
      }
      if (ch === '#') break; // comment to end of line
      if (ch === "'" || ch === '"') {
        // A quote closes only when followed by whitespace or the end of the line (CIF 1.1), so "O'Neil" is fine.
        let end = pos + 1;
        for (;;) {
          end = line.indexOf(ch, end);
          if (end < 0) throw new StructureParseError({ source, line: lineNo, reason: `unterminated quoted string starting ${line.slice(pos, pos + 20)}` });
          const next = line[end + 1];
          if (next === undefined || next === ' ' || next === '\t') break;
          end++;
        }
        tokens.push({ text: line.slice(pos + 1, end), line: lineNo, kind: 'quoted' });
        pos = end + 1;
        continue;
      }
      let end = pos;
      while (end < line.length && line[end] !== ' ' && line[end] !== '\t') end++;
      tokens.push({ text: line.slice(pos, end), line: lineNo, kind: 'bare' });
      pos = end;
    }
  }
  return tokens;
}

// ---------------------------------------------------------------- blocks

interface Loop {
  tags: string[];
  rows: Token[][];
}

interface Block {
  name: string;
  line: number;
  items: Map<string, Token>;
  loops: Loop[];
}

/** Lower case, and DDLm's `_cell.length_a` spelled as CIF 1.1's `_cell_length_a`. */
const normTag = (tag: string): string => tag.toLowerCase().replace('.', '_');

const isTag = (t: Token): boolean => t.kind === 'bare' && t.text.startsWith('_');
const isReserved = (t: Token): boolean => t.kind === 'bare' && /^(data_|loop_$|save_|global_$|stop_$)/i.test(t.text);

function parseBlocks(tokens: Token[], source: string): Block[] {
  const blocks: Block[] = [];
  let block: Block | undefined;
  const need = (t: Token): Block => {
    if (!block) throw new StructureParseError({ source, line: t.line, reason: `"${t.text}" appears before any data_ block` });
    return block;
  };
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i]!;
    const word = t.kind === 'bare' ? t.text.toLowerCase() : '';
    if (word.startsWith('data_')) {
      block = { name: t.text.slice(5), line: t.line, items: new Map(), loops: [] };
      blocks.push(block);
      i++;
    } else if (word.startsWith('save_') && word.length > 5) {
      // Save frames (dictionary definitions) carry no structure: skip to the closing "save_".
      i++;
      while (i < tokens.length && !(tokens[i]!.kind === 'bare' && tokens[i]!.text.toLowerCase() === 'save_')) i++;
      i++;
    } else if (word === 'loop_') {
      const b = need(t);
      const tags: string[] = [];
      i++;
      while (i < tokens.length && isTag(tokens[i]!)) tags.push(normTag(tokens[i++]!.text));
      if (tags.length === 0) throw new StructureParseError({ source, line: t.line, reason: 'loop_ without any tags' });
      const values: Token[] = [];
      while (i < tokens.length && !isTag(tokens[i]!) && !isReserved(tokens[i]!)) values.push(tokens[i++]!);
      if (values.length % tags.length !== 0) {
        throw new StructureParseError({
          source,
          line: t.line,
          field: tags[0],
          reason: `loop has ${tags.length} tags but ${values.length} values (not a multiple; a value with spaces must be quoted)`,
        });
      }
      const rows: Token[][] = [];
      for (let k = 0; k < values.length; k += tags.length) rows.push(values.slice(k, k + tags.length));
      b.loops.push({ tags, rows });
    } else if (isTag(t)) {
      const b = need(t);
      const value = tokens[i + 1];
      if (!value || isTag(value) || isReserved(value)) throw new StructureParseError({ source, line: t.line, field: normTag(t.text), reason: 'tag has no value' });
      b.items.set(normTag(t.text), value);
      i += 2;
    } else {
      throw new StructureParseError({ source, line: t.line, reason: `unexpected value "${t.text}" (not after a tag or in a loop)` });
    }
  }
  return blocks;
}

/** All values of a tag: a loop column, or a one-element list for a single item. */
function column(b: Block, tag: string): Token[] | undefined {
  const item = b.items.get(tag);
  if (item) return [item];
  for (const loop of b.loops) {
    const k = loop.tags.indexOf(tag);
    if (k >= 0) return loop.rows.map((r) => r[k]!);
  }
  return undefined;
}

/** A single value: a plain item, or a loop of one row. */
function scalar(b: Block, tag: string): Token | undefined {
  const col = column(b, tag);
  return col?.length === 1 ? col[0] : undefined;
}

/** CIF's "unknown" (?) and "inapplicable" (.) markers, only when unquoted. */
const isNull = (t: Token): boolean => t.kind === 'bare' && (t.text === '?' || t.text === '.');

// A number with an optional standard uncertainty in brackets: 5.431(2), -0.25, 1.2e-3, .5
const NUMBER = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:\(\d+\))?$/;

function number(t: Token, field: string, source: string): number {
  if (isNull(t)) throw new StructureParseError({ source, line: t.line, field, reason: `value is not given ("${t.text}")` });
  const m = NUMBER.exec(t.text.trim());
  if (!m) throw new StructureParseError({ source, line: t.line, field, reason: `not a number: "${t.text}"` });
  return Number(m[1]);
}

// ---------------------------------------------------------------- structure

/**
 * The element at the start of a type symbol or site label: "Fe2+" → Fe, "O2-" → O, "Si1" → Si, "C1a" → C.
 * A two-letter prefix that is not an element falls back to its first letter ("Oh1" → O). In a label the
 * second letter counts only when lower case ("CA1" is C: labels are element + free text); a type symbol
 * is an element plus a charge, so there "SI" and "FE3+" read as Si and Fe.
 */
export function elementFromSymbolOrLabel(text: string, kind: 'symbol' | 'label'): string | undefined {
  const m = (kind === 'symbol' ? /^([A-Za-z])([A-Za-z]?)/ : /^([A-Za-z])([a-z]?)/).exec(text.trim());
  if (!m) return undefined;
  const first = (m[1] ?? '').toUpperCase();
  const two = first + (m[2] ?? '').toLowerCase();
  if (two.length === 2 && isElement(two)) return two;
  return isElement(first) ? first : undefined;
}

const CELL_FIELDS = ['_cell_length_a', '_cell_length_b', '_cell_length_c', '_cell_angle_alpha', '_cell_angle_beta', '_cell_angle_gamma'] as const;
const SYMOP_FIELDS = ['_space_group_symop_operation_xyz', '_symmetry_equiv_pos_as_xyz'] as const;
const SPACE_GROUP_FIELDS = [
  '_symmetry_space_group_name_h-m',
  '_space_group_name_h-m_alt',
  '_space_group_name_hall',
  '_symmetry_space_group_name_hall',
  '_space_group_it_number',
  '_symmetry_int_tables_number',
] as const;

function readCell(b: Block, source: string, limits: Partial<StructureLimits> | undefined): Mat3 {
  const tokens: Token[] = [];
  const values = CELL_FIELDS.map((field) => {
    const t = scalar(b, field);
    if (!t) throw new StructureParseError({ source, line: b.line, field, reason: `missing from data block "${b.name}"` });
    tokens.push(t);
    const v = number(t, field, source);
    const ok = field.startsWith('_cell_length') ? v > 0 : v > 0 && v < 180;
    if (!ok) throw new StructureParseError({ source, line: t.line, field, reason: `out of range: ${t.text}` });
    return v;
  }) as [number, number, number, number, number, number];
  const lattice = latticeFromParameters(...values);
  const problem = latticeProblem(lattice, limits);
  if (problem) {
    // a length names its tag; a flat cell is the angles' doing
    const at = problem.axis !== undefined ? problem.axis : 3;
    throw new StructureParseError({ source, line: tokens[at]!.line, field: problem.axis !== undefined ? CELL_FIELDS[at] : 'cell angles', reason: problem.reason, kind: problem.kind });
  }
  return lattice;
}

function readSymops(b: Block, source: string): SymOp[] {
  for (const field of SYMOP_FIELDS) {
    const col = column(b, field);
    if (!col) continue;
    return col.map((t) => {
      try {
        return parseSymop(t.text);
      } catch (e) {
        throw new StructureParseError({ source, line: t.line, field, reason: (e as Error).message });
      }
    });
  }
  // No operations: fine for P1 or when no space group is named; otherwise we would need tables we don't have.
  for (const field of SPACE_GROUP_FIELDS) {
    const t = scalar(b, field);
    if (!t || isNull(t)) continue;
    const name = t.text.replace(/[\s_]/g, '').toLowerCase();
    if (name === 'p1' || name === '1') continue;
    throw new StructureParseError({
      source,
      line: t.line,
      field,
      kind: 'unsupported',
      reason: `space group "${t.text}" is named but its symmetry operations are not listed; add a _space_group_symop_operation_xyz (or _symmetry_equiv_pos_as_xyz) loop, or give the structure in P1 (no built-in space-group tables)`,
    });
  }
  return [IDENTITY];
}

interface AsymSite {
  species: string;
  label: string | undefined;
  frac: Vec3;
  line: number;
}

function readAtomSites(b: Block, source: string, occupancyTolerance: number): AsymSite[] {
  const xs = column(b, '_atom_site_fract_x');
  if (!xs) {
    const cartesianOnly = column(b, '_atom_site_cartn_x') !== undefined;
    const reason = cartesianOnly
      ? 'atom sites given only as Cartesian coordinates (_atom_site_Cartn_x); fractional coordinates are required'
      : `missing from data block "${b.name}" (no atom sites)`;
    throw new StructureParseError({ source, line: b.line, field: '_atom_site_fract_x', reason, kind: cartesianOnly ? 'unsupported' : 'malformed' });
  }
  const col = (tag: string, required: boolean): Token[] | undefined => {
    const c = column(b, tag);
    if (!c && required) throw new StructureParseError({ source, line: b.line, field: tag, reason: `missing from data block "${b.name}"` });
    if (c && c.length !== xs.length) throw new StructureParseError({ source, line: c[0]?.line ?? b.line, field: tag, reason: `has ${c.length} values but there are ${xs.length} atom sites` });
    return c;
  };
  const ys = col('_atom_site_fract_y', true)!;
  const zs = col('_atom_site_fract_z', true)!;
  const labels = col('_atom_site_label', false);
  const types = col('_atom_site_type_symbol', false);
  const occs = col('_atom_site_occupancy', false);
  if (!labels && !types) throw new StructureParseError({ source, line: xs[0]?.line ?? b.line, field: '_atom_site_type_symbol', reason: 'atom sites need _atom_site_type_symbol or _atom_site_label' });

  return xs.map((x, r) => {
    const labelTok = labels?.[r];
    const label = labelTok && !isNull(labelTok) ? labelTok.text : undefined;
    const typeTok = types?.[r];
    let species: string | undefined;
    if (typeTok && !isNull(typeTok)) {
      species = elementFromSymbolOrLabel(typeTok.text, 'symbol');
      if (!species) throw new StructureParseError({ source, line: typeTok.line, field: '_atom_site_type_symbol', reason: `no element symbol in "${typeTok.text}"` });
    } else {
      species = label === undefined ? undefined : elementFromSymbolOrLabel(label, 'label');
      if (!species) throw new StructureParseError({ source, line: x.line, field: '_atom_site_label', reason: `cannot tell the element of site "${label ?? '?'}"` });
    }
    const occTok = occs?.[r];
    if (occTok && !isNull(occTok)) {
      const occ = number(occTok, '_atom_site_occupancy', source);
      const name = label ?? species;
      if (occ < 1 - occupancyTolerance) {
        throw new StructureParseError({ source, line: occTok.line, field: '_atom_site_occupancy', kind: 'unsupported', reason: `partial occupancy (site ${name} has occupancy ${occ})` });
      }
      if (occ > 1 + occupancyTolerance) {
        throw new StructureParseError({ source, line: occTok.line, field: '_atom_site_occupancy', reason: `site ${name} has occupancy ${occ}, above 1` });
      }
    }
    const frac: Vec3 = [number(x, '_atom_site_fract_x', source), number(ys[r]!, '_atom_site_fract_y', source), number(zs[r]!, '_atom_site_fract_z', source)];
    return { species, label, frac, line: x.line };
  });
}

/** Distance in Å between two fractional positions, nearest periodic image (rounding the difference). */
function periodicDistance(lattice: Mat3, a: Vec3, b: Vec3): number {
  const d = [0, 1, 2].map((i) => {
    const x = a[i]! - b[i]!;
    return x - Math.round(x);
  }) as Vec3;
  const c = fracToCart(lattice, d);
  return Math.hypot(c[0], c[1], c[2]);
}

/** A site of the full cell, with the asymmetric-unit site it is an image of. */
interface ExpandedSite extends Site {
  from: AsymSite;
  image: boolean;
}

/**
 * The full cell: each asymmetric-unit site's images under the operations, those within `tol` of one another merged
 * (a site on a special position maps onto itself). Images of *different* sites are not merged here: two listed
 * sites at one place are overlapping atoms, which the sanity check refuses, naming both, as it does for a POSCAR.
 */
function expand(lattice: Mat3, asym: AsymSite[], ops: SymOp[], tol: number): ExpandedSite[] {
  const out: ExpandedSite[] = [];
  for (const a of asym) {
    const orbit: ExpandedSite[] = [];
    for (const op of ops) {
      const frac = applySymop(op, a.frac).map((x) => wrapFrac(x)) as Vec3;
      if (orbit.some((s) => periodicDistance(lattice, s.frac, frac) < tol)) continue;
      orbit.push({ species: a.species, frac, ...(a.label !== undefined ? { label: a.label } : {}), from: a, image: orbit.length > 0 });
    }
    out.push(...orbit);
  }
  return out;
}

function blockHasStructure(b: Block): boolean {
  return b.items.has('_cell_length_a') || column(b, '_atom_site_fract_x') !== undefined || column(b, '_atom_site_cartn_x') !== undefined;
}

/** Every structure in a CIF, one per data block that has a cell or atom sites, symmetry-expanded to the full cell. */
export function parseCif(text: string, source: string, options: CifReadOptions = {}): Structure[] {
  const tol = options.siteTolerance ?? DEFAULT_STRUCTURE_LIMITS.overlapTolerance;
  const occTol = options.occupancyTolerance ?? 1e-3;
  const blocks = parseBlocks(tokenize(text, source), source);
  return blocks.filter(blockHasStructure).map((b) => {
    const lattice = readCell(b, source, options.limits);
    const asym = readAtomSites(b, source, occTol);
    const ops = readSymops(b, source);
    const expanded = expand(lattice, asym, ops, tol);
    const names = expanded.map((s) => `${s.from.label ?? `${s.species} (line ${s.from.line})`}${s.image ? ' (a symmetry image)' : ''}`);
    const problem = structureProblem({ lattice, sites: expanded }, { limits: { overlapTolerance: tol, ...options.limits }, siteNames: names });
    if (problem) {
      const second = expanded[problem.sites?.[1] ?? 0];
      const hint = problem.sites?.[0] !== undefined && expanded[problem.sites[0]]!.from === second?.from ? ' (rounded coordinates near a special position? raise siteTolerance)' : '';
      throw new StructureParseError({ source, line: second?.from.line ?? b.line, field: '_atom_site_fract_x', reason: problem.reason + hint, kind: problem.kind });
    }
    return { lattice, sites: expanded.map(({ from: _from, image: _image, ...site }) => site), title: b.name };
  });
}

/** The first structure in a CIF; an error when there is none. */
export function parseCifFirst(text: string, source: string, options: CifReadOptions = {}): Structure {
  const first = parseCif(text, source, options)[0];
  if (!first) throw new StructureParseError({ source, reason: 'no data block with a crystal structure (_cell_length_a and _atom_site_fract_x)' });
  return first;
}

// ---------------------------------------------------------------- writer

/** Shortest round-trip text of a number, never in exponent form and never "-0". */
function fmt(x: number, digits: number): string {
  const s = x.toFixed(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '.0');
  return /^-0(\.0+)?$/.test(s) ? s.slice(1) : s;
}

/** A CIF value: bare when it can be, otherwise quoted. */
function cifValue(s: string): string {
  if (s !== '' && !/[\s'"]/.test(s) && !/^[_#$;[\]]/.test(s) && !/^(data_|loop_|save_|global_|stop_)/i.test(s) && s !== '?' && s !== '.') return s;
  return s.includes("'") ? `"${s}"` : `'${s}'`;
}

/**
 * The structure as a P1 CIF (identity operation only). Cell parameters come from the lattice, so reading
 * it back gives the same cell in the standard orientation (a along x, b in the xy plane) and the same
 * fractional coordinates.
 */
export function writeCif(structure: Structure): string {
  const p = cellParameters(structure.lattice);
  const name = (structure.title ?? '').trim().replace(/\s+/g, '_') || 'structure';
  // Source labels are kept only when they identify sites uniquely (after symmetry expansion they often don't).
  const given = structure.sites.map((s) => s.label);
  const labels =
    given.every((l) => l !== undefined && l !== '') && new Set(given).size === given.length
      ? (given as string[])
      : (() => {
          const n = new Map<string, number>();
          return structure.sites.map((s) => {
            const k = (n.get(s.species) ?? 0) + 1;
            n.set(s.species, k);
            return `${s.species}${k}`;
          });
        })();
  const lines = [
    `data_${name}`,
    `_symmetry_space_group_name_H-M   'P 1'`,
    `_symmetry_Int_Tables_number      1`,
    `_cell_length_a    ${fmt(p.a, 12)}`,
    `_cell_length_b    ${fmt(p.b, 12)}`,
    `_cell_length_c    ${fmt(p.c, 12)}`,
    `_cell_angle_alpha ${fmt(p.alpha, 12)}`,
    `_cell_angle_beta  ${fmt(p.beta, 12)}`,
    `_cell_angle_gamma ${fmt(p.gamma, 12)}`,
    `_cell_volume      ${fmt(volume(structure.lattice), 8)}`,
    '',
    'loop_',
    '_space_group_symop_operation_xyz',
    "'x, y, z'",
    '',
    'loop_',
    '_atom_site_label',
    '_atom_site_type_symbol',
    '_atom_site_fract_x',
    '_atom_site_fract_y',
    '_atom_site_fract_z',
    '_atom_site_occupancy',
    ...structure.sites.map((s, i) => [cifValue(labels[i]!), s.species, ...s.frac.map((x) => fmt(x, 14)), '1.0'].join(' ')),
  ];
  return lines.join('\n') + '\n';
}
