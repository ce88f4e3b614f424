#!/usr/bin/env bash
# The old shell library's entries (tests/fixtures/entries/compat, written
# unmodified by queue-lib.sh): the pretty-printed ones (with jq) and the
# ones with the stray '}' after metadata (without jq) are all applied, the
# latter repaired and logged as such; none fails.
. "$(dirname "$0")/lib.sh"

FIX=$(cd "$(dirname "$0")/../fixtures/entries/compat" && pwd)
hq_sql "CREATE TABLE sessions(id TEXT PRIMARY KEY, verified INTEGER DEFAULT 0,
		last_activity TEXT, status TEXT);
	CREATE TABLE session_logs(id INTEGER PRIMARY KEY, session_id TEXT,
		level TEXT, log_level TEXT, message TEXT, data TEXT);
	INSERT INTO sessions(id, status) VALUES ('sess_123', 'new'), ('abc', 'new')"

mkdir -p "$ROOT/.tmp" "$ROOT/pending"
cp "$FIX"/with-jq/*.json "$FIX"/without-jq/*.json "$ROOT/.tmp/"
assert_eq "$(ls "$ROOT/.tmp" | wc -l)" 10 "fixture entries"
hq_publish
hq_start --workers 1
hq_wait_drained 20
assert_eq "$(hq_count failed)" 0 "failed/"

# Every file applied once, under its own id (the name without .json).
want_ids=$(cd "$FIX" && ls with-jq without-jq | grep '\.json$' |
    sed 's/\.json$//' | LC_ALL=C sort)
assert_eq "$(hq_sql "SELECT id FROM hq_ledger ORDER BY id" | LC_ALL=C sort)" \
    "$want_ids" "ledger ids"
assert_eq "$(hq_sql "SELECT session_id, level, log_level, message, data
	FROM session_logs ORDER BY id")" \
"s1|info||a, b: {c}|
sess_123||info|User logged in, ok|{\"ip\": \"10.0.0.1\"}}
s1|info||a, b: {c}|
sess_123||info|User logged in, ok|{\"ip\": \"10.0.0.1\"}}" "session_logs"
assert_eq "$(hq_sql "SELECT id, verified, last_activity IS NOT NULL, status
	FROM sessions ORDER BY id")" \
"abc|0|1|active
sess_123|1|1|new" "sessions"

# The repair is logged for each without-jq file, and only for those.
for f in "$FIX"/without-jq/*.json; do
	name=$(basename "$f")
	assert_eq "$(hq_log_count "$name: repaired the old library's stray '}'")" 1 \
	    "repair log line for $name"
done
assert_eq "$(hq_log_count "repaired the old library")" 5 "repair log lines"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "old library entries: 10 applied, 5 repaired"
