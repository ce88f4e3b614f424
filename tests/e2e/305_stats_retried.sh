#!/usr/bin/env bash
# A transient failure (the database locked by another connection) is
# retried, and the retry is counted where operators look: entries_retried
# in `hqctl stats --json` and the heartbeat, hq_entries_retried_total, the
# table. The lock is held until hqd has logged two failed attempts, then
# released; the entry is then applied once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 1 --busy-timeout 20 --retry-base 0.05 --max-retries 1000 \
	--heartbeat-interval 0.2
T3_SEGS+=("$(t3_seg_name "$ROOT")")

"$DBQ" --hold 120 "$DB" >"$T/hold.out" 2>&1 &
HOLD=$!
T3_PIDS+=("$HOLD")
hq__locked() { grep -q '^locked$' "$T/hold.out"; }
hq_wait 30 "dbq to hold the write lock" hq__locked
hq_drop 5_1.json '{"sql":"INSERT INTO t(v) VALUES (1)"}'
hq_wait_log 60 'worker 0: batch of 1: ' 2
kill -TERM "$HOLD"
wait "$HOLD" 2>/dev/null || true
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
t3_done
hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status"
t3_assert_match "$(tail -1 "$LOG")" 'exit: 1 applied, 0 failed, [1-9][0-9]* retried' \
	"hqd's exit line"
note "transient retries are counted"
