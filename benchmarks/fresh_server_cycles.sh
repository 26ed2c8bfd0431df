#!/usr/bin/env bash
# Tiny cycles on freshly started services, for changes to how the services themselves run (server
# settings, the metastore), which ab_cycles.sh cannot compare: it runs both sides on one set of services.
# Per call: stop the checkout's services, DELETE its .ecom/ (warehouse, metastore, Dagster's history; so run
# it in clones, not in a checkout whose state you keep), start them, land the lab data and run
# one cycle, then N cycles of one new order each (ids ab-1, ab-2, ... on 2025-03-08), printing one line
# per cycle: the whole `ecom run` and its `dbt build` stage, in seconds. The services are stopped at the end.
#
#   benchmarks/fresh_server_cycles.sh LABEL CHECKOUT N
#
# Alternate the checkouts (before, after, before, ...): the server needs about four cycles to reach its
# steady state, and this machine's speed drifts between runs. Each checkout needs .venv and .jvm (links
# to this one's will do) and a parsed dbt project (`.venv/bin/dbt parse --project-dir . --profiles-dir .`).
# It uses the default ports, so no other services of the default ports may be running.
set -euo pipefail
label=$1
cd "$(realpath "$2")"
cycles=$3
export PYTHONPATH=$PWD
data=$(mktemp -d)
trap 'rm -rf "$data"; .venv/bin/ecom services stop > /dev/null 2>&1' EXIT
.venv/bin/ecom services stop > /dev/null 2>&1 || true
rm -rf .ecom
.venv/bin/ecom services start 2>&1 | tail -1  # "services are up", or what failed
eval "$(.venv/bin/ecom services env)"

cycle() {  # description
    local started out
    started=$(date +%s.%N)
    out=$(.venv/bin/ecom run 2>&1) || { echo "$out" | tail -30; exit 1; }
    printf '%-10s %-14s total %6.1f s  dbt build %s s\n' "$label" "$1" \
        "$(echo "$(date +%s.%N) - $started" | bc)" "$(echo "$out" | awk '/^dbt build/ {print $4}')"
}

.venv/bin/ecom upload ../shared/data/lab-2025 > /dev/null
cycle "lab data"
for n in $(seq "$cycles"); do
    mkdir -p "$data/$n/orders"
    printf '%s\n%s\n' "order_id,user_id,status,gender,created_at,shipped_at,delivered_at,returned_at,num_of_item" \
        "ab-$n,u1,Complete,F,2025-03-08 10:00:00,,,,1" > "$data/$n/orders/orders.csv"
    .venv/bin/ecom upload "$data/$n" > /dev/null
    cycle "tiny $n"
done
