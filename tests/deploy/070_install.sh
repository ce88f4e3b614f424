#!/usr/bin/env bash
# `cmake --install` puts every file where a packager expects it: hqd in
# sbin, hqctl in bin, the shell library and queue-worker.sh in share/hq,
# the man pages in share/man/manN, the systemd unit (naming the installed
# hqd), tmpfiles.d and sysusers.d under lib; once with --prefix, once with
# DESTDIR.
. "$(dirname "$0")/lib.sh"
need cmake
B=${HQ_BINARY_DIR:?}

P=$D_T/p
cmake --install "$B" --prefix "$P" >"$D_T/install.log" 2>&1 ||
    fail "cmake --install: $(tail -n 5 "$D_T/install.log")"
want=(sbin/hqd bin/hqctl share/hq/queue-lib.sh share/hq/queue-lib-more.sh
    share/hq/queue-worker.sh
    lib/systemd/system/hqd.service
    lib/tmpfiles.d/hq.conf lib/sysusers.d/hq.conf)
[ -z "${HQ_DQLITE_NODE:-}" ] || want+=(sbin/hq-dqlite-node)
[ ! -f "$B/hqctl/hqenqueue.so" ] || want+=(libexec/hq/hqenqueue.so)
if [ -f "$B/docs/man/hqd.8" ]; then
	want+=(share/man/man8/hqd.8 share/man/man1/hqctl.1 share/man/man7/hq-queue.7)
	[ -z "${HQ_DQLITE_NODE:-}" ] || want+=(share/man/man8/hq-dqlite-node.8)
else
	note "man pages not built (no scdoc): not checked"
fi
for f in "${want[@]}"; do
	[ -f "$P/$f" ] || fail "$f not installed"
done
[ -x "$P/sbin/hqd" ] && [ -x "$P/bin/hqctl" ] || fail "binaries not executable"
[ -x "$P/share/hq/queue-worker.sh" ] || fail "queue-worker.sh not executable"
# The installed library finds its second file beside it (a stub's first use).
[ "$(bash -uc '. "$1"; json_get_field "{\"a\":1}" a' _ "$P/share/hq/queue-lib.sh")" = 1 ] ||
    fail "installed queue-lib.sh: a stub did not load queue-lib-more.sh"
# ... and its bash builtin, where it was installed (no hqctl on PATH).
if [ -f "$B/hqctl/hqenqueue.so" ]; then
	env -u HQCTL -u HQ_BASH_BUILTIN PATH=/usr/bin:/bin bash -c \
	    '. "$1"; _hq_builtin && enable hqenqueue' _ \
	    "$P/share/hq/queue-lib.sh" ||
	    fail "installed queue-lib.sh: hqenqueue.so not loaded"
fi
"$P/sbin/hqd" --version >/dev/null || fail "installed hqd does not run"
"$P/bin/hqctl" --version >/dev/null || fail "installed hqctl does not run"
grep -qx "ExecStart=$P/sbin/hqd" "$P/lib/systemd/system/hqd.service" ||
    fail "installed unit: $(grep ExecStart= "$P/lib/systemd/system/hqd.service")"
cmp -s "$SRC/deploy/systemd/hq.conf" "$P/lib/tmpfiles.d/hq.conf" || fail "tmpfiles.d/hq.conf differs"
cmp -s "$SRC/deploy/systemd/hq-sysusers.conf" "$P/lib/sysusers.d/hq.conf" || fail "sysusers.d/hq.conf differs"
# Nothing else: no stray files in the tree.
extra=$(cd "$P" && find . -type f | sed 's|^\./||' | sort | grep -vxF -f <(printf '%s\n' "${want[@]}") || true)
[ -z "$extra" ] || fail "unexpected files installed: $extra"

# DESTDIR staging (what a package build does): the unit names the final
# path, not the staging one.
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$B/CMakeCache.txt")
DESTDIR=$D_T/stage cmake --install "$B" >"$D_T/install2.log" 2>&1 ||
    fail "DESTDIR install: $(tail -n 5 "$D_T/install2.log")"
grep -qx "ExecStart=$prefix/sbin/hqd" "$D_T/stage$prefix/lib/systemd/system/hqd.service" ||
    fail "DESTDIR unit: $(grep -h ExecStart= "$D_T/stage$prefix/lib/systemd/system/hqd.service")"
note "ok: ${#want[@]} files"
