#!/usr/bin/env bash
# A database hqd may not write: each entry is retried (--max-retries 1) and
# then moved to failed/ with a reason naming the read-only database; the
# database is unchanged and hqd stays up. As root, hqd runs as nobody
# (root writes through any mode bits).
. "$(dirname "$0")/lib.sh"

hq_sql "CREATE TABLE t(v INTEGER); INSERT INTO t(v) VALUES (0)"
if [ "$(id -u)" -eq 0 ]; then
	if ! command -v setpriv >/dev/null; then
		echo "setpriv missing: skipped"
		exit 77
	fi
	user=nobody group=$(id -gn nobody 2>/dev/null || echo nogroup)
	HQ_PREFIX=(setpriv --reuid="$user" --regid="$group" --clear-groups)
	chmod 755 "$T"
	# The database and its directory ($T) stay root's, mode 0644 / 0755:
	# nobody may read it, but neither write it nor create a journal there.
	chmod 644 "$DB"
	mkdir -p "$ROOT"
	chown "$user:$group" "$ROOT"
	: >"$LOG"
	"${HQ_PREFIX[@]}" test -x "$HQD" ||
	    { echo "$user cannot run $HQD: skipped"; exit 77; }
	! "${HQ_PREFIX[@]}" test -w "$DB" || fail "$user can write $DB"
else
	chmod 444 "$DB"
fi
before=$(cksum <"$DB")

hq_start --workers 1 --max-retries 1 --retry-base 0.05
assert_eq "$(hq_log_count "database $DB is read-only")" 1 "start-up warning"
for i in 1 2 3; do
	printf '{"sql":"INSERT INTO t(v) VALUES (%d)"}' "$i" >"$ROOT/.tmp/5_$i.json"
done
hq_publish
hq__all_failed() {
	[ "$(find "$ROOT/failed" -name '*.err' | wc -l)" -eq 3 ]
}
hq_wait 30 "three entries in failed/" hq__all_failed
for i in 1 2 3; do
	assert_failed "5_$i.json" 'gave up after 2 attempts: .*(read-only|readonly)'
	assert_match "$(cat "$ROOT/failed/5_$i.json.err")" '"attempts":2,' \
	    "5_$i.json: attempts in the note"
done
assert_eq "$(hq_count processing)" 0 "processing/"
assert_eq "$(hq_count_entries pending)" 0 "pending/"
assert_eq "$(hq_sql "SELECT group_concat(v) FROM t")" 0 "rows"
assert_eq "$(cksum <"$DB")" "$before" "database file"
[ "$(hq_log_count 'hqd worker 0: batch of [0-9]+: .*read-only')" -ge 1 ] ||
    fail "no retry logged"
kill -0 "$HQ_PID" || fail "hqd died"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "read-only database: 3 entries failed after 2 attempts each"
