/** The `crystalmath` command as a user runs it (a subprocess through bin/crystalmath.js), and polling until something holds. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/settings.ts';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `crystalmath <args>` with `env` added to this process's environment. */
export function runCli(env: Record<string, string | undefined>, args: string[], timeoutMs = 170_000): CliRun {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'crystalmath.js'), ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Waits until `check` is true (polling every 100 ms), or throws naming `what`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
