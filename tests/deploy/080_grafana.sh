#!/usr/bin/env bash
# deploy/grafana/hq-dashboard.json: a Grafana dashboard that parses, is laid
# out on the 24-column grid without overlaps, takes its datasource from the
# templated variable ${DS_PROMETHEUS}, and asks Prometheus only for what a
# real hqd exposes. A real hqd (--http) runs a small workload on a temp
# root, and its /metrics is read five times on the way. Every expression
# (panels, annotations, template variables) is checked, with the Grafana
# variables made concrete: each metric it names is in the exposition, each
# label it matches, groups by or prints in a legend is on one of its
# metrics (or is a target label, job or instance), each function is
# PromQL's. With promtool (Debian's prometheus package) the expressions
# must also parse (`promtool check rules`, as recording rules) and each
# panel's must return samples from the five scrapes, fed as two instances
# to `promtool test rules`.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/lib.sh"
need node
J=$SRC/deploy/grafana/hq-dashboard.json
[ -f "$J" ] || fail "no $J"

# Port 0: the kernel picks a free one, and hqd logs it.
hq_start --workers 2 --http 127.0.0.1:0
URL=$(sed -n 's|.*http: serving on \(http://[^ ]*/\) .*|\1|p' "$LOG" | head -n 1)
[ -n "$URL" ] || fail "hqd logged no 'http: serving on' line"

# scrape: GET /metrics into $D_T/scrape.N.
NS=0
scrape() {
	node -e 'const req = require("http").get(process.argv[1], (r) => {
		let body = "";
		r.setEncoding("utf8");
		r.on("data", (d) => { body += d; });
		r.on("end", () => {
			if (r.statusCode !== 200) { console.error(`${r.statusCode} ${body}`); process.exit(1); }
			process.stdout.write(body);
		});
	});
	req.setTimeout(5000, () => req.destroy(new Error("timed out")));
	req.on("error", (e) => { console.error(String(e)); process.exit(1); });' \
	    "${URL}metrics" >"$D_T/scrape.$NS" || fail "GET ${URL}metrics"
	NS=$((NS + 1))
}
hq__dead_letter() {
	[ "$(hq_count_entries failed)" -ge 1 ]
}
drop() {	# drop PRIORITY SQL
	hq_drop "$(hq_name "$1")" "{\"sql\":\"$2\"}"
}

# A workload between the scrapes, so the counters move: a table, inserts at
# several priorities, one dead letter.
scrape
drop 1 "CREATE TABLE t(v)"
hq_wait_sql 10 "SELECT count(*) FROM sqlite_master WHERE name='t'" 1
scrape
for i in $(seq 1 20); do
	drop $((i % 9 + 1)) "INSERT INTO t(v) VALUES ($i)"
done
drop 5 "INSERT INTO no_such_table(v) VALUES (1)"
hq_wait_sql 20 "SELECT count(*) FROM t" 20
hq_wait 20 "the dead letter" hq__dead_letter
scrape
for i in $(seq 21 30); do
	drop 3 "INSERT INTO t(v) VALUES ($i)"
done
hq_wait_sql 20 "SELECT count(*) FROM t" 30
scrape
scrape
note "$NS scrapes of ${URL}metrics"

cat >"$D_T/check.cjs" <<'EOF'
// check.cjs DASHBOARD OUTDIR SCRAPE...: the dashboard against the scrapes;
// writes OUTDIR/rules.json and OUTDIR/tests.json for promtool.
"use strict";
const fs = require("fs");
const [dashPath, out, ...scrapes] = process.argv.slice(2);
let bad = 0;
const problem = (what) => { console.log("grafana: " + what); bad++; };

let dash;
try {
	dash = JSON.parse(fs.readFileSync(dashPath, "utf8"));
} catch (e) {
	console.log(`grafana: ${dashPath}: ${e.message}`);
	process.exit(1);
}

// The exposition: series per scrape, metric names, labels per metric.
const series = new Map();	// key -> values per scrape
const labelsOf = new Map();	// metric -> Set of label names
scrapes.forEach((f, n) => {
	for (const line of fs.readFileSync(f, "utf8").split("\n")) {
		if (line === "" || line.startsWith("#")) continue;
		const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/.exec(line);
		if (!m) { problem(`${f}: unreadable line: ${line}`); continue; }
		const labels = [...(m[2] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)];
		if (!labelsOf.has(m[1])) labelsOf.set(m[1], new Set());
		labels.forEach((l) => labelsOf.get(m[1]).add(l[1]));
		const key = m[1] + "\0" + labels.map((l) => `${l[1]}="${l[2]}"`).join(",");
		if (!series.has(key)) series.set(key, new Array(scrapes.length).fill("_"));
		series.get(key)[n] = m[3];
	}
});
if (labelsOf.size === 0) problem("the exposition is empty");
const TARGET = new Set(["job", "instance"]);	// Prometheus adds these

// Structure.
if (!(dash.schemaVersion >= 36)) problem(`schemaVersion ${dash.schemaVersion} < 36`);
if (!dash.uid || !dash.title) problem("no uid or title");
const vars = (dash.templating && dash.templating.list) || [];
const dsVar = vars.find((v) => v.type === "datasource" && v.query === "prometheus");
if (!dsVar) problem("no datasource variable of type prometheus");
const dsRef = dsVar ? "${" + dsVar.name + "}" : null;
const checkDs = (ds, where) => {
	if (!ds || ds.type !== "prometheus" || ds.uid !== dsRef)
		problem(`${where}: datasource ${JSON.stringify(ds)} is not {type: prometheus, uid: ${dsRef}}`);
};
const panels = [];
const walk = (list) => { for (const p of list || []) { panels.push(p); walk(p.panels); } };
walk(dash.panels);
const ids = new Set();
for (const p of panels) {
	if (ids.has(p.id)) problem(`panel id ${p.id} twice`);
	ids.add(p.id);
	const g = p.gridPos || {};
	if (!(g.w > 0 && g.h > 0 && g.x >= 0 && g.y >= 0 && g.x + g.w <= 24))
		problem(`panel ${p.id} "${p.title}": gridPos ${JSON.stringify(g)} outside the 24 columns`);
}
const grid = panels.filter((p) => p.gridPos);
for (let i = 0; i < grid.length; i++)
	for (let j = i + 1; j < grid.length; j++) {
		const a = grid[i].gridPos, b = grid[j].gridPos;
		if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h)
			problem(`panels ${grid[i].id} and ${grid[j].id} overlap`);
	}

// Grafana's variables, made concrete: the template variables match
// anything (they appear in =~ matchers), the intervals take sample values.
const builtin = { __rate_interval: "1m", __interval: "15s", __range: "1h",
	__interval_ms: "15000", __range_s: "3600" };
const varNames = new Set(vars.map((v) => v.name));
const concrete = (expr, where) => expr.replace(/\$\{?(\w+)(?::\w+)?\}?/g, (all, name) => {
	if (name in builtin) return builtin[name];
	if (varNames.has(name)) return ".*";
	problem(`${where}: unknown variable ${all}`);
	return all;
});

const FUNCS = new Set(("sum min max avg group stddev stdvar count count_values bottomk topk quantile " +
	"abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week " +
	"day_of_year days_in_month delta deriv exp floor histogram_count histogram_sum histogram_fraction " +
	"histogram_quantile holt_winters hour idelta increase irate label_join label_replace ln log2 " +
	"log10 minute month predict_linear rate resets round scalar sgn sort sort_desc sqrt time " +
	"timestamp vector year avg_over_time min_over_time max_over_time sum_over_time count_over_time " +
	"quantile_over_time stddev_over_time stdvar_over_time last_over_time present_over_time " +
	"acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg rad pi").split(" "));
const KEYWORDS = new Set("and or unless bool offset atan2 inf nan by without on ignoring group_left group_right".split(" "));

// names(expr): the metrics, labels and functions an expression uses.
function names(expr) {
	const r = { metrics: new Set(), labels: new Set(), funcs: new Set() };
	let e = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
	e = e.replace(/\{([^}]*)\}/g, (all, body) => {
		for (const m of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) r.labels.add(m[1]);
		return " ";
	});
	e = e.replace(/\[[^\]]*\]/g, " ");
	e = e.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (all, list) => {
		list.split(",").map((s) => s.trim()).filter(Boolean).forEach((l) => r.labels.add(l));
		return " ";
	});
	for (const m of e.matchAll(/(?:0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
		if (!m[1]) continue;
		if (m[2]) r.funcs.add(m[1]);
		else if (!KEYWORDS.has(m[1].toLowerCase())) r.metrics.add(m[1]);
	}
	return r;
}

// check(expr, where, legend): a problem for each name the exposition lacks.
const used = new Set();
function check(expr, where, legend) {
	const n = names(expr);
	if (n.metrics.size === 0) problem(`${where}: names no metric: ${expr}`);
	const have = new Set(TARGET);
	for (const m of n.metrics) {
		used.add(m);
		if (!labelsOf.has(m)) problem(`${where}: ${m} is not exposed by hqd`);
		else labelsOf.get(m).forEach((l) => have.add(l));
	}
	for (const f of n.funcs)
		if (!FUNCS.has(f)) problem(`${where}: ${f}() is not a PromQL function`);
	for (const l of n.labels)
		if (!have.has(l)) problem(`${where}: label ${l} is on none of ${[...n.metrics].join(", ")}`);
	for (const m of (legend || "").matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g))
		if (!have.has(m[1])) problem(`${where}: legend {{${m[1]}}} is on none of ${[...n.metrics].join(", ")}`);
}

const rules = [];	// recording rules for promtool check rules
const exprTests = [];	// each panel expression must return samples
for (const p of panels) {
	if (p.type === "row") continue;
	const where = `panel ${p.id} "${p.title}"`;
	if (p.datasource) checkDs(p.datasource, where);
	if (!(p.targets || []).length) problem(`${where}: no query`);
	const refs = new Set();
	for (const t of p.targets || []) {
		const w = `${where} ${t.refId}`;
		if (refs.has(t.refId)) problem(`${w}: refId twice`);
		refs.add(t.refId);
		checkDs(t.datasource, w);
		if (typeof t.expr !== "string" || !t.expr.trim()) { problem(`${w}: no expr`); continue; }
		const e = concrete(t.expr, w);
		check(e, w, t.legendFormat);
		rules.push({ record: `hq_dashboard:panel${p.id}:${t.refId}`, expr: e });
		exprTests.push({ expr: `count(${e}) > bool 0`, eval_time: "1m",
			exp_samples: [{ labels: "{}", value: 1 }] });
	}
}
for (const a of (dash.annotations && dash.annotations.list) || []) {
	if (a.builtIn) continue;
	const w = `annotation "${a.name}"`;
	checkDs(a.datasource, w);
	const e = concrete(a.expr || "", w);
	check(e, w, a.textFormat);
	rules.push({ record: `hq_dashboard:annotation${rules.length}`, expr: e });
}
for (const v of vars) {
	if (v.type !== "query") continue;
	const w = `variable ${v.name}`;
	checkDs(v.datasource, w);
	const q = concrete(typeof v.query === "string" ? v.query : (v.query || {}).query || "", w);
	const m = /^label_values\(\s*(.+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(q);
	if (!m) { problem(`${w}: not label_values(SELECTOR, LABEL): ${q}`); continue; }
	check(m[1], w, `{{${m[2]}}}`);
	rules.push({ record: `hq_dashboard:variable_${v.name}`, expr: m[1] });
}

// What the dashboard is for: it must keep showing these.
for (const m of ["hq_queue_depth", "hq_queue_oldest_pending_age_seconds", "hq_failed_entries",
	"hq_entries_applied_total", "hq_entries_failed_total", "hq_entries_retried_total",
	"hq_exec_latency_seconds_bucket", "hq_commit_latency_seconds_bucket",
	"hq_workers", "hq_workers_alive", "hq_worker_entries_applied_total",
	"hq_worker_busy_seconds_total", "hq_supervisor_rescans_total",
	"hq_supervisor_overflows_total", "hq_supervisor_deaths_total"])
	if (!used.has(m)) problem(`no panel shows ${m}`);

// promtool's files (JSON is YAML). The scrapes become two instances,
// 15 s apart; eval at 1m sees the last four in a 1m window.
const inputs = [];
for (const inst of ["10.0.0.1:9464", "10.0.0.2:9464"])
	for (const [key, vals] of series) {
		const [name, labels] = key.split("\0");
		const all = [labels, `instance="${inst}"`, 'job="hq"'].filter(Boolean).join(",");
		inputs.push({ series: `${name}{${all}}`, values: vals.join(" ") });
	}
fs.writeFileSync(`${out}/rules.json`, JSON.stringify({ groups: [{ name: "hq-dashboard", rules }] }));
fs.writeFileSync(`${out}/tests.json`, JSON.stringify({
	rule_files: ["rules.json"], evaluation_interval: "15s",
	tests: [{ interval: "15s", input_series: inputs, promql_expr_test: exprTests }],
}));
console.log(`grafana: ${panels.length} panels, ${rules.length} expressions, ` +
	`${used.size} metrics of ${labelsOf.size} exposed; ${bad} problems`);
process.exit(bad ? 1 : 0);
EOF
scr=()
for i in $(seq 0 $((NS - 1))); do
	scr+=("$D_T/scrape.$i")
done
node "$D_T/check.cjs" "$J" "$D_T" "${scr[@]}" || fail "dashboard"

if ! command -v promtool >/dev/null 2>&1; then
	note "ok (promtool not installed: the expressions were not parsed; Debian package prometheus)"
	exit 0
fi
out=$(cd "$D_T" && promtool check rules rules.json 2>&1) || fail "promtool check rules:
$out"
out=$(cd "$D_T" && promtool test rules tests.json 2>&1) || fail "promtool test rules:
$out"
note "ok: $(promtool --version 2>&1 | head -n 1): every expression parses, every panel's returns samples"
