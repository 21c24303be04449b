#!/usr/bin/env python3
"""Hostile clients against corral, nginx and HAProxy, side by side (issue 11).

The same three loopback nginx backends as bench/proxies.py; each proxy in
turn with 1 thread/worker and its production-like settings (corral's
defaults, nginx `worker_connections 16384`, HAProxy `maxconn 9000` (its fd need, 2 per connection, fits the 20,000 limit)). Two
attacks, each while a normal client keeps working:

  * fd flood: one local process opens idle connections to the proxy until
    it stops accepting (or 19,000, near the flooding process's own limit),
    holds them 10 s, then lets go;
  * slowloris: 1,000 connections each send one byte of a request head per
    second for 20 s.

The normal client is two threads: one on a keep-alive connection opened
before the attack, one opening a new connection per request. Reported: its
served requests and errors during the attack, how soon new connections are
served after the flood closes, how many slowloris connections the proxy had
closed by the end (and after how long), and backends the proxy took out of
rotation (corral: /status; HAProxy: its stats socket; nginx has no active
checks).

usage: bench/attacks (builds corral, installs nginx, haproxy)
"""
import http.client
import json
import os
import resource
import select
import socket
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from proxies import ADMIN_PORT, BACKENDS, PROXY_PORT, Backends, Proxy, log  # noqa: E402


class NormalClient:
    """Keep-alive and fresh-connection GETs, counted while running."""

    def __init__(self):
        self.stop = threading.Event()
        self.counts = {"keepalive_ok": 0, "keepalive_err": 0, "fresh_ok": 0, "fresh_err": 0}
        self.lock = threading.Lock()
        # Daemons: a failing run must not hang on them.
        self.threads = [threading.Thread(target=self.keepalive, daemon=True),
                        threading.Thread(target=self.fresh, daemon=True)]
        self.last_fresh_ok = 0.0

    def add(self, key):
        with self.lock:
            self.counts[key] += 1

    def keepalive(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", PROXY_PORT, timeout=5)
                conn.request("GET", "/")
                r = conn.getresponse()
                r.read()
                self.add("keepalive_ok" if r.status == 200 else "keepalive_err")
            except Exception:
                self.add("keepalive_err")
                conn = None
            time.sleep(0.01)

    def fresh(self):
        while not self.stop.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PROXY_PORT, timeout=2)
                conn.request("GET", "/", headers={"Connection": "close"})
                r = conn.getresponse()
                r.read()
                conn.close()
                if r.status == 200:
                    self.add("fresh_ok")
                    self.last_fresh_ok = time.time()
                else:
                    self.add("fresh_err")
            except Exception:
                self.add("fresh_err")
            time.sleep(0.01)

    def start(self):
        for t in self.threads:
            t.start()

    def snapshot(self):
        with self.lock:
            return dict(self.counts)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def out_of_rotation(kind, work):
    """Backends the proxy has taken out of rotation so far (cumulative)."""
    if kind == "corral":
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ADMIN_PORT}/status", timeout=5) as r:
                doc = json.loads(r.read())
            return sum(s.get("restarts", 0) for s in doc["pool"]["slots"])
        except Exception:
            return None
    if kind == "haproxy":
        try:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(os.path.join(work, "haproxy.sock"))
            s.sendall(b"show stat\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            lines = data.decode().splitlines()
            header = lines[0].lstrip("# ").split(",")
            col = header.index("chkdown")
            return sum(int(l.split(",")[col] or 0) for l in lines[1:]
                       if l.startswith("pool,b"))
        except Exception:
            return None
    return None


def fd_flood(kind, work):
    client = NormalClient()
    client.start()
    time.sleep(1)
    before = client.snapshot()
    held = []
    failures = 0
    t0 = time.time()
    # The flooding process's own limit is 20,000 descriptors: it stops a
    # little below, so the normal client keeps room for its sockets.
    while len(held) < 19000 and failures < 3 and time.time() - t0 < 30:
        try:
            s = socket.socket()
        except OSError:
            break
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", PROXY_PORT))
        # poll, not select: past 1024 descriptors select() cannot look.
        waiter = select.poll()
        waiter.register(s, select.POLLOUT)
        w = waiter.poll(1000)
        if w and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            held.append(s)
            failures = 0
        else:
            s.close()
            failures += 1
    opened = len(held)
    log(f"{kind}: flood holds {opened} connections")
    time.sleep(10)
    during = client.snapshot()
    for s in held:
        s.close()
    released = time.time()
    # How soon a new connection is served again.
    back = None
    end = released + 10
    while time.time() < end:
        if client.last_fresh_ok > released:
            back = client.last_fresh_ok - released
            break
        time.sleep(0.01)
    client.finish()
    diff = {k: during[k] - before[k] for k in during}
    return {"opened": opened, **diff, "fresh_back_s": back, "out": out_of_rotation(kind, work)}


def slowloris(kind, work, count=1000, seconds=20):
    client = NormalClient()
    client.start()
    time.sleep(1)
    before = client.snapshot()
    socks = []
    for _ in range(count):
        s = socket.socket()
        try:
            s.settimeout(2)
            s.connect(("127.0.0.1", PROXY_PORT))
            s.setblocking(False)
            socks.append(s)
        except OSError:
            s.close()
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4000
    t0 = time.time()
    closed_at = {}
    i = 0
    while time.time() - t0 < seconds:
        for idx, s in enumerate(socks):
            if idx in closed_at:
                continue
            try:
                s.send(head[i % len(head):i % len(head) + 1])
                # A closed connection shows as readable EOF.
                waiter = select.poll()
                waiter.register(s, select.POLLIN)
                if waiter.poll(0) and s.recv(1) == b"":
                    closed_at[idx] = time.time() - t0
            except OSError:
                closed_at[idx] = time.time() - t0
        i += 1
        time.sleep(max(0.0, 1.0 - (time.time() - t0) % 1.0))
    during = client.snapshot()
    client.finish()
    for s in socks:
        s.close()
    diff = {k: during[k] - before[k] for k in during}
    first = min(closed_at.values()) if closed_at else None
    return {"opened": len(socks), "closed": len(closed_at), "first_closed_s": first, **diff,
            "out": out_of_rotation(kind, work)}


def main():
    corral_bin = sys.argv[1]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="corral-attacks-")
    log(f"work dir {work}")
    backends = Backends(work)
    backends.start_all()
    rows = []
    try:
        for kind in ("corral", "nginx", "haproxy"):
            proxy = Proxy(kind, 1, work, corral_bin)
            proxy.start()
            try:
                flood = fd_flood(kind, work)
                log(f"{kind} flood: {flood}")
            finally:
                proxy.stop()
            proxy.start()
            try:
                slow = slowloris(kind, work)
                log(f"{kind} slowloris: {slow}")
            finally:
                proxy.stop()
            rows.append((kind, flood, slow))
    finally:
        backends.stop_all()

    def f(v, spec=""):
        return "n/a" if v is None else format(v, spec)

    out = ["#### fd flood (idle connections until the proxy stops accepting or 19,000, held 10 s)", "",
           "| proxy | connections held | keep-alive client ok / errors | new-connection client ok / errors "
           "| new connections served again after | backends taken out |",
           "|---|---:|---:|---:|---:|---:|"]
    for kind, fl, _ in rows:
        out.append(f"| {kind} | {fl['opened']} | {fl['keepalive_ok']} / {fl['keepalive_err']} | "
                   f"{fl['fresh_ok']} / {fl['fresh_err']} | {f(fl['fresh_back_s'], '.3f')} s | {f(fl['out'])} |")
    out += ["", "#### slowloris (1,000 connections, one header byte per second each, 20 s)", "",
            "| proxy | slow connections | closed by the proxy within 20 s | first closed after "
            "| keep-alive client ok / errors | new-connection client ok / errors | backends taken out |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for kind, _, sl in rows:
        out.append(f"| {kind} | {sl['opened']} | {sl['closed']} | {f(sl['first_closed_s'], '.1f')} s | "
                   f"{sl['keepalive_ok']} / {sl['keepalive_err']} | {sl['fresh_ok']} / {sl['fresh_err']} | "
                   f"{f(sl['out'])} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
