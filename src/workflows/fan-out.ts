/**
 * Many independent children, at most `limit` at a time (strained cells, displaced supercells): a cluster queue
 * or the worker's cores take a bounded number of jobs, and the rest wait here, not in the scheduler. Every item
 * runs to its own end, so one failure does not stop the others (what they computed is kept); a cancelled
 * workflow starts nothing more and reports the cancellation.
 */
import { CancellationScope, isCancellation } from '@temporalio/workflow';

export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Runs `run` over `items`, at most `limit` at once, starting them in order; results in the order of `items`. */
export async function runBounded<T, R>(items: readonly T[], limit: number, run: (item: T, index: number) => Promise<R>): Promise<Settled<R>[]> {
  const results: Settled<R>[] = new Array(items.length);
  let next = 0;
  let cancellation: unknown;
  const lane = async () => {
    while (next < items.length && cancellation === undefined) {
      const index = next++;
      try {
        results[index] = { ok: true, value: await run(items[index]!, index) };
      } catch (error) {
        results[index] = { ok: false, error };
        // this workflow was cancelled (not just one child)
        if (isCancellation(error) && CancellationScope.current().consideredCancelled) cancellation = error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (cancellation !== undefined) throw cancellation;
  return results;
}
