#!/usr/bin/env bash
# Issue 11, class 6: waiting is not hanging. The queue and the database on
# a small tmpfs, filled up while entries keep arriving, with
# --processing-timeout 10: the workers wait for disk space (their backoff
# grows) and must keep reporting progress, so that none is killed for "no
# progress" and no innocent entry becomes a poison entry. After 30 s of full
# disk the filler goes; every entry is applied once and failed/ is empty.
# Needs root (mount); skipped (77) where mounting a tmpfs is not permitted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"
hq4_trap

hq4_tmpfs_or_skip 16m
FULL_SECS=30
WARM=50		# applied before the disk fills
G1=100		# published at once once it is full
G2=50		# trickling in while it is full
GOOD=$((WARM + G1 + G2))

hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 2 --processing-timeout 10 --retry-base 0.5 --max-retries 1 \
    --heartbeat-interval 0.5
hq_warm t "$WARM"

# Everything to come is written while there is room (a dot folder of
# .tmp/ keeps the trickle apart from hq_publish).
hq_gen "$G1" t 5 $((WARM + 1))
hq_gen "$G2" t 5 $((WARM + G1 + 1)) "$ROOT/.tmp/.later"

hq4_fill "$MNT"
t_full=$(date +%s)
hq_log_mark
hq_publish
for i in $(seq $((WARM + G1 + 1)) "$GOOD"); do
	mv "$ROOT/.tmp/.later/5_$i.json" "$ROOT/pending/"
	sleep 0.4
	if hq_gone "$HQ_PID"; then fail "hqd died on a full disk"; fi
done
until [ $(($(date +%s) - t_full)) -ge "$FULL_SECS" ]; do
	sleep 0.5
	if hq_gone "$HQ_PID"; then fail "hqd died on a full disk"; fi
done
note "after ${FULL_SECS}s of full disk: $(hq_sql "SELECT count(*) FROM t")" \
    "applied, $(hq_count_entries processing) held," \
    "$(hq_log_count_since 'no progress') killed for no progress"
rm -f "$MNT/filler"

hq_wait_drained 90
t3_check_eq "$(hq_sql "SELECT count(*), count(DISTINCT v), min(v), max(v)
    FROM t")" "$GOOD|$GOOD|1|$GOOD" "entries applied once each"
t3_check "no worker killed or dead (no progress, poison)" hq_sub hq_no_worker_death
t3_check_eq "$(hq_log_count 'poison|gave up')" 0 "log lines of poison or gave up"
t3_check "failed/ is empty" hq_sub hq_failed_only
t3_done
note "disk full ${FULL_SECS}s with --processing-timeout 10: nothing killed, all $GOOD applied"
