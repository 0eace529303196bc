/**
 * The user's API: WorkflowBuilder → plan workflow on the real dev server with real pw.x; build-time errors;
 * runAsync progress; submit + getStatus + getResult from another client (as after a client restart).
 */
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildError, ErrorRecoveryStrategy, Workflow, WorkflowBuilder, type ProgressUpdate } from '../../src/client.ts';
import { toCSV } from '../../src/api/exporters.ts';
import { CalculationInputSchema } from '../../src/domain/calculation.ts';
import { calculationInputForStep } from '../../src/domain/plan/steps.ts';
import { structureFromPymatgen } from '../../src/api/materials-project.ts';
import { startTestWorker, testSettings } from '../support/temporal.ts';
import { recordHistory } from '../support/histories.ts';

describe('WorkflowBuilder.build(): impossible or unsupported plans fail before anything runs', () => {
  const si = () => new WorkflowBuilder().fromStructure('Si');
  it('names what is wrong', async () => {
    await expect(new WorkflowBuilder().scf().build()).rejects.toThrow(/no structure/);
    await expect(si().build()).rejects.toThrow(/no steps/);
    await expect(si().withBse().build()).rejects.toThrow(/step "bse": BSE needs a GW or DFT \(scf\) step/);
    await expect(si().relax({ code: 'yambo' }).build()).rejects.toThrow(/step "relax": yambo cannot compute relax/);
    await expect(si().scf().onCluster('no-such-cluster').build()).rejects.toThrow(/onCluster\("no-such-cluster"\)/);
    await expect(si().scf().onCluster('local', { partition: 'gpu' }).build()).rejects.toThrow(/no such partition/);
    await expect(si().scf({ code: 'vasp' }).build()).rejects.toThrow(/cluster local has no vasp/);
  });
  it('says "not supported yet" for analyses that have not landed', async () => {
    await expect(si().scf().withGw().withBse().onCluster('beefcake2').build()).rejects.toThrow(/step "gw": gw with yambo is not supported yet|code yambo is not supported yet/);
    await expect(si().relax().thenPhonon().build()).rejects.toThrow(/step "phonon": phonon with quantum_espresso is not supported yet/);
  });
  it('bands and DOS steps: need an scf upstream, only the standard path', async () => {
    const scfBandsDos = await si().scf().thenBands({ kpointsPerSegment: 12 }).thenDos({ projected: false }).build();
    expect(scfBandsDos.plan.steps.map((s) => [s.name, s.type, s.dependsOn])).toEqual([
      ['scf', 'scf', []],
      ['bands', 'bands', ['scf']],
      ['dos', 'dos', ['scf']],
    ]);
    await expect(si().thenBands().build()).rejects.toThrow(/step "bands": bands needs an scf step before it/);
    await expect(si().relax().thenDos().build()).rejects.toThrow(/step "dos": dos needs an scf step before it/);
    await expect(si().scf().thenBands({ kpath: ['G', 'X'] }).build()).rejects.toThrow(/step "bands": parameters\.kpath: only "auto"/);
    await expect(si().scf().thenBands({ kpointsPerSegment: 1 }).build()).rejects.toThrow(/step "bands": parameters\.kpointsPerSegment: Too small/);
    await expect(si().scf().thenDos({ mesh: [4, 4] as unknown as [number, number, number] }).build()).rejects.toThrow(/step "dos": parameters\.mesh/);
    // On a cluster too: dos.x / projwfc.x become serial jobs there.
    expect((await si().scf().thenDos().onCluster('beefcake2').build()).plan.cluster).toBe('beefcake2');
  });
  it('builds the DAG of the seed chain', async () => {
    const wf = await si().relax({ forceThreshold: 0.005 }).scf().withRecovery(ErrorRecoveryStrategy.FAIL_FAST).withProtocol('fast').build();
    expect(wf.plan.steps.map((s) => [s.name, s.type, s.code, s.dependsOn])).toEqual([
      ['relax', 'relax', 'quantum_espresso', []],
      ['scf', 'scf', 'quantum_espresso', ['relax']],
    ]);
    expect(wf.plan.recovery.strategy).toBe('fail_fast');
    expect(wf.workflowId).toMatch(/^relax-scf-Si2-[0-9a-f]{8}$/);
  });
  it("withMagnetism reaches every step's calculation input; without it the steps keep their default (auto)", async () => {
    const wf = await new WorkflowBuilder().fromStructure('Fe').relax().scf().withMagnetism('none').build();
    expect(wf.plan.magnetism).toBe('none');
    for (const step of wf.plan.steps) expect(calculationInputForStep(wf.plan, step, {}).magnetism).toBe('none');
    const plain = await si().scf().build();
    expect(CalculationInputSchema.parse(calculationInputForStep(plain.plan, plain.plan.steps[0]!, {})).magnetism).toBe('auto');
  });
  it('fromMaterialsProject without an API key says how to get one', async () => {
    const saved = process.env.MP_API_KEY;
    delete process.env.MP_API_KEY;
    try {
      await expect(new WorkflowBuilder().fromMaterialsProject('mp-149').scf().build()).rejects.toThrow(/no API key\. Set MP_API_KEY/);
    } finally {
      if (saved !== undefined) process.env.MP_API_KEY = saved;
    }
  });
  it('reads pymatgen structures (the Materials Project format)', () => {
    const s = structureFromPymatgen(
      { lattice: { matrix: [[0, 2.7, 2.7], [2.7, 0, 2.7], [2.7, 2.7, 0]] }, sites: [{ species: [{ element: 'Si', occu: 1 }], abc: [0, 0, 0] }, { species: [{ element: 'Si', occu: 1 }], xyz: [1.35, 1.35, 1.35] }] },
      'mp-149',
    );
    expect(s.sites.map((x) => x.frac.map((v) => +v.toFixed(6)))).toEqual([[0, 0, 0], [0.25, 0.25, 0.25]]);
    expect(() => structureFromPymatgen({ lattice: { matrix: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] }, sites: [{ species: [{ element: 'Fe', occu: 0.5 }], abc: [0, 0, 0] }] }, 'mp-1')).toThrow(/partially occupied/);
  });
});

describe('WorkflowBuilder on the real stack', () => {
  let env: TestWorkflowEnvironment;
  let stop: (() => Promise<void>) | undefined;
  const settings = testSettings('builder');
  beforeAll(async () => {
    ({ env, stop } = await startTestWorker(settings));
  });
  afterAll(async () => stop?.());

  it('relax → scf runs end to end; scf starts from the relaxed structure; runAsync reports ordered progress', async () => {
    const wf = await new WorkflowBuilder({ client: env.client, taskQueue: settings.taskQueue }).fromStructure('Si').relax().scf().withProtocol('fast').build();
    const updates: ProgressUpdate[] = [];
    for await (const u of wf.runAsync({ pollMs: 200 })) updates.push(u);
    const last = updates.at(-1)!;
    expect(last.status).toBe('completed');
    const percents = updates.map((u) => u.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    const result = last.intermediateResult as Awaited<ReturnType<typeof wf.run>>;
    expect(result.ok).toBe(true);
    const relax = result.results.relax!;
    const scf = result.results.scf!;
    expect(relax.calculation).toBe('vc-relax');
    expect(scf.calculation).toBe('scf');
    // The scf ran on the relaxed cell: the volume changed from the built-in's.
    expect(relax.finalStructure.lattice).not.toEqual(wf.plan.structure.lattice);
    expect(scf.finalStructure.lattice).toEqual(relax.finalStructure.lattice);
    expect(scf.outputs.totalEnergyRy).toBeLessThan(-15.7);
    expect((relax as { relax?: { iterations: unknown[] } }).relax?.iterations.length).toBeGreaterThanOrEqual(1);
    recordHistory('plan-relax-scf.json', await env.client.workflow.getHandle(wf.workflowId).fetchHistory(), wf.workflowId);
  });

  it('scf → bands + DOS as plan steps: the gap along the standard path, the DOS, numbers in CSV', async () => {
    const wf = await new WorkflowBuilder({ client: env.client, taskQueue: settings.taskQueue })
      .fromStructure('Si')
      .scf()
      .thenBands({ kpointsPerSegment: 6 })
      .thenDos({ mesh: [6, 6, 6] })
      .withProtocol('fast')
      .build();
    const result = await wf.run();
    expect(result.ok).toBe(true);
    expect(result.results.bands!.calculation).toBe('bands');
    expect(result.results.dos!.calculation).toBe('nscf');
    // Both restarted from the scf's charge density.
    for (const step of ['bands', 'dos']) expect(result.results[step]!.remoteFolder.path).not.toBe(result.results.scf!.remoteFolder.path);
    const bands = result.analyses!.bands!;
    expect(bands.kPath).toMatchObject({ spaceGroupNumber: 227, variant: 'FCC' });
    expect(bands.bands!.gap).toMatchObject({ kind: 'insulator', direct: false });
    // LDA Si: an indirect gap of about 0.5 eV, VBM at Γ.
    expect(bands.bands!.gap.gapEv).toBeGreaterThan(0.3);
    expect(bands.bands!.gap.gapEv).toBeLessThan(0.8);
    expect(bands.bands!.gap.vbm?.label).toBe('Γ');
    const dos = result.analyses!.dos!.dos!;
    expect(dos.points).toBeGreaterThan(100);
    expect(dos.lowdinCharges?.map((c) => c.element)).toEqual(['Si', 'Si']);
    const csv = toCSV(result);
    expect(csv).toContain('Si2,bands,band_gap_character,indirect,');
    expect(csv).toMatch(/Si2,bands,k_path,FCC \(F d -3 m\),/);
    recordHistory('plan-scf-bands-dos.json', await env.client.workflow.getHandle(wf.workflowId).fetchHistory(), wf.workflowId);
  });

  it('submit, then getStatus and getResult from a new client connection', async () => {
    const wf = await new WorkflowBuilder({ client: env.client, taskQueue: settings.taskQueue }).fromStructure('Si').scf().withProtocol('fast').build();
    const id = await wf.submit();
    // A different connection, as a script restarted later would have: only the id is kept.
    const connection = await Connection.connect({ address: settings.temporalAddress });
    const other = new Client({ connection });
    try {
      let status = await Workflow.getStatus(id, { client: other });
      for (let i = 0; i < 300 && status.state === 'running'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        status = await Workflow.getStatus(id, { client: other });
      }
      expect(status.state).toBe('completed');
      expect(status.progressPercent).toBe(100);
      const result = await Workflow.getResult(id, { client: other });
      expect(result.ok).toBe(true);
      expect(result.results.scf!.exitCode).toBe(0);
    } finally {
      await connection.close();
    }
  });

  it('a failing step fails the plan with the partial results attached', async () => {
    const wf = await new WorkflowBuilder({ client: env.client, taskQueue: settings.taskQueue })
      .fromStructure('Si')
      .scf({ pw: { electrons: { electron_maxstep: 1 } } })
      .withRecovery('fail_fast')
      .withProtocol('fast')
      .build();
    const id = await wf.submit();
    const error = await Workflow.getResult(id, { client: env.client }).catch((e) => e);
    expect(error.message).toMatch(/failed: scf/);
    expect(error.partialResult.results.scf.exitCode).toBe(410);
    const status = await Workflow.getStatus(id, { client: env.client });
    expect(status.state).toBe('failed');
    expect(status.errors.join(' ')).toMatch(/410/);
  });
});

void BuildError;
