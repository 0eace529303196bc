/**
 * Custom recovery as data: rules a user writes (in a runner, a plan, or JSON) that the workflow interprets.
 * Workflow code runs inside the worker's bundle, so user *functions* cannot travel with a plan; rules can,
 * and they replay deterministically. The first matching rule decides before the built-in handlers.
 *
 *   { name: 'gentle-mixing', when: { exitCodes: [410] },
 *     set: { 'electrons.mixing_beta': 0.1 }, multiply: { 'electrons.conv_thr': 10 }, restartFrom: 'full' }
 */
import { z } from 'zod';
import type { Code, FailureContext, RestartFrom } from '../codes/code.ts';
import { applyParameterEdits, numberParameter, roundSignificant, type CodeParameters, type ParameterChanges, type ParameterEdit } from '../codes/parameters.ts';

/** 'group.key' of the code's parameters (pw.x: a namelist and a variable); the code's schema checks the group. */
const parameterPath = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_()]*$/, 'must be "group.key", e.g. "electrons.mixing_beta"');
const validRegex = z.string().refine((s) => {
  try {
    new RegExp(s, 'i');
    return true;
  } catch {
    return false;
  }
}, 'must be a valid regular expression');

export const RecoveryRuleSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)'),
  when: z.strictObject({
    /** Parser exit codes this rule repairs. */
    exitCodes: z.array(z.number().int()).optional(),
    /** A case-insensitive regular expression over the exit message, errors and warnings. */
    messageMatches: validRegex.optional(),
    /** Executor outcomes, e.g. ['timeout']. */
    jobStates: z.array(z.enum(['completed', 'failed', 'timeout', 'cancelled', 'lost'])).optional(),
  }),
  /** New values; null removes a key (pw.x's default applies). */
  set: z.record(parameterPath, z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
  /** Factors applied to numeric parameters (the value used, or pw.x's default). */
  multiply: z.record(parameterPath, z.number().positive()).default({}),
  resources: z.strictObject({ mpiRanksFactor: z.number().positive().optional(), walltimeFactor: z.number().positive().optional() }).optional(),
  restartFrom: z.enum(['scratch', 'charge-density', 'full']).default('scratch'),
});
export type RecoveryRule = z.output<typeof RecoveryRuleSchema>;
export type RecoveryRuleInput = z.input<typeof RecoveryRuleSchema>;

export interface RuleContext extends FailureContext {
  code: Pick<Code, 'restartEdits'>;
  jobState: string;
  resources: { walltimeSeconds: number; mpiRanks: number };
}

export function ruleMatches(rule: RecoveryRule, ctx: RuleContext): boolean {
  const w = rule.when;
  if (!w.exitCodes && !w.messageMatches && !w.jobStates) return false;
  if (w.exitCodes && !w.exitCodes.includes(ctx.result.exitCode)) return false;
  if (w.jobStates && !w.jobStates.includes(ctx.jobState as never)) return false;
  if (w.messageMatches) {
    const text = [ctx.result.exitMessage, ...(ctx.result.errorMessages ?? []), ...(ctx.result.warnings ?? [])].join('\n');
    if (!new RegExp(w.messageMatches, 'i').test(text)) return false;
  }
  return true;
}

export interface RuleRepair {
  handler: string;
  message: string;
  overrides: CodeParameters;
  changes: ParameterChanges;
  restartFrom: RestartFrom;
  resources?: { mpiRanks?: number; walltimeSeconds?: number };
}

export function applyRule(rule: RecoveryRule, ctx: RuleContext): RuleRepair {
  const edits: ParameterEdit[] = [];
  for (const [path, value] of Object.entries(rule.set)) {
    const [group, key] = path.split('.') as [string, string];
    edits.push({ group, key, value: value ?? undefined });
  }
  for (const [path, factor] of Object.entries(rule.multiply)) {
    const [group, key] = path.split('.') as [string, string];
    const current = numberParameter(ctx.parameters, group, key, Number.NaN);
    if (Number.isNaN(current)) continue; // nothing to scale: the rule's `set` should name a value instead
    edits.push({ group, key, value: roundSignificant(current * factor) });
  }
  const { overrides, changes } = applyParameterEdits(ctx, [...edits, ...ctx.code.restartEdits(rule.restartFrom)]);
  const resources: RuleRepair['resources'] = {};
  if (rule.resources?.mpiRanksFactor) {
    resources.mpiRanks = Math.max(1, Math.floor(ctx.resources.mpiRanks * rule.resources.mpiRanksFactor));
    changes['resources.mpiRanks'] = { from: ctx.resources.mpiRanks, to: resources.mpiRanks };
  }
  if (rule.resources?.walltimeFactor) {
    resources.walltimeSeconds = Math.ceil(ctx.resources.walltimeSeconds * rule.resources.walltimeFactor);
    changes['resources.walltimeSeconds'] = { from: ctx.resources.walltimeSeconds, to: resources.walltimeSeconds };
  }
  const described = Object.entries(changes).map(([k, c]) => `${k} ${c.from ?? 'unset'} → ${c.to ?? 'unset'}`).join(', ');
  return {
    handler: `custom:${rule.name}`,
    message: `custom rule ${rule.name}: ${described || 'same input'}, restart from ${rule.restartFrom}`,
    overrides,
    changes,
    restartFrom: rule.restartFrom,
    ...(Object.keys(resources).length ? { resources } : {}),
  };
}
