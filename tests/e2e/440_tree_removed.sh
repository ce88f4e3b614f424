#!/usr/bin/env bash
# The queue tree removed under a running hqd while a producer keeps
# publishing (mkdir -p .tmp/ and pending/, write, rename; hq4_producer).
# Part 1, three faults in turn, each after the queue drained:
#  A. pending/ removed (rm -rf); the producer recreates it;
#  B. processing/ removed, with the workers' folders;
#  C. the whole tree but the root removed (.tmp, pending, processing,
#     completed, failed, the heartbeat, the lock file).
# hqd notices within a rescan (--rescan-interval 0.5: the log says
# "inotify watch lost"), rebuilds the tree (failed/ and completed/, which
# no producer makes, come back) and its watch; the heartbeat keeps being
# written. Every entry whose publication started after a removal ended
# is applied exactly once; the few a removal deleted before hqd saw them
# (the operator's doing) are applied at most once; nothing is in failed/.
# (441: the lock file removed with the tree; 442: a worker death after
# processing/ was rebuilt.)
# Part 2, as nobody (root reads any folder): pending/ made unreadable
# (chmod 000) while entries arrive, then readable again: the refusals are
# logged, nothing published meanwhile is applied meanwhile, nothing is
# lost, everything is applied exactly once afterwards.
. "$(dirname "$0")/lib.sh"
: "${HQCTL:?HQCTL must point at the hqctl binary}"
hq4_trap

ARGS=(--workers 2 --rescan-interval 0.5 --heartbeat-interval 0.5)

hq__rows_ge() {
	[ "$(hq_sql "SELECT count(*) FROM t")" -ge "$1" ]
}

# progress N: N more rows than now.
progress() {
	local now
	now=$(hq_sql "SELECT count(*) FROM t")
	hq_wait 60 "$1 more entries applied" hq__rows_ge $((now + $1))
}

# remove WHAT PATH...: rm -rf, again while a producer or a worker puts a
# file into a folder being removed (ENOTEMPTY), between fault markers.
remove() {
	local what=$1 i
	shift
	hq4_mark "F$what start"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		rm -rf "$@" 2>/dev/null && break
	done
	hq4_mark "F$what end"
}

# drain_then: pause the producer, let hqd catch up, let the producer go
# on: a fault that follows can only delete what is published after this.
drain_then() {
	hq4_producer_pause
	hq_wait_drained 60
	hq4_producer_resume
}

iteration() {
	hq4_heartbeat '$j->{iteration}'
}

hq__hb_after() {
	local it
	it=$(iteration)
	[ "$it" != none ] && [ "$it" -gt "$1" ]
}

hq_sql "CREATE TABLE t(v INTEGER)"
hq_start "${ARGS[@]}"
hq4_producer_start t 1
progress 50

# A. pending/ removed.
drain_then
hq_log_mark
remove A "$ROOT/pending"
hq_wait 30 "the lost watch noticed (A)" hq__log_since_has 'inotify watch lost'
progress 50
note "A: $(hq_log_count_since 'inotify watch lost') watch rebuild(s)"

# B. processing/ removed.
drain_then
hq_log_mark
remove B "$ROOT/processing"
progress 50
[ -d "$ROOT/processing" ] || fail "B: processing/ not recreated"
note "B: $(hq_log_count_since 'was removed: recreating the tree') worker folder rebuild(s)"

# C. Everything under the root.
drain_then
hq_log_mark
it=$(iteration)
remove C "$ROOT"/* "$ROOT"/.[!.]*
hq_wait 30 "the lost watch noticed (C)" hq__log_since_has 'inotify watch lost'
progress 50
for d in .tmp pending processing completed failed; do
	[ -d "$ROOT/$d" ] || fail "C: $d/ not recreated"
done
hq_wait 30 "a heartbeat after C" hq__hb_after "$it"
it=$(iteration)
hq_wait 30 "the heartbeat to go on" hq__hb_after "$it"
kill -0 "$HQ_PID" || fail "hqd died"

# The producer stops; everything it published is accounted for.
hq4_producer_stop
hq_wait_drained 60
summary=$(hq4_check_events t) || fail "$summary"
note "part 1: $summary"
assert_eq "$(hq_count failed)" 0 "failed/"
note "part 1: the producer retried $(grep -c '^R ' "$T/events" || true) publications"

hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
assert_eq "$(hq_count processing)" 0 "processing/ at exit"

# Part 2: pending/ unreadable for hqd.
if [ "$(id -u)" -ne 0 ] || ! hq4_as_nobody; then
	note "part 2 skipped: needs root and setpriv to run hqd as nobody"
else
	mv "$T/events" "$T/events.part1"
	mv "$LOG" "$T/hqd.part1.log"
	ROOT=$T/q2
	DB=$T/db2/hive.db
	mkdir -p "$ROOT" "$T/db2"
	chown "$HQ4_USER:$HQ4_GROUP" "$ROOT" "$T/db2"
	hq_sql "CREATE TABLE t(v INTEGER)"
	hq_start "${ARGS[@]}"
	hq4_producer_start t 1
	progress 30
	mode=$(stat -c %a "$ROOT/pending")
	hq_log_mark
	chmod 000 "$ROOT/pending"
	hq4_mark unreadable
	hq__published_since() {
		[ "$(sed -n '/^unreadable$/,$p' "$T/events" | grep -c '^P ')" -ge "$1" ]
	}
	hq_wait 60 "30 entries published into the unreadable pending/" \
	    hq__published_since 30
	hq_wait 30 "refused scans" hq__log_since_has \
	    "rescan .*/pending: Permission denied" 2
	hq4_mark readable-again
	# Entries published meanwhile (their publication started after the
	# chmod): none applied meanwhile.
	hq_sql "SELECT v FROM t" >"$T/applied.now"
	early=$(awk '/^unreadable$/ { on = 1; next }
	    on && /^S / { s[$2] = 1 } on && /^P / && s[$2] { print $2 }' \
	    "$T/events" | sort | comm -12 - <(sort "$T/applied.now") | wc -l)
	assert_eq "$early" 0 "entries published into an unreadable pending/ applied before it was readable"
	chmod "$mode" "$ROOT/pending"
	progress 30
	hq4_producer_stop
	hq_wait_drained 60
	summary=$(hq4_check_events t) || fail "$summary"
	assert_match "$summary" ', of which deleted before hqd saw them 0$' "part 2 losses"
	assert_eq "$(hq_count failed)" 0 "part 2: failed/"
	kill -0 "$HQ_PID" || fail "part 2: hqd died"
	note "part 2: $summary; $(hq_log_count_since 'Permission denied') refusals logged"
	hq_stop TERM
	assert_eq "$HQ_RC" 0 "part 2: exit status"
fi
