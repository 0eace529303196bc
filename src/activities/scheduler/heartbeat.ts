/**
 * Heartbeats while an activity's work is under way, so a worker that dies mid-call (SIGKILL, machine lost) is
 * noticed within the activity's `heartbeatTimeout` instead of its whole `startToCloseTimeout`, and the retry
 * runs on another worker at once. Outside an activity (plain calls from tests or the benchmark) it just runs.
 */
import { Context } from '@temporalio/activity';

export async function keepAlive<T>(work: () => Promise<T>, everyMs = 1000): Promise<T> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return work();
  }
  ctx.heartbeat();
  const timer = setInterval(() => ctx!.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
