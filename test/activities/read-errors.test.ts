/**
 * A deterministic parse failure is never retried as an infrastructure fault: every activity of createActivities
 * turns a reader's ReadError into a non-retryable ApplicationFailure (src/activities/deterministic.ts). Called
 * outside a worker, so what Temporal would see is the thrown failure itself.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asNonRetryable } from '../../src/activities/deterministic.ts';
import { createActivities } from '../../src/activities/index.ts';
import { ReadError } from '../../src/domain/read-error.ts';
import { describeShared, fixture } from '../support/shared.ts';

const FE = join(import.meta.dirname, '..', 'data', 'projwfc-noncollinear', 'fe-noncollinear');

describe('asNonRetryable', () => {
  it('a ReadError becomes a non-retryable failure typed by its kind, with its message; other errors pass unchanged', () => {
    const malformed = asNonRetryable(new ReadError({ source: 'si.dos', line: 3, reason: 'a row has 2 columns' })) as ApplicationFailure;
    expect(malformed).toBeInstanceOf(ApplicationFailure);
    expect(malformed).toMatchObject({ nonRetryable: true, type: 'MalformedOutput', message: 'si.dos line 3: a row has 2 columns' });
    const unsupported = asNonRetryable(new ReadError({ source: 'x.pdos_tot', kind: 'unsupported', reason: 'k-resolved PDOS' })) as ApplicationFailure;
    expect(unsupported).toMatchObject({ nonRetryable: true, type: 'UnsupportedFeature', message: 'x.pdos_tot: not supported yet: k-resolved PDOS' });
    const other = new Error('ECONNRESET');
    expect(asNonRetryable(other)).toBe(other);
  });
});

describeShared('analyzeDos through createActivities (issue 19: a noncollinear PDOS was retried 5 times, then failed)', () => {
  let root = '';
  let dosDir = '';
  let projwfcDir = '';
  const activities = () => createActivities({ workRoot: join(root, 'work'), pseudoRoot: join(root, 'pseudos'), artifactRoot: join(root, 'artifacts') });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'crystalmath-read-errors-'));
    dosDir = join(root, 'dos');
    projwfcDir = join(root, 'projwfc');
    mkdirSync(dosDir);
    mkdirSync(projwfcDir);
    // a real dos.x run (aiida-quantumespresso's fixture) and the real noncollinear projwfc.x run of test/data
    copyFileSync(fixture('qe', 'dos', 'default', 'aiida.dos'), join(dosDir, 'aiida.dos'));
    copyFileSync(fixture('qe', 'dos', 'default', 'aiida.out'), join(dosDir, 'dos.out'));
    for (const f of readdirSync(FE).filter((n) => n.includes('.pdos_'))) copyFileSync(join(FE, f), join(projwfcDir, f));
    copyFileSync(join(FE, 'fe.pdos.out'), join(projwfcDir, 'projwfc.out'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reads the real noncollinear projwfc.x output', async () => {
    const r = await activities().analyzeDos({ dosWorkDir: dosDir, projwfcWorkDir: projwfcDir, artifactPrefix: 'fe' });
    expect(r.lowdinCharges).toEqual([{ atom: 1, element: 'Fe', total: 7.8806 }]);
    const stored = JSON.parse(readFileSync(r.dos.uri.replace(/^file:\/\//, ''), 'utf8'));
    expect(stored.projections.map((p: { label: string }) => p.label)).toEqual(['Fe s', 'Fe d']);
  });

  it('a pdos file cut short mid-row (a run killed while writing) fails at once, non-retryable, naming the file and line', async () => {
    const d = join(projwfcDir, 'fe.pdos_atm#1(Fe)_wfc#2(d)');
    const text = readFileSync(d, 'utf8');
    writeFileSync(d, text.slice(0, text.indexOf('\n', 2000) - 20));
    const e = await activities()
      .analyzeDos({ dosWorkDir: dosDir, projwfcWorkDir: projwfcDir, artifactPrefix: 'fe' })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApplicationFailure);
    expect(e).toMatchObject({ nonRetryable: true, type: 'MalformedOutput' });
    expect((e as Error).message).toMatch(/^fe\.pdos_atm#1\(Fe\)_wfc#2\(d\) line \d+: a row has \d+ numbers for 13 columns/);
  });
});
