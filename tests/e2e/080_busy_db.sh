#!/usr/bin/env bash
# Another process holds the database's write lock for 2 s: with
# --busy-timeout 200 the batch waits (logged once, naming the holder), is
# applied once the lock is gone, and no retry is spent: a lock wait is
# waiting, not failing (--max-retries 0 would fail any retry).
. "$(dirname "$0")/lib.sh"

hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 1 --busy-timeout 200 --max-retries 0
# A first entry, so that the worker's connection and WAL mode are set up.
hq_drop 5_0.json '{"sql":"INSERT INTO t(v) VALUES (0)"}'
hq_wait_sql 10 "SELECT count(*) FROM t" 1

hq_hold 2
t0=$(date +%s%N)
for i in 1 2 3 4 5; do
	printf '{"sql":"INSERT INTO t(v) VALUES (%d)"}' "$i" >"$ROOT/.tmp/5_$i.json"
done
hq_publish
hq_wait_log 10 'hqd worker 0: batch of [0-9]+: .*database is locked'
# Still held: nothing of the batch is in.
kill -0 "$HQ_HOLDER" 2>/dev/null || fail "the lock was released too early to tell"
assert_eq "$(hq_sql "SELECT count(*) FROM t")" 1 "rows while the lock is held"

hq_wait_sql 20 "SELECT count(*) FROM t" 6
ms=$((($(date +%s%N) - t0) / 1000000))
wait "$HQ_HOLDER" || fail "the lock holder failed"
hq_wait_drained 10
assert_eq "$(hq_sql "SELECT group_concat(v) FROM (SELECT v FROM t ORDER BY v)")" \
    "0,1,2,3,4,5" "rows"
assert_eq "$(hq_count failed)" 0 "failed/"
[ "$ms" -ge 1500 ] || fail "applied after $ms ms, while the lock was held"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
assert_match "$(grep 'hqd: exit: ' "$LOG")" \
    'exit: 6 applied, 0 failed, 0 retried' "exit totals"
note "busy for 2 s: waited, then applied, none failed, no retry spent"
