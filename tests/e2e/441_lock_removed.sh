#!/usr/bin/env bash
# The whole tree under the root removed while hqd runs, its lock file
# (.hqd.lock) with it: hqd rebuilds the tree (440), and the root must stay
# its own. A second hqd on the root is refused at once, naming the pid
# that holds the root (only one hqd per root), and the stats
# segment still shows the first one. Entries published afterwards are
# applied exactly once.
. "$(dirname "$0")/lib.sh"
: "${HQCTL:?HQCTL must point at the hqctl binary}"
hq4_trap

hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 2 --rescan-interval 0.5 --heartbeat-interval 0.5
hq_gen 20 t
hq_publish
hq_wait_sql 30 "SELECT count(*) FROM t" 20
hq_wait_drained 10

# Control: refused while the lock file is there.
rc=0
timeout 20 "$HQD" --root "$ROOT" --db "$DB" --workers 1 >"$T/second0.log" 2>&1 ||
    rc=$?
assert_eq "$rc" 75 "exit status of a second hqd (lock file in place)"

hq_log_mark
rm -rf "$ROOT"/* "$ROOT"/.[!.]* || rm -rf "$ROOT"/* "$ROOT"/.[!.]*
[ ! -e "$ROOT/.hqd.lock" ] || fail "the lock file survived rm -rf"
hq_wait 30 "the removal noticed" hq__log_since_has 'inotify watch lost'
for d in .tmp pending processing completed failed; do
	hq_wait 30 "$d/ back" test -d "$ROOT/$d"
done
hq_gen 20 t 5 21
hq_publish
hq_wait_sql 30 "SELECT count(*) FROM t" 40

# A second hqd: refused, or it started (then stopped here).
hq4_second "$T/second.log" --root "$ROOT" --db "$DB" --workers 1
started=$HQ4_SECOND_STARTED
[ "$started" -eq 0 ] || kill -TERM "$HQ4_SECOND"
rc=0
wait "$HQ4_SECOND" || rc=$?
[ "$started" -eq 0 ] || fail "a second hqd started on $ROOT while hqd $HQ_PID runs: the lock file went with the tree and nothing made it again (second hqd: $(head -n 1 "$T/second.log"))"
assert_eq "$rc" 75 "exit status of a second hqd"
assert_match "$(cat "$T/second.log")" "held by hqd pid $HQ_PID" "second hqd message"
assert_eq "$(hq4_stats '$j->{pid}')" "$HQ_PID" "pid in the stats segment"
hq_wait_drained 10
hq_assert_once t 40
assert_eq "$(hq_count failed)" 0 "failed/"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "tree removed with its lock file: a second hqd still refused"
