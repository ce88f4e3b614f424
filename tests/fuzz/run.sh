#!/bin/sh
# run.sh [SECONDS]: build the libFuzzer targets (clang, ASan+UBSan) and run
# each for SECONDS (default 60) on a copy of its corpus; new inputs that
# add coverage land in tests/fuzz/corpus/<target>/ (review, then commit).
# Prints executions and findings per target; exits 1 on any finding.
set -eu
secs=${1:-60}
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$here/build-fuzz
CC=clang cmake -S "$here" -B "$build" -DHQ_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
    -DHQ_SANITIZE=address,undefined >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_entry_json \
    fuzz_entry_msgpack fuzz_proto fuzz_seg fuzz_dqlite fuzz_apply >/dev/null
rc=0
for t in entry_json entry_msgpack proto seg dqlite apply; do
	out=$build/fuzz-$t
	mkdir -p "$out"
	log=$out/log
	rm -rf "$out/new"
	mkdir -p "$out/new"
	# New units go to $out/new (the first directory); the committed
	# corpus is only read. Then merge keeps those that add coverage.
	if "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
	    -max_len=65536 -artifact_prefix="$out/" -print_final_stats=1 \
	    "$out/new" "$here/tests/fuzz/corpus/$t" >"$log" 2>&1; then
		result="no findings"
	else
		result="FINDING (see $out)"
		rc=1
	fi
	"$build/tests/fuzz/fuzz_$t" -merge=1 "$here/tests/fuzz/corpus/$t" \
	    "$out/new" >"$out/merge.log" 2>&1 || true
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	printf '%-14s %10s executions in %ss: %s\n' "$t" "${execs:-?}" \
	    "$secs" "$result"
done
exit $rc
