#!/usr/bin/env bash
# Log injection: text from outside reaches the log on one line, its control
# bytes escaped. A file name with a newline and a forged log line after it
# (logged by the supervisor as a bad name), an error text carrying a
# newline and an ESC sequence (logged by the worker that failed the entry),
# and UTF-8 in a name of a table, which stays as it is.
. "$(dirname "$0")/lib.sh"

hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 1

forged='2026-01-01T00:00:00.000Z hqd: exit: forged'
bad=$'5_1\n'"$forged.json"
hq_drop "$bad" '{"sql":"INSERT INTO t(v) VALUES (1)"}'
hq_drop 5_2.json '{"sql":"INSERT INTO \"no\nsuch\u001b[31m\" VALUES (2)"}'
hq_drop 5_3.json '{"sql":"INSERT INTO \"tablé\" VALUES (3)"}'
hq_drop 5_4.json '{"sql":"INSERT INTO t(v) VALUES (4)"}'
hq_wait_sql 20 "SELECT group_concat(v) FROM t" 4
hq_wait_log 20 '5_3\.json: failed'
hq_wait_log 20 'not an entry name'
hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status"

# Every line is a log line: a stamp and a process first.
bad_lines=$(grep -c -v -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z hqd( worker [0-9]+)?: ' \
    "$LOG" || true)
assert_eq "$bad_lines" 0 "lines that are not log lines"
assert_eq "$(grep -c 'forged' "$LOG" || true)" 1 "lines naming the forged line"
grep -q -F 'pending/5_1\n2026-01-01T00:00:00.000Z hqd: exit: forged.json: not an entry name' \
    "$LOG" || fail "the bad name, escaped: $(grep forged "$LOG")"
grep -q -F '5_2.json: failed: sql: no such table: no\nsuch\x1b[31m' "$LOG" ||
    fail "the error text, escaped: $(grep -a '5_2.json' "$LOG")"
grep -q -P '\x1b' "$LOG" && fail "an ESC byte reached the log"
grep -q -F '5_3.json: failed: sql: no such table: tablé' "$LOG" ||
    fail "UTF-8 kept: $(grep '5_3.json' "$LOG")"
assert_failed 5_2.json 'no such table'
note "names and error texts logged on one line each, control bytes escaped"
