/**
 * The built-in `local` profile: the worker's own machine, the local executor, no SSH, no scheduler. Pure: the
 * loader passes in the machine's cores, memory and the work directory from the settings.
 */
import { ClusterProfileSchema, LOCAL_CLUSTER_NAME, type ClusterProfile } from '../domain/cluster-profile.ts';

/** Executables of the Debian `quantum-espresso` package and friends, as found on PATH. */
export const DEFAULT_LOCAL_EXECUTABLES = {
  'qe-pw': 'pw.x',
  'qe-ph': 'ph.x',
  'qe-q2r': 'q2r.x',
  'qe-matdyn': 'matdyn.x',
  'qe-dos': 'dos.x',
  'qe-projwfc': 'projwfc.x',
  'qe-bands': 'bands.x',
  'qe-pp': 'pp.x',
  'qe-pw2wannier90': 'pw2wannier90.x',
  wannier90: { executable: 'wannier90.x', mpi: false },
  phonopy: { executable: 'phonopy', mpi: false },
  boltztrap2: { executable: 'btp2', mpi: false },
} as const;

export interface LocalMachine {
  /** Absolute work directory (the settings' workRoot). */
  workDir: string;
  /** Cores the worker may use (e.g. os.availableParallelism()). */
  cores: number;
  /** Memory in GB. */
  memoryGb: number;
  scratchDir?: string;
}

export function makeLocalProfile(m: LocalMachine): ClusterProfile {
  return ClusterProfileSchema.parse({
    name: LOCAL_CLUSTER_NAME,
    description: 'The worker’s own machine (local executor, no SSH, no scheduler)',
    scheduler: 'local',
    transport: 'local',
    workDir: m.workDir,
    ...(m.scratchDir ? { scratchDir: m.scratchDir } : {}),
    partitions: [{ name: 'local', nodes: 1, coresPerNode: Math.max(1, Math.floor(m.cores)), memoryGb: Math.max(1, Math.floor(m.memoryGb)), default: true }],
    executables: DEFAULT_LOCAL_EXECUTABLES,
    mpi: 'mpirun -np {ranks}',
    pollIntervalSeconds: 2,
  });
}
