#!/usr/bin/env bash
# scripts/slurm/down.sh — stop the single-node SLURM cluster started by scripts/slurm/up.sh.
#
#   down.sh           cancel the remaining jobs, then stop slurmd, slurmctld, slurmdbd, mariadbd, munged
#   down.sh --purge   also delete the cluster's state and logs and drop the accounting database
#                     (the next up.sh starts a brand-new cluster; job ids restart at 1)
#
# Only daemons started by up.sh are stopped: those its pid files in $GANBENCH_SLURM_DIR/run name,
# and slurm daemons working in $GANBENCH_SLURM_DIR that an earlier run lost track of. A munge or
# MariaDB that was already running before up.sh is left alone. The packages stay installed.
# Safe to run when nothing is running (exit 0). Same knob as up.sh: GANBENCH_SLURM_DIR.
set -uo pipefail

DIR=$(realpath -m "${GANBENCH_SLURM_DIR:-/tmp/ganbench-slurm}")
PURGE=0
for arg in "$@"; do
  case $arg in
    --purge) PURGE=1 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "down.sh: unknown argument '$arg' (only --purge)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  # nothing of ours can be running: done, without asking for root
  if ! compgen -G "$DIR/run/*.pid" >/dev/null && { [ $PURGE = 0 ] || [ ! -e "$DIR" ]; } &&
    ! ps -eo stat=,comm= | awk '$1 !~ /^Z/ && $2 ~ /^(slurmd|slurmctld|slurmdbd)$/ {f=1} END {exit !f}'; then
    echo "[slurm-down] nothing to stop"
    exit 0
  fi
  command -v sudo >/dev/null || { echo "down.sh: must run as root (no sudo found)" >&2; exit 1; }
  exec sudo env GANBENCH_SLURM_DIR="$DIR" bash "$0" "$@"
fi
RUN=$DIR/run
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "[slurm-down] $*"; }

# running PID NAME: PID is a process called NAME with a live thread (a zombie is not running; a
# process whose main thread exited shows as a zombie while its other threads still run)
running() {
  local states
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 1
  # one state letter per thread: what follows the ") " that ends the name in .../task/*/stat
  states=$(cat /proc/"$1"/task/*/stat 2>/dev/null | sed 's/.*) //' | cut -c1 | tr -d '\n') || true
  [[ $states == *[!ZX]* ]]
}
pid_of() { [ -s "$RUN/$1.pid" ] && cat "$RUN/$1.pid" 2>/dev/null; }   # pid_of NAME
# ours NAME: live NAME processes working in $DIR (slurm daemons chdir to their log dir)
ours() {
  local pid
  for pid in $(pgrep -x "$1"); do
    running "$pid" "$1" || continue
    case $(readlink "/proc/$pid/cwd" 2>/dev/null) in "$DIR"/*) echo "$pid" ;; esac
  done
}

# stop_pid PID NAME: SIGTERM, wait up to 20 s, then SIGKILL
stop_pid() {
  local pid=$1 name=$2 _
  running "$pid" "$name" || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do running "$pid" "$name" || break; sleep 0.2; done
  if running "$pid" "$name"; then
    say "$name ($pid) ignored SIGTERM for 20 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  fi
  say "stopped $name ($pid)"
}
# stop NAME: the daemon that $RUN/NAME.pid names
stop() {
  local pid
  pid=$(pid_of "$1") && stop_pid "$pid" "$1"
  rm -f "$RUN/$1.pid"
}

# 1. Cancel the jobs first: their processes (slurmstepd, python) would otherwise outlive slurmd,
#    and a restarted cluster would find them in its saved state.
if { pid=$(pid_of slurmctld) && running "$pid" slurmctld; } || [ -n "$(ours slurmctld)" ]; then
  mapfile -t jobs < <(squeue -h -o %A 2>/dev/null | sort -u)
  if [ ${#jobs[@]} -gt 0 ]; then
    say "cancelling jobs: ${jobs[*]}"
    scancel "${jobs[@]}" 2>/dev/null
    for _ in $(seq 1 100); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
    [ -z "$(squeue -h 2>/dev/null)" ] || say "warning: jobs still listed after 20 s: $(squeue -h -o %A | tr '\n' ' ')"
  fi
fi

# 2. Daemons, in reverse order of start. The database is dropped while mariadbd still runs.
for d in slurmd slurmctld slurmdbd; do stop "$d"; done
for d in slurmd slurmctld slurmdbd; do   # lost track of (a pid file overwritten or deleted)
  for pid in $(ours "$d"); do say "$d ($pid) has no pid file but runs in $DIR"; stop_pid "$pid" "$d"; done
done
if [ $PURGE = 1 ] && pid=$(pid_of mariadbd) && running "$pid" mariadbd; then
  mariadb -e 'DROP DATABASE IF EXISTS slurm_acct_db' && say "dropped database slurm_acct_db"
fi
for d in mariadbd munged; do stop "$d"; done

# 3. --purge: state and logs (the pid dir is empty by now)
if [ $PURGE = 1 ]; then
  rm -rf "$DIR/state" "$DIR/log" "$DIR/run" "$DIR/apt.log"
  rmdir "$DIR" 2>/dev/null || true
  say "purged $DIR"
fi
say "done"
exit 0
