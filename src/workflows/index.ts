/** Every workflow a CrystalMath worker registers (the bundle's entry point). */
export { calculation, calculationProgressQuery } from './calculation.ts';
export { plan, planProgressQuery } from './plan.ts';
export { relax } from './relax.ts';
export { standardAnalysis } from './standard.ts';
export { elasticAnalysis } from './elastic.ts';
