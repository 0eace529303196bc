import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describe } from 'vitest';
import { PwdValidationError, validatePwd } from '../../../src/domain/pwd/index.ts';
import { describeShared, fixture } from '../../support/shared.ts';

const read = (...p: string[]) => JSON.parse(readFileSync(fixture(...p), 'utf8')) as unknown;

/** The issues validatePwd reports for `json` (fails the test when it accepts it). */
function issuesOf(json: unknown): string[] {
  try {
    validatePwd(json);
  } catch (e) {
    if (e instanceof PwdValidationError) return e.issues;
    throw e;
  }
  throw new Error('expected a PwdValidationError');
}

const base = () => ({
  version: '0.1.0',
  nodes: [
    { id: 0, type: 'function', value: 'workflow.get_sum' },
    { id: 1, type: 'input', name: 'x', value: 1 },
    { id: 2, type: 'input', name: 'y', value: 2 },
    { id: 3, type: 'output', name: 'result' },
  ] as Record<string, unknown>[],
  edges: [
    { target: 0, targetPort: 'x', source: 1, sourcePort: null },
    { target: 0, targetPort: 'y', source: 2, sourcePort: null },
    { target: 3, targetPort: null, source: 0, sourcePort: null },
  ] as Record<string, unknown>[],
});

describeShared('the real PWD example workflows validate', () => {
  for (const name of ['arithmetic', 'quantum_espresso']) {
    it(name, () => {
      const wf = validatePwd(read('pwd', name, 'workflow.json'));
      expect(wf.version).toBe('0.1.0');
      expect(wf.nodes.length).toBeGreaterThan(0);
    });
  }
});

describe('the reference model’s rules', () => {
  it('accepts the minimal form: missing ports and input values mean null, unknown keys are ignored', () => {
    const wf = validatePwd({
      version: '1.0',
      nodes: [
        { id: 1, type: 'input', name: 'a' },
        { id: 2, type: 'function', value: 'math.add', extra: 'ignored' },
        { id: 3, type: 'output', name: 'result' },
      ],
      edges: [
        { source: 1, target: 2, targetPort: 'x' },
        { source: 2, target: 3 },
      ],
    });
    expect(wf.nodes[0]).toEqual({ id: 1, type: 'input', name: 'a', value: null });
    expect(wf.nodes[1]).toEqual({ id: 2, type: 'function', value: 'math.add' });
    expect(wf.edges[1]).toEqual({ source: 2, sourcePort: null, target: 3, targetPort: null });
  });

  it('function values must be "module.function"', () => {
    for (const value of ['', 'add', '.add', 'math.']) {
      const wf = base();
      wf.nodes[0]!.value = value;
      expect(issuesOf(wf)).toEqual([`nodes[0] (id 0).value: "${value}" is not in "module.function" form (at least one period, not at either end)`]);
    }
  });

  it('the node type must be function, input or output', () => {
    const wf = base();
    wf.nodes[2]!.type = 'constant';
    expect(issuesOf(wf)).toEqual(['nodes[2] (id 2).type: type must be "function", "input" or "output"']);
  });

  it('input values must be JSON, named where they are not', () => {
    const wf = base();
    wf.nodes[1]!.value = { kpts: [3, 3, Number.POSITIVE_INFINITY] };
    expect(issuesOf(wf)).toEqual(['nodes[1] (id 1).value.kpts[2]: Infinity is not a JSON value']);
  });

  it('"__result__" is reserved', () => {
    const wf = base();
    wf.edges[2]!.sourcePort = '__result__';
    expect(issuesOf(wf)).toEqual(['edges[2].sourcePort: "__result__" is reserved: use null for the whole return value']);
  });

  it('shape errors name the field', () => {
    expect(issuesOf({ version: 1, nodes: [], edges: 'none' })).toEqual([
      'version: must be the format version as a string, e.g. "0.1.0"',
      'edges: must be an array of edges',
    ]);
    const wf = base();
    wf.nodes[1]!.id = 1.5;
    wf.edges[0]!.target = '0';
    expect(issuesOf(wf)).toEqual(['nodes[1].id: must be an integer node id', 'edges[0].target: must be an integer node id']);
  });
});

describe('graph rules: each names the node or edge at fault', () => {
  it('edges to unknown nodes', () => {
    const wf = base();
    wf.edges.push({ target: 7, targetPort: 'z', source: 2, sourcePort: null }, { target: 0, targetPort: 'w', source: 9, sourcePort: null });
    expect(issuesOf(wf)).toEqual(['edges[3]: target 7 is not a node id', 'edges[4]: source 9 is not a node id']);
  });

  it('duplicate ids', () => {
    const wf = base();
    wf.nodes.push({ id: 2, type: 'input', name: 'z', value: 3 });
    expect(issuesOf(wf)).toEqual(['nodes[4].id: id 2 is already used by nodes[2]']);
  });

  it('edges into inputs and out of outputs', () => {
    const wf = base();
    wf.edges.push({ target: 1, targetPort: 'v', source: 0, sourcePort: null }, { target: 0, targetPort: 'z', source: 3, sourcePort: null });
    const issues = issuesOf(wf);
    expect(issues).toContain('edges[3]: target 1 is an input node ("x"); inputs take no edges');
    expect(issues).toContain('edges[4]: source 3 is an output node ("result"); outputs feed nothing');
  });

  it('a function argument must be named, and fed once', () => {
    const wf = base();
    wf.edges[1]!.targetPort = null;
    wf.edges.push({ target: 0, targetPort: 'x', source: 2, sourcePort: null });
    expect(issuesOf(wf)).toEqual([
      'edges[1]: targetPort is null, but target 0 is a function (workflow.get_sum) and needs the argument name',
      'edges[3]: argument "x" of target 0 (workflow.get_sum) is already fed by edges[0]',
    ]);
  });

  it('an output is fed once', () => {
    const wf = base();
    wf.edges.push({ target: 3, targetPort: null, source: 1, sourcePort: null });
    expect(issuesOf(wf)).toEqual(['edges[3]: output 3 ("result") is already fed by edges[2]']);
  });

  it('cycles', () => {
    const wf = base();
    wf.nodes.push({ id: 4, type: 'function', value: 'workflow.get_square' });
    wf.edges.push({ target: 4, targetPort: 'x', source: 0, sourcePort: null }, { target: 0, targetPort: 'z', source: 4, sourcePort: null });
    expect(issuesOf(wf)).toEqual(['edges: cycle through nodes 0 → 4 → 0']);
  });

  it('the error message lists every issue', () => {
    const wf = base();
    wf.edges.push({ target: 7, targetPort: 'z', source: 2, sourcePort: null });
    expect(() => validatePwd(wf)).toThrow('invalid PWD workflow: edges[3]: target 7 is not a node id');
  });
});
