#!/usr/bin/env bash
# The runtime image, without a container engine: debootstrap a minbase
# bookworm (what bookworm-slim is) plus the Dockerfile's runtime packages,
# from the mirror apt uses here, put the built hqd and hqctl in it, and run
# them as user 10001 in a chroot: hqd starts, applies an entry, hqctl
# health says ok, TERM drains and exits 0.
# Slow (debootstrap takes about two minutes) and needs root and the
# network, so it runs only with HQ_DEPLOY_CHROOT=1; HQ_DEPLOY_CHROOT_CACHE=DIR
# keeps the tree between runs.
. "$(dirname "$0")/lib.sh"
: "${HQD:?}" "${HQCTL:?}"
[ "${HQ_DEPLOY_CHROOT:-0}" = 1 ] || skip "set HQ_DEPLOY_CHROOT=1 to debootstrap and run the runtime tree"
[ "$(id -u)" -eq 0 ] || skip "not root"
need debootstrap chroot mount umount
if hq_sanitized "$HQD"; then
	skip "sanitizer build"
fi

# The mirror apt uses (deb822 or one-line sources).
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v security | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' \
    /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || skip "no Debian mirror configured for apt"

pk=$(dockerfile_runtime_packages "$SRC/deploy/Dockerfile" | paste -sd, -)
R=${HQ_DEPLOY_CHROOT_CACHE:-$D_T/root}
if [ ! -x "$R/usr/bin/apt-get" ] || [ "$(cat "$R/.hq-packages" 2>/dev/null)" != "$pk" ]; then
	rm -rf "$R"
	debootstrap --variant=minbase --include="$pk" bookworm "$R" "$mirror" \
	    >"$D_T/debootstrap.log" 2>&1 || {
		grep -qiE 'resolve|connect|Network|download' "$D_T/debootstrap.log" &&
		    skip "debootstrap could not reach $mirror"
		fail "debootstrap: $(tail -n 5 "$D_T/debootstrap.log")"
	}
	echo "$pk" >"$R/.hq-packages"
fi
install -m 0755 "$HQD" "$R/usr/sbin/hqd"
install -m 0755 "$HQCTL" "$R/usr/bin/hqctl"
rm -rf "$R/var/lib/hq"
install -d -o 10001 -g 10001 -m 0750 "$R/var/lib/hq" "$R/var/lib/hq/queue" "$R/var/lib/hq/db"

# hqd needs /proc (its workers are /proc/self/exe) and /dev/shm (the stats).
mounts=()
cleanup_mounts() {
	local m
	for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done
}
trap 'rc=$?; [ -n "${HQ_CH:-}" ] && kill -KILL "$HQ_CH" 2>/dev/null; cleanup_mounts; (exit $rc); hq_deploy_cleanup' EXIT
mkdir -p "$R/proc" "$R/dev/shm"
mount -t proc proc "$R/proc" && mounts+=("$R/proc")
mount -t tmpfs -o mode=1777 shm "$R/dev/shm" && mounts+=("$R/dev/shm")

ROOT_ENV=(env -i PATH=/usr/sbin:/usr/bin:/bin QUEUE_BASE_DIR=/var/lib/hq/queue
    HIVE_DB=/var/lib/hq/db/hive.db)
in_root() {
	chroot --userspec=10001:10001 "$R" "${ROOT_ENV[@]}" "$@"
}
# Not through in_root: $! must be hqd itself (chroot and env exec it).
chroot --userspec=10001:10001 "$R" "${ROOT_ENV[@]}" /usr/sbin/hqd \
    >"$D_T/hqd.log" 2>&1 &
HQ_CH=$!
for _ in $(seq 100); do
	grep -q ': ready: ' "$D_T/hqd.log" && break
	kill -0 "$HQ_CH" 2>/dev/null || fail "hqd exited in the chroot: $(cat "$D_T/hqd.log")"
	sleep 0.1
done
grep -q ': ready: ' "$D_T/hqd.log" || fail "hqd not ready in the chroot: $(cat "$D_T/hqd.log")"
in_root /usr/bin/hqctl enqueue "CREATE TABLE t(v)" >/dev/null
in_root /usr/bin/hqctl enqueue --int 7 "INSERT INTO t VALUES (?)" >/dev/null
applied=
for _ in $(seq 100); do
	applied=$(in_root /usr/bin/hqctl stats --json | grep -o '"entries_applied":[0-9]*' | head -n 1)
	[ "$applied" = '"entries_applied":2' ] && break
	sleep 0.1
done
assert_eq "$applied" '"entries_applied":2' "entries applied in the chroot"
hr=0
in_root /usr/bin/hqctl health >"$D_T/health" 2>&1 || hr=$?
assert_eq "$hr" 0 "hqctl health in the chroot ($(cat "$D_T/health"))"
kill -TERM "$HQ_CH"
rc=0
wait "$HQ_CH" || rc=$?
HQ_CH=
assert_eq "$rc" 0 "hqd's exit status in the chroot"
note "ok: ran in a minbase bookworm with $pk ($(du -sxh "$R" 2>/dev/null | cut -f1))"
