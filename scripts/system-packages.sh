#!/usr/bin/env bash
# The system parts the tests run against, installed and started when missing (Debian, as root): Slurm with
# munge for the real-cluster tests, and the MariaDB that keeps Slurm's accounting. Elsewhere it says what is
# missing and leaves it: those tests then skip, or fail under CI.
set -euo pipefail
need=()
for tool in slurmctld slurmd sbatch slurmdbd munged; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || need+=("$tool")
done
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || need+=(mariadb)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Slurm, munge and MariaDB for the tests (missing: ${need[*]})"
    export DEBIAN_FRONTEND=noninteractive
    packages="slurmctld slurmd slurm-client slurmdbd munge mariadb-server"
    apt-get install -y -q --no-install-recommends $packages >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $packages >/dev/null; }
  else
    echo "note: ${need[*]} missing; the Slurm tests need them (Debian, as root: apt-get install slurmctld slurmd slurm-client slurmdbd munge mariadb-server)"
    exit 0
  fi
fi
# MariaDB on 127.0.0.1:3306 for Slurm's accounting: start it if it is not up.
if ! (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && [ "$(id -u)" = 0 ]; then
  (service mariadb start || /etc/init.d/mariadb start) >/dev/null 2>&1 || true
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && break; sleep 0.2; done
fi
