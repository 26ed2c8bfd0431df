#!/usr/bin/env bash
# Before and after a change, in one run on the same machine: cycles from two checkouts, alternated.
# Prints one line per cycle: the whole `ecom run` and its `dbt build` stage, in seconds.
#
#   make services && benchmarks/ab_cycles.sh ../before . 2 [steady|from-empty]
#   benchmarks/ab_cycles.sh ../before ../after 2 fresh-services [5]
#   AB_KEEP_ENV=1 benchmarks/ab_cycles.sh ../before . 2 blocks [5]
#
# steady (the default): each round a cycle with nothing landed and a cycle with one tiny orders file, on
#   the tables as they are (the cycles land one new order each: ids ab-1, ab-2, ... on 2025-03-08).
#   With AB_KEEP_ENV=1, on the services this shell's environment points at (say a `make bench` state's,
#   whose warehouse holds 1M order items) instead of the checkout's.
# blocks: like steady, but each round, per side, the given number of cycles (5 unless given) in a row,
#   each with one tiny orders file; for changes that carry something from one cycle to the next (the key
#   tests' scopes), which a cycle of the other side in between would reset. Compare a block's later cycles.
# from-empty: each round, per side, the pipeline is emptied (benchmarks/empty_pipeline.py) and two
#   generated deliveries of 240 orders land one cycle each, as in the e2e tests; for changes to how the
#   tables are created, which a steady round never reaches.
# fresh-services: each round, per side, the checkout's own services start afresh, the lab data lands in
#   one cycle, then the given number of cycles (5 unless given) land one new order each; for changes to
#   how the services themselves run (server settings, the metastore), which the other modes, running
#   both sides on one set of services, cannot compare. The server needs about four cycles to reach its
#   steady state. It stops the services of the default ports and DELETES each checkout's .ecom/
#   (warehouse, metastore, Dagster's history): run it on clones, not on a checkout whose state you keep.
#
# ../before: the other checkout, e.g. `git archive <commit> | tar -x -C ../before`, with .venv and .jvm
# linked to this one's (`ln -s "$PWD/.venv" "$PWD/.jvm" ../before/`). In steady and from-empty, both use
# this checkout's services and warehouse. Each checkout needs a parsed dbt project
# (`.venv/bin/dbt parse --project-dir . --profiles-dir .`).
set -euo pipefail
before=$(realpath "$1")
after=$(realpath "$2")
rounds=${3:-2}
mode=${4:-steady}
tiny_cycles=${5:-5}
data=$(mktemp -d)
checkout=
# fresh-services leaves no services running, even when a cycle fails.
trap 'rm -rf "$data"; [ "$mode" != fresh-services ] || [ -z "$checkout" ] || own_services "$checkout" stop' EXIT
n=0

cycle() {  # checkout label kind
    local started ended out
    started=$(date +%s.%N)
    out=$(cd "$1" && PYTHONPATH="$1" .venv/bin/ecom run 2>&1) || { echo "$out" | tail -20; exit 1; }
    ended=$(date +%s.%N)
    printf '%s %-6s %-14s total %6.1f s  dbt build %s s\n' "round $round" "$2" "$3" \
        "$(echo "$ended - $started" | bc)" "$(echo "$out" | awk '/^dbt build/ {print $4}')"
}

land_one_order() {
    n=$((n + 1))
    mkdir -p "$data/$n/orders"
    printf '%s\n%s\n' "order_id,user_id,status,gender,created_at,shipped_at,delivered_at,returned_at,num_of_item" \
        "ab-$n,u1,Complete,F,2025-03-08 10:00:00,,,,1" > "$data/$n/orders/orders.csv"
    .venv/bin/ecom upload "$data/$n" > /dev/null
}

steady_round() {  # checkout label
    cycle "$1" "$2" "nothing landed"
    land_one_order
    cycle "$1" "$2" "one tiny file"
}

own_services() {  # checkout start|stop|env
    (cd "$1" && PYTHONPATH="$1" .venv/bin/ecom services "$2")
}

blocks_round() {  # checkout label
    for _ in $(seq "$tiny_cycles"); do
        land_one_order
        cycle "$1" "$2" "tiny file $n"
    done
}

fresh_services_round() {  # checkout label
    own_services "$1" stop > /dev/null 2>&1 || true
    rm -rf "$1/.ecom"
    own_services "$1" start 2>&1 | tail -1  # "services are up", or what failed
    eval "$(own_services "$1" env)"
    .venv/bin/ecom upload ../shared/data/lab-2025 > /dev/null
    cycle "$1" "$2" "lab data"
    blocks_round "$1" "$2"
    own_services "$1" stop 2> /dev/null
}

from_empty_round() {  # checkout label
    .venv/bin/python -m benchmarks.empty_pipeline
    for delivery in "$data"/generated/delivery-*; do
        .venv/bin/ecom upload "$delivery" > /dev/null
        cycle "$1" "$2" "$(basename "$delivery")"
    done
}

case $mode in
    steady | blocks) [ -n "${AB_KEEP_ENV:-}" ] || eval "$(.venv/bin/ecom services env)" ;;
    from-empty) eval "$(.venv/bin/ecom services env)"
        .venv/bin/python -c "from pathlib import Path; from ingestion.generate import generate_deliveries;
generate_deliveries(Path('$data/generated'), orders=240, seed=3, count=2)" ;;
    fresh-services) ;;
    *) echo "ab_cycles.sh: mode must be steady, blocks, from-empty or fresh-services, not $mode" >&2; exit 2 ;;
esac

for round in $(seq "$rounds"); do
    for side in before after; do
        checkout=$before
        [ "$side" = after ] && checkout=$after
        "${mode//-/_}_round" "$checkout" "$side"
    done
done
