#!/usr/bin/env python3
"""bench/run's checks and report.

  check.py snapshot URL OUT.json
      The server's agentprofile_http_requests_total counters, from GET URL/metrics.
  check.py record --kind closed|open ...
      Checks one run against what the seeded population must answer, cross-checks it with
      the server's own counters (the delta between two snapshots), appends one record to
      the results file, prints one line. Exit 1 when the answers were not real. Route
      `hello` is the bare-axum floor (bench/hello): every answer must be 200 "hello"; it has
      no counters to cross-check.
  check.py report --results results.jsonl --out latest.json [--tsv latest.tsv]
      The table, and the machine-readable results.
"""

import argparse
import json
import math
import re
import statistics
import sys
import urllib.request

UPSTREAM = "/api/v2/agentProfile/"

# What each benchmarked route is, in the server's metrics: (route template, method) pairs.
ROUTES = {
    "hello": [],  # bench/hello, the floor: not this server
    "healthz": [("/healthz", "GET")],
    "agentOnBreak": [(UPSTREAM + "agentOnBreak", "POST")],
    "setWebPingTime": [(UPSTREAM + "setWebPingTime", "POST")],
    "wrapUp": [(UPSTREAM + "wrapUp", "POST")],
    "breakPair": [(UPSTREAM + "startBreak", "POST"), (UPSTREAM + "endBreak", "POST")],
}


def expectations(route, seed):
    """{answer kind: expected share or None (any share)}; every other kind is a failure."""
    if route == "hello":
        return {"hello": 1.0}
    n = seed["agents"]
    if route == "agentOnBreak":
        p = seed["on_break"] / n
        return {"success": p, "e1502": 1 - p}
    if route == "wrapUp":
        p = seed["in_wrap_up"] / n
        return {"success": p, "e1504": 1 - p}
    # healthz, setWebPingTime, and startBreak/endBreak in turn per agent: all successes
    return {"success": 1.0}


# ---------------------------------------------------------------------------------------
# the server's counters

LINE = re.compile(r"^agentprofile_http_requests_total\{([^}]*)\}\s+(\S+)")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def snapshot(url, out):
    with urllib.request.urlopen(url.rstrip("/") + "/metrics", timeout=30) as r:
        text = r.read().decode()
    counters = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            labels = dict(LABEL.findall(m.group(1)))
            key = "|".join(labels.get(k, "") for k in ("route", "method", "status", "code"))
            counters[key] = counters.get(key, 0) + int(float(m.group(2)))
    if not counters:
        raise SystemExit(f"no agentprofile_http_requests_total in {url}/metrics")
    with open(out, "w") as f:
        json.dump(counters, f)


def answer_kind(status, code):
    if status != "200":
        return "http" + status
    return "success" if code == "0" else "e" + code


def server_delta(before, after, route):
    """Answers the server counted for this route between the snapshots, by kind; and any
    other route that got traffic meanwhile (there must be none but /metrics itself)."""
    wanted = set(ROUTES[route])
    kinds, stray = {}, {}
    for key, value in after.items():
        d = value - before.get(key, 0)
        if d <= 0:
            continue
        r, method, status, code = key.split("|")
        if (r, method) in wanted:
            k = answer_kind(status, code)
            kinds[k] = kinds.get(k, 0) + d
        elif r != "/metrics":
            stray[f"{method} {r} {status}/{code}"] = d
    return kinds, stray


def share_problems(counts, expect, label):
    total = sum(counts.values())
    problems = []
    if total == 0:
        return [f"{label}: no answers at all"]
    for k, c in sorted(counts.items()):
        if k not in expect:
            problems.append(f"{label}: {c} unexpected '{k}' answers ({100 * c / total:.2f}%)")
    for k, p in expect.items():
        got = counts.get(k, 0) / total
        # binomial noise, 5 sigma, at least 1.5 points
        tol = max(5 * math.sqrt(max(p * (1 - p), 1e-9) / total), 0.015)
        if abs(got - p) > tol:
            problems.append(f"{label}: '{k}' is {100 * got:.2f}% of answers, expected {100 * p:.2f}% ± {100 * tol:.2f}")
    return problems


def shares(counts):
    total = sum(counts.values()) or 1
    return {k: round(v / total, 4) for k, v in sorted(counts.items())}


def record(a):
    floor = a.route == "hello"
    seed = None if floor else json.load(open(a.seed))
    before, after = ({}, {}) if floor else (json.load(open(a.before)), json.load(open(a.after)))
    expect = expectations(a.route, seed)
    server, stray = server_delta(before, after, a.route)
    label = f"{a.db}/{a.bin}/{a.route}/{a.kind}"
    problems = []
    rec = {"db": a.db, "bin": a.bin, "route": a.route, "kind": a.kind, "rss_kb": a.rss_kb,
           "connections": a.conns, "server_counts": server, "round": a.round}
    if floor and a.for_route:
        rec["for_route"] = a.for_route  # the route measured just after it (closed) or at its rate (open)
    # in-flight requests at the deadline: the server may answer (and count) them after the
    # load generator stopped listening, never the other way round
    slack = a.conns + 8

    if a.kind == "closed":
        w = json.load(open(a.result))
        counts = w["counts"]
        secs = w["duration_us"] / 1e6
        rec.update(rps=round(w["requests"] / secs, 1), requests=w["requests"], seconds=round(secs, 2),
                   p50_ms=w["p50_us"] / 1000, p90_ms=w["p90_us"] / 1000, p99_ms=w["p99_us"] / 1000,
                   max_ms=w["max_us"] / 1000, counts=counts, shares=shares(counts))
        errs = {k: v for k, v in w["socket_errors"].items() if v}
        if errs:
            problems.append(f"{label}: wrk socket errors {errs}")
        if sum(counts.values()) != w["requests"]:
            problems.append(f"{label}: wrk counted {sum(counts.values())} answers for {w['requests']} requests")
        problems += share_problems(counts, expect, label)
        for k in set() if floor else set(counts) | set(server):
            d = server.get(k, 0) - counts.get(k, 0)
            if not 0 <= d <= slack:
                problems.append(f"{label}: /metrics counted {server.get(k, 0)} '{k}' answers, wrk {counts.get(k, 0)}")
        if a.route == "breakPair":
            st = after.get(f"{UPSTREAM}startBreak|POST|200|0", 0) - before.get(f"{UPSTREAM}startBreak|POST|200|0", 0)
            en = after.get(f"{UPSTREAM}endBreak|POST|200|0", 0) - before.get(f"{UPSTREAM}endBreak|POST|200|0", 0)
            rec["start_end"] = [st, en]
            if not 0 <= st - en <= a.agents_free:
                problems.append(f"{label}: {st} startBreak but {en} endBreak successes")
    else:
        o = json.load(open(a.result))
        summ = o["summary"]
        lat = o.get("latencyPercentiles") or {}
        statuses = {str(k): v for k, v in (o.get("statusCodeDistribution") or {}).items()}
        errors = o.get("errorDistribution") or {}
        answered = sum(statuses.values())
        secs = summ.get("total") or a.duration
        rec.update(target_rate=a.rate, rps=round(answered / secs, 1) if secs else None,
                   requests=answered,
                   p50_ms=round(lat.get("p50", float("nan")) * 1000, 3),
                   p90_ms=round(lat.get("p90", float("nan")) * 1000, 3),
                   p99_ms=round(lat.get("p99", float("nan")) * 1000, 3),
                   max_ms=round((summ.get("slowest") or float("nan")) * 1000, 3),
                   statuses=statuses, errors=errors, shares=shares(server))
        bad = {k: v for k, v in errors.items() if "deadline" not in k}
        if bad:
            problems.append(f"{label}: oha errors {bad}")
        if set(statuses) - {"200"}:
            problems.append(f"{label}: HTTP statuses {statuses}")
        if floor:
            # the floor at the rate a route was offered: it answers only 200 "hello"
            if answered == 0:
                problems.append(f"{label}: no answers at all")
        else:
            # oha cannot read envelopes: the server's counters say what the answers were
            problems += share_problems(server, expect, label + " (per /metrics)")
            d = sum(server.values()) - answered
            if not 0 <= d <= slack:
                problems.append(f"{label}: /metrics counted {sum(server.values())} answers, oha {answered}")
        if a.rate and answered < 0.9 * a.rate * a.duration:
            rec["behind"] = True  # the server did not keep up with the offered rate
    if stray:
        problems.append(f"{label}: other routes got traffic during the run: {stray}")
    rec["ok"] = not problems
    rec["problems"] = problems
    with open(a.results, "a") as f:
        f.write(json.dumps(rec) + "\n")
    kinds = " ".join(f"{k} {100 * v:.1f}%" for k, v in rec["shares"].items())
    extra = f" at {a.rate}/s offered" if a.kind == "open" else ""
    print(f"    {a.db + '-' + a.bin:<17} {a.route:<15} {a.kind:<6} {rec['rps']:>7.0f} rps{extra}  p50 {rec['p50_ms']:.2f} ms  "
          f"p99 {rec['p99_ms']:.2f} ms  [{kinds}]  rss {a.rss_kb / 1024:.0f} MB")
    for p in problems:
        print(f"    !! {p}", file=sys.stderr)
    return 0 if not problems else 1


# ---------------------------------------------------------------------------------------
# the report

CEILING = {"agentOnBreak": "lookup", "wrapUp": "lookup", "setWebPingTime": "update", "breakPair": "update"}


def fmt(v, spec="{:.0f}"):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else spec.format(v)


def median_run(runs, key):
    """The run whose `key` is the median (the lower of the two middle ones)."""
    ordered = sorted(runs, key=lambda r: r.get(key) if r.get(key) is not None else math.inf)
    return ordered[(len(ordered) - 1) // 2]


def report(a):
    recs = [json.loads(l) for l in open(a.results)] if a.results else []
    meta = json.load(open(a.meta))
    pg = meta.get("pgbench", {})
    runs = {}  # (db, route, bin, kind): every run of it, one per round
    floor_open = {}  # (db, route): the floor's open-loop run at the rate that route was offered
    floor_round = {}  # (db, route, round): the floor measured just before that round of the route
    for r in recs:
        if r["route"] == "hello" and r["kind"] == "open":
            floor_open.setdefault((r["db"], r.get("for_route")), []).append(r)
            continue
        if r["route"] == "hello" and r.get("for_route"):
            floor_round[(r["db"], r["for_route"], r.get("round", 0))] = r
            continue
        runs.setdefault((r["db"], r["route"], r["bin"], r["kind"]), []).append(r)
    rows = {}
    for (db, route, b, kind), rs in runs.items():
        # the median run (by rps closed, by p99 open) stands for them all (its latency and
        # answers); every run must have been real
        pick = median_run(rs, "rps" if kind == "closed" else "p99_ms")
        rows.setdefault((db, route, b), {})[kind] = dict(pick, ok=all(r.get("ok") for r in rs),
                                                          all_rps=[r.get("rps") for r in rs], all_runs=rs)
    floor_open = {k: median_run(rs, "p99_ms") for k, rs in floor_open.items()}
    bins = ["floor", "new", "baseline"] if meta.get("baseline") else ["floor", "new"]
    out_rows = []
    for (db, route, b), kinds in rows.items():
        c, o = kinds.get("closed", {}), kinds.get("open", {})
        health = rows.get((db, "healthz", b), {}).get("closed", {}).get("rps")
        hello = rows.get((db, "hello", "floor"), {}).get("closed", {}).get("rps")
        # over the floor: the median of each round's ratio to the floor just before it, when
        # the route was measured in rounds; else over the run's one floor
        paired = [r["rps"] / floor_round[(db, route, r.get("round", 0))]["rps"]
                  for r in c.get("all_runs", [])
                  if r.get("rps") and (db, route, r.get("round", 0)) in floor_round]
        if paired:
            per_hello = statistics.median_low(paired)
        else:
            per_hello = (c["rps"] / hello) if hello and c.get("rps") and route != "hello" else None
        ceil_kind = CEILING.get(route) if db == "postgres" else None
        ceil = pg.get(ceil_kind, {}).get("tps") if ceil_kind else None
        row = {"db": db, "route": route, "bin": b,
               "rps": c.get("rps"), "p50_ms": c.get("p50_ms"), "p99_ms": c.get("p99_ms"),
               "rounds_rps": c.get("all_rps") if len(c.get("all_rps") or []) > 1 else None,
               "rounds_per_hello": [round(v, 3) for v in paired] or None,
               "rounds_open_p99": [r.get("p99_ms") for r in o.get("all_runs", [])] if len(o.get("all_runs", [])) > 1 else None,
               "open_rate": o.get("target_rate"), "open_rps": o.get("rps"),
               "open_p50_ms": o.get("p50_ms"), "open_p99_ms": o.get("p99_ms"), "open_behind": o.get("behind", False),
               "floor_open_p99_ms": floor_open.get((db, route), {}).get("p99_ms") if o else None,
               "shares": c.get("shares") or o.get("shares"),
               "rss_kb": max(c.get("rss_kb") or 0, o.get("rss_kb") or 0) or None,
               "ceiling": ceil_kind, "per_ceiling": (c["rps"] / ceil) if ceil and c.get("rps") else None,
               "per_healthz": (c["rps"] / health) if health and c.get("rps") and route not in ("healthz", "hello") else None,
               "per_hello": per_hello,
               "ok": all(k.get("ok") for k in kinds.values())}
        out_rows.append(row)
    index = {(r["db"], r["route"], r["bin"]): r for r in out_rows}
    for r in out_rows:
        base = index.get((r["db"], r["route"], "baseline"))
        if r["bin"] == "new" and base:
            r["new_per_base_rps"] = r["rps"] / base["rps"] if r["rps"] and base["rps"] else None
            r["new_per_base_open_p99"] = (r["open_p99_ms"] / base["open_p99_ms"]
                                          if r["open_p99_ms"] and base["open_p99_ms"] else None)

    order = {k: i for i, k in enumerate(ROUTES)}
    out_rows.sort(key=lambda r: (r["db"] != "sqlite", order.get(r["route"], 99), bins.index(r["bin"])))
    lines = []
    say = lines.append
    say("")
    say(f"agentprofile bench  {meta['started']}  {meta['agents']} agents ({meta['on_break']} on break, "
        f"{meta['in_wrap_up']} in wrap-up), {meta['duration']} s per run, wrk -t{meta['threads']} -c{meta['conns']}, "
        f"{meta['cpus']} CPUs")
    say(f"  new: {meta['bin']}" + (f"\n  baseline: {meta['baseline']}" if meta.get("baseline") else ""))
    head = (f"{'db':<8} {'route':<15} {'bin':<8} {'rps':>8} {'p50':>6} {'p99':>6} | {'open@rps':>9} {'p50':>6} "
            f"{'p99':>7} {'hello':>6} | {'answers':<26} {'RSS':>5} | {'/pg':>6} {'/hlth':>6} {'/hello':>6}")
    if meta.get("baseline"):
        head += f" {'n/b rps':>7} {'n/b p99':>7}"
    say("")
    say("closed loop: wrk max throughput, latency in ms; open loop: oha at the rate shown (half the max), "
        "latency-corrected, in ms; 'hello': the bare hello's open-loop p99 at that same rate (the floor's own tail)")
    say("/pg: rps / pgbench ceiling (lookup for reads, UPDATE for writes); /hlth: rps / healthz rps; "
        "/hello: rps / the bare axum hello's rps (bench/hello, the HTTP floor, measured in the same run); RSS in MB")
    say("routes measured in rounds (ROUNDS): rps is the median round's, /hello the median of the rounds' "
        "rps over the floor measured just before each; open-loop p99s (theirs, the hello's) the median round's")
    say(head)
    say("-" * len(head))
    for r in out_rows:
        ans = " ".join(f"{'ok' if k == 'success' else k.lstrip('e')} {100 * v:.1f}%" for k, v in (r["shares"] or {}).items())
        line = (f"{r['db']:<8} {r['route']:<15} {r['bin']:<8} {fmt(r['rps']):>8} {fmt(r['p50_ms'], '{:.2f}'):>6} "
                f"{fmt(r['p99_ms'], '{:.2f}'):>6} | {fmt(r['open_rate']):>8}{'!' if r['open_behind'] else ' '} "
                f"{fmt(r['open_p50_ms'], '{:.2f}'):>6} {fmt(r['open_p99_ms'], '{:.2f}'):>7} "
                f"{fmt(r['floor_open_p99_ms'], '{:.2f}'):>6} | {ans:<26} "
                f"{fmt((r['rss_kb'] or 0) / 1024 if r['rss_kb'] else None):>5} | "
                f"{fmt(r['per_ceiling'], '{:.2f}'):>6} {fmt(r['per_healthz'], '{:.2f}'):>6} "
                f"{fmt(r['per_hello'], '{:.2f}'):>6}")
        if meta.get("baseline"):
            line += (f" {fmt(r.get('new_per_base_rps'), '{:.2f}'):>7} "
                     f"{fmt(r.get('new_per_base_open_p99'), '{:.2f}'):>7}")
        if not r["ok"]:
            line += "  FAILED"
        say(line)
    for r in out_rows:
        if r["rounds_per_hello"] and r["bin"] == "new":
            say(f"  rounds of {r['db']} {r['route']}: rps {', '.join(fmt(v) for v in r['rounds_rps'])}; "
                f"over the floor just before: {', '.join(f'{v:.2f}' for v in r['rounds_per_hello'])}"
                + (f"; open-loop p99 {', '.join(fmt(v, '{:.2f}') for v in r['rounds_open_p99'])} ms"
                   if r["rounds_open_p99"] else ""))
    if pg:
        say("")
        say(f"pgbench on the same PostgreSQL (-M prepared -c {meta['pg_clients']} -j {meta['threads']} "
            f"-T {meta['duration']}, synchronous_commit={pg.get('synchronous_commit', '?')}, fsync={pg.get('fsync', '?')}):")
        for k, desc in (("lookup", "agentOnBreak's reads: session by ssid_hash + agent + account, then the open break"),
                        ("update", "one durable single-row UPDATE agents SET last_ping_at"),
                        ("ping_tx", "setWebPingTime's write transaction (3 UPDATEs, one commit)")):
            if k in pg:
                say(f"  {k:<8} {pg[k]['tps']:>9.0f} tps  (latency avg {pg[k].get('latency_ms', float('nan')):.2f} ms)  {desc}")
    targets = target_lines(index, bool(meta.get("baseline")))
    if targets:
        say("")
        say("targets (issues 8 and 18; PostgreSQL unless said):")
        for t in targets:
            say(f"  {t}")
    problems = [p for r in recs for p in r["problems"]] + meta.get("problems", [])
    say("")
    if problems:
        say(f"BENCH FAILED: {len(problems)} problem(s):")
        for p in problems:
            say(f"  - {p}")
    else:
        say("all answers were real: every run answered only what the seeded population must answer")
    text = "\n".join(lines)
    print(text)
    result = {"meta": meta, "rows": out_rows, "runs": recs, "ok": not problems}
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    return 0 if not problems else 1


def target_lines(index, with_baseline):
    """The live-state targets, each met or missed, from this run's rows (informational: a
    missed target is reported, not a failed bench)."""
    lines = []

    def row(db, route):
        return index.get((db, route, "new")) or {}

    def judge(name, value, ok, shown):
        if value is not None:
            lines.append(f"{'met   ' if ok(value) else 'MISSED'} {name}: {shown(value)}")

    judge("agentOnBreak >= 1.0x pgbench lookup", row("postgres", "agentOnBreak").get("per_ceiling"),
          lambda v: v >= 1.0, lambda v: f"{v:.2f}x")
    judge("setWebPingTime >= 2.0x pgbench UPDATE", row("postgres", "setWebPingTime").get("per_ceiling"),
          lambda v: v >= 2.0, lambda v: f"{v:.2f}x")
    rate = "half the lower max of both binaries" if with_baseline else "half the max"
    for db in ("postgres", "sqlite"):
        for route, floor in (("agentOnBreak", 0.6), ("setWebPingTime", 0.5)):
            judge(f"{db} {route} >= {floor}x the bare hello", row(db, route).get("per_hello"),
                  lambda v, floor=floor: v >= floor, lambda v: f"{v:.2f}x")
        for route in ("agentOnBreak", "setWebPingTime"):
            floor_p99 = row(db, route).get("floor_open_p99_ms")
            judge(f"{db} {route} open-loop p99 < 2 ms at {rate}", row(db, route).get("open_p99_ms"),
                  lambda v: v < 2.0,
                  lambda v, f=floor_p99: f"{v:.2f} ms" + (f" (the bare hello at that rate: {f:.2f} ms)" if f else ""))
    if with_baseline:
        for route in ("wrapUp", "breakPair"):
            judge(f"{route} no slower than the baseline", row("postgres", route).get("new_per_base_rps"),
                  lambda v: v >= 1.0, lambda v: f"{v:.2f}x")
    for route in ("agentOnBreak", "setWebPingTime", "wrapUp"):
        lite, pg = row("sqlite", route).get("per_healthz"), row("postgres", route).get("per_healthz")
        if lite is not None and pg is not None:
            judge(f"sqlite {route} at least as fast (rps over each run's healthz)", lite / pg,
                  lambda v: v >= 1.0, lambda v: f"{lite:.2f} vs {pg:.2f}")
    return lines


def wait(url, seconds, path="/healthz"):
    import time
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url.rstrip("/") + path, timeout=2) as r:
                if r.status == 200:
                    return 0
        except OSError:
            pass
        if time.monotonic() > deadline:
            print(f"no answer from {url}{path} after {seconds} s", file=sys.stderr)
            return 1
        time.sleep(0.1)


def gauges(url, seed_file):
    """The server's own view of the seeded population must be what was seeded."""
    seed = json.load(open(seed_file))
    with urllib.request.urlopen(url.rstrip("/") + "/metrics", timeout=30) as r:
        text = r.read().decode()
    got = {}
    for line in text.splitlines():
        m = re.match(r"^agentprofile_agents_(logged_in|on_break|in_wrap_up)_all_accounts\s+(\S+)", line)
        if m:
            got[m.group(1)] = int(float(m.group(2)))
    want = {"logged_in": seed["agents"], "on_break": seed["on_break"], "in_wrap_up": seed["in_wrap_up"]}
    if got != want:
        print(f"the server's gauges say {got}, the seeding made {want}", file=sys.stderr)
        return 1
    return 0


def meta(file, pairs):
    """Sets key=value pairs in a JSON file (a.b=v nests; +key=v appends; JSON values parsed)."""
    try:
        data = json.load(open(file))
    except (OSError, ValueError):
        data = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            value = json.loads(value)
        except ValueError:
            pass
        append = key.startswith("+")
        *parents, last = key.lstrip("+").split(".")
        d = data
        for p in parents:
            d = d.setdefault(p, {})
        if append:
            d.setdefault(last, []).append(value)
        else:
            d[last] = value
    with open(file, "w") as f:
        json.dump(data, f, indent=1)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("url")
    s.add_argument("out")
    r = sub.add_parser("record")
    r.add_argument("--kind", choices=["closed", "open"], required=True)
    for name in ("db", "bin", "route", "result", "before", "after", "seed", "results"):
        # the floor (route hello) has no counters and no population
        r.add_argument(f"--{name}", required=name not in ("before", "after", "seed"))
    r.add_argument("--conns", type=int, required=True)
    r.add_argument("--rss-kb", type=int, default=0)
    r.add_argument("--rate", type=float, default=0)
    r.add_argument("--duration", type=float, default=0)
    r.add_argument("--agents-free", type=int, default=0)
    r.add_argument("--for-route", help="the floor's run: the route measured just after it (closed) "
                   "or at whose rate it was offered (open)")
    r.add_argument("--round", type=int, default=0, help="the round of a route measured in rounds (0: not)")
    w = sub.add_parser("wait")
    w.add_argument("url")
    w.add_argument("seconds", type=float)
    w.add_argument("--path", default="/healthz")
    g = sub.add_parser("gauges")
    g.add_argument("url")
    g.add_argument("seed")
    m = sub.add_parser("meta")
    m.add_argument("file")
    m.add_argument("pairs", nargs="*")
    t = sub.add_parser("report")
    t.add_argument("--results")
    t.add_argument("--meta", required=True)
    t.add_argument("--out", required=True)
    a = p.parse_args()
    if a.cmd == "snapshot":
        snapshot(a.url, a.out)
        return 0
    if a.cmd == "wait":
        return wait(a.url, a.seconds, a.path)
    if a.cmd == "gauges":
        return gauges(a.url, a.seed)
    if a.cmd == "meta":
        return meta(a.file, a.pairs)
    if a.cmd == "record":
        if a.route not in ROUTES:
            raise SystemExit(f"unknown route {a.route}")
        return record(a)
    return report(a)


if __name__ == "__main__":
    sys.exit(main())
