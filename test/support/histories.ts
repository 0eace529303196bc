/** Recorded histories for the replay tests (test/workflows/replay.test.ts), and the checksum of the workflow code they were recorded with. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import ts from 'typescript';
import { REPO_ROOT } from '../../src/settings.ts';
import { WORKFLOWS_PATH } from '../../src/worker.ts';

/** One directory per release (`histories/<package version>/`): histories of every release must keep replaying. */
export const HISTORY_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories');
export const RELEASE = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const HISTORY_DIR = join(HISTORY_ROOT, RELEASE);

/** Beside a release's histories: `sha256sum` lines of the workflow sources they were recorded with. */
export const SOURCES_FILE = 'workflow-sources.sha256';
/** The one command that records a release's histories and its SOURCES_FILE (README, Tests). */
export const RECORD_COMMAND = 'scripts/record-histories.sh';

/** The patch ids a history recorded (the markers `patched()` writes). */
export function patchIds(history: Parameters<typeof historyToJSON>[0]): string[] {
  return (history.events ?? []).flatMap((e) => {
    const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [JSON.parse(Buffer.from(data).toString()).id as string] : [];
  });
}

/**
 * The project files the workflow bundle is built from: the import closure of its entry (src/workflows/index.ts)
 * over relative imports, as repository paths. Type-only imports (`import type`, `export type`) are left out:
 * they are erased from the bundle (e.g. the activities' types). Packages (zod, the SDK) are pinned by
 * package-lock.json and not followed.
 */
export function workflowSources(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
    for (const node of source.statements) {
      const runtime =
        (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) || (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier !== undefined);
      if (!runtime) continue;
      const spec = ((node as ts.ImportDeclaration | ts.ExportDeclaration).moduleSpecifier as ts.StringLiteral).text;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
    }
  };
  visit(WORKFLOWS_PATH);
  for (const f of seen) if (!existsSync(f)) throw new Error(`workflow import ${f} does not exist`);
  return [...seen].map((f) => relative(REPO_ROOT, f)).sort();
}

/** `sha256sum` lines (`<hex>  <path>`) of `workflowSources()`: `sha256sum -c` checks them from the repository root. */
export function workflowSourceSums(): string {
  return workflowSources()
    .map((f) => `${createHash('sha256').update(readFileSync(join(REPO_ROOT, f))).digest('hex')}  ${f}\n`)
    .join('');
}

/**
 * Saves a history of this release when asked to (CRYSTALMATH_RECORD_HISTORIES=1; see RECORD_COMMAND); a no-op
 * otherwise. The workflow id goes into `<name>.id` beside it (workflows that derive child ids from their own id
 * replay only under the same id), and the checksum of today's workflow sources into SOURCES_FILE.
 */
export function recordHistory(name: string, history: Parameters<typeof historyToJSON>[0], workflowId: string): void {
  if (process.env.CRYSTALMATH_RECORD_HISTORIES !== '1') return;
  mkdirSync(HISTORY_DIR, { recursive: true });
  writeFileSync(join(HISTORY_DIR, name), historyToJSON(history));
  writeFileSync(join(HISTORY_DIR, `${name}.id`), `${workflowId}\n`);
  writeFileSync(join(HISTORY_DIR, SOURCES_FILE), workflowSourceSums());
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
