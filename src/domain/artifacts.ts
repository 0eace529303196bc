/**
 * References that travel through workflow history instead of file contents.
 * An artifact is a file copied into the artifact store; a remote folder is where a calculation's raw files
 * stay (AiiDA's RemoteData idea: host + path, never moved).
 */
export interface ArtifactRef {
  /** Store-relative key, e.g. `calc-Si2-scf-abc/pw/1/pw.out`. */
  key: string;
  /** Where the store keeps it, e.g. `file:///home/u/.local/share/crystalmath/artifacts/...`. */
  uri: string;
  sha256: string;
  bytes: number;
}

export interface RemoteFolder {
  /** `local` for the worker's own machine, otherwise the cluster name. */
  host: string;
  path: string;
}
