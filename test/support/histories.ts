/** Recorded histories for the replay tests (test/workflows/replay.test.ts). */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { REPO_ROOT } from '../../src/settings.ts';

/** One directory per release (`histories/<package version>/`): histories of every release must keep replaying. */
export const HISTORY_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories');
export const RELEASE = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const HISTORY_DIR = join(HISTORY_ROOT, RELEASE);

/** The patch ids a history recorded (the markers `patched()` writes). */
export function patchIds(history: Parameters<typeof historyToJSON>[0]): string[] {
  return (history.events ?? []).flatMap((e) => {
    const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [JSON.parse(Buffer.from(data).toString()).id as string] : [];
  });
}

/**
 * Saves a history of this release when asked to (CRYSTALMATH_RECORD_HISTORIES=1); a no-op otherwise. The workflow id goes into
 * `<name>.id` beside it: workflows that derive child ids from their own id replay only under the same id.
 */
export function recordHistory(name: string, history: Parameters<typeof historyToJSON>[0], workflowId: string): void {
  if (process.env.CRYSTALMATH_RECORD_HISTORIES !== '1') return;
  mkdirSync(HISTORY_DIR, { recursive: true });
  writeFileSync(join(HISTORY_DIR, name), historyToJSON(history));
  writeFileSync(join(HISTORY_DIR, `${name}.id`), `${workflowId}\n`);
}

/** Everything a history says, as text: its JSON with every payload's bytes decoded (to search it for values). */
export function historyText(history: Parameters<typeof historyToJSON>[0]): string {
  const decoded: string[] = [];
  const visit = (v: unknown): void => {
    if (v instanceof Uint8Array) decoded.push(Buffer.from(v).toString('utf8'));
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(history);
  return `${historyToJSON(history)}\n${decoded.join('\n')}`;
}
