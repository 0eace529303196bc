/**
 * The SDK's own test environment on the project's binary: TestWorkflowEnvironment.createLocal with an
 * `existing-path` executable (never a download), an on-disk DB and the search attributes. The rest of the
 * suite shares one server started by the project's launcher (see test/support/global-setup.ts for why).
 */
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../src/activities/index.ts';
import { calculationResult, startCalculation } from '../../src/client.ts';
import { SEARCH_ATTRIBUTE_KEYS, SEARCH_ATTRIBUTE_NAMES } from '../../src/domain/search-attributes.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { testSettings, workflowBundle } from '../support/temporal.ts';
import { pwOutputs } from '../support/pw-results.ts';

describe('TestWorkflowEnvironment.createLocal with the project binary', () => {
  it('starts the same temporal binary and runs a calculation on it', async () => {
    const settings = testSettings('sdkenv');
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: inject('temporalBinary') },
        dbFilename: join(settings.dataDir, 'temporal.db'),
        searchAttributes: Object.values(SEARCH_ATTRIBUTE_KEYS),
        extraArgs: ['--headless'],
      },
    });
    try {
      const { customAttributes } = await env.connection.operatorService.listSearchAttributes({ namespace: 'default' });
      for (const name of SEARCH_ATTRIBUTE_NAMES) expect(Object.keys(customAttributes ?? {})).toContain(name);

      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue: settings.taskQueue,
        workflowBundle: await workflowBundle(),
        activities: createActivities(settings),
      });
      const result = await worker.runUntil(async () =>
        calculationResult(
          await startCalculation(
            env.client,
            { code: 'qe-pw', structure: builtinStructure('Si')!, calculation: 'scf', protocol: 'fast' },
            { taskQueue: settings.taskQueue },
          ),
        ),
      );
      expect(result.ok).toBe(true);
      expect(pwOutputs(result).totalEnergyRy).toBeLessThan(-15.7);
    } finally {
      await env.teardown();
    }
  });
});
