/** Connecting the client side to Temporal: one place for the API, the runners and the CLI. */
import { Client } from '@temporalio/client';
import { loadSettings, temporalConnectionOf, type Settings } from '../settings.ts';
import { connectClientConnection } from '../temporal-connection.ts';

/** A client on the server and namespace Temporal's environment configuration names (TEMPORAL_ADDRESS, profiles, TLS, API key). */
export async function connectClient(settings: Settings = loadSettings()): Promise<Client> {
  const connection = await connectClientConnection(temporalConnectionOf(settings));
  return new Client({ connection, namespace: settings.namespace });
}

/** Runs `fn` with the caller's client, or with one connected for the call and closed after it. */
export async function withClient<T>(client: Client | undefined, fn: (c: Client) => Promise<T>): Promise<T> {
  if (client) return fn(client);
  const own = await connectClient();
  try {
    return await fn(own);
  } finally {
    await own.connection.close();
  }
}
