/**
 * A first guess at the resources of one calculation: pure, deterministic, no I/O. Users override it; the
 * workflows' repair handlers adjust it after a failure (more walltime, fewer ranks for memory).
 *
 * ## Rules
 *
 * 1. **Size tier** from the number of atoms (`systemSize`):
 *
 *    | atoms     | MPI ranks | GPUs | walltime |
 *    |-----------|-----------|------|----------|
 *    | 1–4       | 4         | 1    | 1 h      |
 *    | 5–16      | 8         | 1    | 2 h      |
 *    | 17–64     | 16        | 2    | 4 h      |
 *    | 65–128    | 32        | 4    | 8 h      |
 *    | 129–256   | 64        | 4    | 16 h     |
 *    | > 256     | 128       | 8    | 24 h     |
 *
 * 2. **Calculation type** multiplies ranks (and GPUs) and walltime; heavier memory per rank for many-body
 *    and response calculations:
 *
 *    | calculationType                 | ranks × | walltime × | GB per rank |
 *    |---------------------------------|---------|------------|-------------|
 *    | scf, nscf, bands, dos           | 1       | 1          | 2           |
 *    | relax, vc-relax, elastic        | 1       | 3          | 2           |
 *    | md                              | 1       | 6          | 2           |
 *    | phonon (DFPT or finite displ.)  | 2       | 4          | 4           |
 *    | gw                              | 2       | 4          | 4           |
 *    | bse                             | 2       | 3          | 4           |
 *    | wannier, transport              | 1       | 1          | 2           |
 *
 * 3. **Code**: `qe`, `vasp`, `crystal23`, `yambo` run with MPI as above. `wannier90` uses at most 4 ranks.
 *    `phonopy` and `boltztrap2` (Python post-processing) run as one task with 4 threads, 1 h.
 * 4. **GPU** only for codes that have GPU builds: VASP, QE, YAMBO. With `useGpu` and such a code, and a
 *    GPU partition in the profile (or no profile): one MPI rank per GPU, the GPUs of rule 1 (× rule 2),
 *    the node's cores shared among its GPUs as threads, walltime × 0.5. Otherwise CPU, with a note saying why.
 * 5. **Fit to the partition** (the one named, else a GPU partition for GPU runs, else the profile's default):
 *    ranks (GPUs) capped at what the partition has; nodes = ceil(ranks / coresPerNode) (GPU: / gpusPerNode);
 *    ranks spread evenly (ranksPerNode = ceil(ranks / nodes), ranks = nodes × ranksPerNode); memory per node =
 *    ranksPerNode × GB per rank, capped at the node's memory; walltime capped at the partition's maxWalltime.
 *    Without a profile nothing is capped and everything runs on one node.
 * 6. Walltime is rounded up to whole minutes.
 */
import { calculationTypeOf, type CalculationType } from '../domain/calculation-types.ts';
import { findPartition, formatWalltime, partitionWalltimeSeconds, type ClusterProfile, type Partition } from '../domain/cluster-profile.ts';
import { codeFamily, GPU_CODE_FAMILIES, type CodeFamily } from '../domain/codes/catalog.ts';

export interface ResourceRequest {
  /** A code family (`qe`, `vasp`, ...) or a code id (`qe-pw`, `vasp-std`, `yambo-p2y`) or an alias (`quantum_espresso`). */
  code: string;
  /** Number of atoms in the cell that is computed (the supercell for finite-displacement phonons). */
  systemSize: number;
  /** Default `scf`. Aliases: g0w0/gw0/evgw → gw, optical → bse, dfpt/phonons → phonon. */
  calculationType?: string;
  useGpu?: boolean;
  /** A partition of the profile to use; default: see rule 5. */
  partition?: string;
}

export interface ResourceEstimate {
  code: CodeFamily;
  calculationType: CalculationType;
  partition?: string;
  nodes: number;
  /** Total MPI ranks (SLURM tasks). */
  mpiRanks: number;
  ranksPerNode: number;
  /** Threads per rank (OMP_NUM_THREADS, --cpus-per-task). */
  cpusPerTask: number;
  useGpu: boolean;
  gpusPerNode: number;
  /** Memory per node: ranks per node × GB per rank, capped at the partition's memory. */
  memoryGb: number;
  walltimeSeconds: number;
  /** `D-HH:MM:SS`. */
  walltime: string;
  /** Why: one line per rule that changed something. */
  notes: string[];
}

const TIERS: ReadonlyArray<{ maxAtoms: number; ranks: number; gpus: number; hours: number }> = [
  { maxAtoms: 4, ranks: 4, gpus: 1, hours: 1 },
  { maxAtoms: 16, ranks: 8, gpus: 1, hours: 2 },
  { maxAtoms: 64, ranks: 16, gpus: 2, hours: 4 },
  { maxAtoms: 128, ranks: 32, gpus: 4, hours: 8 },
  { maxAtoms: 256, ranks: 64, gpus: 4, hours: 16 },
  { maxAtoms: Infinity, ranks: 128, gpus: 8, hours: 24 },
];

const CALC: Record<CalculationType, { ranks: number; walltime: number; gbPerRank: number }> = {
  scf: { ranks: 1, walltime: 1, gbPerRank: 2 },
  nscf: { ranks: 1, walltime: 1, gbPerRank: 2 },
  bands: { ranks: 1, walltime: 1, gbPerRank: 2 },
  dos: { ranks: 1, walltime: 1, gbPerRank: 2 },
  relax: { ranks: 1, walltime: 3, gbPerRank: 2 },
  'vc-relax': { ranks: 1, walltime: 3, gbPerRank: 2 },
  elastic: { ranks: 1, walltime: 3, gbPerRank: 2 },
  md: { ranks: 1, walltime: 6, gbPerRank: 2 },
  phonon: { ranks: 2, walltime: 4, gbPerRank: 4 },
  gw: { ranks: 2, walltime: 4, gbPerRank: 4 },
  bse: { ranks: 2, walltime: 3, gbPerRank: 4 },
  wannier: { ranks: 1, walltime: 1, gbPerRank: 2 },
  transport: { ranks: 1, walltime: 1, gbPerRank: 2 },
};

/** Resource estimate for one calculation, fitted to `profile` when given. See the rules above. */
export function getOptimalResources(req: ResourceRequest, profile?: ClusterProfile): ResourceEstimate {
  if (!Number.isInteger(req.systemSize) || req.systemSize < 1) {
    throw new Error(`systemSize must be a positive whole number of atoms, got ${req.systemSize}`);
  }
  const code = codeFamily(req.code);
  const calculationType = calculationTypeOf(req.calculationType);
  const notes: string[] = [];
  const tier = TIERS.find((t) => req.systemSize <= t.maxAtoms) ?? TIERS[TIERS.length - 1]!;
  const calc = CALC[calculationType];
  notes.push(`${req.systemSize} atoms: ${tier.ranks} ranks, ${tier.hours} h base; ${calculationType}: ranks ×${calc.ranks}, walltime ×${calc.walltime}`);

  let ranks = tier.ranks * calc.ranks;
  let gpus = tier.gpus * calc.ranks;
  let cpusPerTask = 1;
  let hours = tier.hours * calc.walltime;
  let gbPerRank = calc.gbPerRank;
  let serial = false;
  if (code === 'wannier90') {
    ranks = Math.min(ranks, 4);
    notes.push('wannier90: at most 4 ranks');
  } else if (code === 'phonopy' || code === 'boltztrap2') {
    serial = true;
    ranks = 1;
    cpusPerTask = 4;
    hours = 1;
    gbPerRank = 8;
    notes.push(`${code}: one task with 4 threads, 1 h`);
  }

  // Rule 4: GPU or not, and which partition.
  let partition: Partition | undefined;
  if (profile && req.partition !== undefined) {
    partition = findPartition(profile, req.partition);
    if (!partition) {
      throw new Error(`cluster ${profile.name} has no partition "${req.partition}" (it has: ${profile.partitions.map((p) => p.name).join(', ') || 'none'})`);
    }
  }
  let useGpu = false;
  if (req.useGpu) {
    if (!GPU_CODE_FAMILIES.includes(code)) notes.push(`GPU requested but ${code} has no GPU build here (GPU codes: ${GPU_CODE_FAMILIES.join(', ')}): CPU`);
    else if (!profile) useGpu = true;
    else {
      const gpuPartition = partition ?? profile.partitions.find((p) => p.gpusPerNode > 0);
      if (gpuPartition && gpuPartition.gpusPerNode > 0) {
        partition = gpuPartition;
        useGpu = true;
      } else notes.push(`GPU requested but ${partition ? `partition ${partition.name}` : `cluster ${profile.name}`} has no GPUs: CPU`);
    }
  }
  if (profile && !partition) partition = findPartition(profile);

  let nodes = 1;
  let ranksPerNode: number;
  let gpusPerNode = 0;
  if (useGpu) {
    hours *= 0.5;
    if (partition) {
      const maxGpus = partition.nodes * partition.gpusPerNode;
      if (gpus > maxGpus) {
        notes.push(`${gpus} GPUs capped at the ${maxGpus} of partition ${partition.name}`);
        gpus = maxGpus;
      }
      nodes = Math.ceil(gpus / partition.gpusPerNode);
      gpusPerNode = Math.ceil(gpus / nodes);
      cpusPerTask = Math.max(1, Math.floor(partition.coresPerNode / partition.gpusPerNode));
    } else gpusPerNode = gpus;
    ranksPerNode = gpusPerNode;
    ranks = nodes * ranksPerNode;
    notes.push(`GPU: one rank per GPU, ${gpusPerNode} GPU(s) per node, ${cpusPerTask} thread(s) per rank, walltime ×0.5`);
  } else if (partition) {
    const cores = partition.coresPerNode;
    if (serial) {
      cpusPerTask = Math.min(cpusPerTask, cores);
      ranksPerNode = 1;
    } else {
      const maxRanks = partition.nodes * cores;
      if (ranks > maxRanks) {
        notes.push(`${ranks} ranks capped at the ${maxRanks} cores of partition ${partition.name}`);
        ranks = maxRanks;
      }
      nodes = Math.ceil(ranks / cores);
      ranksPerNode = Math.ceil(ranks / nodes);
      ranks = nodes * ranksPerNode;
    }
  } else ranksPerNode = ranks;

  let memoryGb = Math.ceil(ranksPerNode * gbPerRank);
  if (partition?.memoryGb !== undefined && memoryGb > partition.memoryGb) memoryGb = Math.floor(partition.memoryGb);

  let walltimeSeconds = Math.ceil((hours * 3600) / 60) * 60;
  const max = partition ? partitionWalltimeSeconds(partition) : undefined;
  if (max !== undefined && walltimeSeconds > max) {
    notes.push(`walltime ${formatWalltime(walltimeSeconds)} capped at partition ${partition!.name}'s ${formatWalltime(max)}`);
    walltimeSeconds = max;
  }

  return {
    code,
    calculationType,
    ...(partition ? { partition: partition.name } : {}),
    nodes,
    mpiRanks: ranks,
    ranksPerNode,
    cpusPerTask,
    useGpu,
    gpusPerNode,
    memoryGb,
    walltimeSeconds,
    walltime: formatWalltime(walltimeSeconds),
    notes,
  };
}
