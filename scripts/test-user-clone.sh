#!/usr/bin/env bash
# The suite as a user's clone sees it: no ../shared beside the checkout (CRYSTALMATH_SHARED_DIR points at an
# empty directory). Runs the pure tiers (test/domain, test/symmetry) and every other file that reaches
# ../shared through the test helpers, so a fixture read at import time fails here instead of in a user's
# hands. The rest of the suite does not touch ../shared and already ran in `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
empty="$(mktemp -d)"
trap 'rm -rf "$empty"' EXIT
mapfile -t files < <(grep -rlE "support/(shared|pw-fixtures|full-server)\.ts" test --include='*.test.ts' | grep -vE '^test/(domain|symmetry)/' | sort)
echo "user-clone pass: CRYSTALMATH_SHARED_DIR=$empty (empty): test/domain test/symmetry ${files[*]}"
CRYSTALMATH_SHARED_DIR="$empty" npx vitest run test/domain test/symmetry "${files[@]}"
