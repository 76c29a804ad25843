#!/usr/bin/env python3
"""Checks a Grafana dashboard and prints its PromQL queries.

    dashboard.py FILE

See itr_dashboard_queries in tests/e2e/lib/prometheus.sh.
"""
import json, re, sys

path = sys.argv[1]
try:
    with open(path) as f:
        dash = json.load(f)
except ValueError as e:
    sys.exit("%s: not valid JSON: %s" % (path, e))

def fail(msg):
    sys.exit("%s: %s" % (path, msg))

subst = {"host": ".*", "interface": ".*", "top": "10", "__rate_interval": "1m"}
variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
for name in ("datasource", "host", "interface", "top"):
    if name not in variables:
        fail("no template variable %s" % name)

def expand(where, q):
    for name in re.findall(r"\$\{?(\w+)", q):
        if name not in subst or (not name.startswith("__") and name not in variables):
            fail("%s: unknown variable $%s" % (where, name))
    q = re.sub(r"\$\{?(\w+)\}?", lambda m: subst[m.group(1)], q)
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q.strip())
    if m:
        q = "count by (%s) (%s)" % (m.group(2), m.group(1))
    return q

out = []
for name, v in variables.items():
    if v.get("type") == "query":
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        out.append(("variable " + name, expand("variable " + name, q)))

for key in ("title", "uid", "schemaVersion", "panels"):
    if key not in dash:
        fail("no %s" % key)
ids = set()
for p in dash["panels"]:
    title = p.get("title") or fail("a panel without a title")
    if p.get("id") in ids or not isinstance(p.get("id"), int):
        fail("panel %r: missing or duplicate id" % title)
    ids.add(p["id"])
    g = p.get("gridPos", {})
    if not all(isinstance(g.get(k), int) for k in "xywh") or g["x"] + g["w"] > 24:
        fail("panel %r: bad gridPos %r" % (title, g))
    if p.get("type") == "row":
        continue
    if p.get("datasource", {}).get("uid") != "${datasource}":
        fail("panel %r: datasource is not ${datasource}" % title)
    targets = p.get("targets") or fail("panel %r: no targets" % title)
    refs = [t.get("refId") for t in targets]
    if None in refs or len(set(refs)) != len(refs):
        fail("panel %r: missing or duplicate refId" % title)
    for t in targets:
        where = "panel %s/%s" % (title, t["refId"])
        if not t.get("expr"):
            fail("%s: no expr" % where)
        out.append((where, expand(where, t["expr"])))
for where, q in out:
    print("%s\t%s" % (where, q))
