/**
 * Secrets stay on the worker: a cluster profile's and an executable's `environment` values reach the running code
 * but appear nowhere in the workflow's history (inputs, activity inputs and results, memo, search attributes).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculationResult, startCalculation } from '../../src/client.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { historyText } from '../support/histories.ts';
import { startTestWorker, testSettings } from '../support/temporal.ts';

describe('profile environment values never enter a history', () => {
  let env: TestWorkflowEnvironment;
  let stop: (() => Promise<void>) | undefined;
  const settings = testSettings('secrets');
  const profileSecret = `profile-secret-${Math.random().toString(36).slice(2)}`;
  const executableSecret = `executable-secret-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    // Not pw.x itself: writes what it was given into its work directory, then runs the real pw.x.
    const wrapper = join(settings.dataDir, 'pw-env-recorder.sh');
    writeFileSync(wrapper, '#!/bin/sh\nprintf "%s %s\\n" "$CRYSTALMATH_TEST_TOKEN" "$CRYSTALMATH_TEST_LICENSE" > seen-environment\nexec pw.x "$@"\n');
    chmodSync(wrapper, 0o755);
    mkdirSync(join(settings.dataDir, 'clusters'), { recursive: true });
    writeFileSync(
      join(settings.dataDir, 'clusters', 'local.yaml'),
      [
        'name: local',
        'scheduler: local',
        'transport: local',
        `workDir: ${settings.workRoot}`,
        'partitions: []',
        'environment:',
        `  CRYSTALMATH_TEST_TOKEN: ${profileSecret}`,
        'executables:',
        '  qe-pw:',
        `    executable: ${wrapper}`,
        '    environment:',
        `      CRYSTALMATH_TEST_LICENSE: ${executableSecret}`,
        '',
      ].join('\n'),
    );
    ({ env, stop } = await startTestWorker(settings));
  });
  afterAll(async () => stop?.());

  it('the job sees both values; the history holds neither', async () => {
    const handle = await startCalculation(
      env.client,
      { code: 'qe-pw', structure: builtinStructure('Si')!, calculation: 'scf', protocol: 'fast' },
      { taskQueue: settings.taskQueue, workflowId: `secrets-${Date.now()}` },
    );
    const result = await calculationResult(handle);
    expect(result.ok).toBe(true);
    expect(readFileSync(join(result.attempts[0]!.workDir, 'seen-environment'), 'utf8').trim()).toBe(`${profileSecret} ${executableSecret}`);
    const history = historyText(await handle.fetchHistory());
    expect(history).toContain('"executableId":"qe-pw"'); // the decoded startJob input: names only
    expect(history).not.toContain(profileSecret);
    expect(history).not.toContain(executableSecret);
  });
});
