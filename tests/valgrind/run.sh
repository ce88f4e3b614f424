#!/bin/sh
# run.sh HQD DBQ HQCTL MKMSGPACK [SCRIPT...]: run e2e scripts with hqd (and
# its workers) under valgrind memcheck, then fail on any error or leak in
# any process's log. With no SCRIPT: the whole e2e suite (slow: see
# docs/reliability.md); ctest runs a short selection.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
HQD_REAL=$1 DBQ=$2 HQCTL=$3 MKMSGPACK=$4
shift 4
VG_LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/hq-vg.XXXXXX")
export HQD_REAL DBQ HQCTL MKMSGPACK VG_LOGDIR
export HQD="$here/valgrind/hqd-vg"
export HQ_QUEUE_LIB="$here/../hqctl/queue-lib.sh"
[ $# -eq 0 ] && set -- "$here"/e2e/[0-9][0-9][0-9]_*.sh
rc=0
for t in "$@"; do
	case $t in /*) ;; *) t="$here/e2e/$t" ;; esac
	if bash "$t" >"$VG_LOGDIR/$(basename "$t").out" 2>&1; then
		echo "ok   $(basename "$t")"
	else
		echo "FAIL $(basename "$t") (output in $VG_LOGDIR)"
		rc=1
	fi
done
# valgrind -q writes only findings: a non-empty log is a finding.
bad=$(find "$VG_LOGDIR" -name 'vg.*.log' -size +0 | wc -l)
logs=$(find "$VG_LOGDIR" -name 'vg.*.log' | wc -l)
echo "valgrind: $logs processes checked, $bad with errors or leaks"
if [ "$bad" -gt 0 ]; then
	find "$VG_LOGDIR" -name 'vg.*.log' -size +0 -exec head -n 40 {} \;
	rc=1
fi
[ $rc -eq 0 ] && rm -rf "$VG_LOGDIR"
exit $rc
