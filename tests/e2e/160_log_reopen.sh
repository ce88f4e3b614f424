#!/usr/bin/env bash
# --log-file: hqd and its workers log there; after the file is rotated
# away, HUP (and USR1) make every process reopen it: new lines land in the
# new file, none in the rotated one.
. "$(dirname "$0")/lib.sh"

L=$T/hq.log
hq_sql "CREATE TABLE t(v INTEGER)"
"$HQD" --root "$ROOT" --db "$DB" --workers 2 --log-file "$L" &
HQ_PID=$!
hq__in_log() { grep -q -- "$2" "$1" 2>/dev/null; }
hq_wait 10 "start line in the log file" hq__in_log "$L" ': started: '
# A worker line: a failed entry is logged by the worker that had it.
hq_drop 5_1.json '{"sql":"INSERT INTO nope VALUES (1)"}'
hq_wait 10 "worker line" hq__in_log "$L" 'hqd worker [01]: 5_1.json: failed'

mv "$L" "$L.1"
kill -HUP "$HQ_PID"
hq_wait 10 "the new log file" test -e "$L"
hq_drop 5_2.json '{"sql":"INSERT INTO nope VALUES (2)"}'
hq_wait 10 "worker line in the new file" hq__in_log "$L" 'hqd worker [01]: 5_2.json: failed'
grep -q '5_2.json' "$L.1" && fail "a line went to the rotated file"

mv "$L" "$L.2"
kill -USR1 "$HQ_PID"
hq_wait 10 "the new log file after USR1" test -e "$L"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
hq__in_log "$L" 'hqd: exit: ' || fail "exit line not in the newest file"
note "log file reopened on HUP and USR1 by hqd and its workers"
