#!/usr/bin/env bash
# The shell library never turns a write into nothing (issue 15): what the
# old library accepted is applied, mapped to the nearest valid form with a
# warning in worker.log (priority 0, 11, -3, "abc", "5x" clamped or 5;
# metadata that is not JSON kept as a JSON string; SQL over the 128 KiB an
# argument may hold); what hqd cannot apply (blank SQL) lands in failed/
# with its reason, is counted, and `hqctl failed` lists it; a write that
# cannot be queued at all (the tree broken) is applied directly with
# sqlite3, as the old library did, or else lands in failed/ with its
# reason, from where `hqctl retry` queues it. Before, each of these was a
# return code 1 and nothing else.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"
: "${HQ_QUEUE_LIB:?HQ_QUEUE_LIB must point at hqctl/queue-lib.sh}"
export QUEUE_BASE_DIR=$ROOT HIVE_DB=$DB HQD HQCTL HQ_QUEUE_LIB
unset USE_QUEUE QUEUE_WORKER_LOG HQ_QUEUE_LIB_LOADED
# Applied entries stay in completed/, where their names and metadata can
# be read back (hqd reads the variable; the library starts hqd).
export QUEUE_KEEP_COMPLETED=true
t3_lib_trap
WLOG=$ROOT/worker.log
hq_sql "CREATE TABLE r(k TEXT PRIMARY KEY, v TEXT)"

# write K PRIORITY [METADATA]: queue_db_write of a row k=K, status 0.
write() {
	t3_lib queue_db_write "INSERT INTO r(k, v) VALUES ('$1', 'x');" \
		"op_$1" "$2" "${3-}" || fail "queue_db_write $1 (priority '$2'): status $?"
}
# completed K: the name of K's entry in completed/, once applied.
completed() {
	grep -l -- "'$1'" "$ROOT"/completed/*.json | sed 's|.*/||'
}

# 1. Priorities out of range or not numbers: clamped, or 5.
write p0 0
write p11 11
write pneg -3
write pabc abc
write p5x 5x
write pbig 99999999999999999999
write pempty ''
# queue_enqueue's order: OPERATION PRIORITY SQL METADATA
t3_lib queue_enqueue op_e0 0 "INSERT INTO r(k, v) VALUES ('e0', 'x');" \
	'{"a":1}' || fail "queue_enqueue with priority 0: status $?"
# 2. Metadata that is not JSON, and JSON that is.
write mbad 5 '{bad'
write mopen 5 '{"a":1'
write mtext 5 'plain text, not json'
write mgood 5 '{"ok":[1,2]}'
t3_lib queue_enqueue op_e1 4 "INSERT INTO r(k, v) VALUES ('e1', 'x');" \
	'not json' || fail "queue_enqueue with bad metadata: status $?"
# 3. SQL longer than an argument may be (128 KiB): through stdin.
# (the hook reads it from a file: the test cannot pass it as an argument)
printf "INSERT INTO r(k, v) VALUES ('big', '%s');" \
	"$(head -c 200000 /dev/zero | tr '\0' y)" >"$T/big.sql"
bash -uc 'source "$HQ_QUEUE_LIB"; queue_db_write "$(cat "$1")" big 5' \
	hook "$T/big.sql" || fail "queue_db_write of 200 kB: status $?"
# 4. Blank SQL: queued, and hqd says why it cannot apply it.
t3_lib queue_db_write "   " blank 5 || fail "queue_db_write of blank SQL: status $?"
# An empty SQL is refused with 1, as the old library did (there is no write).
if t3_lib queue_db_write "" empty 5; then
	fail "queue_db_write of an empty SQL returned 0"
fi
# worker.log cannot be opened (its folder gone): queued all the same, with
# hqctl's warnings on the caller's stderr (the retry is queue-lib-more.sh's).
QUEUE_WORKER_LOG=$T/gone/worker.log t3_lib queue_db_write \
	"INSERT INTO r(k, v) VALUES ('nolog', 'x');" nolog 0 2>"$T/nolog.err" ||
	fail "queue_db_write without worker.log: status $?"
grep -q 'priority 0 is not in 1\.\.10: queued at 1' "$T/nolog.err" ||
	fail "without worker.log, the warning on stderr: $(cat "$T/nolog.err")"

ROWS=15
hq__rows() {
	[ "$(hq_sql "SELECT count(*) FROM r")" -eq "$ROWS" ]
}
hq_wait 30 "$ROWS rows" hq__rows
hq_wait_drained 30
assert_eq "$(hq_sql "SELECT length(v) FROM r WHERE k = 'big'")" 200000 \
	"the 200 kB row"
for kp in p0:1 p11:10 pneg:1 pabc:5 p5x:5 pbig:10 pempty:5 e0:1 mbad:5 e1:4; do
	t3_assert_match "$(completed "${kp%%:*}")" "^${kp#*:}_[0-9_]+\.json$" \
		"entry of ${kp%%:*}"
done
for km in 'mbad:"{bad"' 'mopen:"{\"a\":1"' 'mtext:"plain text, not json"' \
    'mgood:{"ok":[1,2]}' 'e1:"not json"' 'e0:{"a":1}'; do
	f=$ROOT/completed/$(completed "${km%%:*}")
	t3_json_is "$f" 'JSON::PP->new->allow_nonref->canonical->encode($j->{metadata})' \
		"${km#*:}"
done

# The warnings, one line each, in worker.log.
wl() {	# wl ERE COUNT WHAT
	assert_eq "$(grep -c -E -- "$1" "$WLOG" || true)" "$2" "worker.log: $3"
}
wl 'hqctl: 1_[0-9_]+\.json: priority 0 is not in 1\.\.10: queued at 1' 2 "priority 0"
wl 'hqctl: 10_[0-9_]+\.json: priority 11 is not in 1\.\.10: queued at 10' 1 "priority 11"
wl 'priority -3 is not in 1\.\.10: queued at 1' 1 "priority -3"
wl "hqctl: 5_[0-9_]+\\.json: priority 'abc' is not an integer: queued at 5" 1 "priority abc"
wl "priority '5x' is not an integer: queued at 5" 1 "priority 5x"
wl 'priority [0-9]+ is not in 1\.\.10: queued at 10' 2 "priority 11 and a huge one"
wl 'metadata is not JSON \(json: .*\): kept as a JSON string' 4 "metadata"
wl "queued anyway, hqd will move it to failed/: sql is empty" 1 "blank SQL"

# The blank SQL is in failed/ with its reason, counted, and listed.
assert_eq "$(hq_count_entries failed)" 1 "entries in failed/"
blank=$(cd "$ROOT/failed" && ls -- *.json)
assert_failed "$blank" 'sql is empty'
t3_run t3_ctl failed
assert_eq "$T3_RC" 0 "hqctl failed"
t3_assert_match "$(cat "$T/out")" "^$blank .* sql is empty" "hqctl failed lists it"
hq_wait 10 "the failure counted" t3__stats_has '$j->{entries_failed}' 1
t3_assert_match "$(t3_lib queue_stats_get)" '"failed":1,' "queue_stats_get failed"

# 5. Nothing can be queued: .tmp/ is a file, hqd stopped (the library
# cannot make the tree, so it cannot start one).
t3_lib queue_stop_worker
hq_wait 10 "hqd to stop" eval '[ -z "$(t3_lib_hqd)" ]'
rm -rf "$ROOT/.tmp"
: >"$ROOT/.tmp"
# a. with sqlite3: applied directly, as the old library did.
if command -v sqlite3 >/dev/null 2>&1; then
	t3_lib queue_db_write "INSERT INTO r(k, v) VALUES ('direct', 'x');" d 5 ||
		fail "queue_db_write with the tree broken (sqlite3 there): status $?"
	assert_eq "$(hq_sql "SELECT count(*) FROM r WHERE k = 'direct'")" 1 \
		"the row written directly"
	wl 'queue-lib: error: could not queue a write \(d\): hqctl enqueue failed with status 73' 1 \
		"the direct write's reason"
	ROWS=$((ROWS + 1))
else
	note "SKIP the direct fallback: no sqlite3 command"
fi
# b. without sqlite3: in failed/, with the reason, 1 returned.
mkdir "$T/bin"
for c in bash mv mkdir rm cat sed ls sort head find stat cp setsid nohup; do
	p=$(command -v "$c") && ln -s "$p" "$T/bin/$c"
done
rc=0
PATH=$T/bin t3_lib queue_db_write \
	"INSERT INTO r(k, v) VALUES ('lost', '$(printf 'cut \xc3')');" lost 3 '{"m":1}' ||
	rc=$?
assert_eq "$rc" 1 "queue_db_write that nothing could take: status"
dead=$(cd "$ROOT/failed" && ls -- *.json | grep -vxF "$blank")
t3_assert_match "$dead" '^3_[0-9]+_[0-9]+_[0-9]+\.json$' "the dead letter's name"
note_re='^\{"entry":"'"$dead"'","error":"could not be queued: hqctl enqueue failed with status 73 \(see worker.log\)","attempts":0,"failed_at":"[0-9TZ:-]+","worker":-1\}$'
t3_assert_match "$(cat "$ROOT/failed/$dead.err")" "$note_re" "its note"
# (not UTF-8 inside: JSON::PP would refuse it, hq reads it; grep too in
# a UTF-8 locale)
LC_ALL=C t3_assert_match "$(cat "$ROOT/failed/$dead")" \
	'"priority":3,"operation":"lost","sql":"INSERT INTO r.*"metadata":\{"m":1\}' \
	"the dead letter"
wl "queue-lib: error: $dead: in failed/: could not be queued" 1 "the dead letter"

# The tree mended, hqctl failed lists it (it needs the whole tree), hqctl
# retry queues it and hqd applies it, bytes and all.
rm -f "$ROOT/.tmp"
mkdir "$ROOT/.tmp"
t3_run t3_ctl failed
LC_ALL=C t3_assert_match "$(cat "$T/out")" \
	"^$dead .* could not be queued: hqctl enqueue failed with status 73" \
	"hqctl failed lists it"
# counted with hqd's own dead letters (hqd is down: from the folder)
t3_stats_json "$T/st.json"
t3_json_is "$T/st.json" '$j->{failed_count}' 2
t3_run t3_ctl retry "$dead"
assert_eq "$T3_RC" 0 "hqctl retry of the dead letter ($(cat "$T/err"))"
t3_lib queue_ensure_worker || fail "queue_ensure_worker"
ROWS=$((ROWS + 1))
hq_wait 30 "$ROWS rows" hq__rows
assert_eq "$(hq_sql "SELECT hex(v) FROM r WHERE k = 'lost'")" 63757420C3 \
	"the retried row's bytes"
note "priorities, metadata, 200 kB, blank SQL, a broken tree: nothing lost"
