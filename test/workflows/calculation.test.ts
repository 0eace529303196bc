/**
 * The calculation workflow on the real stack: the suite's Temporal dev server, a worker with the real
 * activities, the local executor and Debian's pw.x on bulk Si.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculationResult, startCalculation, CalculationFailedError } from '../../src/client.ts';
import type { CalculationResult } from '../../src/domain/calculation.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { startTestWorker, testSettings, workflowBundle } from '../support/temporal.ts';
import { recordHistory } from '../support/histories.ts';
import { pwOutputs } from '../support/pw-results.ts';


describe('calculation workflow: Si scf with real pw.x', () => {
  let env: TestWorkflowEnvironment;
  let stop: (() => Promise<void>) | undefined;
  const settings = testSettings('calc');
  beforeAll(async () => {
    ({ env, stop } = await startTestWorker(settings));
  });
  afterAll(async () => stop?.());

  let result: CalculationResult;
  let workflowId: string;

  it('computes Si and returns what pw.x printed in that run', async () => {
    const handle = await startCalculation(
      env.client,
      { code: 'qe-pw', structure: builtinStructure('Si')!, calculation: 'scf', protocol: 'fast', analysis: 'scf' },
      { taskQueue: settings.taskQueue },
    );
    workflowId = handle.workflowId;
    result = await calculationResult(handle);

    expect(result.ok).toBe(true);
    expect(result.exitCode).toBe(0);
    expect(result.formula).toBe('Si2');
    // Independent of the parser: the last "!    total energy" line of this run's own output file.
    const pwOut = readFileSync(join(result.remoteFolder.path, 'pw.out'), 'utf8');
    const printed = [...pwOut.matchAll(/^!\s+total energy\s+=\s+(-?\d+\.\d+) Ry/gm)].map((m) => Number(m[1]));
    expect(printed.length).toBeGreaterThan(0);
    expect(pwOutputs(result).totalEnergyRy).toBe(printed.at(-1));
    const homo = Number(/highest occupied, lowest unoccupied level \(ev\):\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)/.exec(pwOut)?.[1] ?? /highest occupied level \(ev\):\s+(-?\d+\.\d+)/.exec(pwOut)?.[1]);
    expect(result.outputs.highestOccupiedEv).toBe(homo);
    // Si at the LDA level: about -15.8 Ry per 2-atom cell.
    expect(pwOutputs(result).totalEnergyRy).toBeGreaterThan(-16);
    expect(pwOutputs(result).totalEnergyRy).toBeLessThan(-15.7);
    // Files stay out of history: only references travel, and they point at real stored copies.
    const stored = result.artifacts.find((a) => a.key.endsWith('/pw.out'));
    expect(stored).toBeDefined();
    expect(readFileSync(fileURLToPath(stored!.uri), 'utf8')).toBe(pwOut);
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]!.job.state).toBe('completed');
  });

  it('is found by a search-attribute query', async () => {
    const query = `CrystalMathFormula='Si2' AND CrystalMathAnalysis='scf' AND CrystalMathCode='qe-pw' AND WorkflowId='${workflowId}'`;
    let found: string[] = [];
    // Visibility is eventually consistent: give it a few seconds.
    for (let i = 0; i < 50 && found.length === 0; i++) {
      found = [];
      for await (const wf of env.client.workflow.list({ query })) found.push(wf.workflowId);
      if (found.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(found).toEqual([workflowId]);
    const description = await env.client.workflow.getHandle(workflowId).describe();
    // The outcome is in the memo too (release 0.2.0), so lists of hundreds of runs need no result fetches.
    const { totalEnergyEv } = (await env.client.workflow.getHandle(workflowId).result()).outputs;
    expect(description.memo).toMatchObject({ formula: 'Si2', calculation: 'scf', protocol: 'fast', attempts: 1, outcome: 'completed', exitCode: 0, totalEnergyEv });
  });

  it("replays its own recorded history (determinism)", async () => {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
    recordHistory('calculation-si-scf.json', history, workflowId);
  });

  it('fails clearly and keeps the parsed result when pw.x does not converge (fail_fast)', async () => {
    const handle = await startCalculation(
      env.client,
      {
        code: 'qe-pw',
        structure: builtinStructure('Si')!,
        calculation: 'scf',
        protocol: 'fast',
        parameters: { electrons: { electron_maxstep: 2 } },
        recovery: { strategy: 'fail_fast' },
      },
      { taskQueue: settings.taskQueue },
    );
    const error = await calculationResult(handle).catch((e) => e);
    expect(error).toBeInstanceOf(CalculationFailedError);
    const failed = (error as CalculationFailedError).result;
    expect(failed.exitCode).toBe(410);
    expect(failed.attempts[0]!.job).toMatchObject({ state: 'failed', exitStatus: 2 });
    expect(pwOutputs(failed).scfConverged).toBe(false);
    expect((await handle.describe()).memo).toMatchObject({ outcome: 'failed', exitCode: 410, attempts: 1 });
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, handle.workflowId);
    recordHistory('calculation-si-scf-not-converged.json', history, handle.workflowId);
  });

  it('rejects invalid input before it reaches Temporal, naming the field', async () => {
    const bad = { code: 'qe-pw', structure: { lattice: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], sites: [{ species: 'si', frac: [0, 0, 0] }] }, calculation: 'scf' };
    await expect(startCalculation(env.client, bad as never, { taskQueue: settings.taskQueue })).rejects.toThrow(/structure\.sites\.0\.species: must be an element symbol/);
  });

  it('rejects invalid input that bypasses the client (e.g. the Temporal CLI), naming the field', async () => {
    const handle = await env.client.workflow.start('calculation', {
      taskQueue: settings.taskQueue,
      workflowId: `bad-input-${Date.now()}`,
      args: [{ code: 'qe-pw', structure: builtinStructure('Si'), calculation: 'scf', protocol: 'ultra' }],
    });
    await expect(calculationResult(handle as never)).rejects.toThrow(/protocol: Invalid option/);
  });

  it("refuses a parent directory outside the worker's work directory, naming the field, at once", async () => {
    const handle = await startCalculation(
      env.client,
      { code: 'qe-pw', structure: builtinStructure('Si')!, calculation: 'nscf', protocol: 'fast', parent: { workDir: settings.dataDir, kind: 'charge-density' } },
      { taskQueue: settings.taskQueue },
    );
    const err = await handle.result().catch((e: unknown) => e);
    const cause = ((err as WorkflowFailedError).cause as ActivityFailure).cause as ApplicationFailure;
    expect(cause).toMatchObject({ type: 'InvalidCalculationInput', nonRetryable: true });
    expect(cause.message).toBe(`parent.workDir ${JSON.stringify(settings.dataDir)} must be inside ${settings.workRoot}/ (this worker's work directory)`);
  });
});
