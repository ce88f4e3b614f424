#!/usr/bin/env bash
# A transient failure (the database's folder missing: it cannot be opened)
# is retried, and the retry is counted where operators look: entries_retried
# in `hqctl stats --json` and the heartbeat, hq_entries_retried_total, the
# table. Once the folder exists the entry is applied once.
# A lock held by another connection is waiting, not failing: while it is
# held the worker shows as waiting for the lock (with the holder's pid) and
# no retry is counted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

DB=$T/later/hive.db
hq_start --workers 1 --busy-timeout 20 --retry-base 0.05 --max-retries 1000 \
	--heartbeat-interval 0.2
T3_SEGS+=("$(t3_seg_name "$ROOT")")
rm -rf "$T/later"	# hqd made it; workers open the database lazily

hq_drop 5_1.json '{"sql":"CREATE TABLE t(v INTEGER); INSERT INTO t(v) VALUES (1)"}'
hq_wait_log 60 'worker 0: batch of 1: ' 2
mkdir "$T/later"
hq_wait_sql 60 "SELECT count(*) FROM t" 1
hq_wait_drained 30
assert_eq "$(hq_count failed)" 0 "failed/"
tries=$(hq_log_count 'worker 0: batch of 1: ')
note "failed attempts logged: $tries"

t3_stats_json "$T/stats.json"
assert_eq "$T3_RC" 0 "stats exit status"
t3_check_json "$T/stats.json" '$j->{entries_applied}' 1
t3_check_json "$T/stats.json" '$j->{entries_retried} >= 2 ? "yes" : "no: $j->{entries_retried}"' yes
t3_check_json "$T/stats.json" '$j->{workers}[0]{entries_retried} >= 2 ? "yes" : "no: $j->{workers}[0]{entries_retried}"' yes
hq__hb_applied() { t3__json_has "$(t3_hb)" '$j->{entries_applied}' 1; }
hq_wait 30 "the heartbeat to show the entry" hq__hb_applied
cp "$(t3_hb)" "$T/hb.json"
t3_check_json "$T/hb.json" '$j->{entries_retried} >= 2 ? "yes" : "no: $j->{entries_retried}"' yes
t3_run t3_ctl stats --prometheus
cp "$T/out" "$T/prom.txt"
t3_prom_check "$T/prom.txt"
got=$(t3_prom "$T/prom.txt" hq_entries_retried_total)
t3_check "hq_entries_retried_total >= 2 (is $got)" [ "${got:-0}" -ge 2 ]
retried=$(t3_json "$T/stats.json" '$j->{entries_retried}')

# The lock: waiting, named, never a retry.
"$DBQ" --hold 120 "$DB" >"$T/hold.out" 2>&1 &
HOLD=$!
T3_PIDS+=("$HOLD")
hq__locked() { grep -q '^locked$' "$T/hold.out"; }
hq_wait 30 "dbq to hold the write lock" hq__locked
hq_drop 5_2.json '{"sql":"INSERT INTO t(v) VALUES (2)"}'
hq_wait_log 30 'worker 0: batch of 1: .*database is locked.*; waiting [0-9]+ s for the lock \(held by pid '"$HOLD"'\); retries are not spent'
hq_wait 30 "stats to show the worker waiting for the lock" \
	t3__stats_has '$j->{workers}[0]{waiting}' lock
t3_stats_json "$T/wait.json"
t3_check_json "$T/wait.json" '$j->{workers}[0]{lock_holder_pid}' "$HOLD"
t3_check_json "$T/wait.json" '$j->{entries_retried}' "$retried"
t3_run t3_ctl health
t3_assert_match "$(cat "$T/out")" "worker 0 waiting for the database lock .*pid $HOLD" \
	"hqctl health names the wait"
kill -TERM "$HOLD"
wait "$HOLD" 2>/dev/null || true
hq_wait_sql 60 "SELECT count(*) FROM t" 2
t3_stats_json "$T/after.json"
t3_check_json "$T/after.json" '$j->{entries_retried}' "$retried"
t3_check_json "$T/after.json" '$j->{workers}[0]{waiting}' none
t3_done
hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status"
t3_assert_match "$(tail -1 "$LOG")" 'exit: 2 applied, 0 failed, [1-9][0-9]* retried' \
	"hqd's exit line"
note "transient retries are counted"
