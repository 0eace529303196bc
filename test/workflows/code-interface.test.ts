/**
 * The code interface: a toy code from a folder outside src/domain/codes (test/custom/toy-code), added through the
 * registry alone, runs through the real `calculation` workflow, activities and local executor, fails, is repaired
 * by its own handler and continues from the restart files it declared.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculationResult, startCalculation } from '../../src/client.ts';
import { CalculationInputSchema } from '../../src/domain/calculation.ts';
import { codeById, registeredCodeIds } from '../../src/domain/codes/registry.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import '../custom/toy-code/register.ts';
import type { ToyResult } from '../custom/toy-code/code.ts';
import { startTestWorker, testSettings } from '../support/temporal.ts';

const TOY_DIR = fileURLToPath(new URL('../custom/toy-code/', import.meta.url));

describe('a code added through the registry alone (toy code outside src/)', () => {
  let env: TestWorkflowEnvironment;
  let stop: (() => Promise<void>) | undefined;
  const settings = testSettings('toy-code');

  beforeAll(async () => {
    const solver = join(TOY_DIR, 'toy-solver.sh');
    chmodSync(solver, 0o755);
    mkdirSync(join(settings.dataDir, 'clusters'), { recursive: true });
    writeFileSync(
      join(settings.dataDir, 'clusters', 'local.yaml'),
      `name: local\nscheduler: local\ntransport: local\nworkDir: ${settings.workRoot}\npartitions: []\nexecutables:\n  toy: ${solver}\n`,
    );
    ({ env, stop } = await startTestWorker(settings, { workflowsPath: join(TOY_DIR, 'workflows.ts') }));
  });
  afterAll(async () => stop?.());

  it('is known to the registry and its inputs are checked by its own schema', () => {
    expect(registeredCodeIds()).toEqual(expect.arrayContaining(['qe-pw', 'toy']));
    expect(codeById('toy').program).toBe('toy-solver');
    const base = { code: 'toy', structure: builtinStructure('Si')!, calculation: 'scf' };
    expect(CalculationInputSchema.safeParse({ ...base, parameters: { solver: { damping: 0.8 } } }).success).toBe(true);
    const bad = CalculationInputSchema.safeParse({ ...base, parameters: { electrons: { mixing_beta: 0.3 } } });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('electrons');
    const wrongCalc = CalculationInputSchema.safeParse({ ...base, calculation: 'vc-relax' });
    expect(wrongCalc.error?.issues[0]?.message).toMatch(/toy-solver \(toy\) does not run "vc-relax" \(it runs scf\)/);
    expect(CalculationInputSchema.safeParse({ ...base, code: 'nope' }).error?.issues[0]?.message).toMatch(/unknown code "nope" \(registered: .*toy/);
  });

  it('runs, is repaired by its handler, and the next attempt continues from the staged restart files', async () => {
    const handle = await startCalculation(
      env.client,
      { code: 'toy', structure: builtinStructure('Si')!, calculation: 'scf', parameters: { solver: { damping: 0.8 } } },
      { taskQueue: settings.taskQueue, workflowId: `toy-${Date.now()}` },
    );
    const result = await calculationResult(handle);
    const outputs = result.outputs as ToyResult;
    expect(result.ok).toBe(true);
    expect(result.code).toBe('toy');
    expect(result.attempts.map((a) => a.exitCode)).toEqual([410, 0]);
    expect(result.attempts[0]!.decision).toMatchObject({
      action: 'restart',
      handler: 'toy_halve_damping',
      changes: { 'solver.damping': { from: 0.8, to: 0.4 }, 'solver.steps': { from: 6, to: 60 } },
    });
    expect(result.attempts[1]!.restartFrom).toBe('full');
    expect(outputs.continuedFromState).toBe(true);
    expect(outputs.totalEnergyEv).toBeCloseTo(-1, 5);
    expect(result.attempts[1]!.workDir).toMatch(/\/toy-[0-9a-f]{8}\/2$/);
    expect(result.artifacts.map((a) => a.key.split('/').pop())).toEqual(expect.arrayContaining(['toy.in', 'toy.out']));
  });
});
