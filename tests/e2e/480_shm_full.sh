#!/usr/bin/env bash
# /dev/shm full (issue 12, item 1), in a private mount namespace whose
# /dev/shm is a small tmpfs of the test's own:
#  A. /dev/shm filled up while hqd runs with 8 workers: entries keep
#     being applied, hqctl stats and health read the segment, a killed
#     worker is respawned and attaches, TERM exits 0 and removes the
#     segment. (The segment's pages were allocated at start; before that,
#     a worker's or hqctl's first touch of a missing page was SIGBUS.)
#  B. /dev/shm full at start (8 KiB): hqd exits 73 with one line naming
#     /dev/shm and the size the segment needs, leaving nothing behind;
#     hqctl stats says hqd is down (69); and a sparse segment (as an
#     older hqd made) whose pages cannot be allocated any more is read by
#     hqctl without a signal.
# Needs root (unshare -m, mount): skipped (77) otherwise.
if [ -z "${HQ_E2E_480_NS:-}" ]; then
	if ! unshare -m --propagation private true 2>/dev/null; then
		echo "# skip: cannot make a private mount namespace (unshare -m)"
		exit 77
	fi
	HQ_E2E_480_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
: "${HQCTL:?HQCTL must point at the hqctl binary}"
hq4_trap

# shm_mount SIZE: a fresh tmpfs of SIZE on this namespace's /dev/shm.
shm_mount() {
	if ! mount -t tmpfs -o "size=$1,mode=1777" tmpfs /dev/shm \
	    2>"$T/mount.err"; then
		note "skip: cannot mount a tmpfs on /dev/shm: $(cat "$T/mount.err")"
		exit 77
	fi
}

# no_signal WHAT RC: RC is an exit status, not a death by signal.
no_signal() {
	[ "$2" -lt 128 ] || fail "$1 died by signal $(($2 - 128))"
}

# A. Filled up while hqd runs.
shm_mount 1m
hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 8 --heartbeat-interval 0.5
seg=$(ls /dev/shm)
[ "$(wc -w <<<"$seg")" -eq 1 ] || fail "/dev/shm holds '$seg', want one segment"
SIZE=$(stat -c %s "/dev/shm/$seg")
blocks=$(stat -c '%b*%B' "/dev/shm/$seg")
[ $((blocks)) -ge "$SIZE" ] ||
    fail "the segment is sparse: $((blocks)) of $SIZE bytes allocated"
# Its header page, for part B's sparse segment.
head -c 4096 "/dev/shm/$seg" >"$T/seg.head"
hq4_fill /dev/shm
note "A: /dev/shm full, the $SIZE-byte segment allocated"
hq_gen 200 t
hq_publish
hq_wait_sql 30 "SELECT count(*) FROM t" 200
hq_wait_drained 10
rc=0
"$HQCTL" --root "$ROOT" stats --json >"$T/stats.json" 2>"$T/stats.err" || rc=$?
no_signal "hqctl stats" "$rc"
assert_eq "$rc" 0 "hqctl stats with /dev/shm full ($(cat "$T/stats.err"))"
assert_eq "$(hq4_json "$T/stats.json" '"$j->{pid}/$j->{entries_applied}"')" \
    "$HQ_PID/200" "pid/applied in hqctl stats"
# Every worker idle: each has run (and touched its slot).
assert_eq "$(hq4_json "$T/stats.json" 'scalar grep { $_->{state} eq "idle" } @{$j->{workers}}')" \
    8 "idle workers"
rc=0
"$HQCTL" --root "$ROOT" health >"$T/health.out" 2>&1 || rc=$?
no_signal "hqctl health" "$rc"
assert_eq "$rc" 0 "hqctl health ($(cat "$T/health.out"))"
victim=$(hq_live_workers)
victim=${victim%%$'\n'*}
kill -KILL "$victim"
hq_wait 20 "8 live workers again" eval '[ "$(hq_live_workers | grep -cv "^$victim\$")" -eq 8 ]'
hq_gen 100 t 5 201
hq_publish
hq_wait_sql 30 "SELECT count(*) FROM t" 300
hq_wait_drained 10
hq_assert_once t 300
[ "$(hq_log_count 'signal 7|Bus error')" -eq 0 ] || fail "a SIGBUS in the log"
assert_eq "$(hq_log_count 'worker .* killed by signal')" 1 "workers killed (the one the test killed)"
hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status after /dev/shm filled up"
[ ! -e "/dev/shm/$seg" ] || fail "the segment is left after TERM"
cp "$T/stats.json" "$T/stats.A.json"

# B. Full at start: 8 KiB, two pages.
shm_mount 8k
for workers in 8 2; do
	t0=$(date +%s%N)
	hq_run --root "$ROOT" --db "$DB" --workers "$workers"
	ms=$((($(date +%s%N) - t0) / 1000000))
	no_signal "hqd --workers $workers" "$HQ_RC"
	assert_eq "$HQ_RC" 73 "hqd --workers $workers exit status ($(cat "$T/run.err"))"
	[ "$ms" -lt 5000 ] || fail "hqd took $ms ms to give up"
	msg=$(grep -E 'stats' "$T/run.err" || true)
	assert_eq "$(wc -l <<<"$msg")" 1 "lines about the segment"
	assert_match "$msg" "/dev/shm/hq-[0-9a-f]{16} needs $SIZE bytes of /dev/shm: No space left on device" \
	    "hqd --workers $workers message"
	assert_eq "$(ls -A /dev/shm)" "" "/dev/shm after the refusal"
	[ ! -e "$ROOT/.heartbeat" ] || fail "a heartbeat after the refusal"
	note "B: --workers $workers: exit $HQ_RC: $msg"
done
rc=0
"$HQCTL" --root "$ROOT" stats >"$T/out" 2>"$T/err" || rc=$?
no_signal "hqctl stats" "$rc"
assert_eq "$rc" 69 "hqctl stats with no hqd"
assert_match "$(cat "$T/err")" '^hqctl: hqd is down: no stats segment' "hqctl stats message"

# A sparse segment whose header page is there (ready, owned by this live
# shell) and whose other pages no longer fit in /dev/shm: read, never
# faulted on.
SPARSE=/hq-e2e-480-$$
perl -e '
	my ($src, $dst, $size, $pid) = @ARGV;
	open(my $f, "<:raw", $src) or die "$src: $!\n";
	read($f, my $h, 4096) == 4096 or die "short $src\n";
	substr($h, 32, 8) = pack("q<", $pid);
	open(my $o, "+>:raw", $dst) or die "$dst: $!\n";
	print $o $h or die "$dst: $!\n";
	truncate($o, $size) or die "truncate $dst: $!\n";
	close($o) or die "$dst: $!\n";' "$T/seg.head" "/dev/shm$SPARSE" "$SIZE" $$
blocks=$(stat -c '%b*%B' "/dev/shm$SPARSE")
[ $((blocks)) -lt "$SIZE" ] || fail "the sparse segment is not sparse"
for cmd in "stats --json" "stats --prometheus" "health"; do
	rc=0
	# shellcheck disable=SC2086 # the command's words
	"$HQCTL" --root "$ROOT" --shm-name "$SPARSE" $cmd >"$T/out" 2>"$T/err" ||
	    rc=$?
	no_signal "hqctl $cmd on a sparse segment" "$rc"
	note "B: hqctl $cmd on a sparse segment in a full /dev/shm: exit $rc"
done
"$HQCTL" --root "$ROOT" --shm-name "$SPARSE" stats --json >"$T/sparse.json"
assert_eq "$(hq4_json "$T/sparse.json" '"$j->{pid}/$j->{entries_applied}"')" \
    "$$/0" "pid/applied of the sparse segment"
rm -f "/dev/shm$SPARSE"
note "/dev/shm full: no signal anywhere; hqd refuses to start with 73"
