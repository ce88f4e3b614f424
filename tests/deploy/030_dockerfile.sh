#!/usr/bin/env bash
# deploy/Dockerfile: dockerfile-utils (the Dockerfile language server's
# linter, from npm) reports nothing, and the image keeps its promises:
# bookworm-slim stages, a numeric non-root USER, hqd as the exec-form
# ENTRYPOINT (PID 1), STOPSIGNAL SIGTERM, a HEALTHCHECK by hqctl health,
# volumes for the queue and the database, apt used the slim way.
. "$(dirname "$0")/lib.sh"
node_tools
F=$SRC/deploy/Dockerfile

out=$(node "$NODE_TOOLS/node_modules/dockerfile-utils/bin/dockerfile-utils" lint --json "$F")
[ "$out" = "[]" ] || fail "dockerfile-utils lint: $out"
note "dockerfile-utils $(node -p 'require(process.argv[1]).version' "$NODE_TOOLS/node_modules/dockerfile-utils/package.json"): no diagnostics"

L=$D_T/logical
dockerfile_logical "$F" >"$L"
# instr NAME: the last stage's NAME instructions, arguments only.
last_stage() {
	awk 'toupper($1) == "FROM" { n = NR } { l[NR] = $0 } END { for (i = n; i <= NR; i++) print l[i] }' "$L"
}
instr() {
	last_stage | awk -v n="$1" 'toupper($1) == n { sub(/^[^ ]+[ ]+/, ""); print }'
}

froms=$(awk 'toupper($1) == "FROM" { print $2 }' "$L" | sort -u | tr '\n' ' ')
assert_eq "$froms" "debian:bookworm-slim " "base images"
[ "$(grep -ci '^FROM' "$L")" -ge 2 ] || fail "not a multi-stage build"

user=$(instr USER | tail -n 1)
[[ $user =~ ^[0-9]+(:[0-9]+)?$ ]] || fail "USER '$user' is not numeric"
[ "${user%%:*}" -ne 0 ] || fail "USER is root"
assert_eq "$(instr STOPSIGNAL)" SIGTERM "STOPSIGNAL"
assert_eq "$(instr ENTRYPOINT)" '["/usr/sbin/hqd"]' "ENTRYPOINT (exec form: hqd is PID 1)"
[ -z "$(instr CMD)" ] || fail "CMD in the runtime stage: hqd takes its settings from ENV"
hc=$(instr HEALTHCHECK)
assert_match "$hc" 'CMD \["/usr/bin/hqctl", "health"\]$' "HEALTHCHECK"
vol=$(instr VOLUME)
assert_match "$vol" '"/var/lib/hq/queue"' "VOLUME of the queue"
assert_match "$vol" '"/var/lib/hq/db"' "VOLUME of the database"
envs=$(instr ENV)
assert_match "$envs" 'QUEUE_BASE_DIR=/var/lib/hq/queue' "ENV QUEUE_BASE_DIR"
assert_match "$envs" 'HIVE_DB=/var/lib/hq/db/hive.db' "ENV HIVE_DB"

# apt the slim way, in every stage.
while read -r run; do
	assert_match "$run" 'apt-get update' "apt-get install without update"
	assert_match "$run" 'install -y --no-install-recommends' "apt-get install flags"
	assert_match "$run" 'rm -rf /var/lib/apt/lists/\*' "apt lists not removed"
done < <(grep -E 'apt-get( -[^ ]+)* install' "$L")

# The runtime stage installs no build tools.
pk=$(dockerfile_runtime_packages "$F" | tr '\n' ' ')
[ -n "$pk" ] || fail "no runtime package list found"
case " $pk " in *-dev\ *|*" gcc "*|*" cmake "*|*" make "*)
	fail "build tools in the runtime stage: $pk" ;;
esac
# Everything the runtime stage copies comes from the build stage's install.
while read -r c; do
	assert_match "$c" '^--from=build /out/usr/' "COPY into the runtime stage"
done < <(instr COPY)
note "ok: runtime packages $pk"
