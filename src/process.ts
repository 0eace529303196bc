/** Small process helpers shared by the dev-server launcher and the local executor. */
import { readFileSync } from 'node:fs';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True while `pid` runs (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Signals the process group led by `pid` (or the process alone when it leads none). False if neither exists. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
      return true;
    } catch {
      /* try the next */
    }
  }
  return false;
}

/** SIGTERM, then SIGKILL after `graceMs` if the group is still there. */
export async function stopProcessGroup(pid: number, graceMs = 10_000): Promise<void> {
  if (!killGroup(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return;
    await sleep(100);
  }
  killGroup(pid, 'SIGKILL');
}
