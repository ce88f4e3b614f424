# SPDX-License-Identifier: MIT
# lib.sh: helpers for the deploy tests (tests/deploy/NNN_*.sh). They check
# the artefacts of deploy/, docs/man and the install tree with the tools
# that read them. ctest passes HQ_SOURCE_DIR, HQ_BINARY_DIR, HQD, HQCTL,
# DBQ and HQ_DEPLOY_TOOLS (the npm tools' folder, see deploy/tools).
# A test that cannot run here exits 77, which ctest reports as skipped.

set -euo pipefail

: "${HQ_SOURCE_DIR:?HQ_SOURCE_DIR must point at the source tree}"
SRC=$HQ_SOURCE_DIR
D_T=$(mktemp -d "${TMPDIR:-/tmp}/hq-deploy.XXXXXX")
hq_deploy_cleanup() {
	local rc=$?
	# No errexit here: the (exit $rc) below would end the trap before
	# hq_cleanup, leaving the test's hqd running after a failure.
	set +e
	# Sourced after tests/e2e/lib.sh: its cleanup (hqd, helpers) first.
	if declare -F hq_cleanup >/dev/null; then
		if [ $rc -eq 77 ]; then (exit 0); else (exit $rc); fi
		hq_cleanup
	fi
	if [ $rc -eq 0 ] || [ $rc -eq 77 ]; then
		rm -rf "$D_T"
	else
		echo "--- kept $D_T" >&2
	fi
	exit $rc
}
trap hq_deploy_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

note() {
	echo "# $*"
}

# assert_eq GOT WANT WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# assert_match STRING ERE WHAT
assert_match() {
	grep -q -E -- "$2" <<<"$1" || fail "$3: '$1' does not match /$2/"
}

# need TOOL...: skip unless every TOOL is on PATH.
need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
	done
}

# node_tools: the npm tools' bin folder, or skip (deploy/tools/install.sh
# installs them; .ci/quickstart runs it).
node_tools() {
	need node
	local d=${HQ_DEPLOY_TOOLS:-$SRC/deploy/tools}
	[ -d "$d/node_modules" ] ||
	    skip "npm tools not installed: run deploy/tools/install.sh"
	NODE_TOOLS=$d
}

# dockerfile_logical FILE: the Dockerfile's instructions, one a line
# (continuations joined, comments and blank lines dropped).
dockerfile_logical() {
	awk '
		/^[ \t]*#/ && !cont { next }
		{
			line = $0
			cont = sub(/\\[ \t]*$/, "", line)
			buf = buf line
			if (!cont) {
				if (buf ~ /[^ \t]/) print buf
				buf = ""
			}
		}
		END { if (buf ~ /[^ \t]/) print buf }' "$1"
}

# dockerfile_runtime_packages FILE: the packages the last stage installs
# with apt-get install (the runtime list: one source of truth).
dockerfile_runtime_packages() {
	dockerfile_logical "$1" | awk '
		toupper($1) == "FROM" { stage = ""; next }
		{ stage = stage "\n" $0 }
		END { print stage }' |
	    grep -E '^RUN .*apt-get( -[^ ]+)* install' |
	    sed -E 's/.*apt-get( -[^ ]+)* install//; s/&&.*//' |
	    tr ' \t' '\n\n' | grep -vE '^(-.*)?$' | sort -u
}

# hq_sanitized BIN: BIN links a sanitizer runtime. (Not `ldd | grep -q`:
# under pipefail, grep's early exit can SIGPIPE ldd and fail the pipe.)
hq_sanitized() {
	case "$(ldd "$1")" in
	*libasan* | *libubsan* | *libtsan*) return 0 ;;
	esac
	return 1
}
