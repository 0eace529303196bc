/**
 * The public client entry (package.json "exports"): connect to Temporal, start and follow CrystalMath
 * workflows. Only re-exports; the code lives in src/api, which never imports this file.
 */
export { connectClient, withClient } from './api/connection.ts';
export { InputError } from './api/errors.ts';
export { resolveStructure } from './api/structures.ts';
export { CalculationFailedError, calculationResult, startCalculation, validateCalculationInput } from './api/calculation.ts';
export { WorkflowBuilder, BuiltWorkflow, BuildError, ErrorRecoveryStrategy, buildPlan } from './api/builder.ts';
export { Workflow, WorkflowRunError, workflowIdFor, type WorkflowStatus, type ProgressUpdate } from './api/workflow.ts';
export { BaseAnalysisRunner, type RunnerOptions } from './api/runners.ts';
export { StandardAnalysis, StandardResults, type StandardAnalysisOptions } from './api/standard.ts';
export { ElasticAnalysis, ElasticResults, elasticRows, type ElasticAnalysisOptions } from './api/elastic.ts';
export { loadSettings } from './settings.ts';
export type { CalculationInput, CalculationResult } from './domain/calculation.ts';
export type { Structure } from './domain/structure/structure.ts';
export type { WorkflowPlan, WorkflowStepInput } from './domain/plan/plan.ts';
export type { RecoveryRuleInput } from './domain/recovery/rules.ts';
export type { AnalysisResults } from './workflows/standard.ts';
export type { ElasticResult } from './workflows/elastic.ts';
