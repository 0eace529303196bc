/** The one line that adds the toy code: imported by the test process (client, activities) and the workflow bundle. */
import { registerCode } from '../../../src/domain/codes/registry.ts';
import { toyCode } from './code.ts';

registerCode(toyCode);
