#!/usr/bin/env python3
"""The floor wave's watcher (bench/floor-wave): while N agents go silent together, follows
GET /v1/stream (resuming by Last-Event-ID when the server drops a slow stream) and keeps
calling agentOnBreak for an agent on break, and reports:
  - when the first and the last presence.stale arrived on the stream, likewise .offline;
  - the reads' latency while the wave ran, and that every read was a real success.
Prints one JSON object; exits 1 when the wave did not complete within --timeout seconds.
"""

import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse


def stream(host, port, token, kinds, want, stop, out):
    """Counts each kind's events as they arrive; notes the first and the want-th arrival."""
    last_id, reconnects = None, -1
    while not stop.is_set():
        reconnects += 1
        conn = http.client.HTTPConnection(host, port, timeout=60)
        headers = {"Authorization": f"Bearer {token}"}
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        conn.request("GET", "/v1/stream", headers=headers)
        resp = conn.getresponse()
        if resp.status != 200:
            out["error"] = f"stream answered {resp.status}"
            stop.set()
            return
        out["ready"].set()
        try:
            for raw in resp:
                line = raw.decode().rstrip("\n")
                if line.startswith("id: "):
                    last_id = int(line[4:])
                elif line.startswith("data: "):
                    kind = json.loads(line[6:])["kind"]
                    if kind in kinds:
                        seen = out["counts"][kind] = out["counts"].get(kind, 0) + 1
                        now = time.time()
                        out["first"].setdefault(kind, now)
                        if seen == want:
                            out["last"][kind] = now
                    if all(out["counts"].get(k, 0) >= want for k in kinds):
                        stop.set()
                        return
                if stop.is_set():
                    return
        except (OSError, http.client.HTTPException):
            pass
        out["reconnects"] = reconnects + 1


def reads(host, port, ssid, stop, out):
    """agentOnBreak in a loop on one keep-alive connection: (time, seconds) of each answer."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    body = json.dumps({"ssid": ssid})
    while not stop.is_set():
        t = time.time()
        conn.request("POST", "/api/v2/agentProfile/agentOnBreak", body=body)
        answer = json.loads(conn.getresponse().read())
        took = time.time() - t
        if answer.get("status") != "success":
            out["read_errors"] += 1
        out["reads"].append((t, took))
        time.sleep(0.005)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--ssid", required=True, help="an agent on break, for agentOnBreak")
    p.add_argument("--agents", type=int, required=True)
    p.add_argument("--timeout", type=float, default=120)
    a = p.parse_args()
    u = urllib.parse.urlsplit(a.base)
    kinds = ("presence.stale", "presence.offline")
    stop = threading.Event()
    out = {"counts": {}, "first": {}, "last": {}, "reconnects": 0, "ready": threading.Event(),
           "reads": [], "read_errors": 0}
    s = threading.Thread(target=stream, args=(u.hostname, u.port, a.token, kinds, a.agents, stop, out))
    s.start()
    out["ready"].wait(30)
    r = threading.Thread(target=reads, args=(u.hostname, u.port, a.ssid, stop, out))
    r.start()
    s.join(a.timeout)
    stop.set()
    r.join(35)
    start = out["first"].get("presence.stale")
    end = out["last"].get("presence.offline", time.time())
    during = sorted(took for t, took in out["reads"] if start and start <= t <= end)
    pct = lambda q: round(1000 * during[min(len(during) - 1, int(q * len(during)))], 2) if during else None
    spread = lambda k: (round(out["last"][k] - out["first"][k], 2) if k in out["last"] else None)
    report = {
        "agents": a.agents,
        "stale_streamed_spread_s": spread("presence.stale"),
        "offline_streamed_spread_s": spread("presence.offline"),
        "streamed": out["counts"],
        "stream_reconnects": out["reconnects"],
        "reads_during_wave": len(during),
        "read_p50_ms": pct(0.5),
        "read_p99_ms": pct(0.99),
        "read_max_ms": round(1000 * during[-1], 2) if during else None,
        "read_errors": out["read_errors"],
    }
    if "error" in out:
        report["error"] = out["error"]
    print(json.dumps(report))
    ok = all(out["counts"].get(k, 0) >= a.agents for k in kinds) and not out["read_errors"] and during
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
