/**
 * The one way tests find `../shared/` (fixtures, docs, tools). It exists in CI and on developers' machines,
 * not in a user's clone: tests that need it use `describeShared`, which skips with a visible reason.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWhen } from './describe-when.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = process.env.CRYSTALMATH_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
export const hasShared = existsSync(join(sharedDir, 'fixtures'));

/** Absolute path of a file under ../shared/fixtures; only to be called inside `describeShared`. */
export function fixture(...parts: string[]): string {
  if (!hasShared) throw new Error(`fixture ${parts.join('/')} asked for outside describeShared, and ${sharedDir} is absent`);
  return join(sharedDir, 'fixtures', ...parts);
}

/** Absolute path of a file under ../shared/tools (prebuilt binaries too large or slow to make in CI). */
export const sharedTool = (...parts: string[]): string => join(sharedDir, 'tools', ...parts);

/** `describe` that runs only when ../shared is present, and otherwise skips with the reason in its title. */
export function describeShared(name: string, fn: () => void): void {
  describeWhen(hasShared ? undefined : `${sharedDir} is absent; it exists in CI and developer checkouts only`, name, fn);
}
