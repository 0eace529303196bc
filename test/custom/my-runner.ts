/**
 * A user's own runner, written outside the project's src/ as a user would in their own repository
 * (seed 000's MyCustomRunner + _attempt_adaptive_recovery, in TypeScript). It imports only the public
 * entry point. Custom recovery is expressed as rules: data the workflow interprets on the worker.
 */
import { BaseAnalysisRunner, type RecoveryRuleInput, type RunnerOptions, type WorkflowStepInput } from '../../src/client.ts';

export class MyCustomRunner extends BaseAnalysisRunner {
  constructor(private readonly myParameter: number, options: RunnerOptions = {}) {
    super(options);
  }

  protected buildWorkflowSteps(): WorkflowStepInput[] {
    return [
      {
        name: 'my_analysis',
        type: 'scf',
        code: this.dftCode,
        // A deliberately tight electron_maxstep, so the custom recovery below has something to repair.
        parameters: this.getParameters('scf', this.dftCode, { pw: { electrons: { electron_maxstep: this.myParameter } } }),
      },
    ];
  }

  /** "convergence" → gentler mixing and more iterations, restarting from the last charge density. */
  protected override recoveryRules(): RecoveryRuleInput[] {
    return [
      {
        name: 'convergence',
        when: { messageMatches: 'self-consistency|convergence' },
        set: { 'electrons.mixing_beta': 0.3, 'electrons.electron_maxstep': 100 },
        restartFrom: 'full',
      },
    ];
  }
}
