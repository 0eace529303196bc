/** The QE analyses' view of a `calculation` child: pw.x's result type (relax loop, bands, DOS, plans read its fields). */
import { executeChild } from '@temporalio/workflow';
import type { CalculationInput } from '../domain/calculation.ts';
import type { PwCalculationResult } from '../domain/codes/qe/pw.ts';
import { calculation } from './calculation.ts';

export function executePwCalculation(options: { workflowId: string; args: [CalculationInput] }): Promise<PwCalculationResult> {
  return executeChild(calculation, options) as Promise<PwCalculationResult>;
}
