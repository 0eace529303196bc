/**
 * `relax`: the geometric ground state, as aiida-quantumespresso's PwRelaxWorkChain finds it (seed 001):
 * an initial vc-relax with looser settings, then full vc-relaxations repeated until the final SCF shows no
 * Pulay stress, the k-mesh still meets the protocol's density on the relaxed cell, and the volume has
 * settled (`relaxVerdict`). Every pw.x run is a self-healing `calculation` child.
 */
import { ApplicationFailure, executeChild, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { z } from 'zod';
import { CalculationFieldsSchema, checkedByCode, coreSeconds, describeZodError } from '../domain/calculation.ts';
import { QE_PW_ID, type PwCalculationResult } from '../domain/codes/qe/pw.ts';
import { PROTOCOLS } from '../domain/codes/qe/protocols.ts';
import { relaxVerdict, type RelaxVerdict } from '../domain/relax.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attributes.ts';
import { kMeshFromDistance } from '../domain/structure/kpoints.ts';
import type { Mat3 } from '../domain/structure/structure.ts';
import { executePwCalculation } from './pw-calculation.ts';
import { pinLocalExecutor } from './local-host.ts';

/** The relax loop's fields (standard.ts extends them); `RelaxInputSchema` adds the code's checks. */
export const RelaxFieldsSchema = CalculationFieldsSchema.omit({ calculation: true, kpoints: true, parent: true, analysis: true })
  .extend({
    /** The PwRelaxWorkChain loop reads pw.x's stress and cell: pw.x only. */
    code: z.literal(QE_PW_ID),
    /** Full relaxations at most (the initial one not counted). */
    maxIterations: z.number().int().min(1).max(20).default(5),
    /** Start with a vc-relax on the `fast` protocol (looser, cheaper, more robust far from the minimum). */
    initialRelax: z.boolean().default(true),
  });
export const RelaxInputSchema = RelaxFieldsSchema.transform(checkedByCode);
export type RelaxInput = z.input<typeof RelaxInputSchema>;

export interface RelaxIteration extends Omit<RelaxVerdict, 'nextKMesh'> {
  iteration: number;
  kMesh: [number, number, number];
  workflowId: string;
  finalPressureKbar?: number;
  exitCode: number;
}

export interface RelaxResult extends PwCalculationResult {
  relax: {
    latticeBefore: Mat3;
    latticeAfter: Mat3;
    initialRelaxWorkflowId?: string;
    iterations: RelaxIteration[];
    /** Of every calculation of the loop (the initial relaxation and each iteration, all their attempts); absent in results of releases before 0.3.0. */
    coreSeconds?: number;
  };
}

export async function relax(raw: RelaxInput): Promise<RelaxResult> {
  const parsed = RelaxInputSchema.safeParse(raw);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid relax input: ${describeZodError(parsed.error)}`, 'InvalidRelaxInput');
  const input = parsed.data;
  input.executor = await pinLocalExecutor(input.executor);
  const { workflowId } = workflowInfo();
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.analysis, value: 'relax' }]);
  const { maxIterations, initialRelax, ...common } = input;
  const base = { ...common, analysis: 'relax', calculation: 'vc-relax' as const };

  let structure = input.structure;
  // (a result value only: what a replay computes is unchanged, so no patch)
  let spent = 0;
  const account = (r: PwCalculationResult) => (spent += coreSeconds(r, input.resources.mpiRanks));
  let initialRelaxWorkflowId: string | undefined;
  if (initialRelax) {
    initialRelaxWorkflowId = `${workflowId}-initial`;
    const first = await executePwCalculation({ workflowId: initialRelaxWorkflowId, args: [{ ...base, structure, protocol: 'fast' }] });
    account(first);
    structure = first.finalStructure;
  }

  const protocol = PROTOCOLS[input.protocol];
  let kMesh = kMeshFromDistance(structure.lattice, protocol.kpointsDistance, { forceParity: protocol.kpointsForceParity });
  const iterations: RelaxIteration[] = [];
  let last: PwCalculationResult | undefined;
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    const childId = `${workflowId}-full-${iteration}`;
    last = await executePwCalculation({ workflowId: childId, args: [{ ...base, structure, kpoints: { mesh: kMesh } }] });
    account(last);
    const verdict = relaxVerdict({
      protocol: input.protocol,
      latticeBefore: structure.lattice,
      latticeAfter: last.finalStructure.lattice,
      kMesh,
      finalPressureKbar: last.outputs.pressureKbar,
      exitCode: last.exitCode,
    });
    const { nextKMesh, ...facts } = verdict;
    iterations.push({ iteration, kMesh, workflowId: childId, finalPressureKbar: last.outputs.pressureKbar, exitCode: last.exitCode, ...facts });
    structure = last.finalStructure;
    kMesh = nextKMesh;
    if (verdict.converged) {
      return { ...last, relax: { latticeBefore: input.structure.lattice, latticeAfter: structure.lattice, initialRelaxWorkflowId, iterations, coreSeconds: spent } };
    }
  }
  const partial: RelaxResult = { ...last!, relax: { latticeBefore: input.structure.lattice, latticeAfter: structure.lattice, initialRelaxWorkflowId, iterations, coreSeconds: spent } };
  throw ApplicationFailure.nonRetryable(
    `relaxation not converged after ${maxIterations} full iterations: ${iterations.at(-1)!.reason}`,
    'RelaxNotConverged',
    partial,
  );
}
