#!/usr/bin/env bash
# The man pages: scdoc built them (docs/man/CMakeLists.txt), and
# `man --warnings -l` (man-db, groff) renders each without a warning.
. "$(dirname "$0")/lib.sh"
need man groff
M=${HQ_MAN_DIR:?}
command -v scdoc >/dev/null 2>&1 || [ -f "$M/hqd.8" ] ||
    skip "scdoc not installed: man pages not built"
pages=(hqd.8 hqctl.1 hq-queue.7)
# hq-dqlite-node's page is built with the program, where libdqlite is.
[ -z "${HQ_DQLITE_NODE:-}" ] || pages+=(hq-dqlite-node.8)
for page in "${pages[@]}"; do
	[ -s "$M/$page" ] || fail "$page not built in $M"
	[ "$M/$page" -nt "$SRC/docs/man/$page.scd" ] || fail "$page older than its source: rebuild"
	err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$M/$page" 2>&1 >"$D_T/$page.txt") ||
	    fail "man $page: $err"
	[ -z "$err" ] || fail "man --warnings $page:
$err"
	grep -q '^NAME' "$D_T/$page.txt" || fail "$page: no NAME section rendered"
	# Every page names its siblings.
	grep -q 'SEE ALSO' "$D_T/$page.txt" || fail "$page: no SEE ALSO"
done
note "ok: ${pages[*]}; $(man --version 2>&1 | head -n 1), $(groff --version 2>/dev/null | head -n 1)"
