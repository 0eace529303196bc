/**
 * The artifact store: one small interface, a local directory by default. Later a shared path or an
 * S3-compatible bucket implements the same interface when workers run on several machines.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import type { ArtifactRef } from '../domain/artifacts.ts';

export interface ArtifactStore {
  /** Copies a file into the store under `key` and returns its reference. */
  putFile(key: string, path: string): Promise<ArtifactRef>;
  read(ref: ArtifactRef): Promise<Buffer>;
}

export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  private pathOf(key: string): string {
    const p = normalize(join(this.root, key));
    if (!p.startsWith(resolve(this.root) + sep)) throw new Error(`artifact key escapes the store: ${key}`);
    return p;
  }

  async putFile(key: string, path: string): Promise<ArtifactRef> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    // Copy then rename so a reader never sees half a file, and a retried activity simply overwrites.
    await copyFile(path, `${target}.part`);
    await rename(`${target}.part`, target);
    const data = await readFile(target);
    return { key, uri: pathToFileURL(target).href, sha256: createHash('sha256').update(data).digest('hex'), bytes: (await stat(target)).size };
  }

  async read(ref: ArtifactRef): Promise<Buffer> {
    const data = await readFile(ref.uri.startsWith('file:') ? fileURLToPath(ref.uri) : this.pathOf(ref.key));
    const sum = createHash('sha256').update(data).digest('hex');
    if (sum !== ref.sha256) throw new Error(`artifact ${ref.key} changed since it was stored (sha256 ${sum} != ${ref.sha256})`);
    return data;
  }
}
