/**
 * Workflow ids people can read in the Web UI and in work-directory paths: analysis, formula and a short
 * unique suffix, e.g. `scf-Si2-3fa9c1d2`. The suffix is the caller's (randomness is not pure).
 */
import { cellFormula } from './structure/lattice.ts';
import type { Structure } from './structure/structure.ts';

export function readableWorkflowId(analysis: string, structure: Structure, uniqueSuffix: string): string {
  // the id names a directory on the cluster and appears in shell commands: keep it to path-safe characters
  return `${analysis}-${cellFormula(structure)}-${uniqueSuffix}`.replace(/[^A-Za-z0-9._-]/g, '_');
}
