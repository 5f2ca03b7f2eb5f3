#!/usr/bin/env bash
# The guided tour behind `make run`: a fresh store with the colossus-1 fleet, a reserved contract, and the
# capacity profile after it. Every line it runs is a command you can type yourself.
set -euo pipefail
mkdir -p .neocloud
rm -f .neocloud/tour.db .neocloud/tour.db-wal .neocloud/tour.db-shm
export NEOCLOUD_DB_URL="sqlite:///$PWD/.neocloud/tour.db"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "neocloud tour (store: $NEOCLOUD_DB_URL)"
step neocloud init
step neocloud fleet show colossus-1
step neocloud tenant add frontier-lab
step neocloud tenant add research --internal
step neocloud contract sign --tenant frontier-lab --pool colossus-1/h100-sxm --gpus 100000 \
  --start 2027-01-01 --term 3y --price 2.40 --notice-days 90 --sla 0.99
step neocloud contract sign --tenant research --kind internal --pool colossus-1/h100-sxm --gpus 40000 \
  --start 2027-01-01 --term 6mo
step neocloud maintenance add colossus-1/h100-sxm --gpus 4096 --start 2027-03-01 --end +2d
step neocloud capacity profile colossus-1/h100-sxm --start 2026-12-01 --end 2030-06-01
echo
echo "A request that does not fit is refused, and nothing is written:"
step neocloud contract sign --tenant frontier-lab --pool colossus-1/h100-sxm --gpus 20000 \
  --start 2027-02-01 --term 60d || true
step neocloud capacity earliest colossus-1/h100-sxm --gpus 20000 --duration 60d --not-before 2027-02-01
