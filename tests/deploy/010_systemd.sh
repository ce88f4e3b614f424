#!/usr/bin/env bash
# deploy/systemd: `systemd-analyze verify` passes the unit without a word
# on stdout or stderr (ExecStart pointed at the built hqd, since hqd is not
# installed here), every page of Documentation= is in docs/man, and
# systemd-sysusers and systemd-tmpfiles, run into a scratch root, make the
# user and the queue tree with the intended owners and modes.
. "$(dirname "$0")/lib.sh"
need systemd-analyze systemd-sysusers systemd-tmpfiles
: "${HQD:?}"

U=$SRC/deploy/systemd/hqd.service
grep -qx 'ExecStart=/usr/sbin/hqd' "$U" || fail "ExecStart is not /usr/sbin/hqd"
mkdir -p "$D_T/unit"
sed "s|^ExecStart=/usr/sbin/hqd|ExecStart=$HQD|" "$U" >"$D_T/unit/hqd.service"

# systemd-analyze needs a systemd to talk to for some checks; where it
# cannot even start (no /run/systemd, odd container), say so and skip.
if ! systemd-analyze --version >/dev/null 2>&1; then
	skip "systemd-analyze does not run here"
fi
rc=0
out=$(cd "$D_T/unit" && systemd-analyze verify --man=no hqd.service 2>&1) || rc=$?
if [ $rc -ne 0 ] && grep -qiE 'Failed to (connect|initialize|set up)|Permission denied.*(cgroup|/run)|not been booted with systemd' <<<"$out"; then
	skip "systemd-analyze verify cannot run here: $out"
fi
[ -z "$out" ] || fail "systemd-analyze verify said:
$out"
[ $rc -eq 0 ] || fail "systemd-analyze verify: exit $rc"
note "systemd-analyze verify: clean ($(systemd-analyze --version | head -n 1))"

# Documentation= names man pages we ship.
for page in $(sed -n 's/^Documentation=//p' "$U"); do
	case $page in
	man:*)
		p=${page#man:}
		name=${p%(*}
		sec=${p#*(}
		sec=${sec%)}
		[ -f "$SRC/docs/man/$name.$sec.scd" ] ||
		    fail "Documentation=$page: no docs/man/$name.$sec.scd"
		;;
	*) fail "Documentation=$page: not a man page" ;;
	esac
done

# The hardening keeps what hq needs.
for want in Type=notify NotifyAccess=main KillMode=mixed \
    RestartPreventExitStatus=78 Restart=on-failure ProtectSystem=strict \
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" CapabilityBoundingSet= \
    SystemCallFilter=@system-service NoNewPrivileges=yes; do
	grep -qx -- "$want" "$U" || fail "$want missing from the unit"
done
for bad in PrivateDevices=yes PrivateIPC=yes DynamicUser=yes; do
	# Each would give hqd a /dev/shm or users of its own: hqctl outside
	# the unit could not read the stats.
	! grep -qx -- "$bad" "$U" || fail "$bad: hides /dev/shm from hqctl"
done
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$U")
drain=$(sed -n 's/^Environment=.*HQ_SHUTDOWN_TIMEOUT=\([0-9]*\).*/\1/p' "$U")
[ -n "$stop" ] && [ -n "$drain" ] || fail "TimeoutStopSec or HQ_SHUTDOWN_TIMEOUT not found"
[ "$stop" -gt "$drain" ] || fail "TimeoutStopSec=${stop}s is not above the drain budget ${drain}s"
ws=$(sed -n 's/^WatchdogSec=\([0-9]*\)s$/\1/p' "$U")
[ -n "$ws" ] && [ "$ws" -ge 10 ] || fail "WatchdogSec missing or under 10 s"

# sysusers and tmpfiles into a scratch root: the user, then the tree.
R=$D_T/root
mkdir -p "$R/etc"
systemd-sysusers --root="$R" "$SRC/deploy/systemd/hq-sysusers.conf" >"$D_T/sysusers.out" 2>&1 ||
    fail "systemd-sysusers: $(cat "$D_T/sysusers.out")"
uid=$(awk -F: '$1 == "hq" { print $3 }' "$R/etc/passwd")
gid=$(awk -F: '$1 == "hq" { print $3 }' "$R/etc/group")
[ -n "$uid" ] && [ -n "$gid" ] || fail "sysusers made no user or group hq"
tmp_rc=0
systemd-tmpfiles --create --root="$R" "$SRC/deploy/systemd/hq.conf" >"$D_T/tmpfiles.out" 2>&1 || tmp_rc=$?
[ $tmp_rc -eq 0 ] && [ ! -s "$D_T/tmpfiles.out" ] ||
    fail "systemd-tmpfiles (exit $tmp_rc): $(cat "$D_T/tmpfiles.out")"
check() {	# check PATH MODE
	local got
	got=$(stat -c '%a %u %g' "$R$1") || fail "$1 not made"
	[ "$got" = "$2 $uid $gid" ] || fail "$1: got '$got', want '$2 $uid $gid'"
}
check /var/lib/hq 750
for d in "" /.tmp /pending /processing /completed /failed; do
	check "/var/lib/hq/queue$d" 2770
done
# The unit's queue and database are where tmpfiles and StateDirectory put them.
grep -q 'QUEUE_BASE_DIR=/var/lib/hq/queue ' "$U" || fail "unit's root is not /var/lib/hq/queue"
grep -q 'HIVE_DB=/var/lib/hq/hive.db' "$U" || fail "unit's db is not under /var/lib/hq"
grep -qx 'StateDirectory=hq' "$U" || fail "StateDirectory=hq missing"
note "ok"
