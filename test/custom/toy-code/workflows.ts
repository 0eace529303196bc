/** A worker's workflow bundle entry that knows the toy code: register it, then CrystalMath's workflows. */
import './register.ts';

export * from '../../../src/workflows/index.ts';
