import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { remoteCommandLine } from '../../../src/activities/transport/types.ts';

const canary = join(tmpdir(), `crystalmath-pwned-${process.pid}`);
const NASTY = ["it's", "'; rm -rf / #", `$(touch ${canary})`, `'; touch ${canary}; '`, '`id`', 'a b\tc\nd', '*', '$HOME', '"q"', '\\', '-n', '', 'x;y|z&w>v<u'];

describe('remoteCommandLine', () => {
  it('quotes every word so the shell gives back exactly the argv', () => {
    const { line } = remoteCommandLine(['printf', '%s\\0', ...NASTY]);
    const r = spawnSync('/bin/sh', ['-c', line], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(NASTY);
    expect(existsSync(canary)).toBe(false);
  });

  it('quotes cwd and env values too', () => {
    const { line } = remoteCommandLine(['sh', '-c', 'printf "%s|%s" "$PWD" "$V"'], { cwd: '/', env: { V: "'; touch /tmp/pwned #$(id)" } });
    expect(line).toBe(`cd / && env 'V='\\''; touch /tmp/pwned #$(id)' sh -c 'printf "%s|%s" "$PWD" "$V"'`);
    const r = spawnSync('/bin/sh', ['-c', line], { encoding: 'utf8' });
    expect(r.stdout).toBe("/|'; touch /tmp/pwned #$(id)");
  });

  it('keeps a first word with = a command name, not an assignment', () => {
    expect(remoteCommandLine(['A=b', 'c']).line).toBe("'A=b' c");
    expect(() => remoteCommandLine(['A=b'], { env: { X: '1' } })).toThrow(/cannot run with env/);
  });

  it('sends scripts on stdin to /bin/sh -s', () => {
    expect(remoteCommandLine({ script: 'echo hi\n' }, { cwd: '/tmp dir' })).toEqual({ line: "cd '/tmp dir' && /bin/sh -s", stdin: 'echo hi\n' });
  });

  it('runs under coreutils timeout when asked to stop it on the far side', () => {
    expect(remoteCommandLine(['sleep', '60'], { env: { A: '1' }, killAfterSeconds: 2.2 }).line).toBe('env A=1 timeout -s KILL 3 sleep 60');
    expect(remoteCommandLine({ script: 'x' }, { killAfterSeconds: 5 }).line).toBe('timeout -s KILL 5 /bin/sh -s');
  });

  it('refuses empty argv and bad variable names', () => {
    expect(() => remoteCommandLine([])).toThrow(/empty argv/);
    expect(() => remoteCommandLine(['true'], { env: { 'A;B': '1' } })).toThrow(/not an environment variable name/);
  });

});
