#!/usr/bin/env bash
# The man pages and --help list the same options: hqd(8)'s OPTIONS and
# `hqd --help`; hqctl(1)'s options and commands and `hqctl --help`.
. "$(dirname "$0")/lib.sh"
: "${HQD:?}" "${HQCTL:?}"
S=$SRC/docs/man

# opts: every -x / --long-option word on stdin, sorted, one a line.
opts() {
	grep -oE '(^|[^A-Za-z0-9-])--?[A-Za-z][A-Za-z0-9-]*' | sed -E 's/^[^-]+//' | sort -u
}
# section PAGE TITLE: the lines of a section of an scdoc page.
section() {
	awk -v t="# $2" '$0 == t { on = 1; next } /^# / { on = 0 } on' "$1"
}
# The term lines of an scdoc list (the bold lines before each tab-indented
# description), with scdoc's markup removed.
terms() {
	grep -E '^\*' | sed 's/[*_]//g; s/\\//g'
}
compare() {	# compare WHAT HELP-FILE MAN-FILE
	local d
	d=$(diff "$2" "$3") || fail "$1: --help and the man page differ (< help, > man):
$d"
}

"$HQD" --help >"$D_T/hqd.help"
# hqd --help: the option column (two spaces, then the option).
grep -E '^  -' "$D_T/hqd.help" | cut -c3-34 | opts >"$D_T/hqd.help.opts"
section "$S/hqd.8.scd" OPTIONS | terms | opts >"$D_T/hqd.man.opts"
compare "hqd options" "$D_T/hqd.help.opts" "$D_T/hqd.man.opts"
# Every variable of --help is in the page too.
grep -oE '\[[A-Z_, ]+\]$' "$D_T/hqd.help" | grep -oE '[A-Z_]{3,}' | sort -u >"$D_T/hqd.help.env"
grep -oE '\*[A-Z][A-Z_]+\*' "$S/hqd.8.scd" | tr -d '*' | sort -u >"$D_T/hqd.man.env"
missing=$(comm -23 "$D_T/hqd.help.env" "$D_T/hqd.man.env" | tr '\n' ' ')
[ -z "$missing" ] || fail "variables in hqd --help, not in hqd(8): $missing"
# Exit codes of --help are all in EXIT STATUS.
for c in $(grep -oE '\b(0|6[0-9]|7[0-9]) [a-z]' "$D_T/hqd.help" | cut -d' ' -f1 | sort -u); do
	section "$S/hqd.8.scd" "EXIT STATUS" | grep -qx "\*$c\*" || fail "hqd exit code $c not in hqd(8)"
done

"$HQCTL" --help >"$D_T/hqctl.help" 2>&1
opts <"$D_T/hqctl.help" >"$D_T/hqctl.help.opts"
# hqctl's --help does not list --help and --version, which it takes.
printf '%s\n' -h --help -V --version >>"$D_T/hqctl.help.opts"
sort -u "$D_T/hqctl.help.opts" -o "$D_T/hqctl.help.opts"
{ section "$S/hqctl.1.scd" "GLOBAL OPTIONS"; section "$S/hqctl.1.scd" COMMANDS; } |
    terms | opts >"$D_T/hqctl.man.opts"
compare "hqctl options" "$D_T/hqctl.help.opts" "$D_T/hqctl.man.opts"
# The commands.
awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }' "$D_T/hqctl.help" | sort -u >"$D_T/hqctl.help.cmds"
section "$S/hqctl.1.scd" COMMANDS | terms | awk '{ print $1 }' | sort -u >"$D_T/hqctl.man.cmds"
compare "hqctl commands" "$D_T/hqctl.help.cmds" "$D_T/hqctl.man.cmds"
# hq-dqlite-node(8)'s OPTIONS and `hq-dqlite-node --help` (the option
# column: two spaces, then the option), and its exit codes.
if [ -n "${HQ_DQLITE_NODE:-}" ]; then
	N=$S/hq-dqlite-node.8.scd
	"$HQ_DQLITE_NODE" --help >"$D_T/node.help"
	grep -E '^  -' "$D_T/node.help" | cut -c3-26 | opts >"$D_T/node.help.opts"
	section "$N" OPTIONS | terms | opts >"$D_T/node.man.opts"
	compare "hq-dqlite-node options" "$D_T/node.help.opts" "$D_T/node.man.opts"
	for c in $(grep -oE '\b(0|6[0-9]|7[0-9]) [a-z]' "$D_T/node.help" | cut -d' ' -f1 | sort -u); do
		section "$N" "EXIT STATUS" | grep -qx "\*$c\*" || fail "hq-dqlite-node exit code $c not in hq-dqlite-node(8)"
	done
	note "ok: hq-dqlite-node $(wc -l <"$D_T/node.man.opts") options agree"
fi
note "ok: hqd $(wc -l <"$D_T/hqd.man.opts") options, hqctl $(wc -l <"$D_T/hqctl.man.opts") options and $(wc -l <"$D_T/hqctl.man.cmds") commands agree"
