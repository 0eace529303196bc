/**
 * Pseudopotential families for pw.x: which UPF file and which cutoffs to use for each element.
 *
 * A family is plain data (a JSON or YAML file the caller has already read and parsed); this module
 * validates it and picks the pseudos and cutoffs for a structure. No file I/O here: the activities
 * layer reads family files and stages the UPF files into the run's pseudo_dir.
 */
import { z } from 'zod';
import { atomicMass, isElement } from '../../elements.ts';
import type { Structure } from '../../structure/structure.ts';

const PseudoEntrySchema = z
  .object({
    /** Basename of the UPF file as it will sit in pseudo_dir. */
    file: z
      .string()
      .min(1)
      .refine((f) => !/[/\\]/.test(f), { message: 'must be a file name without path separators' })
      .refine((f) => !/[\s'"]/.test(f), { message: 'must not contain whitespace or quotes' })
      .refine((f) => /\.upf$/i.test(f), { message: 'must be a .UPF/.upf file name' }),
    /** Wavefunction cutoff, Ry. */
    ecutwfc: z.number().positive(),
    /** Charge-density cutoff, Ry (4 × ecutwfc for norm-conserving pseudos, more for US/PAW). */
    ecutrho: z.number().positive(),
    /** Where the file comes from (a path, URL or library name); informative. */
    source: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.ecutrho < e.ecutwfc) {
      ctx.addIssue({
        code: 'custom',
        path: ['ecutrho'],
        message: `must be >= ecutwfc (${e.ecutwfc} Ry), got ${e.ecutrho} Ry`,
      });
    }
  });

export const PseudoFamilySchema = z
  .object({
    name: z.string().min(1),
    /** Exchange-correlation functional the pseudos were made with: 'PZ' (LDA), 'PBE', 'PBEsol', ... */
    functional: z.string().min(1),
    description: z.string().optional(),
    /** Element symbol → pseudo. */
    elements: z
      .record(z.string(), PseudoEntrySchema)
      .superRefine((rec, ctx) => {
        for (const key of Object.keys(rec)) {
          if (!isElement(key)) {
            ctx.addIssue({ code: 'custom', path: [key], message: `'${key}' is not an element symbol` });
          }
        }
        if (Object.keys(rec).length === 0) ctx.addIssue({ code: 'custom', message: 'must list at least one element' });
      }),
  })
  .strict();

export type PseudoEntry = z.infer<typeof PseudoEntrySchema>;
export type PseudoFamily = z.infer<typeof PseudoFamilySchema>;

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`).join('; ');
}

/**
 * Validate parsed family data. Throws an Error naming `sourceName`, the field path
 * (e.g. `elements.Si.ecutwfc`) and the reason.
 */
export function parsePseudoFamily(data: unknown, sourceName: string): PseudoFamily {
  const r = PseudoFamilySchema.safeParse(data);
  if (!r.success) throw new Error(`invalid pseudopotential family in ${sourceName}: ${describeIssues(r.error.issues)}`);
  return r.data;
}

export interface SelectedSpecies {
  element: string;
  /** UPF file name in pseudo_dir. */
  file: string;
  /** Atomic mass, amu. */
  mass: number;
}

export interface PseudoSelection {
  /** One entry per distinct element, in order of first appearance in the structure (= pw.x species order). */
  species: SelectedSpecies[];
  /** Max of the elements' ecutwfc, Ry. */
  ecutwfc: number;
  /** Max of the elements' ecutrho, Ry. */
  ecutrho: number;
}

/** Distinct species of a structure in order of first appearance. */
export function structureElements(structure: Structure): string[] {
  const seen: string[] = [];
  for (const s of structure.sites) if (!seen.includes(s.species)) seen.push(s.species);
  return seen;
}

/**
 * Pick the pseudo of every element in the structure and the cutoffs (the largest over those
 * elements). Throws listing every element the family lacks.
 */
export function selectPseudos(family: PseudoFamily, structure: Structure): PseudoSelection {
  const elements = structureElements(structure);
  if (elements.length === 0) throw new Error('structure has no sites');
  const unknown = elements.filter((e) => !isElement(e));
  if (unknown.length) throw new Error(`structure has species that are not element symbols: ${unknown.join(', ')}`);
  const missing = elements.filter((e) => !Object.prototype.hasOwnProperty.call(family.elements, e));
  if (missing.length) {
    throw new Error(`pseudo family ${family.name} has no pseudopotential for: ${missing.join(', ')}`);
  }
  const species: SelectedSpecies[] = [];
  let ecutwfc = 0;
  let ecutrho = 0;
  for (const element of elements) {
    const entry = family.elements[element]!;
    species.push({ element, file: entry.file, mass: atomicMass(element) });
    ecutwfc = Math.max(ecutwfc, entry.ecutwfc);
    ecutrho = Math.max(ecutrho, entry.ecutrho);
  }
  return { species, ecutwfc, ecutrho };
}

const EXAMPLES = '/usr/share/doc/quantum-espresso/examples';

/**
 * LDA (Perdew-Zunger) norm-conserving pseudos that Debian's `quantum-espresso-data` package ships
 * gzipped among the pw.x examples; `source` is the gz file to decompress into pseudo_dir under
 * `file`.
 *
 * Every header was read: all are NC with functional "SLA PZ NOGX NOGC" (Si, C, Mg, B) or
 * functional="PZ" (the ONCV Ga and N), and none suggests cutoffs (all zero / absent), so the cutoffs
 * were measured here with pw.x 6.7 (ecutrho = 4 × ecutwfc): the smallest of the tested values whose
 * total energy is within about 1 mRy/atom of a much higher cutoff and whose pressure is within a few
 * kbar (Si in diamond Si, C in diamond, Ga/N in zincblende GaN, Mg/B in MgB2).
 *
 * Left out on purpose: `EPW/diamond/pp/C_3.98148.UPF` (LDA too, but its valence charge is 3.98148:
 * a virtual-crystal pseudo for B-doped diamond, not carbon); the PBE files (functional mismatch);
 * `pb_s.UPF` and `Asrel.RRKJ3.UPF` (fully relativistic, meant for spin-orbit runs).
 */
export const DEBIAN_QE_EXAMPLES_FAMILY: PseudoFamily = {
  name: 'qe-debian-lda',
  functional: 'PZ',
  description:
    "LDA (PZ) norm-conserving pseudopotentials from the examples of Debian's quantum-espresso-data " +
    '(von Barth-Car Si/Mg/B, FHI C, Schlipf-Gygi ONCV Ga/N); cutoffs converged to about 1 mRy/atom.',
  elements: {
    // 24 Ry: 1.3 mRy/atom, 2.5 kbar; 30 Ry: ~0.6 mRy/atom, ~1 kbar from 60 Ry.
    Si: { file: 'Si.pz-vbc.UPF', ecutwfc: 30, ecutrho: 120, source: `${EXAMPLES}/EPW/sic/pp/Si.pz-vbc.UPF.gz` },
    // 60 Ry: 0.9 mRy/atom, 6 kbar; 70 Ry: 0.6 mRy/atom, 3 kbar from 140 Ry.
    C: { file: 'C.UPF', ecutwfc: 70, ecutrho: 280, source: `${EXAMPLES}/EPW/sic/pp/C.UPF.gz` },
    // GaN at 80 Ry: 1.1 mRy/atom, 4.5 kbar from 160 Ry.
    Ga: { file: 'Ga_ONCV_LDA-1.0.upf', ecutwfc: 80, ecutrho: 320, source: `${EXAMPLES}/EPW/gan/pp/Ga_ONCV_LDA-1.0.upf.gz` },
    N: { file: 'N_ONCV_LDA-1.0.upf', ecutwfc: 80, ecutrho: 320, source: `${EXAMPLES}/EPW/gan/pp/N_ONCV_LDA-1.0.upf.gz` },
    // MgB2 at 70 Ry: 0.6 mRy/atom, 4 kbar from 120 Ry (50 Ry was 2.3 mRy/atom).
    Mg: { file: 'Mg.pz-n-vbc.UPF', ecutwfc: 70, ecutrho: 280, source: `${EXAMPLES}/EPW/mgb2/pp/Mg.pz-n-vbc.UPF.gz` },
    B: { file: 'B.pz-vbc.UPF', ecutwfc: 70, ecutrho: 280, source: `${EXAMPLES}/EPW/mgb2/pp/B.pz-vbc.UPF.gz` },
  },
};

/** The valence charge a UPF file declares (UPF v2 `z_valence="4.0"`, UPF v1 `4.0  Z valence`), if any. */
export function upfValenceCharge(upfText: string): number | undefined {
  const m = /z_valence\s*=\s*"\s*([-+0-9.eEdD]+)\s*"/.exec(upfText) ?? /^\s*([-+0-9.eEdD]+)\s+Z valence/im.exec(upfText);
  if (!m) return undefined;
  const z = Number(m[1]!.replace(/[dD]/, 'e'));
  return Number.isFinite(z) && z > 0 ? z : undefined;
}
