/**
 * The `calculation` workflow's contract: what it is given, what it returns. Pure and zod-validated, shared by
 * the client (validation before start), the workflow (validation again: inputs can also come from the
 * Temporal CLI) and the activities.
 */
import { z } from 'zod';
import type { ArtifactRef, RemoteFolder } from './artifacts.ts';
import type { CodeResult, InputSummary, RestartFrom } from './codes/code.ts';
import type { CodeParameters, ParameterChanges } from './codes/parameters.ts';
import { findCode, registeredCodeIds } from './codes/registry.ts';
import { ELECTRONIC_TYPES, MAGNETISM_MODES } from './electronic-defaults.ts';
import { absolutePathProblem, ExecutorSpecSchema, ResourcesSchema, type JobOutcome } from './jobs.ts';
import { PROTOCOL_NAMES } from './protocols.ts';
import { RecoveryPolicySchema } from './recovery/strategy.ts';
import { KpointsSchema } from './structure/kpoints.ts';
import { StructureSchema } from './structure/schema.ts';
import type { Structure } from './structure/structure.ts';

export { PROTOCOL_NAMES };

export const CalculationFieldsSchema = z.object({
  /** A registered code's id (codes/registry.ts), e.g. `qe-pw`. */
  code: z.string().refine((id) => findCode(id) !== undefined, { error: (iss) => `unknown code ${JSON.stringify(iss.input)} (registered: ${registeredCodeIds().join(', ')})` }),
  structure: StructureSchema,
  /** One of the code's calculation types (checked against the code below). */
  calculation: z.string().min(1).max(32),
  protocol: z.enum(PROTOCOL_NAMES).default('moderate'),
  /** k-points; default: the protocol's k-point distance. */
  kpoints: KpointsSchema.optional(),
  /** A `bands` calculation's path as crystal_b vertices [label, [x, y, z], points to the next vertex]. */
  kpath: z
    .array(z.tuple([z.string().min(1).max(16), z.tuple([z.number(), z.number(), z.number()]), z.number().int().positive().max(10_000)]))
    .min(2)
    .optional(),
  /** Smearing (`metal`) or fixed occupations (`insulator`); `auto`: fixed only for structures known to be gapped (electronic-defaults.ts). */
  electronicType: z.enum(ELECTRONIC_TYPES).default('auto'),
  /** Spin polarisation: `collinear`, `none`, or `auto` (collinear for smeared runs with open-shell d / f elements). */
  magnetism: z.enum(MAGNETISM_MODES).default('auto'),
  /** The code's parameter overrides (pw.x: namelists), applied after the protocol; checked by the code's schema. */
  parameters: z.unknown().optional(),
  /** Name of a pseudopotential family under the worker's pseudo directory. */
  pseudoFamily: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a family name (letters, digits, . _ -)').default('qe-debian-lda'),
  executor: ExecutorSpecSchema.default({ kind: 'local' }),
  resources: ResourcesSchema.default({ walltimeSeconds: 3600, mpiRanks: 1 }),
  /** How failures are repaired: strategy (fail_fast, retry, adaptive, checkpoint) and the bound on attempts. */
  recovery: RecoveryPolicySchema.default({ strategy: 'adaptive', maxAttempts: 5, rules: [] }),
  /** Files handed over from an earlier calculation (e.g. an scf's charge density for bands / nscf). */
  parent: z
    .strictObject({
      // Checked again against the worker's work root (or the cluster's workDir) where it is read.
      workDir: z.string().superRefine((path, ctx) => {
        const problem = absolutePathProblem(path);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
      kind: z.enum(['charge-density', 'full']),
    })
    .optional(),
  /** What the user asked for (shown in the Web UI as CrystalMathAnalysis). */
  analysis: z.string().min(1).max(64).default('scf'),
});

/**
 * The code's own checks of a calculation input (its calculation types, its parameters schema), as a zod
 * transform: the parameters come out normalised by the code's schema.
 */
export function checkedByCode<T extends { code: string; calculation?: string; parameters?: unknown }>(
  input: T,
  ctx: z.core.$RefinementCtx,
): Omit<T, 'parameters'> & { parameters: CodeParameters } {
  const code = findCode(input.code);
  if (!code) return z.NEVER; // reported by the `code` field
  if (input.calculation !== undefined && !(code.calculations as readonly string[]).includes(input.calculation)) {
    ctx.addIssue({ code: 'custom', path: ['calculation'], message: `${code.program} (${code.id}) does not run "${input.calculation}" (it runs ${code.calculations.join(', ')})` });
  }
  const parameters = code.parametersSchema.safeParse(input.parameters ?? {});
  if (!parameters.success) {
    for (const issue of parameters.error.issues) ctx.addIssue({ code: 'custom', path: ['parameters', ...issue.path], message: issue.message });
    return z.NEVER;
  }
  return { ...input, parameters: parameters.data as CodeParameters };
}

/** A calculation's input: the fields above, with the calculation and the parameters checked by its code. */
export const CalculationInputSchema = CalculationFieldsSchema.transform(checkedByCode);
export type CalculationInput = z.input<typeof CalculationInputSchema>;
export type ValidCalculationInput = z.output<typeof CalculationInputSchema>;

/** One run of the code inside a calculation workflow, and what was decided after it. */
export interface AttemptRecord {
  attempt: number;
  job: JobOutcome;
  exitCode: number;
  exitName: string;
  exitMessage: string;
  workDir: string;
  /** Which parent files this attempt started from. */
  restartFrom: RestartFrom;
  /** After this attempt: restart (with the handler and its changes), finish, or fail. */
  decision: { action: 'restart' | 'finish' | 'fail'; handler?: string; message: string; changes?: ParameterChanges };
  artifacts: ArtifactRef[];
}

export interface CalculationResult<R extends CodeResult = CodeResult> {
  workflowId: string;
  code: string;
  calculation: ValidCalculationInput['calculation'];
  protocol: ValidCalculationInput['protocol'];
  formula: string;
  /** True when the code's parsed exit code counts as success. */
  ok: boolean;
  exitCode: number;
  exitName: string;
  exitMessage: string;
  /** The code's parsed result (pw.x: `PwResult`). */
  outputs: R;
  /** The structure the calculation ended with (a relaxation's output structure, else the input). */
  finalStructure: Structure;
  /** The k-mesh and cutoffs that were actually used. */
  inputSummary: InputSummary;
  attempts: AttemptRecord[];
  artifacts: ArtifactRef[];
  remoteFolder: RemoteFolder;
}

/**
 * Core-seconds a calculation used: the job wall time of every attempt (those repaired and restarted too) times the
 * MPI ranks it was given (an attempt the memory rule ran on fewer ranks counts at the full number). A job that
 * reported no wall time counts 0.
 */
export function coreSeconds(result: Pick<CalculationResult, 'attempts'>, mpiRanks: number): number {
  return result.attempts.reduce((sum, a) => sum + (a.job.wallSeconds ?? 0), 0) * mpiRanks;
}

/** zod's issues as one line per field: `structure.sites.0.species: must be an element symbol`. */
export function describeZodError(error: z.ZodError, prefix = ''): string {
  return error.issues.map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(input)'}: ${i.message}`).join('; ');
}
