/**
 * A toy code written outside src/ as a user (or a new adapter) would: everything it knows in this folder, the
 * program in toy-solver.sh, and one `registerCode` line (register.ts). It shows that the calculation workflow,
 * the strategies and the activities need nothing else: input writer, parser with exit codes, a handler that
 * repairs a failure, and restart files handed to the next attempt.
 */
import { z } from 'zod';
import type { Code, CodeResult } from '../../../src/domain/codes/code.ts';
import { applyParameterEdits, numberParameter, roundSignificant, type ParameterEdit } from '../../../src/domain/codes/parameters.ts';

export interface ToyResult extends CodeResult {
  iterations: number;
  continuedFromState: boolean;
}

const NOT_CONVERGED = 410;
const DEFAULT_DAMPING = 0.8;
const restartEdits = (): ParameterEdit[] => [];

export const toyCode: Code<ToyResult> = {
  id: 'toy',
  program: 'toy-solver',
  step: 'toy',
  calculations: ['scf'],
  relaxations: [],
  parametersSchema: z.strictObject({
    solver: z.strictObject({ damping: z.number().positive().max(1).optional(), steps: z.number().int().positive().max(1000).optional() }).optional(),
  }),
  pseudopotentials: 'none',
  files: { stdout: 'toy.out', stderr: 'toy.err', kept: ['toy.in', 'toy.out', 'toy.err'] },
  command: (executable) => [executable, 'toy.in'],
  writeInput(req) {
    const damping = numberParameter(req.overrides, 'solver', 'damping', DEFAULT_DAMPING);
    const steps = numberParameter(req.overrides, 'solver', 'steps', 6);
    return {
      files: { 'toy.in': `damping ${damping}\nsteps ${steps}\natoms ${req.structure.sites.length}\n` },
      parameters: { solver: { damping, steps } },
      summary: { kMesh: [1, 1, 1], kOffset: [0, 0, 0], ecutwfc: 0, ecutrho: 0 },
    };
  },
  parse({ files }) {
    const out = files['toy.out'] ?? '';
    const energy = /TOY CONVERGED energy (\S+)/.exec(out);
    const base = { iterations: (out.match(/^iteration /gm) ?? []).length, continuedFromState: out.includes('continuing from'), warnings: [], errorMessages: [] };
    if (energy) return { ...base, exitCode: 0, exitName: 'SUCCESS', exitMessage: 'converged', totalEnergyEv: Number(energy[1]) };
    return { ...base, exitCode: NOT_CONVERGED, exitName: 'TOY_NOT_CONVERGED', exitMessage: 'the iteration did not converge', errorMessages: ['TOY NOT CONVERGED'] };
  },
  isSuccess: (exitCode) => exitCode === 0,
  repair(ctx) {
    if (ctx.result.exitCode !== NOT_CONVERGED) return undefined;
    const from = numberParameter(ctx.parameters, 'solver', 'damping', DEFAULT_DAMPING);
    const to = roundSignificant(from / 2);
    const { overrides, changes } = applyParameterEdits(ctx, [{ group: 'solver', key: 'damping', value: to }, { group: 'solver', key: 'steps', value: 60 }]);
    return { action: 'restart', handler: 'toy_halve_damping', message: `halved the damping from ${from} to ${to}, continuing from the last iterate`, overrides, changes, restartFrom: 'full' };
  },
  generic: {
    convergenceFailure: (r) => (r.exitCode === NOT_CONVERGED ? 'electronic' : undefined),
    loosenConvergence: () => undefined,
    isWalltimeFailure: () => false,
    leftReusableFiles: () => true,
  },
  restartFiles: () => ['state'],
  restartEdits,
  outputStructure: (_result, start) => start,
};
