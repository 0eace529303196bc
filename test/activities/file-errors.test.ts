/**
 * File errors by what trying again can change (issue 22.2): a full disk, a stale handle or an I/O error is
 * retried by Temporal; a missing path, a directory where a file belongs or a refused access fails at once.
 * The errors come from the real file system where it can produce them (/dev/full answers every write with
 * ENOSPC), and from the SFTP statuses OpenSSH's sftp-server sends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectionError, isPermanentFileCode, LocalTransport, TransportFileError } from '../../src/activities/transport/index.ts';
import { fileError } from '../../src/activities/transport/local.ts';
import { sftpFileError } from '../../src/activities/transport/ssh.ts';

const dir = mkdtempSync(join(tmpdir(), 'crystalmath-file-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const failureOf = (p: Promise<unknown>) => p.then(() => expect.unreachable('it should have failed'), (e: unknown) => e as TransportFileError);

describe('file errors: transient ones retried, permanent ones not', () => {
  it('a full disk (ENOSPC from /dev/full) is retryable, and the message names the path and the errno', async () => {
    const err = await failureOf(new LocalTransport().writeFile('/dev/full', 'x'.repeat(10_000)));
    expect(err).toBeInstanceOf(TransportFileError);
    expect(err).toMatchObject({ code: 'ENOSPC', path: '/dev/full', retryable: true, nonRetryable: false });
    expect(err.message).toMatch(/^writeFile \/dev\/full: ENOSPC: /);
  });

  it('a missing file, or a directory where a file belongs, fails at once', async () => {
    const missing = await failureOf(new LocalTransport().readFile(join(dir, 'missing')));
    expect(missing).toMatchObject({ code: 'ENOENT', retryable: false, nonRetryable: true });
    const isDir = await failureOf(new LocalTransport().writeFile(dir, 'x'));
    expect(isDir).toMatchObject({ code: 'EISDIR', retryable: false, nonRetryable: true });
    expect(isDir.message).toContain(dir);
  });

  it('keeps the errno of every fs error (a stale NFS handle, EIO, EAGAIN are retried; EACCES, EPERM are not)', async () => {
    const errno = (code: string) => Object.assign(new Error(`${code}: simulated, open '/scratch/x'`), { code });
    for (const code of ['ESTALE', 'EIO', 'EAGAIN', 'EBUSY', 'EDQUOT', 'ETIMEDOUT', 'ECONNRESET', 'EMFILE']) {
      expect(fileError(errno(code), 'readFile', '/scratch/x'), code).toMatchObject({ code, retryable: true });
    }
    for (const code of ['EACCES', 'EPERM', 'ENOTDIR', 'EISDIR', 'EINVAL', 'ENAMETOOLONG']) {
      expect(fileError(errno(code), 'readFile', '/scratch/x'), code).toMatchObject({ code, retryable: false });
    }
    expect(fileError(errno('ESTALE'), 'readFile', '/scratch/x').message).toBe("readFile /scratch/x: ESTALE: ESTALE: simulated, open '/scratch/x'");
    expect(isPermanentFileCode('ENOSPC')).toBe(false);
  });

  it('SFTP: "Failure" (how sftp-server reports ENOSPC, EDQUOT, EIO, ESTALE) is retried; no such file and permission denied are not', () => {
    const at = 'writeFile /scratch/w/pw.in on hpc';
    const failure = sftpFileError(4, 'Failure', at, '/scratch/w/pw.in')!;
    expect(failure).toMatchObject({ code: 'EIO', retryable: true, path: '/scratch/w/pw.in' });
    expect(failure.message).toMatch(/^writeFile \/scratch\/w\/pw\.in on hpc: SFTP status 4 \(Failure; the server names no errno: a full disk/);
    expect(sftpFileError(2, 'No such file', at, '/p')).toMatchObject({ code: 'ENOENT', retryable: false });
    expect(sftpFileError(3, 'Permission denied', at, '/p')).toMatchObject({ code: 'EACCES', retryable: false });
    expect(sftpFileError(5, 'Bad message', at, '/p')).toMatchObject({ code: 'EINVAL', retryable: false });
    expect(sftpFileError(8, 'Operation unsupported', at, '/p')).toMatchObject({ code: 'ENOSYS', retryable: false });
    // No connection / connection lost: the transport turns these into a (retryable) ConnectionError.
    expect(sftpFileError(6, 'No connection', at, '/p')).toBeUndefined();
    expect(sftpFileError(7, 'Connection lost', at, '/p')).toBeUndefined();
    expect(new ConnectionError('lost', 'h', 22).retryable).toBe(true);
  });

  it('an error from writing a real file keeps its own code', async () => {
    const e = await writeFile(join(dir, 'no-such-dir', 'f'), 'x').catch((x: unknown) => x);
    expect(fileError(e, 'writeFile', join(dir, 'no-such-dir', 'f'))).toMatchObject({ code: 'ENOENT', retryable: false });
  });
});
