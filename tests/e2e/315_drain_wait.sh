#!/usr/bin/env bash
# `hqctl drain-wait`, the preStop hook's wait for an empty queue:
#  1. hqd down: an empty queue is drained (0); entries left are 69 (nothing
#     would apply them).
#  2. hqd up, its database locked by another process: entries wait; a
#     short timeout ends in 75 saying how many; a long one is still
#     waiting while the lock is held, and ends in 0 soon after it is
#     released, every entry applied, pending/ and processing/ empty.
#  3. A dead letter: drained (0), and stderr says it stays in failed/.
. "$(dirname "$0")/lib.sh"

ctl() {
	"$HQCTL" --root "$ROOT" "$@"
}
run() {	# run CMD...: RC, and stdout/stderr in $T/out, $T/err
	RC=0
	"$@" >"$T/out" 2>"$T/err" || RC=$?
}

# Part 1.
run ctl drain-wait --timeout 1
assert_eq "$RC" 69 "drain-wait with no queue"
mkdir -p "$ROOT"/{.tmp,pending,processing,failed,completed}
run ctl drain-wait
assert_eq "$RC" 0 "drain-wait, hqd down, queue empty"
hq_gen 5 t
hq_publish
run ctl drain-wait --timeout 10
assert_eq "$RC" 69 "drain-wait, hqd down, 5 entries"
grep -q "hqd is down .* 5 entries in pending/" "$T/err" ||
    fail "drain-wait did not say what is left: $(cat "$T/err")"
run ctl drain-wait --timeout x
assert_eq "$RC" 64 "drain-wait --timeout x"

# Part 2.
hq_sql "CREATE TABLE t(v INTEGER)"
hq_hold 120
hq_start --workers 2
hq_gen 300 t 5 6
hq_publish
run ctl drain-wait --timeout 1
assert_eq "$RC" 75 "drain-wait --timeout 1 with the database locked"
grep -qE "timed out after 1 s: [0-9]+ entries in pending/, [0-9]+ in processing/" \
    "$T/err" || fail "timeout message: $(cat "$T/err")"
ctl drain-wait --timeout 120 >"$T/dw.out" 2>"$T/dw.err" &
dw=$!
HQ_BG+=("$dw")
sleep 1
kill -0 "$dw" 2>/dev/null || fail "drain-wait returned with the lock held"
[ "$(hq_count_entries pending)" -gt 0 ] || [ "$(hq_count_entries processing)" -gt 0 ] ||
    fail "the queue drained with the lock held"
hq_release
dw_done() { ! kill -0 "$dw" 2>/dev/null; }
hq_wait 90 "drain-wait to return" dw_done
rc=0
wait "$dw" || rc=$?
assert_eq "$rc" 0 "drain-wait once the lock is released"
assert_eq "$(cat "$T/dw.out")" drained "drain-wait's output"
assert_eq "$(hq_count_entries pending)" 0 "pending/ after drain-wait"
assert_eq "$(hq_count_entries processing)" 0 "processing/ after drain-wait"
hq_assert_once t 305

# Part 3.
hq_drop 5_bad.json '{"sql":"INSERT INTO nope(v) VALUES (1)"}'
run ctl drain-wait --timeout 60
assert_eq "$RC" 0 "drain-wait with a dead letter"
grep -q "1 dead letters stay in failed/" "$T/err" ||
    fail "drain-wait did not mention the dead letter: $(cat "$T/err")"
note "ok"
