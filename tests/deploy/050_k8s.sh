#!/usr/bin/env bash
# deploy/k8s: yamllint (the repository's .yamllint.yaml, strict), the
# Kubernetes and KEDA schemas (tests/deploy/k8s_validate.cjs: types,
# required fields, enums and unknown fields, offline), and the promises
# the manifests make (tests/deploy/k8s_policy.cjs).
. "$(dirname "$0")/lib.sh"
need yamllint
node_tools
K=$SRC/deploy/k8s

yamllint -c "$SRC/.yamllint.yaml" --strict "$K" || fail "yamllint"
note "$(yamllint --version): clean"
node "$SRC/tests/deploy/k8s_validate.cjs" "$NODE_TOOLS" "$K"/*.yaml "$K"/dqlite/*.yaml ||
    fail "schema validation"
node "$SRC/tests/deploy/k8s_policy.cjs" "$NODE_TOOLS" "$K" || fail "policy"
node "$SRC/tests/deploy/k8s_policy.cjs" "$NODE_TOOLS" "$K/dqlite" --dqlite || fail "policy (dqlite)"
v() { node -p 'require(process.argv[1]).version' "$NODE_TOOLS/node_modules/$1/package.json"; }
note "ok: kubernetes-models $(v kubernetes-models), @kubernetes-models/keda $(v @kubernetes-models/keda)"
