#!/usr/bin/env bash
# Import benchmark at N loans (issue "Performance at one million loans").
#
#   scripts/bench.sh [N]        # N defaults to 1000000
#
# 1. builds release binaries and examples;
# 2. generates a deterministic tape for N loans into bench-out/tape-N/ with
#    examples/gen_tape.rs (skipped when bench-out/tape-N/.done says it was made with the same
#    N, seed, as-of and generator source);
# 3. times, under /usr/bin/time -v (wall time and max RSS):
#    (a) `daihou import tape` into a fresh ledger bench-out/bench.db,
#    (b) the same import again (a rerun must report 0 new, 0 changed);
# 4. prints a results table. Logs of each step are kept in bench-out/logs/.
#
# Environment: SEED (default 7), AS_OF (default 2026-06-30), CARGO_TARGET_DIR (default target).
# bench-out/ is gitignored. At one million loans: ~1.9 GB of tape, a ~2.9 GB ledger, and while the
# import runs a WAL as large as the ledger (the import is one transaction), so ~8 GB free disk.
set -euo pipefail

cd "$(dirname "$0")/.."

N="${1:-1000000}"
SEED="${SEED:-7}"
AS_OF="${AS_OF:-2026-06-30}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
OUT=bench-out
TAPE="$OUT/tape-$N"
DB="$OUT/bench.db"
LOGS="$OUT/logs"
DAIHOU="$TARGET_DIR/release/daihou"
GEN="$TARGET_DIR/release/examples/gen_tape"

if ! [[ "$N" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/bench.sh [N]   (N = number of loans, default 1000000)" >&2
    exit 2
fi
if [[ ! -x /usr/bin/time ]]; then
    echo "bench.sh: needs GNU time at /usr/bin/time (apt-get install time)" >&2
    exit 1
fi

mkdir -p "$OUT" "$LOGS"

echo "== build (release)" >&2
cargo build --release --examples --bins

# ---------------------------------------------------------------------------------------------
# Tape: reuse it only if the marker matches these arguments and this generator.
gen_hash="$(sha256sum examples/gen_tape.rs | cut -d' ' -f1)"
marker="loans=$N seed=$SEED as_of=$AS_OF gen_tape=$gen_hash"
if [[ -f "$TAPE/.done" && "$(cat "$TAPE/.done")" == "$marker" ]]; then
    echo "== tape: reusing $TAPE" >&2
    gen_wall="(cached)"
    gen_rss="-"
else
    echo "== tape: generating $N loans into $TAPE" >&2
    rm -rf "$TAPE"
    mkdir -p "$TAPE"
    /usr/bin/time -v -o "$LOGS/gen.time" \
        "$GEN" --loans "$N" --seed "$SEED" --as-of "$AS_OF" "$TAPE" 2> >(tee "$LOGS/gen.log" >&2)
    printf '%s\n' "$marker" > "$TAPE/.done"
fi

# ---------------------------------------------------------------------------------------------
# Helpers: wall seconds and max RSS (MiB) out of a `/usr/bin/time -v` report.
wall_seconds() { # FILE
    awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0
        for (i = 1; i <= n; i++) s = s * 60 + p[i]
        printf "%.1f", s
    }' "$1"
}
max_rss_mib() { # FILE
    awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"
}

if [[ -f "$LOGS/gen.time" && "${gen_wall:-}" != "(cached)" ]]; then
    gen_wall="$(wall_seconds "$LOGS/gen.time")"
    gen_rss="$(max_rss_mib "$LOGS/gen.time")"
fi
tape_bytes="$(du -cb "$TAPE"/*.csv | tail -1 | cut -f1)"

# timed NAME CMD...: runs CMD under /usr/bin/time -v, stderr to $LOGS/NAME.log, and sets
# the globals WALL and RSS. A failing command stops the script (set -e) after showing its log.
timed() {
    local name="$1"
    shift
    echo "== $name: $*" >&2
    if ! /usr/bin/time -v -o "$LOGS/$name.time" "$@" > "$LOGS/$name.out" 2> "$LOGS/$name.log"; then
        cat "$LOGS/$name.log" >&2
        echo "bench.sh: $name failed (see $LOGS/$name.*)" >&2
        exit 1
    fi
    cat "$LOGS/$name.log" >&2
    WALL="$(wall_seconds "$LOGS/$name.time")"
    RSS="$(max_rss_mib "$LOGS/$name.time")"
}

# ---------------------------------------------------------------------------------------------
# (a) import into a fresh ledger.
rm -f "$DB" "$DB-wal" "$DB-shm"
timed import "$DAIHOU" -v --db "$DB" import tape "$TAPE"
import_wall="$WALL"
import_rss="$RSS"
db_bytes="$(du -cb "$DB"* | tail -1 | cut -f1)"

# (b) the same tape again: nothing new, nothing changed.
timed reimport "$DAIHOU" -v --db "$DB" import tape "$TAPE"
reimport_wall="$WALL"
reimport_rss="$RSS"
if grep -E '\b[1-9][0-9]* (new|changed)' "$LOGS/reimport.log" >&2; then
    echo "bench.sh: warning: the re-import was not a no-op (lines above)" >&2
fi

# TODO(raw-insert ceiling): time the lead's raw-insert example (plain prepared INSERTs of the
# same rows into the same schema, one transaction, no parsing/upsert logic) on "$TAPE" into a
# fresh database, with `timed raw_insert ...`, and add its row to the table below. It is the
# floor any import can reach on this machine.

# TODO(overdue): `timed overdue "$DAIHOU" --db "$DB" --as-of "$AS_OF" --format csv overdue`
# on the imported ledger (output to $LOGS/overdue.out), and add its row to the table below.

# TODO(month-end snapshots): the 12 month ends before $AS_OF, each
# `"$DAIHOU" --db "$DB" --as-of <month end> overdue --save`, timed as one run (and the slowest
# single month), once `overdue --save` exists; add the rows to the table below.

# ---------------------------------------------------------------------------------------------
echo
echo "bench: $N loans, seed $SEED, as-of $AS_OF, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "tape: $TAPE, $((tape_bytes / 1048576)) MiB; ledger: $((db_bytes / 1048576)) MiB"
for f in loans schedule repayments followups; do
    printf '  %-15s %12s rows\n' "$f.csv" "$(($(wc -l < "$TAPE/$f.csv") - 1))"
done
echo
printf '%-28s %10s %12s\n' step "wall (s)" "max RSS MiB"
printf '%-28s %10s %12s\n' ---------------------------- ---------- ------------
printf '%-28s %10s %12s\n' "generate tape" "$gen_wall" "$gen_rss"
printf '%-28s %10s %12s\n' "import (fresh ledger)" "$import_wall" "$import_rss"
printf '%-28s %10s %12s\n' "re-import (no changes)" "$reimport_wall" "$reimport_rss"
