#!/usr/bin/env bash
# Without inotify (--event-loop=false) hqd polls pending/ every
# --poll-interval and applies what it finds; with a poll interval of an
# hour, SIGHUP makes it rescan at once.
. "$(dirname "$0")/lib.sh"

hq_sql "CREATE TABLE t(v INTEGER)"

# Polling every 0.2 s.
hq_start --event-loop=false --poll-interval 0.2
assert_eq "$(hq_log_count 'started: .*, polling, ')" 1 "started in polling mode"
assert_eq "$(hq_log_count 'polling pending/ every 200 ms')" 1 "polling log line"
for i in 1 2 3; do
	hq_drop "$(hq_name)" "{\"sql\":\"INSERT INTO t(v) VALUES ($i)\"}"
done
hq_wait_sql 10 "SELECT count(*) FROM t" 3
# Written in place (no rename) under a dot name, then renamed: only the
# final name counts.
printf '{"sql":"INSERT INTO t(v) VALUES (4)"}' >"$ROOT/pending/.5_4.json"
mv "$ROOT/pending/.5_4.json" "$ROOT/pending/5_4.json"
hq_wait_sql 10 "SELECT count(*) FROM t" 4
hq_wait_drained 10
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status (polling)"

# Polling every hour: only a rescan can find a new entry.
hq_start --event-loop=false --poll-interval 3600 --rescan-interval 0
hq_wait_log 10 'polling pending/ every 3600000 ms'
hq_drop 5_5.json '{"sql":"INSERT INTO t(v) VALUES (5)"}'
# Give a (wrong) watcher a moment to pick it up: it must not.
sleep 0.5
assert_eq "$(hq_sql "SELECT count(*) FROM t")" 4 "rows before SIGHUP"
t0=$(date +%s%N)
kill -HUP "$HQ_PID"
hq_wait_sql 5 "SELECT count(*) FROM t" 5
ms=$((($(date +%s%N) - t0) / 1000000))
hq_wait_drained 5
# Twice: HUP is not a one-off.
hq_drop 5_6.json '{"sql":"INSERT INTO t(v) VALUES (6)"}'
kill -HUP "$HQ_PID"
hq_wait_sql 5 "SELECT count(*) FROM t" 6
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status (HUP)"
assert_eq "$(hq_sql "SELECT group_concat(v) FROM (SELECT v FROM t ORDER BY v)")" \
    "1,2,3,4,5,6" "rows"
note "polling applies entries; SIGHUP rescans at once (${ms} ms)"
