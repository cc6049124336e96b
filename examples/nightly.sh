#!/usr/bin/env bash
# A nightly post-loan job: import the day's tape, save the day's positions, and write the
# overdue list an officer acts on. Safe to rerun: imports are idempotent and a saved date is
# replaced. Exit status is daihou's (see README, "Exit codes"); 75 means "busy, retry later".
#
#   examples/nightly.sh [TAPE_DIR] [AS_OF] [OUT_DIR]
#   DAIHOU=target/release/daihou DAIHOU_DB=bank.db examples/nightly.sh examples/tape 2026-06-30 out
set -euo pipefail

daihou=${DAIHOU:-daihou}
tape=${1:-examples/tape}
as_of=${2:-$(date +%F)}
out=${3:-.}
export DAIHOU_DB=${DAIHOU_DB:-daihou.db}

mkdir -p "$out"
"$daihou" import tape "$tape"
"$daihou" --as-of "$as_of" overdue --save --format csv -o "$out/overdue-$as_of.csv"
"$daihou" --as-of "$as_of" overdue --min-dpd 31 --format csv -o "$out/visits-needed-$as_of.csv"
echo "nightly: wrote $out/overdue-$as_of.csv and $out/visits-needed-$as_of.csv" >&2
