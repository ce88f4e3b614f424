#!/usr/bin/env bash
# SIGINT twice during a backlog: the first starts the drain, the second
# kills the workers at once. The workers are kept inside their batches by
# a lock another process holds (and a long busy timeout), so the drain
# cannot end by itself. hqd exits 0 promptly (far within the 10 s grace),
# processing/ is empty, nothing failed; a restart applies the rest, every
# entry exactly once.
. "$(dirname "$0")/lib.sh"

N=${HQ_E2E_N:-10000}
hq_sql "CREATE TABLE t(v INTEGER)"	# no unique key: doubles would show
hq_gen "$N" t
hq_publish
hq_start --workers 2 --shutdown-timeout 10 --busy-timeout 30000
hq_advance $((N / 10)) "$N"
hq_thaw
hq_hold
hq__stuck() { [ "$(hq_count processing)" -gt 0 ]; }
hq_wait 10 "workers holding entries" hq__stuck

kill -INT "$HQ_PID"
# The second INT must come after the first was handled, or the two merge.
hq_wait_log 5 'hqd: SIGINT: draining'
kill -0 "$HQ_PID" || fail "hqd exited on the first INT, with batches in hand"
hq_stop_within 5 INT
assert_eq "$HQ_RC" 0 "exit status after two INT"
[ "$HQ_STOP_MS" -lt 3000 ] || fail "second INT: exit took $HQ_STOP_MS ms"
assert_eq "$(hq_log_count 'second SIGINT: killing')" 1 "second INT log line"
hq_release
assert_eq "$(hq_count processing)" 0 "processing/ after exit"
assert_eq "$(hq_count failed)" 0 "failed/ after exit"
rows=$(hq_sql "SELECT count(*) FROM t")
pending=$(hq_count_entries pending)
[ "$rows" -lt "$N" ] || fail "the backlog was done before the INTs"
assert_eq "$(hq_sql "SELECT count(DISTINCT v) FROM t")" "$rows" \
    "distinct values after exit"
# Committed entries not removed yet would be back in pending/ too: at least
# everything not applied is there.
[ $((rows + pending)) -ge "$N" ] ||
    fail "entries lost: $rows applied + $pending pending < $N"

hq_start --workers 2
hq_wait_sql 60 "SELECT count(*) FROM t" "$N"
hq_wait_drained 10
hq_assert_once t "$N"
assert_eq "$(hq_sql "SELECT count(*) FROM hq_ledger")" "$N" "ledger rows"
assert_eq "$(hq_log_count 'already applied, skipped')" $((rows + pending - N)) \
    "entries skipped by the ledger (committed, not removed)"
assert_eq "$(hq_count failed)" 0 "failed/"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "two INT after $rows of $N: exit 0 in $HQ_STOP_MS ms; restart applied" \
    "the rest once"
