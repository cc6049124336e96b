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
#    (b) the same import again (a rerun must report 0 new, 0 changed),
#    (c) the ceiling (examples/ceiling.rs): raw INSERTs into bare tables, and an ordered scan,
#    (d) `daihou overdue --as-of` for one date to a CSV file,
#    (e) `daihou overdue --from --to --every month-end --save` for 12 month ends,
#    (f) `daihou schedule-visits --as-of --days 10` (the plan of every officer, saved), and
#        checks its answer against (d): every borrower with a loan past the ladder's visit
#        step (DPD 31) and no visit logged since is in the plan — planned, late, or unplanned
#        with the rule that held it back — unless its deadline lies after the plan's last day;
#    (g) `daihou classify --as-of --save` (the saved run `report portfolio` reads grades from),
#    (h) `daihou report portfolio --as-of` to a CSV file, and its answer checked: the PAR30
#        balance (restructured loans left out) must equal the sum of outstanding principal of
#        the loans over 30 DPD in (d)'s `overdue` CSV, and the book's loans and balance the
#        classify run's;
#    (h2) (d) and (g) twice more, alternated, checked to write the same CSVs: the ratios
#        against overdue (and overdue's wall target) use the median of the three readings,
#        since one reading moves by 10-20 % on a shared machine;
#    (i) `daihou classify --from --to --every month-end` for the 12 month ends of (e) (saved);
#        (g) and (i) are checked against overdue's answers (the same active loans, every overdue
#        loan graded 关注 or worse, every loan over 90 DPD 次级 or worse, one saved grade per
#        saved position);
#    (j) `daihou report migration` over the 12 month ends of (e) and (i), read from their saved
#        runs (no replay), and its answer checked against (d): at the last month end, the loans
#        and balance in each overdue bucket (the matrix's to-column) equal those of the
#        `overdue` CSV, and the headline's active and overdue loans equal overdue's summary;
# 4. prints the table and the ratios to the targets, and appends them to BENCHMARKS.md.
#    Logs of each step are kept in bench-out/logs/.
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
cargo build --release --examples --bins --features synth

# ---------------------------------------------------------------------------------------------
# Tape: reuse it only if the marker matches these arguments and this generator.
gen_hash="$(cat examples/gen_tape.rs src/synth.rs | sha256sum | cut -d' ' -f1)"
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

# (c) the ceiling: plain prepared INSERTs of the same rows into bare tables, one transaction,
# and one ordered scan of schedule and repayments by loan (examples/ceiling.rs).
CEIL_DB="$OUT/ceiling.db"
rm -f "$CEIL_DB" "$CEIL_DB-wal" "$CEIL_DB-shm"
timed ceiling_insert "$TARGET_DIR/release/examples/ceiling" insert "$TAPE" "$CEIL_DB"
ceil_insert_wall="$WALL"
ceil_insert_rss="$RSS"
timed ceiling_scan "$TARGET_DIR/release/examples/ceiling" scan "$CEIL_DB"
ceil_scan_wall="$WALL"
ceil_scan_rss="$RSS"
rm -f "$CEIL_DB" "$CEIL_DB-wal" "$CEIL_DB-shm"
# The same raw insert into tables with the ledger's keys (what idempotent reruns need).
timed ceiling_keyed "$TARGET_DIR/release/examples/ceiling" insert-keyed "$TAPE" "$CEIL_DB"
ceil_keyed_wall="$WALL"
ceil_keyed_rss="$RSS"
rm -f "$CEIL_DB" "$CEIL_DB-wal" "$CEIL_DB-shm"

# (d) overdue for one date, to a CSV file.
timed overdue "$DAIHOU" --db "$DB" --as-of "$AS_OF" overdue --format csv -o "$OUT/overdue.csv"
overdue_wall="$WALL"
overdue_rss="$RSS"

# (e) 12 month-end snapshots saved in one pass.
FROM="$(date -u -d "$AS_OF -11 months" +%Y-%m-01)"
timed month_ends "$DAIHOU" --db "$DB" overdue --from "$FROM" --to "$AS_OF" --every month-end --save --format csv -o "$OUT/aging.csv"
months_wall="$WALL"
months_rss="$RSS"
db_bytes_after="$(du -cb "$DB"* | tail -1 | cut -f1)"

# (f) a 10-working-day visit and call plan for all officers, saved.
timed visits "$DAIHOU" --db "$DB" --as-of "$AS_OF" schedule-visits --days 10 --format csv -o "$OUT/visits.csv"
visits_wall="$WALL"
visits_rss="$RSS"
visits_check="$(python3 - "$OUT/overdue.csv" "$OUT/visits.csv" "$TAPE/loans.csv" "$TAPE/followups.csv" "$AS_OF" <<'PY'
import csv, datetime, sys
overdue, plan, loans, followups, as_of = sys.argv[1:]
day = datetime.date.fromisoformat
as_of = day(as_of)
borrower = {r["loan_id"]: r["borrower_id"] for r in csv.DictReader(open(loans, encoding="utf-8-sig"))}
visits = {}
for r in csv.DictReader(open(followups, encoding="utf-8-sig")):
    if r["channel"] == "visit" and day(r["contact_date"]) <= as_of:
        visits.setdefault(borrower[r["loan_id"]], []).append(day(r["contact_date"]))
rows = list(csv.DictReader(open(plan, encoding="utf-8-sig")))
last = max(day(r["date"]) for r in rows if r["date"])
planned = {r["borrower_id"]: r for r in rows if r["kind"] == "visit"}
need = {}
for r in csv.DictReader(open(overdue, encoding="utf-8-sig")):
    if int(r["dpd"]) < 31:
        continue
    b = borrower[r["loan_id"]]
    reached = day(r["overdue_since"]) + datetime.timedelta(days=30)
    if any(v >= reached for v in visits.get(b, [])):
        continue
    need[b] = min(need.get(b, reached), reached)
counts = {"planned": 0, "late": 0, "unplanned": 0, "deferred": 0}
bad = []
for b, reached in sorted(need.items()):
    r = planned.get(b)
    if r is not None:
        if r["status"] == "unplanned" and not r["held_by"]:
            bad.append(b + " unplanned without the rule that held it")
        counts[r["status"]] += 1
    elif reached + datetime.timedelta(days=14) > last:
        counts["deferred"] += 1
    else:
        bad.append(b)
if bad:
    print("MISSED: %d borrowers due a verification visit are not in the plan: %s" % (len(bad), ", ".join(bad[:10])))
else:
    print("met: %d borrowers due a verification visit (DPD >= 31, no visit since): %d planned, %d late, %d unplanned with the rule that held them, %d due after the plan (deferred)" % (
        len(need), counts["planned"], counts["late"], counts["unplanned"], counts["deferred"]))
PY
)"
echo "schedule-visits check: $visits_check" >&2

# (g) classify one date and save it; (h) report portfolio from that saved run, checked.
timed classify "$DAIHOU" --db "$DB" --as-of "$AS_OF" classify --save --format csv -o "$OUT/classify.csv"
classify_wall="$WALL"
classify_rss="$RSS"
timed report_portfolio "$DAIHOU" --db "$DB" --as-of "$AS_OF" report portfolio --par-exclude-restructured --format csv -o "$OUT/report-portfolio.csv"
report_wall="$WALL"
report_rss="$RSS"
python3 - "$OUT/overdue.csv" "$OUT/report-portfolio.csv" "$OUT/classify.csv" >&2 <<'PY'
import csv, sys
from decimal import Decimal
overdue, report, classify = sys.argv[1:4]
par30 = sum(Decimal(r["outstanding_principal"]) for r in csv.DictReader(open(overdue, encoding="utf-8-sig"))
            if int(r["dpd"]) > 30)
head = next(r for r in csv.DictReader(open(report, encoding="utf-8-sig")) if r["table"] == "headline")
graded = list(csv.DictReader(open(classify, encoding="utf-8-sig")))
book = sum(Decimal(r["outstanding_principal"]) for r in graded)
checks = [
    ("PAR30 balance = overdue CSV, DPD > 30", Decimal(head["par30_balance"]), par30),
    ("loans = classify run", int(head["loans"]), len(graded)),
    ("balance = classify run", Decimal(head["balance"]), book),
]
bad = [c for c in checks if c[1] != c[2]]
for name, got, want in checks:
    print(f"report portfolio check: {name}: {got} vs {want}: {'ok' if got == want else 'MISMATCH'}")
print(f"report portfolio: npl_ratio {head['npl_ratio']}, par30 {head['par30']}, provisions {head['provisions']}")
sys.exit(1 if bad else 0)
PY

# (h2) overdue (d) and classify --save (g) twice more, alternated, each checked to give the same
# CSV as its first run: on a shared machine one reading of either moves by 10-20 %, so the
# ratios against overdue use the median of the three readings of each (all six are printed).
overdue_walls=("$overdue_wall")
classify_walls=("$classify_wall")
for rep in 2 3; do
    timed "overdue_$rep" "$DAIHOU" --db "$DB" --as-of "$AS_OF" overdue --format csv -o "$OUT/overdue-$rep.csv"
    overdue_walls+=("$WALL")
    timed "classify_$rep" "$DAIHOU" --db "$DB" --as-of "$AS_OF" classify --save --format csv -o "$OUT/classify-$rep.csv"
    classify_walls+=("$WALL")
    for f in overdue classify; do
        if ! cmp -s "$OUT/$f.csv" "$OUT/$f-$rep.csv"; then
            echo "bench.sh: $f run $rep wrote another CSV than run 1 ($OUT/$f-$rep.csv)" >&2
            exit 1
        fi
    done
done
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
overdue_median="$(median3 "${overdue_walls[@]}")"
classify_median="$(median3 "${classify_walls[@]}")"
echo "overdue runs: ${overdue_walls[*]} s (median $overdue_median); classify --save runs: ${classify_walls[*]} s (median $classify_median)" >&2

# (i) classify the 12 month ends of (e), saved in one pass.
timed classify_months "$DAIHOU" --db "$DB" classify --from "$FROM" --to "$AS_OF" --every month-end --format csv -o "$OUT/grades.csv"
classify_months_wall="$WALL"
classify_months_rss="$RSS"

# (g) and (i) against overdue. overdue's stderr: "overdue as of D: X of Y active loans overdue,
# … (1-30 n / amount; …)"; classify's: "classify D: N loans; 正常 a (…), 关注 b (…), 次级 c (…),
# 可疑 d (…), 损失 e (…); …" and "classify: saved N grades for 12 date(s) …".
check_classify() {
    local od cl
    od="$(grep -m1 '^overdue as of' "$LOGS/overdue.log")"
    cl="$(grep -m1 '^classify [0-9]' "$LOGS/classify.log")"
    local active overdue over90 loans graded npl
    active="$(sed -E 's/.* of ([0-9]+) active loans.*/\1/' <<< "$od")"
    overdue="$(sed -E 's/.*: ([0-9]+) of [0-9]+ active.*/\1/' <<< "$od")"
    over90="$(grep -oE '(91-180|181-360|360\+) [0-9]+ /' <<< "$od" | awk '{ n += $2 } END { print n + 0 }')"
    loans="$(sed -E 's/^classify [0-9-]+: ([0-9]+) loans.*/\1/' <<< "$cl")"
    graded="$(grep -oE '(关注|次级|可疑|损失) [0-9]+ \(' <<< "$cl" | awk '{ n += $2 } END { print n + 0 }')"
    npl="$(grep -oE '(次级|可疑|损失) [0-9]+ \(' <<< "$cl" | awk '{ n += $2 } END { print n + 0 }')"
    local rows saved positions
    rows="$(($(wc -l < "$OUT/grades.csv") - 1))"
    saved="$(sed -nE 's/^classify: saved ([0-9]+) grades for 12 date.*/\1/p' "$LOGS/classify_months.log")"
    positions="$(sed -nE 's/^overdue: saved ([0-9]+) positions for 12 date.*/\1/p' "$LOGS/month_ends.log")"
    echo "classify check: $loans graded of $active active; $graded 关注 or worse (overdue: $overdue);" \
        "$npl NPL (over 90 DPD: $over90); $saved grades saved for 12 dates ($positions positions, $rows summary rows)" >&2
    [[ "$loans" == "$active" && "$graded" -ge "$overdue" && "$npl" -ge "$over90" \
        && "$saved" == "$positions" && "$rows" == 12 && "$saved" -gt 0 ]]
}
if check_classify; then classify_check="ok"; else
    classify_check="FAILED"
    echo "bench.sh: classify's answers disagree with overdue's (line above)" >&2
fi

# (j) the migration over the 12 saved month ends, checked against (d).
# (migration counts from --from itself: start at the first month end.)
FIRST_END="$(date -u -d "$FROM +1 month -1 day" +%Y-%m-%d)"
timed report_migration "$DAIHOU" --db "$DB" -v report migration --from "$FIRST_END" --to "$AS_OF" --every month-end --format csv -o "$OUT/report-migration.csv"
migration_wall="$WALL"
migration_rss="$RSS"
if grep -q 'computed positions from the ledger' "$LOGS/report_migration.log"; then
    echo "bench.sh: warning: report migration replayed dates instead of reading the saved runs" >&2
fi
if python3 - "$OUT/overdue.csv" "$OUT/report-migration.csv" "$LOGS/overdue.log" "$AS_OF" >&2 <<'PY'
import csv, re, sys
from decimal import Decimal
overdue, migration, log, as_of = sys.argv[1:]
want = {}
for r in csv.DictReader(open(overdue, encoding="utf-8-sig")):
    n, b = want.get(r["bucket"], (0, Decimal(0)))
    want[r["bucket"]] = (n + 1, b + Decimal(r["outstanding_principal"]))
rows = list(csv.DictReader(open(migration, encoding="utf-8-sig")))
got = {}
for r in rows:
    if r["table"] == "matrix" and r["to_bucket"] not in ("current", "closed"):
        n, b = got.get(r["to_bucket"], (0, Decimal(0)))
        got[r["to_bucket"]] = (n + int(r["loans"]), b + Decimal(r["balance_to"]))
got = {k: v for k, v in got.items() if v[0] > 0}
head = next(r for r in rows if r["table"] == "headline" and r["as_of"] == as_of)
m = re.search(r"(\d+) of (\d+) active loans overdue", open(log, encoding="utf-8").read())
checks = [("loans and balance per overdue bucket at %s = overdue CSV" % as_of, got, want),
          ("active loans = overdue's", int(head["loans"]), int(m.group(2))),
          ("overdue loans = overdue's", int(head["overdue_loans"]), int(m.group(1)))]
for name, g, w in checks:
    print(f"report migration check: {name}: {'ok' if g == w else 'MISMATCH: %s vs %s' % (g, w)}")
sys.exit(0 if all(g == w for _, g, w in checks) else 1)
PY
then migration_check="ok"; else
    migration_check="FAILED"
    echo "bench.sh: report migration disagrees with overdue (lines above)" >&2
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
r_import="$(ratio "$import_wall" "$ceil_insert_wall")"
r_import_keyed="$(ratio "$import_wall" "$ceil_keyed_wall")"
r_reimport="$(ratio "$reimport_wall" "$import_wall")"
r_overdue="$(ratio "$overdue_median" "$ceil_scan_wall")"
r_months="$(ratio "$months_wall" "$overdue_median")"
r_visits="$(ratio "$visits_wall" "$overdue_median")"
r_size="$(ratio "$db_bytes" "$tape_bytes")"
r_classify="$(ratio "$classify_median" "$overdue_median")"
r_classify_months="$(ratio "$classify_months_wall" "$classify_median")"
peak_rss=0
for v in "$import_rss" "$reimport_rss" "$overdue_rss" "$months_rss" "$visits_rss" "$classify_rss" "$report_rss" "$classify_months_rss" "$migration_rss"; do
    [[ "$v" -gt "$peak_rss" ]] && peak_rss="$v"
done
verdict() { # VALUE LIMIT
    awk -v v="$1" -v l="$2" 'BEGIN { print (v != "-" && v <= l) ? "met" : "MISSED" }'
}

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
printf '%-28s %10s %12s\n' "ceiling: raw insert" "$ceil_insert_wall" "$ceil_insert_rss"
printf '%-28s %10s %12s\n' "ceiling: ordered scan" "$ceil_scan_wall" "$ceil_scan_rss"
printf '%-28s %10s %12s\n' "ceiling: keyed raw insert" "$ceil_keyed_wall" "$ceil_keyed_rss"
printf '%-28s %10s %12s\n' "overdue (1 date, csv)" "$overdue_wall" "$overdue_rss"
printf '%-28s %10s %12s\n' "overdue 12 month ends --save" "$months_wall" "$months_rss"
printf '%-28s %10s %12s\n' "schedule-visits 10 days" "$visits_wall" "$visits_rss"
printf '%-28s %10s %12s\n' "classify --save (1 date)" "$classify_wall" "$classify_rss"
printf '%-28s %10s %12s\n' "report portfolio (saved)" "$report_wall" "$report_rss"
printf '%-28s %10s %12s\n' "classify 12 month ends" "$classify_months_wall" "$classify_months_rss"
printf '%-28s %10s %12s\n' "report migration (12 saved)" "$migration_wall" "$migration_rss"
echo
summary="$(cat <<EOT
| target | measured | limit | |
|---|---|---|---|
| import ÷ raw-insert ceiling | $r_import | 1.5 | $(verdict "$r_import" 1.5) |
| (import ÷ keyed raw insert, for reference) | $r_import_keyed | - | |
| re-import ÷ import (0 changed) | $r_reimport | 0.5 | $(verdict "$r_reimport" 0.5) |
| overdue ÷ ordered scan | $r_overdue | 2 | $(verdict "$r_overdue" 2) |
| overdue wall time (s; median of 3) | $overdue_median | 10 | $(verdict "$overdue_median" 10) |
| 12 month ends ÷ one overdue | $r_months | 3 | $(verdict "$r_months" 3) |
| schedule-visits 10 days ÷ one overdue | $r_visits | 2 | $(verdict "$r_visits" 2) |
| report portfolio from a saved classify run (s; the limit is for 1M) | $report_wall | 2 | $(verdict "$report_wall" 2) |
| classify --save ÷ overdue (one date; medians of 3 alternated runs) | $r_classify | 1.3 | $(verdict "$r_classify" 1.3) |
| classify 12 month ends ÷ one classify | $r_classify_months | 3 | $(verdict "$r_classify_months" 3) |
| classify's answers agree with overdue's | $classify_check | ok | |
| report migration over 12 saved month ends (s; the limit is for 1M) | $migration_wall | 5 | $(verdict "$migration_wall" 5) |
| report migration's answers agree with overdue's | $migration_check | ok | |
| peak RSS (MiB) | $peak_rss | 1024 | $(verdict "$peak_rss" 1024) |
| ledger ÷ CSV bytes | $r_size | 1.5 | $(verdict "$r_size" 1.5) |
EOT
)"
echo "$summary"

# Append the run to BENCHMARKS.md with the machine and the date.
{
    echo
    echo "## $(date -u +%Y-%m-%d) — $N loans (scripts/bench.sh $N)"
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr); daihou $(git rev-parse --short HEAD 2>/dev/null || echo '?')."
    echo "Tape: seed $SEED, as-of $AS_OF, $((tape_bytes / 1048576)) MiB of CSV; ledger $((db_bytes / 1048576)) MiB after import, $((db_bytes_after / 1048576)) MiB with 12 saved month ends."
    echo
    echo "| step | wall (s) | max RSS (MiB) |"
    echo "|---|---|---|"
    echo "| generate tape | $gen_wall | $gen_rss |"
    echo "| ceiling: raw insert | $ceil_insert_wall | $ceil_insert_rss |"
    echo "| ceiling: ordered scan | $ceil_scan_wall | $ceil_scan_rss |"
    echo "| ceiling: raw insert into keyed tables | $ceil_keyed_wall | $ceil_keyed_rss |"
    echo "| import tape (fresh ledger) | $import_wall | $import_rss |"
    echo "| import tape again (0 changed) | $reimport_wall | $reimport_rss |"
    echo "| overdue --as-of (csv) | $overdue_wall | $overdue_rss |"
    echo "| overdue 12 month ends --save | $months_wall | $months_rss |"
    echo "| schedule-visits --days 10 (csv, saved) | $visits_wall | $visits_rss |"
    echo "| classify --save (1 date) | $classify_wall | $classify_rss |"
    echo "| report portfolio (from the saved run, checked) | $report_wall | $report_rss |"
    echo "| classify 12 month ends (saved) | $classify_months_wall | $classify_months_rss |"
    echo "| report migration, 12 saved month ends (checked) | $migration_wall | $migration_rss |"
    echo
    echo "$summary"
    echo
    echo "schedule-visits check: $visits_check"
    echo
    echo "Overdue (d) runs: ${overdue_walls[*]} s, median $overdue_median; classify --save (g) runs: ${classify_walls[*]} s, median $classify_median (alternated; the ratios against overdue use the medians)."
} >> BENCHMARKS.md
echo "bench.sh: appended to BENCHMARKS.md" >&2
