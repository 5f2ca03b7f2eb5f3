#!/usr/bin/env bash
# `make run`: the control plane on the embedded default (SQLite in .neocloud/, the colossus-1 fleet),
# with a fresh operator key and commands to paste. Ctrl-C stops it; the store stays for next time.
set -euo pipefail
mkdir -p .neocloud
export NEOCLOUD_DB_URL="${NEOCLOUD_DB_URL:-sqlite:///$PWD/.neocloud/neocloud.db}"
PORT="${PORT:-8000}"
neocloud init
KEY=$(neocloud key create --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
cat <<MSG

neocloud control plane on http://127.0.0.1:$PORT (OpenAPI: http://127.0.0.1:$PORT/docs)
operator key (shown once): $KEY
dashboard: http://127.0.0.1:$PORT/ (sign in with the key above)

Try, in another shell:
  export KEY=$KEY
  curl -s -H "Authorization: Bearer \$KEY" http://127.0.0.1:$PORT/v1/pools
  curl -s -X POST -H "Authorization: Bearer \$KEY" -H 'Content-Type: application/json' \\
       -d '{"name": "frontier-lab"}' http://127.0.0.1:$PORT/v1/tenants
  curl -s -X POST -H "Authorization: Bearer \$KEY" http://127.0.0.1:$PORT/v1/tenants/frontier-lab/keys
  curl -s -H "Authorization: Bearer \$KEY" \\
       "http://127.0.0.1:$PORT/v1/capacity/free?pool=colossus-1/h100-sxm&start=1798761600&end=1801353600"
  NEOCLOUD_DB_URL=$NEOCLOUD_DB_URL neocloud fleet show    # the CLI on the same store

MSG
exec neocloud serve --port "$PORT"
