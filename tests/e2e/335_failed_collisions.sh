#!/usr/bin/env bash
# Dead letters never overwrite each other: a second bad entry of a name
# already in failed/ is kept beside the first as NAME~2 with its own note;
# a directory squatting an entry's name in failed/ is passed over (one log
# line, no bouncing between pending/ and failed/); `hqctl failed` lists the
# copies with their own reasons (not the directory); `hqctl retry` puts a
# dead letter back under a name that is not pending yet (a copy number)
# and keeps every other note paired with its entry.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 2
T3_SEGS+=("$(t3_seg_name "$ROOT")")

# 1. Two bad entries of one name, one after the other.
hq_drop 5_dup.json '{"id":"dup-a","sql":"INSERT INTO later1(v) VALUES (1)"}'
hq_wait 20 "the first dead letter" test -e "$ROOT/failed/5_dup.json"
hq_drop 5_dup.json '{"id":"dup-b","sql":"INSERT INTO later2(v) VALUES (2)"}'
hq_wait 20 "2 failed" t3__stats_has '$j->{entries_failed}' 2
hq_wait_drained 20
assert_failed 5_dup.json 'no such table: later1'
assert_failed 5_dup~2.json 'no such table: later2'
grep -q dup-a "$ROOT/failed/5_dup.json" || fail "failed/5_dup.json is not the first entry"
grep -q dup-b "$ROOT/failed/5_dup~2.json" || fail "failed/5_dup~2.json is not the second entry"
hq_wait_log 10 '5_dup\.json: failed/5_dup\.json is taken \(a dead letter\): kept as failed/5_dup~2\.json'

# 2. A directory squats a name in failed/: the entry goes beside it, once.
mkdir "$ROOT/failed/5_sq.json"
hq_log_mark
hq_drop 5_sq.json '{"id":"sq","sql":"INSERT INTO later3(v) VALUES (3)"}'
hq_wait 20 "the squatted entry in failed/" test -e "$ROOT/failed/5_sq~2.json"
# The old bounce came back every ~2 s: give it three rounds.
sleep 5
assert_failed 5_sq~2.json 'no such table: later3'
assert_eq "$(hq_log_count_since '5_sq\.json: failed: ')" 1 "failures of 5_sq.json logged"
assert_eq "$(hq_log_count_since 'failed/5_sq\.json is taken \(a directory\): kept as failed/5_sq~2\.json')" \
    1 "lines about the squatter"
[ -d "$ROOT/failed/5_sq.json" ] && [ -z "$(ls -A "$ROOT/failed/5_sq.json")" ] ||
    fail "the squatting directory was touched"
assert_eq "$(hq_count_entries pending)" 0 "entries in pending/"
t3__stats_has '"$j->{entries_failed}/$j->{entries_applied}"' "3/0" ||
    fail "stats: $(t3_json "$T/st.json" '"$j->{entries_failed}/$j->{entries_applied}"')"

# 3. hqctl failed: the three, each with its own reason; not the directory.
t3_run t3_ctl failed --json
assert_eq "$T3_RC" 0 "hqctl failed --json"
cp "$T/out" "$T/failed.json"
t3_json_is "$T/failed.json" 'join ",", map { "$_->{entry}=$_->{error}" } @$j' \
    "5_dup.json=sql: no such table: later1,5_dup~2.json=sql: no such table: later2,5_sq~2.json=sql: no such table: later3"
t3_run t3_ctl failed
assert_eq "$(wc -l <"$T/out")" 3 "lines of hqctl failed"

# 4. Retry while an entry of that name is pending (hqd stopped, so it
# stays there): the dead letter comes back as the next free copy, with
# its own id; the other notes stay with their entries.
hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status"
hq_drop 5_dup.json '{"id":"dup-c","sql":"INSERT INTO t(v) VALUES (30)"}'
t3_run t3_ctl retry 5_dup
assert_eq "$T3_RC" 0 "retry 5_dup"
assert_eq "$(cat "$T/out")" "5_dup~2.json" "retry 5_dup prints its new name"
t3_assert_match "$(cat "$T/err")" 'that name is pending: retried as 5_dup~2\.json' \
    "retry 5_dup says why"
grep -q dup-a "$ROOT/pending/5_dup~2.json" || fail "pending/5_dup~2.json is not the first dead letter"
grep -q dup-c "$ROOT/pending/5_dup.json" || fail "the pending entry was replaced"
[ ! -e "$ROOT/failed/5_dup.json" ] && [ ! -e "$ROOT/failed/5_dup.json.err" ] ||
    fail "retry left 5_dup.json or its note in failed/"
# (pending/ has a 5_dup~2.json now too: not assert_failed's idea of it.)
grep -q dup-b "$ROOT/failed/5_dup~2.json" &&
    grep -q '"error":"sql: no such table: later2"' "$ROOT/failed/5_dup~2.json.err" ||
    fail "failed/5_dup~2.json and its note came apart"
t3_run t3_ctl retry 5_dup~2
assert_eq "$T3_RC" 0 "retry 5_dup~2"
assert_eq "$(cat "$T/out")" "5_dup~3.json" "retry 5_dup~2 prints its new name"
grep -q dup-b "$ROOT/pending/5_dup~3.json" || fail "pending/5_dup~3.json is not the second dead letter"
[ ! -e "$ROOT/failed/5_dup~2.json.err" ] || fail "retry left 5_dup~2.json.err"
# The directory is no dead letter; the copy beside it is one.
t3_run t3_ctl retry 5_sq
assert_eq "$T3_RC" 66 "retry of the squatting directory"
t3_run t3_ctl retry --all
assert_eq "$T3_RC" 0 "retry --all"
assert_eq "$(cat "$T/out")" "5_sq~2.json" "retry --all prints the names"
assert_eq "$(find "$ROOT/failed" -mindepth 1 ! -type d | wc -l)" 0 "files left in failed/"

# Every one applied once its table exists: the copies are entries.
for i in 1 2 3; do
	hq_sql "CREATE TABLE later$i(v INTEGER)"
done
hq_start --workers 2
hq_wait_drained 20
hq_wait_sql 20 "SELECT (SELECT group_concat(v) FROM later1) || '/' || (SELECT group_concat(v) FROM later2) || '/' || (SELECT group_concat(v) FROM later3) || '/' || (SELECT group_concat(v) FROM t)" \
    "1/2/3/30"
assert_eq "$(hq_count_entries failed)" 0 "entries in failed/"
hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status"
note "same-name dead letters kept side by side; a squatter passed over once; retried under free names"
