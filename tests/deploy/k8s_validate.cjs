// k8s_validate.cjs TOOLS FILE...: validate Kubernetes manifests offline
// against the API schemas: kubernetes-models (generated from the
// Kubernetes OpenAPI spec) for built-in kinds, @kubernetes-models/keda
// (generated from KEDA's CRDs) for KEDA's. Types, required fields and
// enums come from those validators; on top, every field must be one the
// schema knows: the data is wrapped in proxies that record which
// properties the validator reads, and a property it never looked at is an
// unknown field (a typo the API server would drop or refuse).
"use strict";
const fs = require("fs");
const path = require("path");

const tools = path.resolve(process.argv[2]);
const files = process.argv.slice(3);
const req = (m) => require(path.join(tools, "node_modules", m));
const YAML = req("yaml");

const validators = {
	"apps/v1 Deployment": ["kubernetes-models", "IoK8sApiAppsV1Deployment"],
	"apps/v1 StatefulSet": ["kubernetes-models", "IoK8sApiAppsV1StatefulSet"],
	"policy/v1 PodDisruptionBudget": ["kubernetes-models",
	    "IoK8sApiPolicyV1PodDisruptionBudget"],
	"v1 Service": ["kubernetes-models", "IoK8sApiCoreV1Service"],
	"v1 ConfigMap": ["kubernetes-models", "IoK8sApiCoreV1ConfigMap"],
	"keda.sh/v1alpha1 ScaledObject": ["@kubernetes-models/keda",
	    "ComGithubKedacoreKedaV2ApisKedaV1alpha1ScaledObject"],
};
// Not API objects: read by kubectl/kustomize, checked by yamllint only.
const skipKinds = new Set(["kustomize.config.k8s.io/v1beta1 Kustomization"]);

// watch(obj): a proxy tree over obj, and the set of "path" strings of
// the properties read through it.
function watch(obj, seen, where) {
	if (obj === null || typeof obj !== "object")
		return obj;
	const kids = Array.isArray(obj) ? [] : {};
	for (const k of Object.keys(obj))
		kids[k] = watch(obj[k], seen, where + "/" + k);
	return new Proxy(kids, {
		get(t, k, r) {
			if (typeof k === "string" && Object.prototype.hasOwnProperty.call(t, k))
				seen.add(where + "/" + k);
			return Reflect.get(t, k, r);
		},
		// for-in over a map (labels, annotations, limits) reads every key.
		ownKeys(t) {
			for (const k of Object.keys(t))
				seen.add(where + "/" + k);
			return Reflect.ownKeys(t);
		},
	});
}

function leaves(obj, where, out) {
	if (obj === null || typeof obj !== "object")
		return out;
	for (const k of Object.keys(obj)) {
		out.push(where + "/" + k);
		leaves(obj[k], where + "/" + k, out);
	}
	return out;
}

let bad = 0, n = 0;
for (const file of files) {
	const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
	for (const doc of docs) {
		if (doc.errors.length) {
			console.log(`${file}: YAML: ${doc.errors[0].message}`);
			bad++;
			continue;
		}
		const obj = doc.toJS();
		if (obj === null)
			continue;
		const key = `${obj.apiVersion} ${obj.kind}`;
		if (skipKinds.has(key))
			continue;
		const v = validators[key];
		if (!v) {
			console.log(`${file}: ${key}: no schema here to check it against`);
			bad++;
			continue;
		}
		const { validate } = req(`${v[0]}/_schemas/${v[1]}.js`);
		const seen = new Set();
		const ok = validate(watch(obj, seen, ""));
		const name = `${file}: ${obj.kind} ${obj.metadata && obj.metadata.name}`;
		n++;
		if (!ok) {
			for (const e of validate.errors)
				console.log(`${name}: ${e.instancePath || "/"} ${e.message || e.keyword} ${JSON.stringify(e.params)}`);
			bad++;
			continue;
		}
		const unknown = leaves(obj, "", []).filter((p) => !seen.has(p));
		// A field under an unknown one is reported once, at the top.
		const top = unknown.filter((p) => !unknown.some((q) => p.startsWith(q + "/")));
		for (const p of top)
			console.log(`${name}: ${p}: unknown field`);
		if (top.length)
			bad++;
	}
}
console.log(`${n} objects checked, ${bad} with errors`);
process.exit(bad ? 1 : 0);
