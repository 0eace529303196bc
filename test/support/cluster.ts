/**
 * The real local cluster for integration tests: `scripts/local-cluster.sh start` (munge, slurmctld, slurmd and
 * a key-only sshd on 127.0.0.1), run once per test process, and the cluster profile it generates.
 *
 * Tests skip (with the reason in their title) only when the script could not possibly work: not root and the
 * Debian packages missing. Everywhere else, including CI, the script installs what is missing and starts
 * the daemons; a failure to start is a test failure, not a skip.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';
import { loadClusterProfile } from '../../src/clusters/loader.ts';
import type { ClusterProfile } from '../../src/clusters/schema.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LOCAL_CLUSTER_SCRIPT = join(repoRoot, 'scripts', 'local-cluster.sh');
export const clusterStateDir = process.env.CRYSTALMATH_CLUSTER_STATE ?? '/tmp/crystalmath-local-cluster';

const DAEMONS = ['/usr/sbin/sshd', '/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged'];
const isRoot = process.getuid?.() === 0;
const packagesPresent = DAEMONS.every((f) => existsSync(f));

/** Why cluster tests cannot run here, or undefined when they can. */
export const clusterSkipReason: string | undefined =
  !isRoot && !packagesPresent
    ? 'not root and slurm-wlm/munge/openssh-server are not installed (sudo apt-get install -y slurm-wlm munge openssh-server, then sudo scripts/local-cluster.sh start)'
    : undefined;

/** `describe` for tests that need the local cluster; skips with the reason in its title when it cannot run. */
export function describeCluster(name: string, fn: () => void): void {
  if (clusterSkipReason === undefined) describe(name, fn);
  else describe.skip(`${name} [skipped: ${clusterSkipReason}]`, fn);
}

export interface LocalCluster {
  stateDir: string;
  profileFile: string;
  /** The generated `local-slurm` profile (scheduler slurm, over SSH to 127.0.0.1). */
  profile: ClusterProfile;
  /** Environment for running SLURM commands directly on this machine. */
  env: NodeJS.ProcessEnv;
}

function runScript(args: string[], timeoutMs = 300_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      'bash',
      [LOCAL_CLUSTER_SCRIPT, ...args],
      { env: { ...process.env, CRYSTALMATH_CLUSTER_STATE: clusterStateDir }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`scripts/local-cluster.sh ${args.join(' ')} failed (${err.message.split('\n')[0]}):\n${stderr}`));
        else resolvePromise({ stdout, stderr });
      },
    );
  });
}

let started: Promise<LocalCluster> | undefined;

/** Starts the local cluster once per process (a no-op when it already runs) and loads its profile. */
export function startLocalCluster(): Promise<LocalCluster> {
  started ??= runScript(['start']).then(() => {
    const profileFile = join(clusterStateDir, 'clusters', 'local-slurm.yaml');
    return {
      stateDir: clusterStateDir,
      profileFile,
      profile: loadClusterProfile(profileFile),
      env: { ...process.env, SLURM_CONF: join(clusterStateDir, 'slurm', 'slurm.conf') },
    };
  });
  started.catch(() => (started = undefined));
  return started;
}

/** The pid of the listening sshd of the local cluster. */
export function sshdMasterPid(): number {
  return Number(readFileSync(join(clusterStateDir, 'ssh', 'sshd.pid'), 'utf8').trim());
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may contain spaces and parentheses; split after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Every process below the sshd listener: the processes serving current SSH connections and their commands. */
export function sshdSessionPids(): number[] {
  const master = sshdMasterPid();
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = parentOf(Number(name));
    if (ppid !== undefined) parents.set(Number(name), ppid);
  }
  const below = new Set<number>([master]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!below.has(pid) && below.has(ppid)) {
        below.add(pid);
        grew = true;
      }
    }
  }
  below.delete(master);
  return [...below];
}

/** Kills every SSH session of the local sshd (SIGKILL), as a network failure or a crashed login node would. */
export function killSshSessions(): number[] {
  const pids = sshdSessionPids();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  return pids;
}

/** A fresh ed25519 public key as an SSH wire blob (for host keys that must not match). */
export function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
}
