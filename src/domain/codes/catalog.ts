/**
 * The codes CrystalMath knows, in one place: each by the seed's name, with its family (the folder under
 * src/domain/codes and the prefix of its executable ids), what it can compute at all (independent of what
 * CrystalMath runs today: see ./registry.ts for the codes with an implementation, and SUPPORTED_STEPS in
 * plan/steps.ts for the plan steps that run), the executable id a cluster profile lists for its main program,
 * whether it has GPU builds, and the spellings users write for it.
 */
import type { StepType } from '../calculation-types.ts';

interface CatalogEntry {
  family: string;
  capabilities: readonly StepType[];
  executable: string;
  gpu: boolean;
  aliases: readonly string[];
}

export const CODE_CATALOG = {
  quantum_espresso: {
    family: 'qe',
    capabilities: ['relax', 'scf', 'nscf', 'bands', 'dos', 'phonon', 'elastic'],
    executable: 'qe-pw',
    gpu: true,
    aliases: ['quantum-espresso', 'quantumespresso', 'espresso'],
  },
  vasp: { family: 'vasp', capabilities: ['relax', 'scf', 'nscf', 'bands', 'dos', 'phonon', 'elastic'], executable: 'vasp', gpu: true, aliases: [] },
  yambo: { family: 'yambo', capabilities: ['gw', 'bse'], executable: 'yambo', gpu: true, aliases: [] },
  crystal23: { family: 'crystal23', capabilities: ['relax', 'scf', 'bands', 'dos', 'elastic'], executable: 'crystal23', gpu: false, aliases: ['crystal'] },
  wannier90: { family: 'wannier90', capabilities: ['wannier', 'bands'], executable: 'wannier90', gpu: false, aliases: ['wannier'] },
  phonopy: { family: 'phonopy', capabilities: ['phonon'], executable: 'phonopy', gpu: false, aliases: [] },
  boltztrap2: { family: 'boltztrap2', capabilities: ['transport'], executable: 'boltztrap2', gpu: false, aliases: ['boltztrap', 'btp2'] },
} as const satisfies Record<string, CatalogEntry>;

export type CodeName = keyof typeof CODE_CATALOG;
export const CODE_NAMES = Object.keys(CODE_CATALOG) as [CodeName, ...CodeName[]];

export type CodeFamily = (typeof CODE_CATALOG)[CodeName]['family'];
export const CODE_FAMILIES = CODE_NAMES.map((n) => CODE_CATALOG[n].family) as readonly CodeFamily[];
/** Families with GPU builds. */
export const GPU_CODE_FAMILIES = CODE_NAMES.filter((n) => CODE_CATALOG[n].gpu).map((n) => CODE_CATALOG[n].family) as readonly CodeFamily[];

export function codeCanRun(code: CodeName, type: StepType): boolean {
  return (CODE_CATALOG[code].capabilities as readonly StepType[]).includes(type);
}

/** The executable id (a key of a cluster profile's `executables`) a step of this code needs. */
export function executableOf(code: CodeName): string {
  return CODE_CATALOG[code].executable;
}

const FAMILY_BY_SPELLING: Record<string, CodeFamily> = Object.fromEntries(
  CODE_NAMES.flatMap((n) => {
    const e: CatalogEntry = CODE_CATALOG[n];
    return [n, e.family, ...e.aliases].map((s) => [s, e.family as CodeFamily]);
  }),
);

/** The code family of a code id, name or alias: `qe-pw` → `qe`, `vasp_std` → `vasp`. Throws for unknown codes. */
export function codeFamily(code: string): CodeFamily {
  const c = code.trim().toLowerCase();
  const family = FAMILY_BY_SPELLING[c] ?? FAMILY_BY_SPELLING[c.split(/[-_.]/)[0] ?? ''];
  if (family) return family;
  throw new Error(`unknown code "${code}"; known codes: ${CODE_FAMILIES.join(', ')} (or ids such as qe-pw, vasp-std)`);
}
