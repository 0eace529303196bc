/**
 * The one way a suite that needs something absent (../shared, the local cluster, the full server) is skipped.
 * Vitest still runs the body of a `describe.skip` to collect its tests, so a body that reads a fixture would
 * fail the whole file: when skipping, the body is never called, the suite holds one skipped test carrying the
 * reason, and the reason is printed once so a user sees what did not run and why.
 */
import { describe, it } from 'vitest';

export function describeWhen(skipReason: string | undefined, name: string, fn: () => void): void {
  if (skipReason === undefined) {
    describe(name, fn);
    return;
  }
  console.info(`skipped suite "${name}": ${skipReason}`);
  describe(name, () => {
    it.skip(`[skipped: ${skipReason}]`, () => {});
  });
}
