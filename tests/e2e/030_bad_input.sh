#!/usr/bin/env bash
# Every kind of bad input, interleaved with good entries in one run of one
# worker: each bad entry ends in failed/ with a note naming its cause (or,
# for a bad name, stays in pending/ untouched and is logged once), every
# good entry is applied once, nothing a bad entry tried is left in the
# database, and hqd is still alive afterwards and exits 0 on TERM.
. "$(dirname "$0")/lib.sh"

hq_sql "CREATE TABLE good(v INTEGER);
	CREATE TABLE uniq(k TEXT UNIQUE);
	INSERT INTO uniq(k) VALUES ('taken')"
mkdir -p "$ROOT/.tmp" "$ROOT/pending" "$T/orig"
tmp=$ROOT/.tmp

# Good entries around and after every bad one (5_01, 5_03, ... and 9_*):
# with one worker, the 9_* ones run after all the bad ones (the FIFO and the
# 20 MB file included), so they prove hqd did not hang on any of them.
good=()
for n in 01 03 05 07 09 11 13 15 17 19 21 23 25 27 29 31 33 35 37 39 41 \
    43 45 47 49 51 53 55 57; do
	good+=("5_${n}_good.json")
	printf '{"sql":"INSERT INTO good(v) VALUES (?)","params":[%d]}' \
	    "$((10#$n))" >"$tmp/5_${n}_good.json"
done
for n in 1 2 3; do
	good+=("9_${n}_after.json")
	printf '{"sql":"INSERT INTO good(v) VALUES (%d)"}' "$((900 + n))" \
	    >"$tmp/9_${n}_after.json"
done
want_good="1 3 5 7 9 11 13 15 17 19 21 23 25 27 29 31 33 35 37 39 41 43 45 47 49"
want_good="$want_good 51 53 55 57 901 902 903"

# Bad entries: name, then the error the note must name.
declare -A why
bad() {		# bad NAME ERE [BODY]: a bad entry written as BODY
	why[$1]=$2
	if [ $# -ge 3 ]; then
		printf '%s' "$3" >"$tmp/$1"
	fi
}
bad 5_02_truncated.json 'unexpected end of input' \
    '{"sql":"INSERT INTO good(v) VALUES (1002)","params":['
bad 5_04_invalid.json 'json: expected' '{sql: "INSERT INTO good(v) VALUES (1004)"}'
bad 5_06_array.json 'top level must be an object' \
    '["INSERT INTO good(v) VALUES (1006)"]'
bad 5_08_string.json 'top level must be an object' \
    '"INSERT INTO good(v) VALUES (1008)"'
bad 5_10_nosql.json 'sql is missing' '{"operation":"x","params":[1010]}'
bad 5_12_sqlnumber.json 'sql must be a string' '{"sql":1012}'
bad 5_14_syntax.json 'syntax error' '{"sql":"INSERT INTO good(v) VALUS (1014)"}'
bad 5_16_unique.json 'UNIQUE constraint failed' \
    '{"sql":"INSERT INTO uniq(k) VALUES ('"'taken'"')"}'
bad 5_18_attach.json 'may not attach' \
    "{\"sql\":\"ATTACH DATABASE '$T/attached.db' AS o\"}"
bad 5_20_detach.json 'may not attach or detach' '{"sql":"DETACH DATABASE temp"}'
bad 5_22_loadext.json 'may not load extensions' \
    '{"sql":"SELECT load_extension('"'/nonexistent/evil.so'"')"}'
bad 5_24_begin.json 'may not control transactions' \
    '{"sql":"BEGIN; INSERT INTO good(v) VALUES (1024); COMMIT"}'
bad 5_26_commit.json 'may not control transactions' \
    '{"sql":"INSERT INTO good(v) VALUES (1026); COMMIT"}'
bad 5_28_savepoint.json 'may not control transactions' \
    '{"sql":"SAVEPOINT s1; INSERT INTO good(v) VALUES (1028); RELEASE s1"}'
bad 5_30_pragma.json 'may not change this pragma' \
    '{"sql":"PRAGMA journal_mode=DELETE"}'
bad 5_32_writable.json 'may not change this pragma' \
    '{"sql":"PRAGMA writable_schema=ON"}'
bad 5_34_synchronous.json 'may not change this pragma' \
    '{"sql":"PRAGMA synchronous=OFF"}'
bad 5_36_ledger.json 'ledger' '{"sql":"DELETE FROM hq_ledger"}'
bad 5_38_half.json 'no such table' \
    '{"sql":"INSERT INTO good(v) VALUES (1038); INSERT INTO nosuch(x) VALUES (1)"}'
bad 5_40_params.json 'params' '{"sql":"INSERT INTO good(v) VALUES (?)","params":[]}'
bad 5_42_orrollback.json 'UNIQUE constraint failed' \
    '{"sql":"INSERT INTO good(v) VALUES (1042); INSERT OR ROLLBACK INTO uniq(k) VALUES ('"'taken'"')"}'
bad 5_44_empty.json 'empty entry' ''
# Random bytes: whatever the decoder says, they fail and never apply.
bad 5_46_random.json '.'
head -c 4096 /dev/urandom >"$tmp/5_46_random.json"
bad 5_48_random.msgpack '.'
head -c 4096 /dev/urandom >"$tmp/5_48_random.msgpack"
# Over the default --max-entry-size (1 MiB): 20 MB of a valid-looking entry.
bad 5_50_huge.json 'over the limit'
perl -e 'print q({"sql":"INSERT INTO good(v) VALUES (1050)","pad":"),
    "x" x (20 * 1024 * 1024), q("})' >"$tmp/5_50_huge.json"
# A symlink to a valid entry outside the queue: never followed.
bad 5_52_symlink.json 'symbolic link'
printf '{"sql":"INSERT INTO good(v) VALUES (1052)"}' >"$T/outside.json"
cp "$T/outside.json" "$T/orig/outside.json"
ln -s "$T/outside.json" "$tmp/5_52_symlink.json"
# A FIFO: opening it must not block the worker.
bad 5_54_fifo.json 'FIFO'
mkfifo "$tmp/5_54_fifo.json"
bad 5_56_dir.json 'directory'
mkdir "$tmp/5_56_dir.json"

# Names that are not entries: left in pending/, untouched, logged once.
badnames=("5_bad name.json" 11_x.json 0_x.json 01_x.json 5_x.txt
    readme.json 5_.json 5_x.JSON 5_x "5_$(printf 'a%.0s' $(seq 1 200)).json")
for name in "${badnames[@]}"; do
	printf '{"sql":"INSERT INTO good(v) VALUES (666)"}' >"$tmp/$name"
	cp "$tmp/$name" "$T/orig/$name"
done
# Dot files are producers' business: ignored, silently.
printf '{"sql":"INSERT INTO good(v) VALUES (667)"}' \
    >"$ROOT/pending/.5_00_hidden.json"

# Everything published in one burst, before hqd runs: one worker, one
# WORK with good and bad entries mixed in one transaction.
hq_publish
nbad=${#why[@]}
hq_start --workers 1 -v

hq__settled() {
	# pending/ first: an entry is in pending/ or processing/ until settled.
	[ "$(hq_count pending)" -eq "${#badnames[@]}" ] &&
	    [ ! -e "$ROOT/pending/5_56_dir.json" ] &&
	    [ "$(hq_count processing)" -eq 0 ]
}
hq_wait 30 "every entry taken from pending/ and settled" hq__settled

assert_eq "$(hq_sql "SELECT group_concat(v, ' ') FROM
	(SELECT v FROM good ORDER BY v)")" "$want_good" "values applied"
for name in "${!why[@]}"; do
	assert_failed "$name" "${why[$name]}"
	assert_match "$(cat "$ROOT/failed/$name.err")" '"attempts":1,' \
	    "$name: a permanent failure is one attempt"
	[ "$(hq_log_count "hqd worker 0: $name: failed: ")" -eq 1 ] ||
	    fail "$name: no 'failed' log line"
done
assert_eq "$(ls -A "$ROOT/failed" | wc -l)" $((2 * nbad)) "files in failed/"

# What the bad entries tried is not in the database.
assert_eq "$(hq_sql "SELECT count(*) FROM uniq")" 1 "rows in uniq"
assert_eq "$(hq_sql "PRAGMA journal_mode")" wal "journal_mode"
assert_eq "$(hq_sql "SELECT count(*) FROM hq_ledger")" "${#good[@]}" \
    "ledger rows (DELETE FROM hq_ledger refused)"
[ ! -e "$T/attached.db" ] || fail "ATTACH created $T/attached.db"
# The link moved to failed/ as a link; its target is untouched.
[ -L "$ROOT/failed/5_52_symlink.json" ] || fail "symlink: not a link in failed/"
cmp -s "$T/outside.json" "$T/orig/outside.json" || fail "symlink target changed"
[ -p "$ROOT/failed/5_54_fifo.json" ] || fail "FIFO: not a FIFO in failed/"

# Bad names and the dot file: still in pending/, byte for byte, each bad
# name logged once.
for name in "${badnames[@]}"; do
	cmp -s "$ROOT/pending/$name" "$T/orig/$name" ||
	    fail "pending/$name changed or gone"
	assert_eq "$(grep -c -F "pending/$name: not an entry name" "$LOG")" 1 \
	    "log lines for bad name '$name'"
done
[ -f "$ROOT/pending/.5_00_hidden.json" ] || fail "dot file gone"
assert_eq "$(hq_log_count '\.5_00_hidden')" 0 "log lines for the dot file"
assert_eq "$(hq_count pending)" "${#badnames[@]}" "files in pending/"

# Rescans do not report the bad names again, and hqd is still alive.
kill -HUP "$HQ_PID"
hq_wait_log 10 'rescan \(SIGHUP\)' 1
kill -HUP "$HQ_PID"
hq_wait_log 10 'rescan \(SIGHUP\)' 2
for name in "${badnames[@]}"; do
	assert_eq "$(grep -c -F "pending/$name: not an entry name" "$LOG")" 1 \
	    "log lines for bad name '$name' after two rescans"
done
kill -0 "$HQ_PID" || fail "hqd died"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "$nbad bad entries failed with their reasons, ${#badnames[@]} bad names" \
    "left alone, ${#good[@]} good entries applied"
