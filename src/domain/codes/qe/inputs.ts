/**
 * pw.x input files from a structure, a protocol, a pseudo family and user overrides.
 *
 * Pure: returns the input text; the activities layer writes it and stages the UPF files into
 * `pseudoDir`. The structure is written with `ibrav = 0`, `CELL_PARAMETERS angstrom` and
 * `ATOMIC_POSITIONS crystal`; species are the distinct elements in order of first appearance, which
 * is the numbering pw.x uses for species-indexed keys such as `starting_magnetization(1)`.
 */
import { z } from 'zod';
import { initialMagneticMoment } from '../../elements.ts';
import { ELECTRONIC_TYPES, expectsGap, magneticElements, MAGNETISM_MODES, type ElectronicType, type Magnetism } from '../../electronic-defaults.ts';
import { kMeshFromDistance, KpointsSchema, type KMesh, type KOffset } from '../../structure/kpoints.ts';
import { StructureSchema } from '../../structure/schema.ts';
import type { Structure } from '../../structure/structure.ts';
import { PROTOCOLS } from './protocols.ts';
import { PROTOCOL_NAMES, type ProtocolName } from '../../protocols.ts';
import { PseudoFamilySchema, selectPseudos } from './pseudos.ts';
import type { PseudoFamily } from './pseudos.ts';

// ---------------------------------------------------------------------------------------------
// Parameters (user overrides and final namelists)

export type NamelistValue = string | number | boolean;
export type Namelist = Record<string, NamelistValue>;

export const NAMELIST_NAMES = ['control', 'system', 'electrons', 'ions', 'cell'] as const;
export type NamelistName = (typeof NAMELIST_NAMES)[number];

/** Keys the builder owns: overriding them would break the run or contradict the request. */
const RESERVED_KEYS: Partial<Record<NamelistName, Record<string, string>>> = {
  control: {
    calculation: "set it with the request's `calculation`",
    pseudo_dir: "set it with the request's `pseudoDir` (the pseudos are staged there)",
    outdir: "set it with the request's `outdir` (restarts look for files there)",
    prefix: "set it with the request's `prefix` (restarts look for files under it)",
  },
  system: {
    nat: 'it is the number of sites of the structure',
    ntyp: 'it is the number of distinct elements of the structure',
    ibrav: 'the cell is always written as CELL_PARAMETERS with ibrav = 0',
    a: 'the cell is always written as CELL_PARAMETERS with ibrav = 0',
    b: 'the cell is always written as CELL_PARAMETERS with ibrav = 0',
    c: 'the cell is always written as CELL_PARAMETERS with ibrav = 0',
    cosab: 'the cell is always written as CELL_PARAMETERS with ibrav = 0',
    cosac: 'the cell is always written as CELL_PARAMETERS with ibrav = 0',
    cosbc: 'the cell is always written as CELL_PARAMETERS with ibrav = 0',
    celldm: 'the cell is always written as CELL_PARAMETERS with ibrav = 0',
  },
};

const KEY_RE = /^[a-z][a-z0-9_]*(\(\s*\d+\s*(,\s*\d+\s*)*\))?$/;

const namelistValue = z.union([
  z.string().refine((s) => !/[\r\n]/.test(s), 'must not contain line breaks'),
  z.number().refine(Number.isFinite, 'must be a finite number'),
  z.boolean(),
]);

const namelistSchema = z.record(z.string(), namelistValue).transform((rec, ctx) => {
  const out: Namelist = {};
  for (const [rawKey, value] of Object.entries(rec)) {
    const key = rawKey.trim().toLowerCase().replace(/\s+/g, '');
    if (!KEY_RE.test(key)) {
      ctx.addIssue({ code: 'custom', path: [rawKey], message: `'${rawKey}' is not a namelist variable name` });
      continue;
    }
    if (key in out) {
      ctx.addIssue({ code: 'custom', path: [rawKey], message: `'${rawKey}' is given twice (keys are case-insensitive)` });
      continue;
    }
    out[key] = value;
  }
  return out;
});

function lowercaseKeys(data: unknown): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    const lk = k.toLowerCase();
    // keep a clash visible to the strict object below instead of silently dropping one of them
    out[lk in out ? k : lk] = v;
  }
  return out;
}

/**
 * User overrides: namelists `control`, `system`, `electrons`, `ions`, `cell` (names and keys are
 * case-insensitive and normalised to lower case) mapping variables to strings, numbers or booleans.
 * Keys the builder owns (`nat`, `ntyp`, `ibrav`, celldm / a,b,c,cos*, `calculation`, `pseudo_dir`,
 * `outdir`, `prefix`) are rejected with an error naming the key.
 */
export const PwParametersSchema = z
  .preprocess(
    lowercaseKeys,
    z.strictObject({
      control: namelistSchema.optional(),
      system: namelistSchema.optional(),
      electrons: namelistSchema.optional(),
      ions: namelistSchema.optional(),
      cell: namelistSchema.optional(),
    }, {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `unknown namelist ${iss.keys.map((k) => `'${k}'`).join(', ')} (expected one of ${NAMELIST_NAMES.join(', ')})`
          : undefined,
    }),
  )
  .superRefine((p, ctx) => {
    for (const nl of NAMELIST_NAMES) {
      const reserved = RESERVED_KEYS[nl];
      const values = p[nl];
      if (!reserved || !values) continue;
      for (const key of Object.keys(values)) {
        const base = key.replace(/\(.*$/, '');
        const why = reserved[base];
        if (why) ctx.addIssue({ code: 'custom', path: [nl, key], message: `${nl}.${key} cannot be overridden: ${why}` });
      }
    }
  });

export type PwParameters = Partial<Record<NamelistName, Namelist>>;

// ---------------------------------------------------------------------------------------------
// Request

export type PwCalculation = 'scf' | 'nscf' | 'bands' | 'relax' | 'vc-relax';

export interface PwInputRequest {
  structure: Structure;
  calculation: PwCalculation;
  protocol: ProtocolName;
  family: PseudoFamily;
  /** pseudo_dir as seen by the machine that runs pw.x. */
  pseudoDir: string;
  /** Default './out'. */
  outdir?: string;
  /** Default 'pwscf'. */
  prefix?: string;
  /**
   * 'metal': smearing (protocol's type and degauss); 'insulator': fixed occupations; 'auto' (default): fixed
   * only when the structure is known to be gapped (`expectsGap`, ../../electronic-defaults.ts), else smearing.
   */
  electronicType?: ElectronicType;
  /**
   * 'collinear': nspin = 2 with a starting magnetization per species (`startingMagnetization`); 'none':
   * unpolarised; 'auto' (default): collinear when the run uses smearing by its electronic type and the structure
   * has `magneticElements`. Fixed occupations with nspin = 2 need `system.tot_magnetization` (pw.x refuses them
   * without it), so an insulator stays unpolarised under 'auto'.
   */
  magnetism?: Magnetism;
  /** An explicit Monkhorst-Pack mesh (+ offset), or a spacing in Å⁻¹ (2π included); default: the protocol's spacing. */
  kpoints?: { mesh: KMesh; offset?: KOffset } | { distance: number };
  /** Valence electrons per element (the pseudopotentials' z_valence). When known, an insulator's scf gets empty bands so the gap on the mesh is printed. */
  valenceElectrons?: Record<string, number>;
  /** The job's walltime: pw.x gets max_seconds = 95 % of it, so it stops cleanly and leaves restart files. */
  walltimeSeconds?: number;
  /** Merged last: win over protocol values. */
  overrides?: PwParameters;
}

export interface PwInput {
  /** The pw.x input file. */
  text: string;
  /** The namelists as written (only those written: &IONS for relaxations, &CELL for vc-relax). */
  parameters: PwParameters;
  kpoints: { mesh: KMesh; offset: KOffset };
  /** Ry, as written. */
  ecutwfc: number;
  /** Ry, as written. */
  ecutrho: number;
}

const noLineBreak = (what: string) => z.string().min(1).refine((s) => !/[\r\n]/.test(s), `${what} must not contain line breaks`);

const PwInputRequestSchema = z.object({
  structure: StructureSchema,
  calculation: z.enum(['scf', 'nscf', 'bands', 'relax', 'vc-relax']),
  protocol: z.enum(PROTOCOL_NAMES),
  family: PseudoFamilySchema,
  pseudoDir: noLineBreak('pseudoDir'),
  outdir: noLineBreak('outdir').optional(),
  prefix: z.string().regex(/^[A-Za-z0-9_.+-]+$/, 'prefix may only contain letters, digits and _ . + -').optional(),
  electronicType: z.enum(ELECTRONIC_TYPES).optional(),
  magnetism: z.enum(MAGNETISM_MODES).optional(),
  kpoints: KpointsSchema.optional(),
  valenceElectrons: z.record(z.string(), z.number().positive()).optional(),
  walltimeSeconds: z.number().positive().optional(),
  overrides: PwParametersSchema.optional(),
});

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`).join('; ');
}

/**
 * Bands for an insulator's scf: the occupied ones plus max(4, 20 %) empty ones, so pw.x prints the lowest
 * unoccupied level and the gap on the scf mesh is known. pw.x's default (occupied only) gives no gap.
 * Undefined when a valence charge is unknown (pw.x then chooses).
 */
export function insulatorBands(structure: Structure, valence: Record<string, number> | undefined): number | undefined {
  if (!valence) return undefined;
  let electrons = 0;
  for (const site of structure.sites) {
    const z = valence[site.species];
    if (z === undefined) return undefined;
    electrons += z;
  }
  const occupied = Math.ceil(electrons / 2);
  return occupied + Math.max(4, Math.ceil(0.2 * occupied));
}

/**
 * pw.x's starting_magnetization of an element (the fraction of its valence electrons that starts spin-up), as
 * aiida-quantumespresso's `get_magnetization` (workflows/protocols/utils.py) sets it: the element's initial
 * moment over the pseudopotential's valence charge, and 0.1 (its `default_magnetization`) for an element without
 * a moment. Capped at 1 (pw.x's own bound: it caps larger values silently, e.g. 5 μB over Ti's 4 electrons).
 */
export function startingMagnetization(element: string, valenceElectrons: Record<string, number> | undefined): number {
  const moment = initialMagneticMoment(element);
  if (moment === 0) return 0.1;
  const z = valenceElectrons?.[element];
  if (z === undefined) throw new Error(`a spin-polarised start needs the valence charge of ${element}'s pseudopotential (valenceElectrons)`);
  return Math.min(1, round(moment / z, 4));
}

// ---------------------------------------------------------------------------------------------
// Writing

/** A value as Fortran namelist input: 'quoted' strings ('' escapes a quote), .true./.false., 1.5d-10. */
export function fortranValue(v: NamelistValue): string {
  if (typeof v === 'boolean') return v ? '.true.' : '.false.';
  if (typeof v === 'string') return `'${v.replace(/'/g, "''")}'`;
  if (!Number.isFinite(v)) throw new Error(`cannot write non-finite number ${v} to a namelist`);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const s = String(v); // shortest representation that reads back to the same double
  const m = /^(-?[\d.]+)e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const mantissa = m[1]!.includes('.') ? m[1]! : `${m[1]}.0`;
  return `${mantissa}d${Number(m[2])}`;
}

const f10 = (x: number) => {
  const s = x.toFixed(10);
  return s === '-0.0000000000' ? '0.0000000000' : s;
};
const round = (x: number, digits = 6) => Math.round(x * 10 ** digits) / 10 ** digits;
/** 12 significant digits: 3 × 0.1e-9 is written 3.0d-10, not 3.0000000000000003d-10. */
const sig = (x: number) => Number(x.toPrecision(12));

function writeNamelist(name: string, values: Namelist): string {
  const width = Math.max(0, ...Object.keys(values).map((k) => k.length));
  const lines = Object.entries(values).map(([k, v]) => `  ${k.padEnd(width)} = ${fortranValue(v)}`);
  return [`&${name.toUpperCase()}`, ...lines, '/'].join('\n');
}

/**
 * Build a pw.x input.
 *
 * - CONTROL: calculation, prefix, outdir, pseudo_dir; for scf/relax/vc-relax also tprnfor, tstress,
 *   etot_conv_thr (per atom × nat) and forc_conv_thr (unscaled), as aiida does; nstep for relaxations.
 * - SYSTEM: ibrav = 0, nat, ntyp, ecutwfc/ecutrho (family's largest × protocol cutoffScale),
 *   occupations 'fixed' or 'smearing' + smearing + degauss; spin-polarised runs nspin = 2 and
 *   starting_magnetization(i) per species (see `magnetism`).
 * - ELECTRONS: conv_thr (per atom × nat), mixing_beta, electron_maxstep.
 * - IONS (relax, vc-relax) with ion_dynamics 'bfgs'; CELL (vc-relax) with cell_dynamics 'bfgs' and
 *   press_conv_thr = the protocol's stress threshold.
 * - Overrides are merged last. Overrides of `ions`/`cell` are dropped for calculations that do not
 *   read those namelists (so one set of overrides can serve every step of a workflow). Setting
 *   `occupations` to anything but 'smearing' drops the protocol's smearing/degauss; overriding
 *   `ecutwfc` alone scales `ecutrho` with it (same dual); pw.x's ecutrho >= 4 × ecutwfc is checked.
 * - ATOMIC_POSITIONS carry if_pos flags (1 = free, 0 = fixed) for sites with a `moves` false, only
 *   for relax/vc-relax: pw.x also zeroes the printed forces of fixed components in an scf.
 * - K_POINTS automatic from the explicit mesh or from a spacing (protocol's by default).
 *
 * Throws an Error naming the offending field for an invalid request.
 */
export function buildPwInput(req: PwInputRequest): PwInput {
  const parsed = PwInputRequestSchema.safeParse(req);
  if (!parsed.success) throw new Error(`invalid pw.x input request: ${describeIssues(parsed.error.issues)}`);
  const r = parsed.data;
  const protocol = PROTOCOLS[r.protocol];
  const { structure, calculation } = r;
  const nat = structure.sites.length;
  const selection = selectPseudos(r.family, structure);
  const elements = selection.species.map((s) => s.element);

  const electronicType = r.electronicType ?? 'auto';
  const metal = electronicType === 'metal' || (electronicType === 'auto' && !expectsGap(structure));
  const magnetism = r.magnetism ?? 'auto';
  const collinear = magnetism === 'collinear' || (magnetism === 'auto' && metal && magneticElements(structure).length > 0);

  let kpoints: PwInput['kpoints'];
  if (r.kpoints && 'mesh' in r.kpoints) {
    kpoints = { mesh: [...r.kpoints.mesh], offset: r.kpoints.offset ? [...r.kpoints.offset] : [0, 0, 0] };
  } else {
    const distance = r.kpoints?.distance ?? protocol.kpointsDistance;
    kpoints = { mesh: kMeshFromDistance(structure.lattice, distance, { forceParity: protocol.kpointsForceParity }), offset: [0, 0, 0] };
  }

  const relaxing = calculation === 'relax' || calculation === 'vc-relax';
  const forcesAndStress = calculation === 'scf' || relaxing;

  const control: Namelist = {
    calculation,
    prefix: r.prefix ?? 'pwscf',
    outdir: r.outdir ?? './out',
    pseudo_dir: r.pseudoDir,
  };
  if (forcesAndStress) {
    Object.assign(control, {
      tprnfor: true,
      tstress: true,
      etot_conv_thr: sig(protocol.etotConvThrPerAtom * nat),
      forc_conv_thr: protocol.forcConvThr,
    });
  }
  if (relaxing) control.nstep = protocol.nstep;
  if (r.walltimeSeconds !== undefined) control.max_seconds = Math.max(1, Math.floor(0.95 * r.walltimeSeconds));

  const familyEcutwfc = round(selection.ecutwfc * protocol.cutoffScale);
  const familyEcutrho = round(selection.ecutrho * protocol.cutoffScale);
  const system: Namelist = {
    ibrav: 0,
    nat,
    ntyp: selection.species.length,
    ecutwfc: familyEcutwfc,
    ecutrho: familyEcutrho,
  };
  if (metal) Object.assign(system, { occupations: 'smearing', smearing: protocol.smearing, degauss: protocol.degauss });
  else system.occupations = 'fixed';
  if (collinear) {
    system.nspin = 2;
    elements.forEach((element, i) => (system[`starting_magnetization(${i + 1})`] = startingMagnetization(element, r.valenceElectrons)));
  }
  const nbnd = !metal && calculation === 'scf' ? insulatorBands(structure, r.valenceElectrons) : undefined;
  if (nbnd !== undefined) system.nbnd = nbnd;

  const electrons: Namelist = {
    conv_thr: sig(protocol.convThrPerAtom * nat),
    mixing_beta: protocol.mixingBeta,
    electron_maxstep: protocol.electronMaxstep,
  };

  const parameters: PwParameters = { control, system, electrons };
  if (relaxing) parameters.ions = { ion_dynamics: 'bfgs' };
  if (calculation === 'vc-relax') parameters.cell = { cell_dynamics: 'bfgs', press_conv_thr: protocol.stressThresholdKbar };

  // overrides
  const ov = r.overrides ?? {};
  for (const nl of NAMELIST_NAMES) {
    const target = parameters[nl];
    const values = ov[nl];
    if (target && values) Object.assign(target, values);
  }
  const sysOv = ov.system ?? {};
  if ('occupations' in sysOv) {
    if (system.occupations !== 'smearing') {
      if (!('smearing' in sysOv)) delete system.smearing;
      if (!('degauss' in sysOv)) delete system.degauss;
    } else {
      if (system.smearing === undefined) system.smearing = protocol.smearing;
      if (system.degauss === undefined) system.degauss = protocol.degauss;
    }
  }
  if ('ecutwfc' in sysOv && !('ecutrho' in sysOv) && typeof system.ecutwfc === 'number') {
    system.ecutrho = round(system.ecutwfc * (familyEcutrho / familyEcutwfc));
  }
  if (system.nspin === 2 && system.occupations === 'fixed' && system.tot_magnetization === undefined) {
    throw new Error(
      'invalid pw.x input request: a spin-polarised run with fixed occupations needs overrides.system.tot_magnetization ' +
        "(pw.x: 'fixed occupations and lsda need tot_magnetization'); or use smearing (electronicType 'metal')",
    );
  }
  const ecutwfc = system.ecutwfc;
  const ecutrho = system.ecutrho;
  if (typeof ecutwfc !== 'number' || ecutwfc <= 0) throw new Error(`invalid pw.x input request: overrides.system.ecutwfc: must be a positive number of Ry`);
  if (typeof ecutrho !== 'number' || ecutrho < 4 * ecutwfc - 1e-9) {
    throw new Error(
      `invalid pw.x input request: overrides.system.ecutrho: must be a number >= 4 × ecutwfc (${4 * ecutwfc} Ry), got ${String(ecutrho)}`,
    );
  }

  // cards
  const massWidth = Math.max(...selection.species.map((s) => s.element.length));
  const species = selection.species.map((s) => `  ${s.element.padEnd(massWidth)} ${s.mass.toFixed(4)} ${s.file}`);
  const cell = structure.lattice.map((row) => `  ${row.map(f10).map((x) => x.padStart(16)).join(' ')}`);
  const positions = structure.sites.map((site) => {
    const coords = site.frac.map(f10).map((x) => x.padStart(14)).join(' ');
    const flags = relaxing && site.moves && site.moves.some((m) => !m) ? `  ${site.moves.map((m) => (m ? 1 : 0)).join(' ')}` : '';
    return `  ${site.species.padEnd(massWidth)} ${coords}${flags}`;
  });

  const blocks: string[] = [];
  for (const nl of NAMELIST_NAMES) {
    const values = parameters[nl];
    if (values) blocks.push(writeNamelist(nl, values));
  }
  blocks.push(['ATOMIC_SPECIES', ...species].join('\n'));
  blocks.push(['CELL_PARAMETERS angstrom', ...cell].join('\n'));
  blocks.push(['ATOMIC_POSITIONS crystal', ...positions].join('\n'));
  blocks.push(`K_POINTS automatic\n  ${[...kpoints.mesh, ...kpoints.offset].join(' ')}`);
  const text = `${blocks.join('\n')}\n`;

  return { text, parameters, kpoints, ecutwfc, ecutrho };
}

// ---------------------------------------------------------------------------------------------
// Reading namelists back

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?$/;

function bareValue(token: string): NamelistValue {
  if (NUMBER_RE.test(token)) return Number(token.replace(/[dD]/, 'e'));
  if (/^\.?(t|true|f|false)\.?$/i.test(token)) return /^\.?t/i.test(token);
  return token;
}

/**
 * Read the `&NAME ... /` namelists of a Fortran input (pw.x and friends) into records keyed by the
 * lower-case namelist name, with lower-case keys. Understands what buildPwInput writes and the
 * usual hand-written forms: 'single' or "double" quoted strings (doubled quote = literal quote),
 * .true./.false. (also .t./T), numbers with e/d exponents, `,` or newline separators, `!` comments.
 * Array-valued assignments (`x = 1, 2`) are not supported. Cards after the namelists are ignored.
 */
export function parsePwInputNamelists(text: string): Record<string, Namelist> {
  const out: Record<string, Namelist> = {};
  const n = text.length;
  let i = 0;
  const fail = (msg: string): never => {
    const line = text.slice(0, i).split('\n').length;
    throw new Error(`namelist syntax error at line ${line}: ${msg}`);
  };
  const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

  while (i < n) {
    // at a line start: look for '&name'
    let j = i;
    while (j < n && (text[j] === ' ' || text[j] === '\t')) j++;
    if (text[j] !== '&') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    i = j + 1;
    const nameMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 64));
    if (!nameMatch) fail("expected a namelist name after '&'");
    const name = nameMatch![0].toLowerCase();
    if (name === 'end') fail("'&end' without an open namelist");
    i += nameMatch![0].length;
    if (name in out) fail(`namelist &${name} appears twice`);
    const values: Namelist = {};
    out[name] = values;

    let closed = false;
    while (i < n) {
      const c = text[i];
      if (isSpace(c) || c === ',') {
        i++;
        continue;
      }
      if (c === '!') {
        const nl = text.indexOf('\n', i);
        i = nl < 0 ? n : nl + 1;
        continue;
      }
      if (c === '/') {
        i++;
        closed = true;
        break;
      }
      if (c === '&') {
        // '&end' closes old-style namelists
        if (/^&end\b/i.test(text.slice(i, i + 5))) {
          i += 4;
          closed = true;
          break;
        }
        fail(`&${name} is not closed before the next namelist`);
      }
      // key
      const keyMatch = /^[A-Za-z][A-Za-z0-9_]*(\s*\([\s\d,]*\))?/.exec(text.slice(i, i + 200));
      if (!keyMatch) fail(`unexpected '${c}' in &${name}`);
      const key = keyMatch![0].toLowerCase().replace(/\s+/g, '');
      i += keyMatch![0].length;
      while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
      if (text[i] !== '=') fail(`expected '=' after '${key}' in &${name}`);
      i++;
      while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
      // value
      const q = text[i];
      let value: NamelistValue;
      if (q === "'" || q === '"') {
        let s = '';
        i++;
        for (;;) {
          if (i >= n) fail(`unterminated string for '${key}' in &${name}`);
          const ch = text[i]!;
          if (ch === q) {
            if (text[i + 1] === q) {
              s += q;
              i += 2;
              continue;
            }
            i++;
            break;
          }
          s += ch;
          i++;
        }
        value = s;
      } else {
        let j2 = i;
        while (j2 < n && !isSpace(text[j2]) && text[j2] !== ',' && text[j2] !== '/' && text[j2] !== '!') j2++;
        // a logical such as .true. ends with '.', never with '/': fine to stop at '/'
        const token = text.slice(i, j2);
        if (!token) fail(`missing value for '${key}' in &${name}`);
        value = bareValue(token);
        i = j2;
      }
      values[key] = value;
    }
    if (!closed) fail(`&${name} is not closed with '/'`);
  }
  return out;
}
