#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# queue-worker.sh: the old queue-worker.sh's command line, running or
# controlling hqd. Installed beside queue-lib.sh (share/hq/), whose copy it
# sources: put both where the old lib/ folder was, and the old
# queue-worker-start.sh, queue-init.sh, queue-status.sh and
# queue-cleanup.sh work unchanged.
#
#   queue-worker.sh [--foreground|-f]  hqd in the foreground (exec: the
#                                      pid is hqd's; the launcher's nohup
#                                      ... & and kill -0 see hqd)
#   queue-worker.sh --once|-o          apply what is queued, then exit
#   queue-worker.sh start              hqd in the background; 0 once it
#                                      runs (or already ran)
#   queue-worker.sh stop               TERM, hqd drains; KILL after 5 s
#   queue-worker.sh restart
#   queue-worker.sh status             0 running, 1 not
#
# The root, the database and hqd's settings come from the environment
# (QUEUE_BASE_DIR, HIVE_DB, QUEUE_*...), as for the old worker; hqd logs
# to stderr (the old launcher appends it to worker.log).
#
# queue-lib.sh's stubs pass on any arguments: tell shellcheck.
# shellcheck disable=SC2119

set -u

HQ_WORKER_SELF=${BASH_SOURCE[0]:-$0}
case $HQ_WORKER_SELF in
*/*) HQ_WORKER_DIR=${HQ_WORKER_SELF%/*} ;;
*) HQ_WORKER_DIR=. ;;
esac
if ! [ -f "$HQ_WORKER_DIR/queue-lib.sh" ]; then
	echo "ERROR: queue-lib.sh not found in $HQ_WORKER_DIR" >&2
	exit 1
fi
# shellcheck source=queue-lib.sh
. "$HQ_WORKER_DIR/queue-lib.sh"

hq_worker_usage() {
	cat <<EOF
Usage: $0 [--foreground|-f|--once|-o|start|stop|restart|status|--help]

  (none), --foreground, -f  run hqd in the foreground
  --once, -o                apply what is queued, then exit
  start                     start hqd in the background
  stop                      stop hqd (it drains first)
  restart                   stop, then start
  status                    say whether hqd runs (exit 0) or not (1)
EOF
}

# The old worker refused to run twice, saying who runs.
hq_worker_refuse_second() {
	local pid=""
	if queue_worker_is_running; then
		read -r pid <"$QUEUE_WORKER_PID" || true
		echo "Worker already running (PID: $pid)" >&2
		exit 1
	fi
}

hq_worker_start() {
	local pid=""
	if queue_worker_is_running; then
		read -r pid <"$QUEUE_WORKER_PID" || true
		echo "Worker already running (PID: $pid)"
		return 0
	fi
	if ! queue_atomic_start_worker; then
		echo "Worker failed to start (see $QUEUE_WORKER_LOG)" >&2
		return 1
	fi
	read -r pid <"$QUEUE_WORKER_PID" || true
	echo "Worker started (PID: $pid)"
}

hq_worker_stop() {
	local pid=""
	if ! queue_worker_is_running; then
		echo "Worker is not running"
		return 0
	fi
	read -r pid <"$QUEUE_WORKER_PID" || true
	queue_stop_worker
	echo "Worker stopped (PID: $pid)"
}

hq_worker_status() {
	local pid=""
	if queue_worker_is_running; then
		read -r pid <"$QUEUE_WORKER_PID" || true
		echo "Worker: running (PID: $pid)"
		echo "Pending: $(queue_size)"
		echo "Processing: $(queue_processing_count)"
		echo "Statistics: $(queue_stats_get)"
		return 0
	fi
	echo "Worker: not running"
	echo "Pending: $(queue_size)"
	return 1
}

case "${1:-}" in
'' | --foreground | -f)
	[ $# -le 1 ] || { hq_worker_usage >&2; exit 1; }
	hq_worker_refuse_second
	queue_init_dirs || exit 1
	exec "$HQD" --root "$QUEUE_BASE_DIR" --db "$HIVE_DB"
	;;
--once | -o)
	hq_worker_refuse_second
	queue_init_dirs || exit 1
	# Idle for a second after the last entry: everything queued is done.
	exec "$HQD" --root "$QUEUE_BASE_DIR" --db "$HIVE_DB" --idle-exit 1
	;;
start)
	hq_worker_start
	;;
stop)
	hq_worker_stop
	;;
restart)
	hq_worker_stop && hq_worker_start
	;;
status)
	hq_worker_status
	;;
--help | -h | help)
	hq_worker_usage
	;;
*)
	echo "Unknown option: $1" >&2
	hq_worker_usage >&2
	exit 1
	;;
esac
