#!/usr/bin/env python3
"""Seeds a bench population through the server's public /v1 API (no internals).

For each of N agents: POST /v1/agents, POST /v1/agents/{id}/sessions (answers the ssid),
one setWebPingTime (so the bench's pings find mic_perm already "granted" and record no
mic.change event), then for a chosen share POST /v1/agents/{id}/break {"reason":"break"},
and for another share POST /v1/agents/{id}/wrap-up with a day-long wrap-up.

Writes into --out:
  ssids.txt        every ssid, one per line (agent order)
  free.txt         "agentId ssid" of the agents NOT on break (startBreak/endBreak drives these)
  hashes.txt       sha256(ssid) of every ssid, as the server stores them (for pgbench)
  seed.json        {"agents","on_break","in_wrap_up","seconds"}

Any answer other than the expected one stops the seeding with a message.
"""

import argparse
import hashlib
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse


class Failed(Exception):
    pass


class Client:
    """One keep-alive connection; reconnects once if the server closed it."""

    def __init__(self, base, token):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        self.conn = None

    def call(self, method, path, body=None, expect=(200, 201)):
        data = None if body is None else json.dumps(body, separators=(",", ":"))
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=self.headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if resp.status not in expect or not isinstance(answer, dict) or answer.get("status") != "success":
            raise Failed(f"{method} {path} -> HTTP {resp.status}: {raw[:200]!r}")
        return answer.get("data")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--token", required=True, help="the account's API token")
    p.add_argument("--agents", type=int, required=True)
    p.add_argument("--break-share", type=float, default=0.30)
    p.add_argument("--wrap-share", type=float, default=0.10)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    n = args.agents
    rng = random.Random(20240601)  # the same population in every run
    ids = list(range(n))
    on_break = set(rng.sample(ids, round(n * args.break_share)))
    in_wrap = set(rng.sample(ids, round(n * args.wrap_share)))
    ssids = [None] * n
    errors = []
    done = [0]
    lock = threading.Lock()
    next_i = [0]

    def work():
        c = Client(args.base, args.token)
        i = -1
        try:
            while not errors:
                with lock:
                    i = next_i[0]
                    next_i[0] += 1
                if i >= n:
                    return
                aid = f"a{i}"
                c.call("POST", "/v1/agents", {"agentId": aid, "name": f"Agent {i}"})
                ssid = c.call("POST", f"/v1/agents/{aid}/sessions")["ssid"]
                c.call("POST", "/api/v2/agentProfile/setWebPingTime",
                       {"ssid": ssid, "mic_perm": "granted"}, expect=(200,))
                if i in on_break:
                    c.call("POST", f"/v1/agents/{aid}/break", {"reason": "break"})
                if i in in_wrap:
                    c.call("POST", f"/v1/agents/{aid}/wrap-up",
                           {"callId": f"c{i}", "cNumber": "+15550100", "seconds": 86400})
                ssids[i] = ssid
                with lock:
                    done[0] += 1
        except Exception as e:  # noqa: BLE001 - reported, then the seeding stops
            errors.append(f"agent a{i}: {e}")

    t0 = time.monotonic()
    threads = [threading.Thread(target=work, daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    last = t0
    while any(t.is_alive() for t in threads):
        time.sleep(0.2)
        now = time.monotonic()
        if now - last >= 5 and sys.stderr.isatty():
            print(f"    seeded {done[0]}/{n} agents", file=sys.stderr)
            last = now
    if errors:
        print(f"seeding failed: {errors[0]}", file=sys.stderr)
        return 1
    secs = time.monotonic() - t0

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "ssids.txt"), "w") as f:
        f.writelines(s + "\n" for s in ssids)
    with open(os.path.join(args.out, "free.txt"), "w") as f:
        f.writelines(f"a{i} {s}\n" for i, s in enumerate(ssids) if i not in on_break)
    with open(os.path.join(args.out, "hashes.txt"), "w") as f:
        f.writelines(hashlib.sha256(s.encode()).hexdigest() + "\n" for s in ssids)
    summary = {"agents": n, "on_break": len(on_break), "in_wrap_up": len(in_wrap), "seconds": round(secs, 1)}
    with open(os.path.join(args.out, "seed.json"), "w") as f:
        json.dump(summary, f)
    requests = n * 3 + len(on_break) + len(in_wrap)
    print(f"    seeded {n} agents ({len(on_break)} on break, {len(in_wrap)} in wrap-up): "
          f"{requests} requests in {secs:.1f} s ({requests / secs:.0f}/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
