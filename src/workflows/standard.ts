/**
 * `standardAnalysis`: relax → scf → bands → DOS (the StandardAnalysis runner of seed 000), with the band gap,
 * its character and where it lies, the Fermi level / VBM, and the bands + DOS figure. Each pw.x run is a
 * self-healing `calculation` child (the relaxation the full `relax` loop); dos.x, projwfc.x, the analysis and
 * the figure are activities. Arrays and figures are artifacts; the result holds numbers and references.
 */
import { ApplicationFailure, executeChild, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { z } from 'zod';
import type { BandsAnalysis, DosAnalysis, KPathInfo } from '../activities/analysis.ts';
import type { ArtifactRef } from '../domain/artifacts.ts';
import { gapCharacter, reportedBandGap } from '../domain/analysis/bandgap.ts';
import { checkedByCode, coreSeconds, describeZodError } from '../domain/calculation.ts';
import type { PwCalculationResult } from '../domain/codes/qe/pw.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attributes.ts';
import { cellFormula, cellParameters, volume } from '../domain/structure/lattice.ts';
import type { Mat3 } from '../domain/structure/structure.ts';
import { executePwCalculation } from './pw-calculation.ts';
import { analysisWorkNear, runBands, runDos } from './electronic.ts';
import { relax, RelaxFieldsSchema, type RelaxResult } from './relax.ts';
import { pinLocalExecutor } from './local-host.ts';

const kMesh = z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]);

export const StandardInputSchema = RelaxFieldsSchema.extend({
  includeRelax: z.boolean().default(true),
  includeBands: z.boolean().default(true),
  includeDos: z.boolean().default(true),
  /** k-points per path segment of the band structure. */
  kpointsPerSegment: z.number().int().min(2).max(500).default(20),
  /** The nscf mesh of the DOS; default: twice the scf mesh in each direction. */
  dosMesh: kMesh.optional(),
  /** Also projwfc.x (projected DOS, Löwdin charges). */
  projected: z.boolean().default(true),
}).transform(checkedByCode);
export type StandardInput = z.input<typeof StandardInputSchema>;

export interface LatticeSummary {
  a: number;
  b: number;
  c: number;
  alpha: number;
  beta: number;
  gamma: number;
  volume: number;
}

export interface AnalysisResults {
  workflowId: string;
  formula: string;
  spaceGroup?: { number: number; symbol: string; crystalSystem: string; kPathVariant: string };
  latticeBefore: LatticeSummary;
  latticeAfter: LatticeSummary;
  totalEnergyEv?: number;
  /** The scf's, when spin-polarised: μB per cell. */
  totalMagnetizationBohrMag?: number;
  absoluteMagnetizationBohrMag?: number;
  /** From the band structure when computed, otherwise from the scf's levels. */
  bandGapEv?: number;
  bandGapCharacter?: 'direct' | 'indirect' | 'metal';
  /** Where bandGapEv came from: the band structure, the scf's k-mesh, or none. */
  bandGapSource: string;
  vbm?: BandsAnalysis['gap']['vbm'];
  cbm?: BandsAnalysis['gap']['cbm'];
  fermiEnergyEv?: number;
  /** Where energies in the figure are measured from. */
  energyReference?: { kind: 'vbm' | 'fermi'; energyEv: number };
  effectiveMasses?: BandsAnalysis['gap']['effectiveMasses'];
  /** Core-hours of the pw.x calculations: every attempt's wall time × MPI ranks, the relaxation's iterations included (not dos.x / projwfc.x). */
  cpuHours: number;
  steps: { name: string; workflowId?: string; attempts: number; exitCode: number; handlers: string[] }[];
  bands?: BandsAnalysis;
  dos?: DosAnalysis;
  figure?: { svg: ArtifactRef; png: ArtifactRef };
  notes: string[];
}

export async function standardAnalysis(raw: StandardInput): Promise<AnalysisResults> {
  const parsed = StandardInputSchema.safeParse(raw);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid standard-analysis input: ${describeZodError(parsed.error)}`, 'InvalidInput');
  const input = parsed.data;
  input.executor = await pinLocalExecutor(input.executor);
  const { includeRelax, includeBands, includeDos, kpointsPerSegment, dosMesh, projected, maxIterations, initialRelax, ...common } = input;
  const { workflowId } = workflowInfo();
  const formula = cellFormula(input.structure);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.formula, value: formula },
    { key: SEARCH_ATTRIBUTE_KEYS.analysis, value: 'standard' },
    { key: SEARCH_ATTRIBUTE_KEYS.code, value: input.code },
  ]);
  const steps: AnalysisResults['steps'] = [];
  const record = (name: string, childId: string, r: PwCalculationResult) =>
    steps.push({ name, workflowId: childId, attempts: r.attempts.length, exitCode: r.exitCode, handlers: r.attempts.flatMap((a) => (a.decision.handler ? [a.decision.handler] : [])) });
  const notes: string[] = [];
  // Every attempt of every calculation, not the last attempt's own CPU time. (Result values only: what a replay
  // computes is unchanged, so no patch.)
  let cpuSeconds = 0;
  const account = (r: PwCalculationResult) => (cpuSeconds += coreSeconds(r, common.resources.mpiRanks));

  let structure = input.structure;
  if (includeRelax) {
    const id = `${workflowId}-relax`;
    const r: RelaxResult = await executeChild(relax, { workflowId: id, args: [{ ...common, structure, maxIterations, initialRelax }] });
    record('relax', id, r);
    // all the loop's calculations (a relax result of a release before 0.3.0 has only its last one)
    if (r.relax.coreSeconds !== undefined) cpuSeconds += r.relax.coreSeconds;
    else account(r);
    structure = r.finalStructure;
  }

  // The scf's input; bands and DOS start from it as plan steps do (./electronic.ts).
  const base = { ...common, structure, calculation: 'scf' as const, analysis: 'standard' };
  const scfId = `${workflowId}-scf`;
  const scf = await executePwCalculation({ workflowId: scfId, args: [base] });
  record('scf', scfId, scf);
  account(scf);

  let path: KPathInfo | undefined;
  let bands: BandsAnalysis | undefined;
  if (includeBands) {
    const id = `${workflowId}-bands`;
    const run = await runBands({ childId: id, base, scf, pointsPerSegment: kpointsPerSegment, artifactPrefix: `${workflowId}/bands` });
    record('bands', id, run.calculation);
    account(run.calculation);
    path = run.path;
    bands = run.analysis;
  }

  let dos: DosAnalysis | undefined;
  if (includeDos) {
    const id = `${workflowId}-nscf`;
    const run = await runDos({ childId: id, base, scf, mesh: dosMesh, projected, workflowId, step: 'dos', artifactPrefix: `${workflowId}/dos` });
    record('nscf', id, run.calculation);
    account(run.calculation);
    dos = run.analysis;
  }

  let figure: AnalysisResults['figure'];
  if (bands) {
    const gapText = bands.gap.gapEv !== undefined ? `: ${bands.gap.direct ? 'direct' : 'indirect'} gap ${bands.gap.gapEv.toFixed(2)} eV` : '';
    figure = await analysisWorkNear(input.executor).renderBandsDos({ bands: bands.bands, dos: dos?.dos, title: `${formula}${gapText}`, artifactPrefix: `${workflowId}/figure` });
  }

  // (result values only: what a replay computes is unchanged, so no patch)
  const gap = reportedBandGap(bands && { gap: bands.gap, description: `${path!.variant} path (${bands.nKpoints} k-points)` }, scf.outputs);
  const character = bands ? gapCharacter(bands.gap) : undefined;
  if (gap.from === 'scf') notes.push('band gap from the scf k-mesh only: a mesh can miss the band edges');
  return {
    workflowId,
    formula,
    spaceGroup: path ? { number: path.spaceGroupNumber, symbol: path.internationalSymbol, crystalSystem: path.crystalSystem, kPathVariant: path.variant } : undefined,
    latticeBefore: summarize(input.structure.lattice),
    latticeAfter: summarize(structure.lattice),
    totalEnergyEv: scf.outputs.totalEnergyEv,
    totalMagnetizationBohrMag: scf.outputs.totalMagnetizationBohrMag,
    absoluteMagnetizationBohrMag: scf.outputs.absoluteMagnetizationBohrMag,
    bandGapEv: gap.gapEv,
    bandGapCharacter: character,
    bandGapSource: gap.source,
    vbm: bands?.gap.vbm,
    cbm: bands?.gap.cbm,
    fermiEnergyEv: bands?.gap.fermiEnergyEv ?? scf.outputs.fermiEnergyEv ?? dos?.fermiEnergyEv,
    energyReference: bands?.gap.reference,
    effectiveMasses: bands?.gap.effectiveMasses,
    cpuHours: cpuSeconds / 3600,
    steps,
    bands,
    dos,
    figure,
    notes: [...notes, ...(bands?.gap.notes ?? [])],
  };
}

function summarize(lattice: Mat3): LatticeSummary {
  return { ...cellParameters(lattice), volume: volume(lattice) };
}
