/**
 * Determinism guard: every recorded history of every release (test/workflows/histories/<version>/) replays
 * against today's workflow code, so upgrading workers never breaks a running campaign. Behaviour changes are
 * guarded with `patched()` (src/workflows/patches.ts): old histories take the old branch, new ones record the
 * patch marker. Record this release's histories with `scripts/record-histories.sh` (as root: it runs the SLURM
 * recorders too). A checksum of the workflow sources beside them fails this file when workflow code changes
 * without a new release (and so a new Worker Versioning build id) with histories of its own.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { PATCHES } from '../../src/workflows/patches.ts';
import { HISTORY_ROOT, patchIds, RECORD_COMMAND, RELEASE, SOURCES_FILE, workflowSourceSums } from '../support/histories.ts';
import { workflowBundle } from '../support/temporal.ts';

const releases = readdirSync(HISTORY_ROOT).sort();
const cases = releases.flatMap((release) => readdirSync(join(HISTORY_ROOT, release)).filter((f) => f.endsWith('.json')).map((file) => ({ release, file })));
const load = (release: string, file: string) => historyFromJSON(JSON.parse(readFileSync(join(HISTORY_ROOT, release, file), 'utf8')));
const patchMarkers = (release: string, file: string) => patchIds(load(release, file));
const activities = (release: string, file: string) => (load(release, file).events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
const ending = (release: string, file: string) => {
  const last = load(release, file).events!.at(-1)!;
  return last.workflowExecutionCompletedEventAttributes ? 'completed' : last.workflowExecutionFailedEventAttributes ? 'failed' : last.workflowExecutionCanceledEventAttributes ? 'cancelled' : 'other';
};

/** `sha256sum` lines as path → hash. */
const sums = (text: string) => new Map(text.split('\n').filter(Boolean).map((l) => [l.slice(66), l.slice(0, 64)] as const));

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
    expect(patchMarkers(RELEASE, 'calculation-si-scf.json')).toEqual([PATCHES.localJobsOnTheirHost, PATCHES.outcomeInMemo]);
  });

  it('a plan cancelled under 0.2.0 replays its failed ending; this release ends a cancelled plan cancelled', () => {
    expect(patchMarkers('0.2.0', 'plan-scf-cancelled-as-failed.json')).toEqual([]);
    expect(ending('0.2.0', 'plan-scf-cancelled-as-failed.json')).toBe('failed');
    expect(patchMarkers(RELEASE, 'plan-scf-cancelled.json')).toEqual([PATCHES.localJobsOnTheirHost, PATCHES.planCancelled]);
    expect(ending(RELEASE, 'plan-scf-cancelled.json')).toBe('cancelled');
  });

  it('this release has histories of the SLURM path: submit, checkJob waits, a lost-job resubmit, a cancel', () => {
    const missing = ['calculation-slurm-si-scf.json', 'calculation-slurm-preempted-resubmitted.json', 'calculation-slurm-cancelled.json'].filter(
      (f) => !existsSync(join(HISTORY_ROOT, RELEASE, f)),
    );
    expect(missing, `record them as root with ${RECORD_COMMAND} (the test/integration recorders need the local SLURM)`).toEqual([]);
    expect(activities(RELEASE, 'calculation-slurm-si-scf.json')).toEqual(['prepareCalculation', 'startJob', 'checkJob', 'parseCalculation']);
    const resubmitted = activities(RELEASE, 'calculation-slurm-preempted-resubmitted.json');
    expect(resubmitted.filter((a) => a === 'startJob')).toHaveLength(2);
    expect(patchMarkers(RELEASE, 'calculation-slurm-preempted-resubmitted.json')).toContain(PATCHES.resubmitLostJobs);
    expect(activities(RELEASE, 'calculation-slurm-cancelled.json')).toEqual(['prepareCalculation', 'startJob', 'checkJob', 'cancelJob']);
    expect(ending(RELEASE, 'calculation-slurm-cancelled.json')).toBe('cancelled');
  });

  it(`the workflow code is the code release ${RELEASE}'s histories were recorded with (${SOURCES_FILE})`, () => {
    const file = join(HISTORY_ROOT, RELEASE, SOURCES_FILE);
    const recorded = sums(existsSync(file) ? readFileSync(file, 'utf8') : '');
    const now = sums(workflowSourceSums());
    const changed = [...now.keys()].filter((f) => recorded.has(f) && recorded.get(f) !== now.get(f));
    const added = [...now.keys()].filter((f) => !recorded.has(f));
    const removed = [...recorded.keys()].filter((f) => !now.has(f));
    const what = [changed.length && `changed: ${changed.join(', ')}`, added.length && `new: ${added.join(', ')}`, removed.length && `gone: ${removed.join(', ')}`].filter(Boolean).join('; ');
    expect(
      what,
      `The workflow bundle's sources differ from those release ${RELEASE}'s histories were recorded with (${what}). ` +
        `Workflows running on ${RELEASE} workers must keep replaying, and new workflow code needs a new build id: ` +
        `guard behaviour changes with patched() (src/workflows/patches.ts), bump "version" in package.json (and the ` +
        `build id and image tags in docker-compose.yml, which test/deploy/compose.test.ts checks against it), then ` +
        `record the new release's histories and ${SOURCES_FILE} as root with ${RECORD_COMMAND}.`,
    ).toBe('');
  });
});
