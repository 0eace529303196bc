/**
 * What each code can compute at all (knowledge about the codes, independent of what CrystalMath runs today:
 * see SUPPORTED_STEPS in steps.ts for that), and the executable id a cluster profile must list for it.
 */
import type { CodeName, StepType } from './plan.ts';

export const CODE_CAPABILITIES: Record<CodeName, readonly StepType[]> = {
  quantum_espresso: ['relax', 'scf', 'nscf', 'bands', 'dos', 'phonon', 'elastic'],
  vasp: ['relax', 'scf', 'nscf', 'bands', 'dos', 'phonon', 'elastic'],
  crystal23: ['relax', 'scf', 'bands', 'dos', 'elastic'],
  yambo: ['gw', 'bse'],
  wannier90: ['wannier', 'bands'],
  phonopy: ['phonon'],
  boltztrap2: ['transport'],
};

/** The executable id (a key of a cluster profile's `executables`) a step of this code needs. */
export const EXECUTABLE_OF: Record<CodeName, string> = {
  quantum_espresso: 'qe-pw',
  vasp: 'vasp',
  crystal23: 'crystal23',
  yambo: 'yambo',
  wannier90: 'wannier90',
  phonopy: 'phonopy',
  boltztrap2: 'boltztrap2',
};

export function codeCanRun(code: CodeName, type: StepType): boolean {
  return CODE_CAPABILITIES[code].includes(type);
}
