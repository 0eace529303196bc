/**
 * Determinism guard: every recorded history in test/workflows/histories replays against today's workflow
 * code. A change that would break a running campaign fails here. Record new histories with
 * `CRYSTALMATH_RECORD_HISTORIES=1 npx vitest run test/workflows/calculation.test.ts`.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../support/temporal.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('recorded workflow histories replay', () => {
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    // Replayed under the id it ran with: workflows derive their children's ids from their own.
    const idFile = join(dir, `${file}.id`);
    const workflowId = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : file;
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
  });
});
