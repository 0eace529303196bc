/**
 * The production-topology stack itself (test/support/full-server.ts): the full Temporal server 1.32.1 on a
 * private PostgreSQL answers, stops answering when SIGKILLed, comes back on the same database, survives a
 * PostgreSQL restart, and with `tls: true` serves mTLS that its own system worker can use too.
 */
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { msNumberToTs } from '@temporalio/common/lib/time.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { alive, sleep } from '../../src/process.ts';
import { describeFullServer, fullStackClientTls, startFullStack, type FullStack } from '../support/full-server.ts';

/** Connects, runs `fn`, always closes (a failed connect must not leave a channel retrying in the background). */
async function withConnection<T>(options: ConnectionOptions, fn: (c: Connection) => Promise<T>): Promise<T> {
  const c = Connection.lazy({ connectTimeout: 5_000, ...options });
  try {
    await c.ensureConnected();
    return await fn(c);
  } finally {
    await c.close().catch(() => undefined);
  }
}
const namespaces = (c: Connection) => c.workflowService.listNamespaces({}).then((r) => r.namespaces.map((n) => n.namespaceInfo?.name).sort());
const registerNamespace = (c: Connection, namespace: string) =>
  c.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msNumberToTs(86_400_000) });

describeFullServer('full Temporal server on PostgreSQL', () => {
  let stack: FullStack;
  beforeAll(async () => {
    stack = await startFullStack({ name: 'smoke' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers as server 1.32.1 and creates no namespace but its own', async () => {
    await withConnection({ address: stack.address }, async (c) => {
      expect((await c.workflowService.getSystemInfo({})).serverVersion).toBe('1.32.1');
      expect(await namespaces(c)).toEqual(['temporal-system']);
    });
  });

  it('stops answering when SIGKILLed and comes back on the same database', async () => {
    await withConnection({ address: stack.address }, (c) => registerNamespace(c, 'before-kill'));
    const pid = stack.serverPid!;
    await stack.killServer();
    expect(alive(pid)).toBe(false);
    expect(stack.serverPid).toBeUndefined();
    await expect(withConnection({ address: stack.address, connectTimeout: 1_000 }, async () => undefined)).rejects.toThrow();

    await stack.startServer();
    expect(stack.serverPid).not.toBe(pid);
    await withConnection({ address: stack.address }, async (c) => {
      expect(await namespaces(c)).toEqual(['before-kill', 'temporal-system']);
    });
  });

  it('keeps working across a PostgreSQL restart', async () => {
    const pid = stack.serverPid!;
    await stack.restartPostgres();
    await withConnection({ address: stack.address }, async (c) => {
      expect(await namespaces(c)).toContain('temporal-system'); // a read through the dropped connection pool
      await registerNamespace(c, 'after-pg-restart'); // and a write
      expect(await namespaces(c)).toEqual(['after-pg-restart', 'before-kill', 'temporal-system']);
    });
    expect(stack.serverPid).toBe(pid);
    expect(alive(pid)).toBe(true);
  });
});

describeFullServer('full Temporal server with mTLS on the frontend', () => {
  let stack: FullStack;
  beforeAll(async () => {
    stack = await startFullStack({ name: 'tls', tls: true });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('serves clients that trust its CA and present a certificate signed by it', async () => {
    await withConnection({ address: stack.address, tls: fullStackClientTls(stack.tls!) }, async (c) => {
      expect((await c.workflowService.getSystemInfo({})).serverVersion).toBe('1.32.1');
    });
  });

  it("lets the server's own system worker through (global.tls.systemWorker)", async () => {
    // Without systemWorker TLS settings the worker service dials the TLS port in plain text and never polls.
    await withConnection({ address: stack.address, tls: fullStackClientTls(stack.tls!) }, async (c) => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const { pollers } = await c.workflowService.describeTaskQueue({ namespace: 'temporal-system', taskQueue: { name: 'temporal-sys-tq-scanner-taskqueue-0' } });
        if (pollers.length > 0) break;
        if (Date.now() > deadline) expect.fail('no system worker polls temporal-sys-tq-scanner-taskqueue-0');
        await sleep(200);
      }
    });
  });

  it('refuses a client with the wrong CA, without a client certificate, or in plain text', async () => {
    const tls = stack.tls!;
    // grpc-js only says "Failed to connect before the deadline"; the same deadline suffices with the right settings.
    const connect = (options: ConnectionOptions) => withConnection({ address: stack.address, connectTimeout: 1_000, ...options }, async () => undefined);
    await connect({ tls: fullStackClientTls(tls) });
    await expect(connect({ tls: fullStackClientTls(tls, tls.wrongCaFile) })).rejects.toThrow();
    await expect(connect({ tls: { ...fullStackClientTls(tls), clientCertPair: undefined } })).rejects.toThrow();
    await expect(connect({})).rejects.toThrow();
  });
});
