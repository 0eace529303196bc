/** Recorded histories for the replay tests (test/workflows/replay.test.ts). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

export const HISTORY_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories');

/**
 * Saves a history when asked to (CRYSTALMATH_RECORD_HISTORIES=1); a no-op otherwise. The workflow id goes into
 * `<name>.id` beside it: workflows that derive child ids from their own id replay only under the same id.
 */
export function recordHistory(name: string, history: Parameters<typeof historyToJSON>[0], workflowId: string): void {
  if (process.env.CRYSTALMATH_RECORD_HISTORIES !== '1') return;
  mkdirSync(HISTORY_DIR, { recursive: true });
  writeFileSync(join(HISTORY_DIR, name), historyToJSON(history));
  writeFileSync(join(HISTORY_DIR, `${name}.id`), `${workflowId}\n`);
}
