#!/usr/bin/env bash
# A real single-node SLURM cluster (munge, slurmctld, slurmd) reached through a real sshd on loopback, for
# development and the integration tests. Debian packages only (slurm-wlm, munge, openssh-server); installed
# with apt-get when missing and running as root, otherwise the script says what to install.
#
#   scripts/local-cluster.sh start [--port N]   start whatever is not running (idempotent); prints the profile path
#   scripts/local-cluster.sh stop               stop slurmd, slurmctld and sshd (by pid files); munge keeps running
#   scripts/local-cluster.sh restart [--port N] stop, then start
#   scripts/local-cluster.sh status             one line per daemon; exit 0 only when all of them run
#   scripts/local-cluster.sh env                `export ...` lines: eval "$(scripts/local-cluster.sh env)"
#   scripts/local-cluster.sh ssh [command...]   log in to the loopback sshd with the generated key
#
# Everything lives under one state directory, ${CRYSTALMATH_CLUSTER_STATE:-/tmp/crystalmath-local-cluster}:
#   slurm/   slurm.conf, state, spool, pid and log files, jobcomp.txt (one line per finished job)
#   ssh/     sshd_config, host key, client key (id_ed25519), authorized_keys, known_hosts, sshd.pid, sshd.log
#   clusters/local-slurm.yaml   the CrystalMath cluster profile of this cluster (scheduler slurm, over SSH)
#   work/ scratch/              the profile's work and scratch directories
# Nothing outside it changes except: Debian packages, the munge daemon (and its key when missing), /run/sshd.
# The client key is authorised through sshd's AuthorizedKeysFile in the state directory: ~/.ssh is untouched.
#
# Environment: CRYSTALMATH_CLUSTER_STATE (state directory), CRYSTALMATH_CLUSTER_SSH_PORT (default 2222).
# Exit status: 0 ok, 1 failure, 2 usage, 3 packages missing and not installable here (not root, no sudo).
set -euo pipefail

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

cmd="${1:-}"
[ -n "$cmd" ] || usage
shift
STATE="${CRYSTALMATH_CLUSTER_STATE:-/tmp/crystalmath-local-cluster}"
PORT="${CRYSTALMATH_CLUSTER_SSH_PORT:-}"
while [ $# -gt 0 ] && [ "$cmd" != ssh ]; do
  case "$1" in
    --port) PORT="${2:?--port needs a value}"; shift 2 ;;
    --port=*) PORT="${1#--port=}"; shift ;;
    --state) STATE="${2:?--state needs a value}"; shift 2 ;;
    --state=*) STATE="${1#--state=}"; shift ;;
    -h|--help) usage ;;
    *) echo "local-cluster: unknown argument: $1" >&2; usage ;;
  esac
done
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"

SLURM_DIR="$STATE/slurm"
SSH_DIR="$STATE/ssh"
PROFILE_DIR="$STATE/clusters"
PROFILE="$PROFILE_DIR/local-slurm.yaml"
SLURM_CONF_FILE="$SLURM_DIR/slurm.conf"
SLURMCTLD_PID="$SLURM_DIR/run/slurmctld.pid"
SLURMD_PID="$SLURM_DIR/run/slurmd.pid"
SSHD_PID="$SSH_DIR/sshd.pid"
PORT_FILE="$SSH_DIR/port"
export SLURM_CONF="$SLURM_CONF_FILE"
HOST="$(hostname)"
ME="$(id -un)"

log() { echo "local-cluster: $*" >&2; }
die() { echo "local-cluster: error: $*" >&2; exit 1; }

# --- packages ---------------------------------------------------------------------------------------------
missing_packages() {
  local pkgs=()
  { [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && command -v sinfo >/dev/null && command -v sbatch >/dev/null; } || pkgs+=(slurm-wlm)
  { [ -x /usr/sbin/munged ] && command -v munge >/dev/null && command -v unmunge >/dev/null; } || pkgs+=(munge)
  { [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null; } || pkgs+=(openssh-server)
  echo "${pkgs[*]:-}"
}

ensure_packages() {
  local missing
  missing="$(missing_packages)"
  [ -z "$missing" ] && return 0
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "local-cluster: missing Debian packages: $missing" >&2
      echo "local-cluster: install them as root, then run this script again:" >&2
      echo "  sudo apt-get install -y $missing" >&2
      exit 3
    fi
  fi
  log "installing Debian packages: $missing"
  # Keep maintainer scripts from starting the distribution's own daemons (sshd on :22, munge, slurm) where no
  # policy says otherwise: everything this script runs, it starts itself.
  local policy=/usr/sbin/policy-rc.d own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    own_policy=1
  fi
  # shellcheck disable=SC2086
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
    "${sudo[@]}" apt-get update -qq
    # shellcheck disable=SC2086
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
  [ -n "$own_policy" ] && "${sudo[@]}" rm -f "$policy"
  missing="$(missing_packages)"
  [ -z "$missing" ] || die "still missing after apt-get install: $missing"
}

# --- process helpers --------------------------------------------------------------------------------------
# The pid in $1 when that process runs and its command name starts with $2; empty otherwise.
running_pid() {
  local file="$1" name="$2" pid
  [ -s "$file" ] || return 0
  pid="$({ tr -dc '0-9' <"$file"; } 2>/dev/null || true)"
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null && [ -r "/proc/$pid/comm" ] && grep -q "^$name" "/proc/$pid/comm" \
    && ! grep -q '^[0-9]* (.*) Z' "/proc/$pid/stat" 2>/dev/null; then
    echo "$pid"
  fi
}

wait_for() { # seconds, description, command...
  local secs="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

stop_pidfile() { # file, name
  local pid
  pid="$(running_pid "$1" "$2")"
  if [ -z "$pid" ]; then
    rm -f "$1"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for 15 "$2 to stop" pid_gone "$1" "$2"; then
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$1"
  log "stopped $2 (pid $pid)"
}

pid_gone() { [ -z "$(running_pid "$1" "$2")" ]; }
pid_up() { [ -n "$(running_pid "$1" "$2")" ]; }
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# --- munge ------------------------------------------------------------------------------------------------
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  munge_ok && return 0
  [ "$(id -u)" = 0 ] || die "munge is not running and starting it needs root: sudo $0 start"
  mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 755 /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key; else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null; fi
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  runuser -u munge -- /usr/sbin/munged 2>/dev/null 9>&- || runuser -u munge -- /usr/sbin/munged --force 9>&-
  wait_for 10 munge munge_ok || die "munged started but 'munge -n | unmunge' fails (see /var/log/munge/munged.log)"
  log "started munged"
}

# --- SLURM ------------------------------------------------------------------------------------------------
write_if_changed() { # file; content on stdin
  local tmp="$1.tmp.$$"
  cat >"$tmp"
  if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

machine_cpus() { nproc; }
# 90% of MemTotal in MiB: slurmd drains a node whose RealMemory is above what it measures.
machine_mem_mb() { awk '/^MemTotal:/ { printf "%d\n", $2 / 1024 * 0.9 }' /proc/meminfo; }

write_slurm_conf() {
  mkdir -p "$SLURM_DIR/state" "$SLURM_DIR/spool" "$SLURM_DIR/run" "$SLURM_DIR/log"
  local cpus mem
  cpus="$(machine_cpus)"
  mem="$(machine_mem_mb)"
  write_if_changed "$SLURM_CONF_FILE" <<EOF
# Generated by scripts/local-cluster.sh: a single-node cluster on this machine ($HOST).
ClusterName=local
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=$ME
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=3600
InactiveLimit=0
KillWait=30
SlurmdTimeout=300
MailProg=/bin/true
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURMCTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
JobCompType=jobcomp/filetxt
JobCompLoc=$SLURM_DIR/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# Preemption, as busy clusters do it: a job in "urgent" (higher tier) cancels jobs of "debug" it needs room
# from; they end as PREEMPTED (the recovery tests resubmit such jobs).
PreemptType=preempt/partition_prio
PreemptMode=CANCEL
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP PriorityTier=1
PartitionName=urgent Nodes=$HOST MaxTime=INFINITE State=UP PriorityTier=10
EOF
}

slurmctld_up() { pid_up "$SLURMCTLD_PID" slurmctld && scontrol ping 2>/dev/null | grep -q UP; }
node_state() { sinfo -h -n "$HOST" -o '%t' 2>/dev/null | head -n1; }
node_idle() { case "$(node_state)" in idle | mix | alloc) return 0 ;; *) return 1 ;; esac; }

start_slurm() {
  if [ -z "$(running_pid "$SLURMCTLD_PID" slurmctld)" ]; then
    /usr/sbin/slurmctld -i -f "$SLURM_CONF_FILE" 9>&- || die "slurmctld did not start (see $SLURM_DIR/log/slurmctld.log)"
    wait_for 20 slurmctld slurmctld_up \
      || die "slurmctld is not answering (see $SLURM_DIR/log/slurmctld.log)"
    log "started slurmctld (pid $(running_pid "$SLURMCTLD_PID" slurmctld))"
  fi
  if [ -z "$(running_pid "$SLURMD_PID" slurmd)" ]; then
    /usr/sbin/slurmd -f "$SLURM_CONF_FILE" 9>&- || die "slurmd did not start (see $SLURM_DIR/log/slurmd.log)"
    wait_for 20 slurmd pid_up "$SLURMD_PID" slurmd || die "slurmd exited (see $SLURM_DIR/log/slurmd.log)"
    log "started slurmd (pid $(running_pid "$SLURMD_PID" slurmd))"
  fi
  if ! wait_for 30 "node idle" node_idle; then
    # A node left down or drained by an earlier run: resume it once, then wait again.
    scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
    wait_for 30 "node idle" node_idle || die "node $HOST is '$(node_state)', not idle (see $SLURM_DIR/log/)"
  fi
}

# --- sshd -------------------------------------------------------------------------------------------------
write_ssh_files() {
  mkdir -p "$SSH_DIR"
  chmod 700 "$SSH_DIR"
  [ -s "$SSH_DIR/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "crystalmath-local-cluster-host" -f "$SSH_DIR/ssh_host_ed25519_key"
  [ -s "$SSH_DIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "crystalmath-local-cluster-client" -f "$SSH_DIR/id_ed25519"
  write_if_changed "$SSH_DIR/authorized_keys" <"$SSH_DIR/id_ed25519.pub"
  chmod 600 "$SSH_DIR/authorized_keys" "$SSH_DIR/id_ed25519" "$SSH_DIR/ssh_host_ed25519_key"
  echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$SSH_DIR/ssh_host_ed25519_key.pub")" | write_if_changed "$SSH_DIR/known_hosts"
  # StrictModes no: the key files sit under /tmp (world-writable), which strict modes refuse.
  # SetEnv SLURM_CONF: commands run over SSH (sinfo, sbatch, scontrol) find this cluster's configuration.
  write_if_changed "$SSH_DIR/sshd_config" <<EOF
# Generated by scripts/local-cluster.sh: key-only sshd on loopback for the local SLURM cluster.
Port $PORT
ListenAddress 127.0.0.1
HostKey $SSH_DIR/ssh_host_ed25519_key
PidFile $SSHD_PID
AuthorizedKeysFile $SSH_DIR/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthenticationMethods publickey
UsePAM no
StrictModes no
PrintMotd no
X11Forwarding no
AllowAgentForwarding no
AllowTcpForwarding no
MaxSessions 10
MaxStartups 100:30:200
SetEnv SLURM_CONF=$SLURM_CONF_FILE
Subsystem sftp internal-sftp
EOF
}

sshd_up() { pid_up "$SSHD_PID" sshd && port_open "$PORT"; }
start_sshd() {
  if [ -n "$(running_pid "$SSHD_PID" sshd)" ]; then return 0; fi
  if port_open "$PORT"; then die "port 127.0.0.1:$PORT is taken by another process; choose another with --port N"; fi
  [ "$(id -u)" != 0 ] || { mkdir -p /run/sshd; chmod 755 /run/sshd; }
  /usr/sbin/sshd -t -f "$SSH_DIR/sshd_config" || die "sshd rejects $SSH_DIR/sshd_config"
  /usr/sbin/sshd -f "$SSH_DIR/sshd_config" -E "$SSH_DIR/sshd.log" 9>&- || die "sshd did not start (see $SSH_DIR/sshd.log)"
  wait_for 10 sshd sshd_up || die "sshd is not listening on 127.0.0.1:$PORT (see $SSH_DIR/sshd.log)"
  log "started sshd on 127.0.0.1:$PORT (pid $(running_pid "$SSHD_PID" sshd))"
}

# --- the cluster profile ----------------------------------------------------------------------------------
write_profile() {
  mkdir -p "$PROFILE_DIR" "$STATE/work" "$STATE/scratch"
  local cpus mem_gb host_key
  cpus="$(machine_cpus)"
  mem_gb=$(($(machine_mem_mb) / 1024))
  [ "$mem_gb" -ge 1 ] || mem_gb=1
  host_key="$(cat "$SSH_DIR/known_hosts")"
  write_if_changed "$PROFILE" <<EOF
# Generated by scripts/local-cluster.sh (regenerated on every start): the single-node SLURM cluster on this
# machine, reached over SSH like a remote one. Load it with getClusterProfile('local-slurm') after
#   eval "\$(scripts/local-cluster.sh env)"
name: local-slurm
description: Single-node SLURM on $HOST behind a key-only sshd on 127.0.0.1:$PORT (scripts/local-cluster.sh)
scheduler: slurm
host: 127.0.0.1
port: $PORT
user: $ME
auth:
  type: key
  keyFile: $SSH_DIR/id_ed25519
knownHostsFile: $SSH_DIR/known_hosts
hostKeys:
  - "$host_key"
workDir: $STATE/work
scratchDir: $STATE/scratch
pollIntervalSeconds: 2
partitions:
  - name: debug
    default: true
    nodes: 1
    coresPerNode: $cpus
    memoryGb: $mem_gb
    maxWalltime: "1-00:00:00"
mpi:
  launcher: mpirun
  args: ["-np", "{ranks}"]
environment:
  OMPI_ALLOW_RUN_AS_ROOT: "1"
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1"
executables:
  qe-pw: { executable: pw.x }
  qe-ph: { executable: ph.x }
  qe-q2r: { executable: q2r.x }
  qe-matdyn: { executable: matdyn.x }
  qe-dos: { executable: dos.x }
  qe-projwfc: { executable: projwfc.x }
  qe-bands: { executable: bands.x }
  qe-pp: { executable: pp.x }
  qe-pw2wannier90: { executable: pw2wannier90.x }
  wannier90: { executable: wannier90.x, mpi: false }
EOF
}

# --- commands ---------------------------------------------------------------------------------------------
resolve_port() {
  local saved=""
  [ -s "$PORT_FILE" ] && saved="$(cat "$PORT_FILE")"
  if [ -n "$(running_pid "$SSHD_PID" sshd)" ] && [ -n "$saved" ]; then
    if [ -n "$PORT" ] && [ "$PORT" != "$saved" ]; then
      die "sshd already runs on port $saved; run '$0 stop' first to move it to $PORT"
    fi
    PORT="$saved"
  fi
  PORT="${PORT:-${saved:-2222}}"
  case "$PORT" in '' | *[!0-9]*) die "port must be a number, got '$PORT'" ;; esac
}

all_running() {
  [ -n "$(running_pid "$SLURMCTLD_PID" slurmctld)" ] && [ -n "$(running_pid "$SLURMD_PID" slurmd)" ] \
    && [ -n "$(running_pid "$SSHD_PID" sshd)" ] && munge_ok
}

do_start() {
  ensure_packages
  mkdir -p "$SSH_DIR"
  # The lock's descriptor (9) is closed for every daemon started below, so it ends with this script.
  exec 9>"$STATE/.lock"
  flock -w 120 9 || die "another '$0 start' holds $STATE/.lock"
  resolve_port
  if all_running && [ -s "$PROFILE" ] && node_idle; then
    log "already running (sshd 127.0.0.1:$PORT)"
    echo "$PROFILE"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then die "starting slurmd needs root: sudo $0 start"; fi
  echo "$PORT" >"$PORT_FILE"
  write_ssh_files
  write_slurm_conf
  start_munge
  start_slurm
  start_sshd
  write_profile
  log "ready: sinfo shows $HOST $(node_state); ssh root@127.0.0.1 -p $PORT; profile $PROFILE"
  echo "$PROFILE"
}

do_stop() {
  stop_pidfile "$SLURMD_PID" slurmd
  stop_pidfile "$SLURMCTLD_PID" slurmctld
  stop_pidfile "$SSHD_PID" sshd
}

do_status() {
  local ok=0 pid
  for d in slurmctld:"$SLURMCTLD_PID" slurmd:"$SLURMD_PID" sshd:"$SSHD_PID"; do
    pid="$(running_pid "${d#*:}" "${d%%:*}")"
    if [ -n "$pid" ]; then echo "${d%%:*}: running (pid $pid)"; else echo "${d%%:*}: stopped"; ok=1; fi
  done
  if command -v munge >/dev/null && munge_ok; then echo "munge: running"; else echo "munge: not running"; ok=1; fi
  if [ -s "$PORT_FILE" ]; then echo "ssh: 127.0.0.1:$(cat "$PORT_FILE") (user $ME, key $SSH_DIR/id_ed25519)"; fi
  if [ -n "$(running_pid "$SLURMCTLD_PID" slurmctld)" ]; then echo "node: $HOST $(node_state)"; fi
  [ -s "$PROFILE" ] && echo "profile: $PROFILE"
  echo "state: $STATE"
  return $ok
}

do_env() {
  printf 'export CRYSTALMATH_CLUSTER_STATE=%q\n' "$STATE"
  printf 'export CRYSTALMATH_CLUSTERS_DIR=%q\n' "$PROFILE_DIR"
  printf 'export SLURM_CONF=%q\n' "$SLURM_CONF_FILE"
}

do_ssh() {
  [ -s "$PORT_FILE" ] || die "not started: $0 start"
  exec ssh -i "$SSH_DIR/id_ed25519" -p "$(cat "$PORT_FILE")" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$SSH_DIR/known_hosts" -o StrictHostKeyChecking=yes "$ME@127.0.0.1" "$@"
}

case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  restart) do_stop; do_start ;;
  status) do_status ;;
  env) do_env ;;
  ssh) do_ssh "$@" ;;
  -h | --help | help) usage ;;
  *) echo "local-cluster: unknown command: $cmd" >&2; usage ;;
esac
