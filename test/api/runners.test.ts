/** A custom runner from a file outside src/ runs on the real stack, and its custom recovery acts on a real failure. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWorker, testSettings } from '../support/temporal.ts';
import { MyCustomRunner } from '../custom/my-runner.ts';

describe('a user-defined runner with custom recovery', () => {
  let env: TestWorkflowEnvironment;
  let stop: (() => Promise<void>) | undefined;
  const settings = testSettings('runner');
  beforeAll(async () => {
    ({ env, stop } = await startTestWorker(settings));
  });
  afterAll(async () => stop?.());

  it('runs its steps and its rule repairs the failure (not the built-in handler)', async () => {
    const runner = new MyCustomRunner(1, { client: env.client, taskQueue: settings.taskQueue, protocol: 'fast' });
    const result = await runner.run('Si');
    expect(runner.steps.map((s) => s.name)).toEqual(['my_analysis']);
    expect(result.ok).toBe(true);
    const attempts = result.results.my_analysis!.attempts;
    expect(attempts[0]!.exitCode).toBe(410);
    expect(attempts[0]!.decision.handler).toBe('custom:convergence');
    expect(attempts[0]!.decision.changes).toMatchObject({ 'electrons.mixing_beta': { from: 0.4, to: 0.3 }, 'electrons.electron_maxstep': { from: 1, to: 100 } });
    expect(attempts.at(-1)!.exitCode).toBe(0);
  });
});
