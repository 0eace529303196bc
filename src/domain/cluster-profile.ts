/**
 * Cluster profiles: where calculations run and how to reach that place. One YAML (or JSON) file per cluster;
 * `loadClusterProfile` (src/clusters, the file system) reads them; this module only validates (pure, no I/O:
 * safe to import from workflows).
 *
 * A profile is plain data and may travel in workflow inputs and results. It never holds a secret: SSH
 * passwords are given only as the NAME of an environment variable (`passwordEnv`), key files by path.
 *
 * ```yaml
 * name: beefcake2
 * scheduler: slurm
 * host: beefcake2.example.edu      # present → reached over SSH (transport: ssh), absent → this machine
 * port: 22
 * user: alice
 * auth: { type: key, keyFile: ~/.ssh/id_ed25519 }   # or { type: agent } or { type: password, passwordEnv: BEEFCAKE_PW }
 * knownHostsFile: ~/.ssh/known_hosts                 # and/or inline hostKeys lines:
 * hostKeys: ["beefcake2.example.edu ssh-ed25519 AAAA..."]
 * workDir: /scratch/{user}/crystalmath               # {user} is replaced by `user`
 * partitions: [{ name: compute, nodes: 30, coresPerNode: 40, memoryGb: 376, maxWalltime: "7-00:00:00", default: true }]
 * executables: { qe-pw: { executable: pw.x, modules: [qe/7.2] }, vasp-std: vasp_std }
 * mpi: "srun"                                        # or "mpirun -np {ranks}", or { launcher, args }
 * ```
 */
import { z } from 'zod';
import { hasControlCharacters } from './shell.ts';

/** Cluster names double as file names and task-queue suffixes. */
export const CLUSTER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Code identifiers used as keys of `executables`, e.g. `qe-pw`, `vasp-std`, `yambo`, `crystal23`. */
export const CODE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The built-in profile of the worker's own machine (`makeLocalProfile`). */
export const LOCAL_CLUSTER_NAME = 'local';

const WALLTIME_RE = /^(?:(\d+)-)?(\d{1,3})(?::(\d{1,2}))?(?::(\d{1,2}))?$/;

/**
 * Seconds of a walltime given as hours (a number, e.g. `48` or `0.5`) or a SLURM time string:
 * `D-HH:MM:SS`, `D-HH:MM`, `D-HH`, `HH:MM:SS`. Undefined for anything else.
 * (Plain `MM` and `MM:SS`, which SLURM also accepts, are refused as ambiguous next to hours.)
 */
export function walltimeSeconds(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.round(value * 3600) : undefined;
  const m = WALLTIME_RE.exec(value.trim());
  if (!m) return undefined;
  const [, d, h, mi, s] = m;
  if (d === undefined && (mi === undefined || s === undefined)) return undefined; // needs days, or HH:MM:SS
  const minutes = Number(mi ?? 0);
  const seconds = Number(s ?? 0);
  if (minutes > 59 || seconds > 59) return undefined;
  const total = Number(d ?? 0) * 86400 + Number(h) * 3600 + minutes * 60 + seconds;
  return total > 0 ? total : undefined;
}

/** SLURM's `D-HH:MM:SS` for a number of seconds (rounded up to whole minutes is the caller's business). */
export function formatWalltime(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d}-${p(h)}:${p(m)}:${p(sec)}`;
}

/** `unreachableTimeout` when a profile sets none (and for jobs submitted before it existed). */
export const DEFAULT_UNREACHABLE_TIMEOUT_HOURS = 72;

const WalltimeSchema = z.union([z.number(), z.string()]).refine((v) => walltimeSeconds(v) !== undefined, {
  message: 'must be hours (a positive number) or a SLURM time "D-HH:MM:SS"',
});

/**
 * Text that goes into one line of a job's script (`#SBATCH`, `module load`, `export`, the run line): a newline
 * would end that line early and make the rest a command of its own.
 */
const oneLine = (s: z.ZodString) => s.refine((v) => !hasControlCharacters(v), 'must be one line, without newlines or other control characters (it goes into a line of the job script)');

const EnvironmentSchema = z.record(
  z.string().regex(ENV_NAME_RE, 'environment variable names are letters, digits and _ (not starting with a digit)'),
  z.union([oneLine(z.string()), z.number().transform(String), z.boolean().transform(String)]),
);

/** A key that must never appear: secrets are referred to by environment-variable name only. */
const noSecret = (what: string) =>
  z
    .unknown()
    .refine((v) => v === undefined, {
      message: `never put a ${what} in a cluster profile; name the environment variable that holds it instead (passwordEnv / passphraseEnv)`,
    })
    .optional();

export const AuthSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('key'),
    /** Private key file on the worker's machine (`~/` allowed). */
    keyFile: z.string().min(1),
    /** Name of the environment variable holding the key's passphrase, if it has one. */
    passphraseEnv: z.string().regex(ENV_NAME_RE).optional(),
    passphrase: noSecret('passphrase'),
    password: noSecret('password'),
  }),
  z.strictObject({
    type: z.literal('agent'),
    /** Name of the environment variable holding the agent's socket path. */
    socketEnv: z.string().regex(ENV_NAME_RE).default('SSH_AUTH_SOCK'),
    password: noSecret('password'),
  }),
  z.strictObject({
    type: z.literal('password'),
    /** Name of the environment variable holding the password: the value itself is never in a profile. */
    passwordEnv: z.string().regex(ENV_NAME_RE, 'must be the NAME of an environment variable'),
    password: noSecret('password'),
  }),
]);
export type ClusterAuth = z.output<typeof AuthSchema>;

export const PartitionSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'partition names are letters, digits, _ . -'),
  /** Nodes a job may use in this partition (or that the partition has). */
  nodes: z.number().int().positive(),
  coresPerNode: z.number().int().positive(),
  memoryGb: z.number().positive().optional(),
  gpusPerNode: z.number().int().nonnegative().default(0),
  gpuType: oneLine(z.string().min(1)).optional(),
  /** Longest job: hours or "D-HH:MM:SS". Absent: no limit known. */
  maxWalltime: WalltimeSchema.optional(),
  /** The partition for CPU jobs when none is named (else the first partition without GPUs). */
  default: z.boolean().default(false),
});
export type Partition = z.output<typeof PartitionSchema>;

/** A string is shorthand for `{ executable: <string> }`. */
export const ExecutableSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { executable: v } : v),
  z.strictObject({
    /** Command name or absolute path, e.g. `pw.x`, `vasp_std`, `/opt/yambo/bin/yambo`. */
    executable: oneLine(z.string().min(1)),
    /** `module load` lines for this code (after the profile's own `modules`). */
    modules: z.array(oneLine(z.string().min(1))).default([]),
    /** Shell text placed before the run (e.g. `source /opt/intel/setvars.sh`). */
    prepend: z.string().optional(),
    environment: EnvironmentSchema.default({}),
    /** False for serial tools (wannier90.x -pp, phonopy, btp2): run without the MPI launcher. */
    mpi: z.boolean().default(true),
    /** True when this build runs on GPUs. */
    gpu: z.boolean().default(false),
  }),
);
export type CodeExecutable = z.output<typeof ExecutableSchema>;

/** `"srun"` or `"mpirun -np {ranks}"` (split on whitespace) or `{ launcher, args }`. Placeholders: see `mpiArgv`. */
export const MpiSchema = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const [launcher, ...args] = v.trim().split(/\s+/);
    return { launcher, args };
  },
  z.strictObject({
    launcher: oneLine(z.string().min(1)),
    args: z.array(oneLine(z.string())).default([]),
  }),
);
export type MpiLauncher = z.output<typeof MpiSchema>;

export const SshOptionsSchema = z.strictObject({
  /** Channels (commands, SFTP) open at once on the one connection; sshd's MaxSessions is 10 by default. */
  maxChannels: z.number().int().min(2).max(64).default(8),
  keepaliveSeconds: z.number().positive().max(3600).default(15),
  connectTimeoutSeconds: z.number().positive().max(600).default(20),
});
export type SshOptions = z.output<typeof SshOptionsSchema>;

/** Loose syntax check of a known_hosts line; the transport parses it for real. */
const KNOWN_HOSTS_LINE_RE = /^(?:@(?:cert-authority|revoked)\s+)?\S+\s+[A-Za-z0-9@._-]+\s+[A-Za-z0-9+/]+={0,3}(?:\s.*)?$/;

const ProfileObject = z.strictObject({
  name: z.string().regex(CLUSTER_NAME_RE, 'cluster names are 1-64 letters, digits, _ . - (starting with a letter or digit)'),
  description: z.string().optional(),
  scheduler: z.enum(['slurm', 'local']),
  /** How the worker reaches the cluster. Default: `ssh` when `host` is set, else `local` (worker on the cluster). */
  transport: z.enum(['ssh', 'local']).optional(),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'not a valid user name').optional(),
  auth: AuthSchema.optional(),
  /** known_hosts file on the worker's machine (`~/` allowed). Without it and without hostKeys: ~/.ssh/known_hosts. */
  knownHostsFile: z.string().min(1).optional(),
  /** Inline known_hosts lines, e.g. `[127.0.0.1]:2222 ssh-ed25519 AAAA...`. */
  hostKeys: z.array(z.string().trim().regex(KNOWN_HOSTS_LINE_RE, 'not a known_hosts line ("host keytype base64key")')).default([]),
  /** Where calculations run on the cluster: absolute, `{user}` is replaced by `user`. */
  workDir: oneLine(z.string().min(1)),
  scratchDir: oneLine(z.string().min(1)).optional(),
  partitions: z.array(PartitionSchema).default([]),
  executables: z.record(z.string().regex(CODE_ID_RE, 'code ids are letters, digits, _ . + -'), ExecutableSchema).default({}),
  mpi: MpiSchema.optional(),
  /** `module load` lines for every job. */
  modules: z.array(oneLine(z.string().min(1))).default([]),
  /** Shell text placed at the top of every job (after the modules). */
  prepend: z.string().optional(),
  /** Environment variables exported in every job. */
  environment: EnvironmentSchema.default({}),
  account: oneLine(z.string().min(1)).optional(),
  qos: oneLine(z.string().min(1)).optional(),
  /** Seconds between scheduler polls (one squeue per cluster per interval). */
  pollIntervalSeconds: z.number().positive().max(86400).default(30),
  /**
   * How long the cluster may stay out of reach (squeue over its transport failing, or no worker serving its
   * task queue) before the calculations waiting on it fail with ClusterUnreachable: hours or "D-HH:MM:SS".
   * Long enough for maintenance; a decommissioned cluster's waits end.
   */
  unreachableTimeout: WalltimeSchema.default(DEFAULT_UNREACHABLE_TIMEOUT_HOURS),
  ssh: SshOptionsSchema.optional(),
});

export const ClusterProfileSchema = ProfileObject.superRefine((p, ctx) => {
  const transport = p.transport ?? (p.host ? 'ssh' : 'local');
  if (transport === 'ssh') {
    for (const field of ['host', 'user', 'auth'] as const) {
      if (p[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `required when the cluster is reached over SSH` });
    }
  }
  if (p.scheduler === 'slurm' && p.partitions.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['partitions'], message: 'a SLURM cluster needs at least one partition' });
  }
  const seen = new Set<string>();
  p.partitions.forEach((part, i) => {
    if (seen.has(part.name)) ctx.addIssue({ code: 'custom', path: ['partitions', i, 'name'], message: `duplicate partition "${part.name}"` });
    seen.add(part.name);
  });
  if (p.partitions.filter((x) => x.default).length > 1) {
    ctx.addIssue({ code: 'custom', path: ['partitions'], message: 'at most one partition may be the default' });
  }
  for (const field of ['workDir', 'scratchDir'] as const) {
    const v = p[field];
    if (v === undefined) continue;
    if (v.includes('{user}') && !p.user) ctx.addIssue({ code: 'custom', path: [field], message: '{user} needs `user` to be set' });
    if (!v.startsWith('/')) ctx.addIssue({ code: 'custom', path: [field], message: 'must be an absolute path' });
  }
}).transform((p) => {
  const expand = (s: string | undefined) => (s === undefined || !p.user ? s : s.replaceAll('{user}', p.user));
  return {
    ...p,
    transport: p.transport ?? (p.host ? ('ssh' as const) : ('local' as const)),
    workDir: expand(p.workDir) as string,
    scratchDir: expand(p.scratchDir),
    ssh: p.ssh ?? SshOptionsSchema.parse({}),
  };
});

/** What a profile file may contain. */
export type ClusterProfileInput = z.input<typeof ClusterProfileSchema>;
/** A validated profile: defaults filled in, `transport` resolved, `{user}` expanded. */
export type ClusterProfile = z.output<typeof ClusterProfileSchema>;

/** `partitions[1].coresPerNode`: a zod issue path the way a user reads it in the YAML. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? (out ? `.${s}` : s) : `[${JSON.stringify(s)}]`;
    }
  }
  return out || '(top level)';
}

/** The partition by name, or the default one: `default: true`, else the first without GPUs, else the first. */
export function findPartition(profile: ClusterProfile, name?: string): Partition | undefined {
  if (name !== undefined) return profile.partitions.find((p) => p.name === name);
  return profile.partitions.find((p) => p.default) ?? profile.partitions.find((p) => p.gpusPerNode === 0) ?? profile.partitions[0];
}

/** Seconds of the profile's `unreachableTimeout`. */
export function unreachableTimeoutSeconds(p: Pick<ClusterProfile, 'unreachableTimeout'>): number {
  return walltimeSeconds(p.unreachableTimeout) ?? DEFAULT_UNREACHABLE_TIMEOUT_HOURS * 3600;
}

/** Seconds of a partition's `maxWalltime`, undefined when it has none. */
export function partitionWalltimeSeconds(p: Partition): number | undefined {
  return p.maxWalltime === undefined ? undefined : walltimeSeconds(p.maxWalltime);
}

/**
 * The MPI launcher's argv for a run, placeholders filled in: `{ranks}` (total MPI ranks), `{nodes}`,
 * `{ranksPerNode}`, `{cpusPerTask}`, `{gpus}` (per node). Empty when the profile has no launcher (serial runs).
 */
export function mpiArgv(
  profile: Pick<ClusterProfile, 'mpi'>,
  r: { ranks: number; nodes?: number; ranksPerNode?: number; cpusPerTask?: number; gpus?: number },
): string[] {
  if (!profile.mpi) return [];
  const values: Record<string, number> = {
    ranks: r.ranks,
    nodes: r.nodes ?? 1,
    ranksPerNode: r.ranksPerNode ?? Math.ceil(r.ranks / (r.nodes ?? 1)),
    cpusPerTask: r.cpusPerTask ?? 1,
    gpus: r.gpus ?? 0,
  };
  const fill = (s: string) => s.replace(/\{(ranks|nodes|ranksPerNode|cpusPerTask|gpus)\}/g, (_, k: string) => String(values[k]));
  return [fill(profile.mpi.launcher), ...profile.mpi.args.map(fill)];
}
