// k8s_policy.cjs TOOLS DIR: what deploy/k8s promises beyond the schemas:
// hqd a native sidecar sharing the queue and /dev/shm with the
// application, hqd --http on a port named metrics that Prometheus scrapes
// and the probes GET (/readyz, /healthz), a grace period above the drain
// budget, the restricted pod security profile, requests and limits, and a
// KEDA ScaledObject on the summed queue depth with a fallback.
// With --dqlite (deploy/k8s/dqlite): no ScaledObject of its own; instead
// the StatefulSet of hq-dqlite-node pods, and hqd writing to it with a
// preStop drain that fits in the grace period.
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require(path.join(path.resolve(process.argv[2]), "node_modules", "yaml"));
const dir = process.argv[3];
const dqlite = process.argv[4] === "--dqlite";

const objs = [];
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")))
	for (const d of YAML.parseAllDocuments(fs.readFileSync(path.join(dir, f), "utf8")))
		if (d.toJS()) objs.push(d.toJS());
let bad = 0;
const check = (ok, what) => { if (!ok) { console.log("policy: " + what); bad++; } };
const find = (kind) => objs.filter((o) => o.kind === kind);

const dep = find("Deployment")[0];
check(dep, "no Deployment");
const pod = dep.spec.template.spec;
const hqd = (pod.initContainers || []).find((c) => c.name === "hqd");
check(hqd, "no init container hqd");
check(hqd.restartPolicy === "Always", "hqd is not a native sidecar (restartPolicy: Always)");
const app = pod.containers[0];
const env = (c, n) => ((c.env || []).find((e) => e.name === n) || {}).value;

// Shared volumes.
const vol = (n) => pod.volumes.find((v) => v.name === n);
const mountOf = (c, p) => (c.volumeMounts || []).find((m) => m.mountPath === p);
const shmH = mountOf(hqd, "/dev/shm"), shmA = mountOf(app, "/dev/shm");
check(shmH && shmA && shmH.name === shmA.name, "/dev/shm not one volume in both containers");
check(shmH && vol(shmH.name).emptyDir && vol(shmH.name).emptyDir.medium === "Memory",
    "/dev/shm is not a memory-backed emptyDir");
const root = env(hqd, "QUEUE_BASE_DIR");
check(root && env(app, "QUEUE_BASE_DIR") === root, "QUEUE_BASE_DIR differs between the containers");
// The volume holding the queue root: the longest mount path above it.
const under = (c, p) => (c.volumeMounts || []).filter((m) => p === m.mountPath ||
    p.startsWith(m.mountPath.replace(/\/$/, "") + "/")).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
const qH = under(hqd, root), qA = under(app, root);
check(qH && qA && qH.name === qA.name, "the queue is not one volume in both containers");
// An emptyDir is mode 0777: hqd refuses a world-writable root (exit 78),
// so the root must be a folder inside the volume, not its mount point.
check(qH && qH.mountPath !== root, "the queue root is a volume's mount point (world-writable: hqd refuses it)");
check(!mountOf(app, path.dirname(env(hqd, "HIVE_DB"))), "the application mounts hqd's database");

// hqd --http on the pod's address, its port named "metrics" and scraped.
const ann = dep.spec.template.metadata.annotations || {};
const http = env(hqd, "HQ_HTTP") || "";
const httpPort = Number((/^(?:0\.0\.0\.0|\[::\]):([0-9]+)$/.exec(http) || [])[1]);
check(httpPort > 0, `HQ_HTTP "${http}" is not 0.0.0.0:PORT or [::]:PORT (probes and scrapes come from outside the pod)`);
const mport = (hqd.ports || []).find((p) => p.name === "metrics");
check(mport && mport.containerPort === httpPort, `hqd has no port "metrics" ${httpPort} (HQ_HTTP's)`);
check(ann["prometheus.io/scrape"] === "true" && Number(ann["prometheus.io/port"]) === httpPort &&
    ann["prometheus.io/path"] === "/metrics", `Prometheus scrape annotations are not port ${httpPort}, /metrics`);
// Probes: HTTP GET on that port, /readyz to start and serve, /healthz to live.
for (const [p, want] of [["startupProbe", "/readyz"], ["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]]) {
	const g = hqd[p] && hqd[p].httpGet;
	check(g && g.path === want && (g.port === "metrics" || g.port === httpPort) && (g.scheme || "HTTP") === "HTTP",
	    `hqd ${p} is not GET ${want} on port metrics`);
}
const drain = Number(env(hqd, "HQ_SHUTDOWN_TIMEOUT") || 10);
check(pod.terminationGracePeriodSeconds > drain + 5,
    `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} not above the drain budget ${drain} s`);

// Restricted pod security standard.
const psc = pod.securityContext || {};
check(psc.runAsNonRoot === true, "runAsNonRoot");
check(psc.runAsUser > 0, "runAsUser is root or unset");
check(psc.seccompProfile && psc.seccompProfile.type === "RuntimeDefault", "seccompProfile RuntimeDefault");
for (const c of [...(pod.initContainers || []), ...pod.containers]) {
	const sc = c.securityContext || {};
	check(sc.allowPrivilegeEscalation === false, `${c.name}: allowPrivilegeEscalation`);
	check(sc.readOnlyRootFilesystem === true, `${c.name}: readOnlyRootFilesystem`);
	check(sc.capabilities && JSON.stringify(sc.capabilities.drop) === '["ALL"]', `${c.name}: capabilities drop ALL`);
	check(!sc.privileged && !(sc.capabilities.add || []).length, `${c.name}: privileged or added capabilities`);
	const r = c.resources || {};
	check(r.requests && r.requests.cpu && r.requests.memory, `${c.name}: requests`);
	check(r.limits && r.limits.memory, `${c.name}: memory limit`);
}

if (dqlite) {
	const sts = find("StatefulSet")[0];
	check(sts, "no StatefulSet");
	const svc = find("Service").find((x) => x.metadata.name === sts.spec.serviceName);
	check(svc && svc.spec.clusterIP === "None" && svc.spec.publishNotReadyAddresses === true,
	    "the StatefulSet's Service is not headless with publishNotReadyAddresses");
	check(sts.spec.replicas === 3, "not 3 dqlite nodes");
	check(sts.spec.podManagementPolicy === "Parallel", "podManagementPolicy is not Parallel");
	const node = sts.spec.template.spec.containers[0];
	const port = (node.ports || []).find((x) => x.name === "dqlite");
	check(port && svc.spec.ports.some((x) => x.port === port.containerPort),
	    "the Service does not expose the node's port");
	const script = (node.command || []).concat(node.args || []).join(" ");
	check(/hq-dqlite-node\b/.test(script) && /--bootstrap\b/.test(script) && /--join\b/.test(script),
	    "the node does not run hq-dqlite-node with --join and --bootstrap");
	const data = (/--data\s+(\S+)/.exec(script) || [])[1] || "";
	const vct = (sts.spec.volumeClaimTemplates || []).find((v) => (node.volumeMounts || []).some((m) =>
	    m.name === v.metadata.name && data.startsWith(m.mountPath.replace(/\/$/, "") + "/")));
	check(vct, `--data ${data} is not a folder on a volumeClaimTemplate`);
	check(vct && JSON.stringify(vct.spec.accessModes) === '["ReadWriteOnce"]', "the data volume is not ReadWriteOnce");
	check(find("PodDisruptionBudget").some((b) => b.spec.maxUnavailable === 1),
	    "no PodDisruptionBudget of maxUnavailable 1");
	// hqd writes to every node, by the pods' DNS names.
	const db = env(hqd, "HIVE_DB") || "";
	const m = /^dqlite:\/\/([^/]+)\/[^/]+$/.exec(db);
	check(m, `HIVE_DB "${db}" is not dqlite://NODES/NAME`);
	const want = [0, 1, 2].map((i) => `${sts.metadata.name}-${i}.${svc.metadata.name}:${port.containerPort}`);
	check(m && JSON.stringify(m[1].split(",")) === JSON.stringify(want), `HIVE_DB nodes are not ${want}`);
	// preStop: hqctl drain-wait, bounded, inside the grace period with
	// hqd's drain after it.
	const pre = hqd.lifecycle && hqd.lifecycle.preStop && hqd.lifecycle.preStop.exec;
	const cmd = pre ? pre.command.join(" ") : "";
	const t = Number((/drain-wait --timeout ([0-9]+)/.exec(cmd) || [])[1]);
	check(/hqctl drain-wait/.test(cmd) && t > 0, `hqd's preStop is not hqctl drain-wait --timeout S: "${cmd}"`);
	check(pod.terminationGracePeriodSeconds >= t + drain + 20,
	    `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} below drain-wait ${t} s + drain ${drain} s + 20 s for the application`);
	check(!pod.volumes.some((v) => v.name === "db"), "a database volume, unused with dqlite");
	console.log(`policy: ${bad} problems`);
	process.exit(bad ? 1 : 0);
}

// KEDA.
const so = find("ScaledObject")[0];
check(so, "no ScaledObject");
check(so.spec.scaleTargetRef.name === dep.metadata.name && so.spec.scaleTargetRef.kind === "Deployment",
    "ScaledObject does not target the Deployment");
const t = so.spec.triggers.find((x) => x.type === "prometheus");
check(t, "no prometheus trigger");
check(/^sum\(\s*hq_queue_depth\b/.test(t.metadata.query), "trigger query is not sum(hq_queue_depth...)");
check(t.metadata.ignoreNullValues === "false", 'ignoreNullValues is not "false"');
check(so.spec.fallback && so.spec.fallback.replicas >= 1 && so.spec.fallback.failureThreshold >= 1, "no fallback");
check(so.spec.minReplicaCount >= 1, "minReplicaCount 0 would drop every pod's queue");
console.log(`policy: ${bad} problems`);
process.exit(bad ? 1 : 0);
