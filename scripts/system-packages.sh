#!/usr/bin/env bash
# The system parts the tests run against, installed and started when missing (Debian, as root): Slurm with
# munge for the real-cluster tests, the MariaDB that keeps Slurm's accounting, and Chromium for the browser
# tests. Elsewhere it says what is missing and leaves it: those tests then skip, or fail under CI.
set -euo pipefail

# ensure WHAT "PACKAGES" TOOL...: install PACKAGES when any TOOL is missing.
ensure() {
  local what=$1 packages=$2 need=()
  shift 2
  for tool in "$@"; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || need+=("$tool")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing $what for the tests (missing: ${need[*]})"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086  # a list of packages
    apt-get install -y -q --no-install-recommends $packages >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $packages >/dev/null; }
  else
    echo "note: ${need[*]} missing; the tests of $what need them (Debian, as root: apt-get install $packages)"
  fi
}

ensure "Slurm, munge and MariaDB" "slurmctld slurmd slurm-client slurmdbd munge mariadb-server" \
  slurmctld slurmd sbatch slurmdbd munged mariadbd
ensure "the dashboard in a browser" "chromium" chromium

# MariaDB on 127.0.0.1:3306 for Slurm's accounting: start it if it is not up.
if ! (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && [ "$(id -u)" = 0 ]; then
  (service mariadb start || /etc/init.d/mariadb start) >/dev/null 2>&1 || true
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && break; sleep 0.2; done
fi
