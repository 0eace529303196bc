/**
 * Determinism guard: every recorded history of every release (test/workflows/histories/<version>/) replays
 * against today's workflow code, so upgrading workers never breaks a running campaign. Behaviour changes are
 * guarded with `patched()` (src/workflows/patches.ts): old histories take the old branch, new ones record the
 * patch marker. Record this release's histories with
 * `CRYSTALMATH_RECORD_HISTORIES=1 npx vitest run test/workflows/calculation.test.ts` (and the other recorders).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { PATCHES } from '../../src/workflows/patches.ts';
import { HISTORY_ROOT, patchIds, RELEASE } from '../support/histories.ts';
import { workflowBundle } from '../support/temporal.ts';

const releases = readdirSync(HISTORY_ROOT).sort();
const cases = releases.flatMap((release) => readdirSync(join(HISTORY_ROOT, release)).filter((f) => f.endsWith('.json')).map((file) => ({ release, file })));
const load = (release: string, file: string) => historyFromJSON(JSON.parse(readFileSync(join(HISTORY_ROOT, release, file), 'utf8')));
const patchMarkers = (release: string, file: string) => patchIds(load(release, file));
const ending = (release: string, file: string) => {
  const last = load(release, file).events!.at(-1)!;
  return last.workflowExecutionCompletedEventAttributes ? 'completed' : last.workflowExecutionFailedEventAttributes ? 'failed' : last.workflowExecutionCanceledEventAttributes ? 'cancelled' : 'other';
};

describe('recorded workflow histories replay', () => {
  it('has histories of an earlier release and of this one', () => {
    expect(releases.length).toBeGreaterThan(1);
    expect(releases).toContain(RELEASE);
  });

  it.each(cases)('$release/$file', async ({ release, file }) => {
    // Replayed under the id it ran with: workflows derive their children's ids from their own.
    const idFile = join(HISTORY_ROOT, release, `${file}.id`);
    const workflowId = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : file;
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, load(release, file), workflowId);
  });

  it('0.1.0 calculations replay without the outcome-in-memo patch; this release records it', () => {
    expect(patchMarkers('0.1.0', 'calculation-si-scf.json')).toEqual([]);
    expect(patchMarkers(RELEASE, 'calculation-si-scf.json')).toEqual([PATCHES.outcomeInMemo]);
  });

  it('a plan cancelled under 0.2.0 replays its failed ending; this release ends a cancelled plan cancelled', () => {
    expect(patchMarkers('0.2.0', 'plan-scf-cancelled-as-failed.json')).toEqual([]);
    expect(ending('0.2.0', 'plan-scf-cancelled-as-failed.json')).toBe('failed');
    expect(patchMarkers(RELEASE, 'plan-scf-cancelled.json')).toEqual([PATCHES.planCancelled]);
    expect(ending(RELEASE, 'plan-scf-cancelled.json')).toBe('cancelled');
  });
});
