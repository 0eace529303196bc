#!/usr/bin/env bash
# Records this release's workflow histories into test/workflows/histories/<package.json version>/, with the
# checksum of the workflow sources beside them (workflow-sources.sha256), by running every test file that
# records one (those calling recordHistory). Run as root after bumping the version: the SLURM histories come
# from the local cluster (scripts/local-cluster.sh). test/workflows/replay.test.ts then replays them.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(grep -rl --include='*.test.ts' 'recordHistory(' test | sort)
echo "recording into test/workflows/histories/$(node -p 'require("./package.json").version')/: ${files[*]}"
CRYSTALMATH_RECORD_HISTORIES=1 npx vitest run "${files[@]}"
