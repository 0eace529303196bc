#!/usr/bin/env bash
# Everything CrystalMath needs on a fresh Debian/Ubuntu machine, idempotent (a second run does nothing):
#   Debian packages: Quantum ESPRESSO (pw.x & co.) and its data (pseudopotentials), docker-compose (to validate
#   docker-compose.yml), SLURM + munge + OpenSSH server (the local test cluster), PostgreSQL + openssl (the
#   full-Temporal-server tests), npm dependencies from package-lock.json, and the pinned Temporal CLI (dev server +
#   Web UI) in .tools/bin. Finally links the `crystalmath` command onto PATH when npm allows it.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v pw.x >/dev/null || missing+=(quantum-espresso)
[ -f /usr/share/doc/quantum-espresso/examples/EPW/sic/pp/Si.pz-vbc.UPF.gz ] || missing+=(quantum-espresso-data)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v timeout >/dev/null || missing+=(coreutils)
# A real single-node SLURM and an sshd on loopback for the cluster tests (scripts/local-cluster.sh starts them).
command -v sbatch >/dev/null || missing+=(slurm-wlm)
command -v munged >/dev/null || [ -x /usr/sbin/munged ] || missing+=(munge)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v python3 >/dev/null || missing+=(python3 python3-pip)
# The production-topology tests: a private PostgreSQL cluster for the full Temporal server, TLS certificates.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v openssl >/dev/null || missing+=(openssl)
command -v xz >/dev/null || missing+=(xz-utils)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    echo "setup: installing Debian packages with sudo: ${missing[*]}"
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages. Install them, then run this script again:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# npm ci only when package-lock.json changed since the last install (it wipes node_modules otherwise).
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat node_modules/.crystalmath-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.crystalmath-lock-hash
fi

bash scripts/fetch-temporal.sh >/dev/null

if ! command -v crystalmath >/dev/null; then
  npm link --no-audit --no-fund --loglevel=error >/dev/null 2>&1 \
    && echo "setup: linked the crystalmath command ($(command -v crystalmath || echo "in $(npm prefix -g)/bin"))" \
    || echo "setup: could not link the crystalmath command globally; use 'npx crystalmath' from this directory"
fi
echo "setup: ready (pw.x $(command -v pw.x), temporal $(cat .tools/bin/temporal.version))"
