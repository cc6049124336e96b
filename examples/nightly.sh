#!/usr/bin/env bash
# A nightly post-loan job: import the day's tape, save the day's positions, and write the
# overdue list an officer acts on. Safe to rerun: imports are idempotent and a saved date is
# replaced. Exit status is daihou's (see README, "Exit codes"); 75 means "busy, retry later".
#
#   examples/nightly.sh [TAPE_DIR] [AS_OF] [OUT_DIR]
#   DAIHOU_DB=bank.db examples/nightly.sh examples/tape 2026-06-30 nightly-out
#
# daihou is $DAIHOU if set, else `daihou` on PATH (`cargo install --path .`), else the newer of this
# checkout's target/release/daihou and target/debug/daihou.
set -euo pipefail

daihou=${DAIHOU:-}
if [ -z "$daihou" ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  rel=$here/target/release/daihou dbg=$here/target/debug/daihou
  if daihou=$(command -v daihou); then
    :
  elif [ -x "$rel" ] && { [ ! -x "$dbg" ] || [ "$rel" -nt "$dbg" ]; }; then
    daihou=$rel # the newer of the two builds, so a stale release build never wins
  elif [ -x "$dbg" ]; then
    daihou=$dbg
  else
    daihou=
  fi
fi
if [ -z "$daihou" ]; then
  echo "nightly: daihou not found: run \`cargo install --path .\` (or cargo build --release), or set DAIHOU=path/to/daihou" >&2
  exit 127
fi
tape=${1:-examples/tape}
as_of=${2:-$(date +%F)}
out=${3:-nightly-out}
export DAIHOU_DB=${DAIHOU_DB:-daihou.db}
# The bank's conventions (README, "The bank profile"): this example's profile holds the built-in
# defaults; point DAIHOU_PROFILE at the bank's own.
export DAIHOU_PROFILE=${DAIHOU_PROFILE:-$(cd "$(dirname "$0")" && pwd)/daihou.toml}

mkdir -p "$out"
"$daihou" import tape "$tape"
"$daihou" --as-of "$as_of" overdue --save --format csv -o "$out/overdue-$as_of.csv"
"$daihou" --as-of "$as_of" overdue --min-dpd 31 --format csv -o "$out/visits-needed-$as_of.csv"
echo "nightly: wrote $out/overdue-$as_of.csv and $out/visits-needed-$as_of.csv" >&2
