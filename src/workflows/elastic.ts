/**
 * `elasticAnalysis`: the elastic tensor from stress–strain (the ElasticAnalysis runner of seed 000). The crystal
 * is relaxed first (the `relax` loop) unless told not to; the strain set (src/domain/elastic/strains.ts) is
 * reduced by the relaxed crystal's symmetry; each strained cell that remains is one self-healing `calculation`
 * child, run in parallel with a bound: pw.x `relax` at fixed cell (internal coordinates relaxed: relaxed-ion
 * constants) or, with `clampedIon`, `scf` (ions moved with the cell). Every child uses the k-mesh and cutoffs of
 * the relaxation, so all stresses share one basis. The stresses go into the least-squares fit of C, then the
 * Voigt / Reuss / Hill moduli and the Born stability verdict. Optionally an E(V) (Birch–Murnaghan) on
 * isotropically scaled cells with the same settings, whose bulk modulus is the Voigt bulk modulus of the same
 * constants (isotropic strain): a check of the whole chain.
 *
 * Child ids come from this workflow's id: `<id>-relax`, `<id>-strain-xx+1`, `<id>-eos-3`.
 */
import { ApplicationFailure, ChildWorkflowFailure, executeChild, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { z } from 'zod';
import type { Activities } from '../activities/index.ts';
import { checkedByCode, describeZodError } from '../domain/calculation.ts';
import { cauchyStressGpaOfPwStress, strainedCellParameters } from '../domain/codes/qe/elastic.ts';
import type { PwCalculationResult } from '../domain/codes/qe/pw.ts';
import { PROTOCOLS } from '../domain/codes/qe/protocols.ts';
import { fitBirchMurnaghan, type BirchMurnaghanFit } from '../domain/elastic/eos.ts';
import { fitElasticTensor, type ElasticFit, type StressStrainPoint } from '../domain/elastic/fit.ts';
import { elasticModuli, type ElasticModuli } from '../domain/elastic/moduli.ts';
import { bornStability, type BornStability } from '../domain/elastic/stability.ts';
import { cartesianRotations, deformationOf, deformedStructure, reduceBySymmetry, rotateTensor, strainSet, StrainSetSchema } from '../domain/elastic/strains.ts';
import { strainToVoigt, stressToVoigt, type Voigt6 } from '../domain/elastic/voigt.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attributes.ts';
import type { CrystalSystem } from '../domain/structure/bravais.ts';
import { kMeshFromDistance } from '../domain/structure/kpoints.ts';
import { cellFormula, volume } from '../domain/structure/lattice.ts';
import type { Mat3, Structure } from '../domain/structure/structure.ts';
import { runBounded } from './fan-out.ts';
import { pinLocalExecutor } from './local-host.ts';
import { executePwCalculation } from './pw-calculation.ts';
import { relax, RelaxFieldsSchema, type RelaxResult } from './relax.ts';

const meshCount = z.number().int().positive();

export const ElasticInputSchema = RelaxFieldsSchema.extend({
  /** Relax the structure first (the `relax` loop); false: the structure given is the reference cell. */
  includeRelax: z.boolean().default(true),
  strainMagnitude: StrainSetSchema.shape.strainMagnitude.default(0.01),
  numStrains: StrainSetSchema.shape.numStrains.default(4),
  /** Clamped-ion constants (pw.x scf: ions follow the strain homogeneously) instead of relaxed-ion ones. */
  clampedIon: z.boolean().default(false),
  /** Spare the strains that the crystal's symmetry maps onto computed ones (strains.ts); false: the full set. */
  symmetryReduction: z.boolean().default(true),
  /** Strained-cell calculations running at once. */
  maxConcurrent: z.number().int().min(1).max(200).default(4),
  /** The k-mesh of every strained cell (the relaxation chooses its own); default: the relaxation's final mesh, or the protocol's on the given cell. */
  kMesh: z.tuple([meshCount, meshCount, meshCount]).optional(),
  /** Also an E(V) on isotropically scaled cells (linear strains evenly over ±maxStrain), fitted with Birch–Murnaghan. */
  equationOfState: z
    .object({
      points: z.number().int().min(5).max(15).default(7),
      maxStrain: z.number().positive().max(0.05).default(0.02),
    })
    .optional(),
}).transform(checkedByCode);
export type ElasticInput = z.input<typeof ElasticInputSchema>;

export interface StrainRecord {
  label: string;
  /** The strain as a Voigt vector (engineering shears). */
  voigtStrain: Voigt6;
  /** The Cauchy stress of the strained cell, tension-positive, Voigt, GPa. */
  stressGpa: Voigt6;
  /** The calculation that computed it, or the computed strain it follows from by symmetry. */
  workflowId?: string;
  derivedFrom?: string;
  attempts?: number;
}

export interface EquationOfStateResult extends BirchMurnaghanFit {
  points: { volumeA3: number; energyEv: number; workflowId: string }[];
}

export interface ElasticResult {
  workflowId: string;
  formula: string;
  /** The reference cell the constants belong to: the relaxed structure (the input when includeRelax is false). */
  finalStructure: Structure;
  spaceGroup: { number: number; symbol: string; crystalSystem: CrystalSystem };
  /** relaxed-ion (fixed-cell relax of each strained cell) or clamped-ion (scf). */
  ions: 'relaxed' | 'clamped';
  strainMagnitude: number;
  numStrains: number;
  kMesh: [number, number, number];
  ecutwfcRy: number;
  /** C in Voigt order (xx, yy, zz, yz, xz, xy), GPa. */
  elasticTensorGpa: number[][];
  complianceTensorPerGpa: number[][];
  fit: Omit<ElasticFit, 'elasticTensorGpa'> & { points: number; computedPoints: number };
  moduli: Omit<ElasticModuli, 'complianceTensorPerGpa'>;
  /** Hill averages. */
  bulkModulusGpa: number;
  shearModulusGpa: number;
  youngsModulusGpa: number;
  poissonRatio: number;
  stability: BornStability;
  strains: StrainRecord[];
  equationOfState?: EquationOfStateResult;
  relaxWorkflowId?: string;
  childWorkflowIds: string[];
  cpuHours: number;
  notes: string[];
}

const symmetryWork = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

export async function elasticAnalysis(raw: ElasticInput): Promise<ElasticResult> {
  const parsed = ElasticInputSchema.safeParse(raw);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid elastic-analysis input: ${describeZodError(parsed.error)}`, 'InvalidInput');
  const input = parsed.data;
  input.executor = await pinLocalExecutor(input.executor);
  const { includeRelax, strainMagnitude, numStrains, clampedIon, symmetryReduction, maxConcurrent, kMesh, equationOfState, maxIterations, initialRelax, ...common } = input;
  const { workflowId } = workflowInfo();
  const formula = cellFormula(input.structure);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.formula, value: formula },
    { key: SEARCH_ATTRIBUTE_KEYS.analysis, value: 'elastic' },
    { key: SEARCH_ATTRIBUTE_KEYS.code, value: input.code },
  ]);
  let cpuSeconds = 0;
  const account = (r: PwCalculationResult) => {
    cpuSeconds += (r.outputs.cpuTimeSeconds ?? r.outputs.wallTimeSeconds ?? 0) * common.resources.mpiRanks;
  };
  const notes: string[] = [];

  let structure = input.structure;
  let mesh = kMesh;
  let relaxWorkflowId: string | undefined;
  if (includeRelax) {
    relaxWorkflowId = `${workflowId}-relax`;
    const r: RelaxResult = await executeChild(relax, { workflowId: relaxWorkflowId, args: [{ ...common, structure, maxIterations, initialRelax }] });
    account(r);
    structure = r.finalStructure;
    mesh ??= r.inputSummary.kMesh;
  }
  const protocol = PROTOCOLS[input.protocol];
  mesh ??= kMeshFromDistance(structure.lattice, protocol.kpointsDistance, { forceParity: protocol.kpointsForceParity });

  const symmetry = await symmetryWork.crystalSymmetry({ structure });
  const strains = strainSet({ strainMagnitude, numStrains });
  const rotations = symmetryReduction ? cartesianRotations(structure.lattice, symmetry.pointGroupRotations) : [];
  const { computed, derived } = reduceBySymmetry(strains, rotations);

  // One input for every cell: same k-mesh, cutoffs and thresholds, so the stresses differ only by the strain.
  const base = {
    ...common,
    calculation: clampedIon ? ('scf' as const) : ('relax' as const),
    analysis: 'elastic',
    kpoints: { mesh },
    parameters: clampedIon ? common.parameters : strainedCellParameters(input.protocol, common.parameters),
  };
  const title = structure.title ?? formula;
  const jobs = computed.map((s) => ({
    workflowId: `${workflowId}-strain-${s.label}`,
    structure: deformedStructure(structure, deformationOf(s.strain), `${title} strained ${s.label}`),
  }));
  const eosStrains = equationOfState
    ? Array.from({ length: equationOfState.points }, (_, k) => -equationOfState.maxStrain + (2 * equationOfState.maxStrain * k) / (equationOfState.points - 1))
    : [];
  const eosJobs = eosStrains.map((s, k) => ({
    workflowId: `${workflowId}-eos-${k + 1}`,
    structure: deformedStructure(structure, deformationOf(isotropic(s)), `${title} scaled ${(1 + s).toFixed(4)}`),
  }));
  const allJobs = [...jobs, ...eosJobs];
  const runs = await runBounded(allJobs, maxConcurrent, (job) => executePwCalculation({ workflowId: job.workflowId, args: [{ ...base, structure: job.structure }] }));

  const failures = runs.flatMap((r, k) => {
    if (!r.ok) return [`${allJobs[k]!.workflowId}: ${failureMessage(r.error)}`];
    return k < jobs.length && !r.value.outputs.stressKbar ? [`${allJobs[k]!.workflowId}: pw.x printed no stress`] : [];
  });
  if (failures.length) {
    throw ApplicationFailure.nonRetryable(`elastic analysis ${workflowId}: ${failures.length} of ${allJobs.length} strained-cell calculations failed: ${failures.join('; ')}`, 'ElasticCalculationFailed', {
      workflowId,
      failed: failures,
      completed: allJobs.filter((_, k) => runs[k]!.ok).map((j) => j.workflowId),
    });
  }
  const results = runs.map((r) => (r as { ok: true; value: PwCalculationResult }).value);
  results.forEach(account);

  // Stresses: computed, then the derived ones rotated from their source (σ = R σ_from Rᵀ).
  const stressOf = new Map<string, Mat3>(computed.map((s, k) => [s.label, cauchyStressGpaOfPwStress(results[k]!.outputs.stressKbar!)]));
  for (const d of derived) stressOf.set(d.strain.label, rotateTensor(d.rotation, stressOf.get(d.from)!));
  const points: StressStrainPoint[] = strains.map((s) => ({ label: s.label, deformation: deformationOf(s.strain), stressGpa: stressOf.get(s.label)! }));
  const fit = fitElasticTensor(points);
  const { complianceTensorPerGpa, ...moduli } = elasticModuli(fit.elasticTensorGpa);
  const stability = bornStability(fit.elasticTensorGpa, symmetry.crystalSystem);

  const records: StrainRecord[] = strains.map((s) => {
    const k = computed.indexOf(s);
    const from = derived.find((d) => d.strain === s)?.from;
    return {
      label: s.label,
      voigtStrain: strainToVoigt(s.strain),
      stressGpa: stressToVoigt(stressOf.get(s.label)!),
      ...(k >= 0 ? { workflowId: jobs[k]!.workflowId, attempts: results[k]!.attempts.length } : { derivedFrom: from }),
    };
  });

  let eos: EquationOfStateResult | undefined;
  if (equationOfState) {
    const eosPoints = eosJobs.map((job, k) => ({ volumeA3: volume(job.structure.lattice), energyEv: results[jobs.length + k]!.outputs.totalEnergyEv!, workflowId: job.workflowId }));
    eos = { ...fitBirchMurnaghan(eosPoints), points: eosPoints };
    if (!eos.minimumInRange) notes.push('the E(V) minimum lies outside the volumes computed: its bulk modulus is an extrapolation');
    notes.push(`E(V) bulk modulus ${eos.bulkModulusGpa.toFixed(2)} GPa vs. the Voigt bulk modulus of C ${moduli.voigt.bulkGpa.toFixed(2)} GPa (the same quantity: isotropic strain at fixed cell shape)`);
  }

  notes.push(
    `${computed.length} of ${strains.length} strained cells computed${derived.length ? `, ${derived.length} from the ${symmetry.crystalSystem} symmetry (${symmetry.internationalSymbol})` : ''}`,
    clampedIon ? 'clamped-ion constants: ions strained with the cell (pw.x scf)' : 'relaxed-ion constants: internal coordinates relaxed in each strained cell (pw.x relax)',
    ...stability.notes,
  );
  return {
    workflowId,
    formula,
    finalStructure: structure,
    spaceGroup: { number: symmetry.spaceGroupNumber, symbol: symmetry.internationalSymbol, crystalSystem: symmetry.crystalSystem },
    ions: clampedIon ? 'clamped' : 'relaxed',
    strainMagnitude,
    numStrains,
    kMesh: mesh,
    ecutwfcRy: results[0]!.inputSummary.ecutwfc,
    elasticTensorGpa: fit.elasticTensorGpa,
    complianceTensorPerGpa,
    fit: { asymmetryGpa: fit.asymmetryGpa, referenceStressGpa: fit.referenceStressGpa, residuals: fit.residuals, points: points.length, computedPoints: computed.length },
    moduli,
    bulkModulusGpa: moduli.hill.bulkGpa,
    shearModulusGpa: moduli.hill.shearGpa,
    youngsModulusGpa: moduli.youngsModulusGpa,
    poissonRatio: moduli.poissonRatio,
    stability,
    strains: records,
    ...(eos ? { equationOfState: eos } : {}),
    ...(relaxWorkflowId ? { relaxWorkflowId } : {}),
    childWorkflowIds: [...(relaxWorkflowId ? [relaxWorkflowId] : []), ...allJobs.map((j) => j.workflowId)],
    cpuHours: cpuSeconds / 3600,
    notes,
  };
}

const isotropic = (s: number): Mat3 => [
  [s, 0, 0],
  [0, s, 0],
  [0, 0, s],
];

function failureMessage(error: unknown): string {
  const cause = error instanceof ChildWorkflowFailure && error.cause ? error.cause : error;
  return (cause as Error).message ?? String(cause);
}
