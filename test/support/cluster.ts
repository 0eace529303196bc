/**
 * The real local cluster for integration tests: `scripts/local-cluster.sh start` (munge, slurmctld, slurmd and
 * a key-only sshd on 127.0.0.1), run once per test process, and the cluster profile it generates.
 *
 * Tests skip (with the reason in their title) only when the script could not possibly work: not root and the
 * Debian packages missing. Everywhere else, including CI, the script installs what is missing and starts
 * the daemons; a failure to start is a test failure, not a skip.
 */
import { execFile, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWhen } from './describe-when.ts';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadClusterProfile } from '../../src/clusters/loader.ts';
import type { ClusterProfile } from '../../src/domain/cluster-profile.ts';

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
  describeWhen(clusterSkipReason, name, fn);
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

/**
 * Kills every SSH session of the local sshd (SIGKILL), as a network failure would: the sshd processes that
 * serve the connections die, so every client sees its connection drop. The commands those sessions started
 * are left to finish on their own, as on a real login node: killing them too can leave their own state
 * broken (e.g. a login shell killed inside `pyenv rehash` leaves a stale lock that makes every later SSH
 * command wait 60 s).
 */
export function killSshSessions(): number[] {
  const pids = sshdSessionPids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sshd';
    } catch {
      return false;
    }
  });
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

// ----- SLURM helpers for the integration tests ------------------------------------------------------------

/** Runs a SLURM command on this machine (the cluster's own configuration), returning stdout. */
export function slurmCommand(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', env: { ...process.env, SLURM_CONF: join(clusterStateDir, 'slurm', 'slurm.conf') }, timeout: 60_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * How many SLURM jobs carry this name: every job slurmctld still knows (`squeue --states=all`, which covers
 * finished jobs for MinJobAge = 1 h) and every completion line of the jobcomp file (JobCompLoc), so a job
 * counted once in either place is one job.
 */
export function jobsNamed(name: string): { ids: string[]; completions: number } {
  const q = slurmCommand(['squeue', '-h', '--states=all', `--name=${name}`, '-o', '%i']);
  const ids = q.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  let completions = 0;
  try {
    completions = readFileSync(join(clusterStateDir, 'slurm', 'jobcomp.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.includes(` Name=${name} `)).length;
  } catch {
    /* no job has completed yet */
  }
  return { ids, completions };
}

/** `scontrol -o show job <id>` as key/value pairs (empty when unknown). */
export function scontrolJob(id: string): Record<string, string> {
  const r = slurmCommand(['scontrol', '-o', 'show', 'job', id]);
  if (r.code !== 0) return {};
  return Object.fromEntries([...r.stdout.trim().matchAll(/(\S+?)=(\S*)/g)].map((m) => [m[1]!, m[2]!]));
}

/**
 * A variant of the generated `local-slurm` profile, written as `<dir>/<name>.yaml`: `edit` changes the parsed
 * YAML (e.g. another executable for qe-pw, another host key). Returns the file.
 */
export function writeProfileVariant(cluster: LocalCluster, dir: string, name: string, edit: (p: Record<string, unknown>) => void = () => undefined): string {
  const data = parseYaml(readFileSync(cluster.profileFile, 'utf8')) as Record<string, unknown>;
  data.name = name;
  edit(data);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringifyYaml(data));
  return file;
}

/**
 * A clearly named stand-in for a code's executable, in the cluster's state directory (visible to SLURM jobs):
 * a shell script with `body`. Returns its absolute path.
 */
export function writeStandIn(name: string, body: string): string {
  const dir = join(clusterStateDir, 'stand-ins');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n# Test stand-in for a code's executable (test/support/cluster.ts): ${name}\n${body}\n`, { mode: 0o755 });
  return file;
}

/** Stops the local cluster's sshd (listener and sessions), as a login node going away would. */
export function stopSshd(): void {
  const master = sshdMasterPid();
  killSshSessions();
  try {
    process.kill(master, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** The pid of the running slurmctld. */
export function slurmctldPid(): number {
  return Number(readFileSync(join(clusterStateDir, 'slurm', 'run', 'slurmctld.pid'), 'utf8').trim());
}

/** `scripts/local-cluster.sh start` again: starts whatever is not running (sshd, slurmctld, ...), keeps the rest. */
export async function restartMissingDaemons(): Promise<void> {
  started = undefined;
  await runScript(['start']);
}
