#!/usr/bin/env bash
# Before and after a change, in one run on the same warm services: cycles from two checkouts, alternated,
# each round a cycle with nothing landed and a cycle with one tiny orders file. Prints one line per cycle:
# the whole `ecom run` and its `dbt build` stage, in seconds.
#
#   make services && benchmarks/ab_cycles.sh ../before . 2
#
# ../before: the other checkout, e.g. `git archive <commit> | tar -x -C ../before`, with .venv and .jvm
# linked to this one's (`ln -s "$PWD/.venv" "$PWD/.jvm" ../before/`). Both use this checkout's services
# and warehouse; the cycles land one new order each (ids ab-1, ab-2, ... on 2025-03-08).
set -euo pipefail
before=$(realpath "$1")
after=$(realpath "$2")
rounds=${3:-2}
eval "$(.venv/bin/ecom services env)"
tiny=$(mktemp -d)
trap 'rm -rf "$tiny"' EXIT
n=0

cycle() {  # checkout label kind
    local started ended out
    started=$(date +%s.%N)
    out=$(cd "$1" && PYTHONPATH="$1" .venv/bin/ecom run 2>&1) || { echo "$out" | tail -20; exit 1; }
    ended=$(date +%s.%N)
    printf '%s %-6s %-14s total %6.1f s  dbt build %s s\n' "round $round" "$2" "$3" \
        "$(echo "$ended - $started" | bc)" "$(echo "$out" | awk '/^dbt build/ {print $4}')"
}

for round in $(seq "$rounds"); do
    for side in before after; do
        checkout=$before
        [ "$side" = after ] && checkout=$after
        cycle "$checkout" "$side" "nothing landed"
        n=$((n + 1))
        mkdir -p "$tiny/$n/orders"
        printf '%s\n%s\n' "order_id,user_id,status,gender,created_at,shipped_at,delivered_at,returned_at,num_of_item" \
            "ab-$n,u1,Complete,F,2025-03-08 10:00:00,,,,1" > "$tiny/$n/orders/orders.csv"
        .venv/bin/ecom upload "$tiny/$n" > /dev/null
        cycle "$checkout" "$side" "one tiny file"
    done
done
