#!/usr/bin/env bash
# Regenerates docs/report.png, the README's picture of the HTML report: the monthly management
# report of examples/tape as of 2026-06-30 in Chinese, rendered by headless Chromium.
#
#   scripts/report-screenshot.sh
#
# Needs chromium and a CJK font (Debian: apt-get install chromium fonts-wqy-microhei); without
# the font the Chinese labels come out as boxes.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
target/release/daihou --db "$work/demo.db" -q import tape examples/tape
target/release/daihou --db "$work/demo.db" -q report management --as-of 2026-06-30 --lang zh \
    --format html -o "$work/report.html"
fc-list :lang=zh | grep -q . || echo "report-screenshot.sh: warning: no CJK font (fonts-wqy-microhei)" >&2
chromium --headless --no-sandbox --disable-gpu --disable-background-networking --hide-scrollbars \
    --window-size=1280,1800 --screenshot="$PWD/docs/report.png" "file://$work/report.html" 2>/dev/null
echo "wrote docs/report.png" >&2
