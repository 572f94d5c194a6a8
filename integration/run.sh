#!/bin/bash
# Run the root integration suite and print a per-file summary.
# usage: integration/run.sh [FILE.bats...]   (RUNTIME=... selects the runtime)
set -uo pipefail
cd "$(dirname "$0")"
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(*.bats)
log=$(mktemp /tmp/berth-integration.XXXXXX.tap)
echo "# runtime: ${RUNTIME:-../target/release/berth}"
bats --tap --timing "${files[@]}" | tee "$log"
rc=${PIPESTATUS[0]}
echo
echo "# summary (per file: passed / skipped / failed, seconds)"
# bats --tap numbers tests across files; map them back by listing each file
total_p=0 total_s=0 total_f=0
for f in "${files[@]}"; do
	n=$(bats --count "$f")
	read -r p s fl ms < <(awk -v n="$n" -v start="${start:-0}" '
		/^(ok|not ok) [0-9]+/ { i = ($1 == "ok") ? $2 : $3; if (i > start && i <= start + n) {
			if ($1 == "not") f++; else if ($0 ~ /# skip/) s++; else p++
			if (match($0, / in [0-9]+ms/)) ms += substr($0, RSTART + 4, RLENGTH - 6) } }
		END { print p + 0, s + 0, f + 0, ms + 0 }' "$log")
	start=$(( ${start:-0} + n ))
	printf '#   %-20s %3d passed %3d skipped %3d failed %5d s\n' "$f" "$p" "$s" "$fl" $(((ms + 500) / 1000))
	total_p=$((total_p + p)) total_s=$((total_s + s)) total_f=$((total_f + fl))
done
printf "${SUMMARY_LABEL:-integration}: %d passed, %d failed, %d skipped\n" "$total_p" "$total_f" "$total_s"
rm -f "$log"
exit "$rc"
