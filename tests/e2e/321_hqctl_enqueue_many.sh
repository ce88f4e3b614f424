#!/usr/bin/env bash
# `hqctl enqueue --many` (hq_enqueue_many()): one entry per line of stdin,
# each a JSON object in the entry format; every line is decoded before
# anything is written; the entries share one flush of pending/ (strace
# counts one directory fsync for 150 entries, and one data flush per
# entry); a bad line enqueues nothing; hqd applies them all with their
# params, priorities and ids; on a full disk the entries already
# published are named on stdout and nothing is left in .tmp/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

hq_sql "CREATE TABLE m(k INTEGER, v TEXT)"
mkdir -p "$ROOT/.tmp" "$ROOT/pending"

# 1. Three lines, a blank one, defaults from the options.
t3_run t3_ctl enqueue --many --op from_opts --priority 4 <<'EOF'
{"sql":"INSERT INTO m(k, v) VALUES (?, ?)","params":[1,"one"]}

{"sql":"INSERT INTO m(k, v) VALUES (2, 'two')","priority":2,"operation":"own","id":"m-2"}
{"sql":"INSERT INTO m(k, v) VALUES (?, ?)","params":[3,null],"metadata":{"x":[1]}}
EOF
assert_eq "$T3_RC" 0 "enqueue --many exit status"
[ ! -s "$T/err" ] || fail "enqueue --many wrote to stderr: $(cat "$T/err")"
assert_eq "$(wc -l <"$T/out")" 3 "names printed"
mapfile -t names <"$T/out"
t3_assert_match "${names[0]}" '^4_[0-9]+_[0-9]+_[0-9]+\.json$' "name 1"
t3_assert_match "${names[1]}" '^2_[0-9]+_[0-9]+_[0-9]+\.json$' "name 2"
for n in "${names[@]}"; do
	[ -f "$ROOT/pending/$n" ] || fail "printed $n is not in pending/"
done
t3_nothing_in .tmp
t3_json_is "$ROOT/pending/${names[0]}" '$j->{operation}' from_opts
t3_json_is "$ROOT/pending/${names[1]}" '$j->{operation}' own
t3_json_is "$ROOT/pending/${names[1]}" '$j->{id}' m-2
t3_json_is "$ROOT/pending/${names[2]}" 'defined $j->{params}[1] ? "defined" : "null"' null

# 2. A line that is not an entry: nothing at all is enqueued.
before=$(find "$ROOT/pending" -type f | wc -l)
t3_run t3_ctl enqueue --many <<'EOF'
{"sql":"INSERT INTO m(k) VALUES (10)"}
{"sql":
EOF
assert_eq "$T3_RC" 65 "a bad line: exit status"
t3_assert_match "$(cat "$T/err")" 'line 2: .*nothing enqueued' "a bad line: message"
assert_eq "$(find "$ROOT/pending" -type f | wc -l)" "$before" "a bad line: pending/"
t3_nothing_in .tmp
t3_run t3_ctl enqueue --many --int 1 </dev/null
assert_eq "$T3_RC" 64 "--many with --int"
t3_run t3_ctl enqueue --many </dev/null
assert_eq "$T3_RC" 65 "--many with nothing on stdin"

# 3. 150 entries (three groups of 64 temp files), one directory flush.
for i in $(seq 100 249); do
	printf '{"sql":"INSERT INTO m(k, v) VALUES (?, ?)","params":[%d,"b"]}\n' "$i"
done >"$T/batch"
if command -v strace >/dev/null; then
	# (LeakSanitizer cannot run under ptrace: off for this one run)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -e trace=fsync,fdatasync,openat -o "$T/strace" \
		"$HQCTL" --root "$ROOT" enqueue --many <"$T/batch" >"$T/out"
	# the descriptor of pending/ is the one opened with O_DIRECTORY
	dirfsyncs=$(perl -ne '
		$d{$1} = 1 if /openat\(.*"[^"]*\/pending", .*O_DIRECTORY.*\) = (\d+)/;
		$n++ if /^\d*\s*fsync\((\d+)\)/ && $d{$1};
		END { print $n + 0 }' "$T/strace")
	assert_eq "$dirfsyncs" 1 "fsyncs of pending/ for 150 entries"
	assert_eq "$(grep -c 'fdatasync(' "$T/strace")" 150 "data flushes for 150 entries"
else
	"$HQCTL" --root "$ROOT" enqueue --many <"$T/batch" >"$T/out"
fi
assert_eq "$(wc -l <"$T/out")" 150 "names printed for 150"
t3_nothing_in .tmp

# 4. hqd applies all of them.
hq_start
hq_wait_drained 20
assert_eq "$(hq_sql "SELECT count(*), sum(k) FROM m")" "153|26181" "rows applied"
assert_eq "$(hq_sql "SELECT quote(v) FROM m WHERE k = 3")" "NULL" "null param"
hq_stop

# 5. A full disk half way through a batch: what is printed is in
# pending/, nothing else is, and .tmp/ is empty.
SMALL=$T/small
mkdir -p "$SMALL"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=128k tmpfs "$SMALL" 2>/dev/null; then
	t3_umount() {
		local rc=$?
		set +e
		umount "$SMALL" 2>/dev/null || umount -l "$SMALL" 2>/dev/null || true
		(exit "$rc")
		t3_cleanup
	}
	trap t3_umount EXIT
	mkdir -p "$SMALL/q/.tmp" "$SMALL/q/pending"
	pad=$(head -c 3000 /dev/zero | tr '\0' x)
	for i in $(seq 1 100); do
		printf '{"sql":"SELECT %d, '"'"'%s'"'"'"}\n' "$i" "$pad"
	done >"$T/big"
	t3_run "$HQCTL" --root "$SMALL/q" enqueue --many <"$T/big"
	[ "$T3_RC" -ne 0 ] && [ "$T3_RC" -lt 128 ] ||
		fail "--many on a full disk: exit $T3_RC"
	t3_assert_match "$(cat "$T/err")" 'No space left on device.*of 100 enqueued' \
		"--many on a full disk: message"
	got=$(cd "$SMALL/q/pending" && ls | sort)
	want=$(sort "$T/out")
	assert_eq "$got" "$want" "--many on a full disk: printed = pending/"
	left=$(find "$SMALL/q/.tmp" -mindepth 1)
	[ -z "$left" ] || fail "--many on a full disk left: $left"
	umount "$SMALL"
else
	note "SKIP full disk: cannot mount a tmpfs here"
fi
note "hqctl enqueue --many: one flush, all or the first ones, applied"
