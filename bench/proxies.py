#!/usr/bin/env python3
"""corral's proxy side by side with nginx and HAProxy, on the same backends.

One run:
  * three identical backends: single-process nginx servers on 127.0.0.1
    (32001-32003) answering a fixed 2 KB body on /, a 1 MB file on /large and
    200 on /health (probes), each with stub_status on /count;
  * the proxies, one at a time on 127.0.0.1:32010, balancing round robin over
    the three: corral (static pool), nginx (upstream keepalive) and HAProxy
    (`http-reuse always`), each with 1 and with 2 threads/workers;
  * per round, every proxy in turn under each scenario (wrk -t1, keep-alive
    unless said): GET /, GET / with `Connection: close`, POST / with a 64 KB
    body, GET /large (1 MB); rounds interleave the proxies, so drift of the
    shared machine hits all of them alike;
  * the backends directly (one backend, same wrk) as the reference;
  * a failover probe per proxy (1 thread, production-like health settings):
    steady load, SIGKILL one backend, restart it 1 s later; failed requests
    and the time from the restart until the backend gets proxied traffic.
    Every proxy probes a down backend every 50 ms: the restarts of the rounds
    are spread evenly over one such period (the same moments for every
    proxy), so that no proxy's probe phase lines up with the restart.

Reported: medians over rounds of req/s, p50/p99 (wrk's), errors, CPU time of
the whole proxy (every process: utime+stime from /proc) per request and its
split into user and kernel time, the proxy's context switches per request
(every thread, from /proc), the machine's TCP segments per request (on
loopback: the whole path, wrk to proxy to backend and back), the
per-backend shares (from the backends' stub_status), ratios to direct and to
the better peer. CPU and ratios within one run hold better than absolute
req/s on a shared machine.
"""
import argparse
import datetime
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BACKENDS = [32001, 32002, 32003]
PROXY_PORT = 32010
ADMIN_PORT = 32011
CLK_TCK = os.sysconf("SC_CLK_TCK")
# How often corral (start_interval) and HAProxy (downinter) probe a down
# backend in the failover probe.
PROBE_PERIOD = 0.05
PROBE_MS = int(PROBE_PERIOD * 1000)
BODY_2K = "x" * 2047 + "\n"

SCENARIOS = [
    # name, path, wrk extras, connections
    ("GET keep-alive", "/", [], 64),
    ("GET close", "/", ["-H", "Connection: close"], 64),
    ("POST 64 KB", "/", ["-s", "@post"], 64),
    ("GET 1 MB", "/large", [], 16),
]


def log(msg):
    print(f"[bench/run] {msg}", file=sys.stderr, flush=True)


def wait_port(port, deadline=10.0, up=True):
    end = time.time() + deadline
    while time.time() < end:
        s = socket.socket()
        try:
            s.settimeout(0.2)
            s.connect(("127.0.0.1", port))
            s.close()
            if up:
                return True
        except OSError:
            if not up:
                return True
        finally:
            s.close()
        time.sleep(0.02)
    return False


def http_get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode()
    except Exception:
        return None


def backend_count(port):
    text = http_get(f"http://127.0.0.1:{port}/count")
    if not text:
        return None
    m = re.search(r"\n\s*\d+\s+\d+\s+(\d+)", text)
    return int(m.group(1)) if m else None


def proc_cpu_ticks(pids):
    """(user, kernel) clock ticks of the processes, all their threads."""
    user = kernel = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            kernel += int(fields[12])
        except OSError:
            pass
    return user, kernel


def proc_context_switches(pids):
    """Voluntary and involuntary context switches of every thread of the processes."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                            total += int(line.split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return total


def tcp_out_segments():
    """TCP segments the whole machine has sent (/proc/net/snmp): on loopback,
    every segment of the path wrk -> proxy -> backend and back."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index("OutSegs")])


def process_tree(pid):
    """pid and every descendant (nginx workers, ...)."""
    out = [pid]
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        for k in kids.split():
            out += process_tree(int(k))
    except OSError:
        pass
    return out


class Backends:
    def __init__(self, work):
        self.work = work
        self.procs = {}
        with open(os.path.join(work, "large.bin"), "wb") as f:
            f.write(b"y" * (1 << 20))

    def conf(self, port):
        return f"""
daemon off;
master_process off;
worker_processes 1;
pid {self.work}/backend-{port}.pid;
error_log {self.work}/backend-{port}.err warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  log_format fo '$msec';
  keepalive_requests 1000000;
  client_body_buffer_size 128k;
  client_max_body_size 2m;
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    location = /count {{ stub_status; }}
    location = /health {{ return 200 "ok\\n"; }}
    location = /large {{ alias {self.work}/large.bin; }}
    location = /fo {{
      access_log {self.work}/fo-{port}.log fo;
      return 200 "{BODY_2K[:64]}";
    }}
    location / {{ return 200 "{BODY_2K}"; }}
  }}
}}
"""

    def start(self, port):
        path = os.path.join(self.work, f"backend-{port}.conf")
        with open(path, "w") as f:
            f.write(self.conf(port))
        self.procs[port] = subprocess.Popen(
            ["nginx", "-c", path, "-p", self.work, "-e", f"{self.work}/backend-{port}.err"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(port):
            raise SystemExit(f"backend {port} did not start (see {self.work})")

    def kill(self, port):
        p = self.procs.pop(port)
        p.send_signal(signal.SIGKILL)
        p.wait()

    def start_all(self):
        for port in BACKENDS:
            self.start(port)

    def stop_all(self):
        for port in list(self.procs):
            self.kill(port)


class Proxy:
    """One proxy program with its config; start() returns its main pid."""

    def __init__(self, kind, threads, work, corral_bin):
        self.kind, self.threads, self.work = kind, threads, work
        self.corral_bin = corral_bin
        self.proc = None

    @property
    def label(self):
        unit = {"corral": "threads", "nginx": "workers", "haproxy": "threads"}[self.kind]
        return f"{self.kind} ({self.threads} {unit[:-1] if self.threads == 1 else unit})"

    def config(self):
        servers = BACKENDS
        if self.kind == "corral":
            lst = ", ".join(f'"127.0.0.1:{p}"' for p in servers)
            return f"""[proxy]
listen = "127.0.0.1:{PROXY_PORT}"
threads = {self.threads}
[admin]
listen = "127.0.0.1:{ADMIN_PORT}"
[pool]
name = "bench-proxies"
runtime = "static"
backends = [{lst}]
run_dir = "{self.work}"
[health]
path = "/health"
[log]
level = "warn"
"""
        if self.kind == "nginx":
            # Passive checks only (nginx OSS has no active ones): a backend that
            # fails is skipped for fail_timeout.
            ups = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=1s;" for p in servers)
            return f"""
daemon off;
user root;
worker_processes {self.threads};
pid {self.work}/proxy-nginx.pid;
error_log {self.work}/proxy-nginx.err error;
events {{ worker_connections 16384; multi_accept on; }}
http {{
  access_log off;
  upstream pool {{
{ups}
    keepalive 128;
    keepalive_requests 1000000;
  }}
  client_body_buffer_size 128k;
  client_max_body_size 2m;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{PROXY_PORT} reuseport backlog=4096;
    location / {{
      proxy_pass http://pool;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503;
    }}
  }}
}}
"""
        # HAProxy: active checks as a production config has them.
        srv = "\n".join(
            f"  server b{p} 127.0.0.1:{p} check inter 1s fastinter {PROBE_MS}ms downinter {PROBE_MS}ms fall 1 rise 1"
            for p in servers)
        return f"""
global
  nbthread {self.threads}
  maxconn 9000
  stats socket {self.work}/haproxy.sock level admin
  log stderr format raw local0 err
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout queue 5s
  option http-keep-alive
  http-reuse always
  retries 3
  option redispatch
  retry-on conn-failure empty-response response-timeout 502 503 504
frontend fe
  bind 127.0.0.1:{PROXY_PORT}
  default_backend pool
backend pool
  balance roundrobin
  option httpchk GET /health
{srv}
"""

    def start(self):
        cfg = os.path.join(self.work, f"proxy-{self.kind}.conf")
        with open(cfg, "w") as f:
            f.write(self.config())
        errlog = open(os.path.join(self.work, f"proxy-{self.kind}-{self.threads}.log"), "a")
        if self.kind == "corral":
            cmd = [self.corral_bin, "--config", cfg]
        elif self.kind == "nginx":
            cmd = ["nginx", "-c", cfg, "-p", self.work, "-e", f"{self.work}/proxy-nginx.err"]
        else:
            cmd = ["haproxy", "-f", cfg, "-db"]
        self.proc = subprocess.Popen(cmd, stdout=errlog, stderr=errlog, start_new_session=True)
        if not wait_port(PROXY_PORT):
            raise SystemExit(f"{self.label} did not listen (see {self.work})")
        # Every backend in rotation before the clock starts.
        end = time.time() + 10
        seen = set()
        while time.time() < end and len(seen) < len(BACKENDS):
            before = {p: backend_count(p) for p in BACKENDS}
            http_get(f"http://127.0.0.1:{PROXY_PORT}/")
            for p in BACKENDS:
                after = backend_count(p)
                # /count itself counts one: more means the proxy's request came.
                if before[p] is not None and after is not None and after - before[p] > 1:
                    seen.add(p)
        time.sleep(0.3)
        return self.proc.pid

    def pids(self):
        return process_tree(self.proc.pid)

    def stop(self):
        if self.proc:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        wait_port(PROXY_PORT, 5, up=False)
        self.proc = None


def parse_wrk(text):
    out = {"requests": 0, "errors": 0, "p50": None, "p99": None, "rps": 0.0}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    if m:
        out["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))

    def ms(v, unit):
        return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    for q in ("50", "99"):
        m = re.search(rf"\s{q}(?:\.000)?%\s+([\d.]+)(us|ms|s)\b", text)
        if m:
            out["p" + q] = ms(m.group(1), m.group(2))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["errors"] += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["errors"] += int(m.group(1))
    return out


def run_wrk(url, extras, connections, seconds, work):
    args = []
    for e in extras:
        args.append(os.path.join(work, "post.lua") if e == "@post" else e)
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"] + args + [url]
    res = subprocess.run(cmd, capture_output=True, text=True)
    return parse_wrk(res.stdout + res.stderr), res.stdout


def measure(target_pids, scenario, seconds, work, port):
    name, path, extras, conns = scenario
    counts_before = {p: backend_count(p) or 0 for p in BACKENDS}
    cpu_before = proc_cpu_ticks(target_pids)
    switches_before = proc_context_switches(target_pids)
    segments_before = tcp_out_segments()
    result, raw = run_wrk(f"http://127.0.0.1:{port}{path}", extras, conns, seconds, work)
    segments_after = tcp_out_segments()
    switches_after = proc_context_switches(target_pids)
    cpu_after = proc_cpu_ticks(target_pids)
    counts_after = {p: backend_count(p) or 0 for p in BACKENDS}
    delta = {p: counts_after[p] - counts_before[p] for p in BACKENDS}
    total = sum(delta.values())
    result["shares"] = {p: (100.0 * delta[p] / total if total else 0.0) for p in BACKENDS}
    done = max(result["requests"], 1)
    per_request = 1e6 / CLK_TCK / done
    result["user_us"] = (cpu_after[0] - cpu_before[0]) * per_request
    result["kernel_us"] = (cpu_after[1] - cpu_before[1]) * per_request
    result["cpu_us"] = result["user_us"] + result["kernel_us"]
    result["switches"] = (switches_after - switches_before) / done
    # wrk's requests still in flight at its end count too; 64 of a few
    # hundred thousand do not show.
    result["segments"] = (segments_after - segments_before) / done
    return result


def failover(proxy, backends, work, seconds=6.0, down_for=1.0):
    """Steady wrk load through `proxy`; kill backend 2 at t=1.5 s, restart it
    `down_for` s later. Returns (failed requests, seconds from the restart until the
    backend gets proxied traffic again, requests)."""
    victim = BACKENDS[1]
    fo_log = os.path.join(work, f"fo-{victim}.log")
    proxy.start()
    try:
        if os.path.exists(fo_log):
            os.remove(fo_log)
        wrk = subprocess.Popen(
            ["wrk", "-t1", "-c8", f"-d{int(seconds)}s", "--timeout", "5s", f"http://127.0.0.1:{PROXY_PORT}/fo"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1.5)
        backends.kill(victim)
        time.sleep(down_for)
        # nginx reopens its access log at start: it only holds lines from now.
        restarted = time.time()
        backends.start(victim)
        out, _ = wrk.communicate()
        r = parse_wrk(out)
        back = None
        if os.path.exists(fo_log):
            with open(fo_log) as f:
                stamps = [float(x) for x in f.read().split() if x.strip()]
            after = [t for t in stamps if t >= restarted]
            if after:
                back = min(after) - restarted
        return r["errors"], back, r["requests"]
    finally:
        proxy.stop()


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--no-failover", action="store_true")
    ap.add_argument("--failover-rounds", type=int, default=6)
    ap.add_argument("--corral", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "docs",
                                                  "bench-proxies-latest.md"))
    ap.add_argument("--only", default="", help="comma list of scenario names (prefix match)")
    opts = ap.parse_args()
    for tool in ("nginx", "haproxy", "wrk"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (bench/run installs it)")
    threads = [int(t) for t in opts.threads.split(",")]
    scenarios = [s for s in SCENARIOS
                 if not opts.only or any(s[0].startswith(o) for o in opts.only.split(","))]

    work = tempfile.mkdtemp(prefix="corral-bench-")
    with open(os.path.join(work, "post.lua"), "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = string.rep("p", 65536)\n'
                'wrk.headers["Content-Type"] = "application/octet-stream"\n')
    log(f"work dir {work}")
    backends = Backends(work)
    backends.start_all()
    results = {}  # (label, scenario) -> [result per round]
    proxies = []
    for t in threads:
        for kind in ("corral", "nginx", "haproxy"):
            proxies.append(Proxy(kind, t, work, opts.corral))
    try:
        for rnd in range(opts.rounds):
            # Direct: one backend, the reference (its nginx process's CPU).
            for sc in scenarios:
                pid = backends.procs[BACKENDS[0]].pid
                r = measure([pid], sc, opts.seconds, work, BACKENDS[0])
                results.setdefault(("direct", sc[0]), []).append(r)
                log(f"round {rnd + 1} direct {sc[0]}: {r['rps']:.0f} req/s")
            order = proxies if rnd % 2 == 0 else list(reversed(proxies))
            for proxy in order:
                proxy.start()
                try:
                    for sc in scenarios:
                        r = measure(proxy.pids(), sc, opts.seconds, work, PROXY_PORT)
                        results.setdefault((proxy.label, sc[0]), []).append(r)
                        log(f"round {rnd + 1} {proxy.label} {sc[0]}: {r['rps']:.0f} req/s, "
                            f"{r['cpu_us']:.1f} us/req, p99 {fmt(r['p99'], '.2f')} ms, "
                            f"errors {r['errors']}")
                finally:
                    proxy.stop()
        fo = {}
        if not opts.no_failover:
            for rnd in range(opts.failover_rounds):
                # 1 s plus a point spread over one 50 ms probe period.
                down_for = 1.0 + PROBE_PERIOD * (rnd + 0.5) / opts.failover_rounds
                for kind in ("corral", "nginx", "haproxy"):
                    proxy = Proxy(kind, 1, work, opts.corral)
                    errors, back, reqs = failover(proxy, backends, work, down_for=down_for)
                    fo.setdefault(kind, []).append((errors, back, reqs))
                    log(f"failover round {rnd + 1} {kind}: {errors} failed of {reqs}, "
                        f"back after {fmt(back, '.3f')} s")
    finally:
        backends.stop_all()

    write_report(opts, results, fo if not opts.no_failover else {}, threads, scenarios, work)


def git_commit():
    try:
        return subprocess.run(["git", "-C", os.path.dirname(__file__), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


def write_report(opts, results, fo, threads, scenarios, work):
    lines = []
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    lines.append(f"Run {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, commit `{git_commit()}`, "
                 f"{os.cpu_count()} cores ({cpu}), "
                 f"`bench/run --rounds {opts.rounds} --seconds {opts.seconds} --threads {opts.threads}`"
                 f"{' --no-failover' if opts.no_failover else ''}; medians of {opts.rounds} rounds.")
    lines.append("")

    def med(label, sc, key):
        return median([r[key] for r in results.get((label, sc), [])])

    for sc in scenarios:
        name = sc[0]
        direct = med("direct", name, "rps")
        lines.append(f"#### {name} (wrk -t1 -c{sc[3]} {opts.seconds} s)")
        lines.append("")
        lines.append("| proxy | req/s | x direct | x best peer | p50 ms | p99 ms | errors | CPU µs/req | "
                     "x best peer CPU | shares % |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        lines.append(f"| direct (one backend) | {fmt(direct, ',.0f')} | 1.00 | | "
                     f"{fmt(med('direct', name, 'p50'), '.2f')} | {fmt(med('direct', name, 'p99'), '.2f')} | "
                     f"{int(med('direct', name, 'errors') or 0)} | {fmt(med('direct', name, 'cpu_us'), '.1f')} | | |")
        for t in threads:
            labels = [Proxy(k, t, work, "").label for k in ("corral", "nginx", "haproxy")]
            for label in labels:
                rps = med(label, name, "rps")
                cpu_us = med(label, name, "cpu_us")
                peers = [l for l in labels if l != label]
                best_rps = max([med(p, name, "rps") or 0 for p in peers])
                best_cpu = min([med(p, name, "cpu_us") or 1e9 for p in peers])
                runs = results.get((label, name), [])
                shares = " / ".join(
                    f"{median([r['shares'][p] for r in runs]):.2f}" for p in BACKENDS) if runs else ""
                lines.append(
                    f"| {label} | {fmt(rps, ',.0f')} | {fmt(rps / direct if rps and direct else None, '.2f')} | "
                    f"{fmt(rps / best_rps if rps and best_rps else None, '.2f')} | "
                    f"{fmt(med(label, name, 'p50'), '.2f')} | {fmt(med(label, name, 'p99'), '.2f')} | "
                    f"{int(sum(r['errors'] for r in runs))} | {fmt(cpu_us, '.1f')} | "
                    f"{fmt(cpu_us / best_cpu if cpu_us and best_cpu < 1e9 else None, '.2f')} | {shares} |")
        lines.append("")
        # Where the CPU goes: the same runs' medians, split.
        lines.append("| proxy | user µs/req | kernel µs/req | kernel share | context switches/req | "
                     "TCP segments/req (machine) |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for t in threads:
            for kind in ("corral", "nginx", "haproxy"):
                label = Proxy(kind, t, work, "").label
                user, kernel = med(label, name, "user_us"), med(label, name, "kernel_us")
                share = kernel / (user + kernel) if user is not None and kernel and user + kernel else None
                lines.append(f"| {label} | {fmt(user, '.1f')} | {fmt(kernel, '.1f')} | "
                             f"{fmt(share * 100 if share is not None else None, '.0f')}% | "
                             f"{fmt(med(label, name, 'switches'), '.2f')} | "
                             f"{fmt(med(label, name, 'segments'), '.2f')} |")
        lines.append("")
        # Round robin exactness: the largest deviation from 1/3 over all runs.
        for t in threads:
            label = Proxy("corral", t, work, "").label
            devs = [abs(r["shares"][p] - 100.0 / 3) for r in results.get((label, name), []) for p in BACKENDS]
            if devs:
                lines.append(f"{label}: largest share deviation from 1/3 in any run: {max(devs):.3f} pp.")
        lines.append("")
    if fo:
        lines.append("#### Failover (1 thread each, steady load wrk -t1 -c8 6 s; SIGKILL of one backend, "
                     f"restarted 1 s later plus 0-{PROBE_MS} ms spread over {opts.failover_rounds} rounds)")
        lines.append("")
        lines.append("| proxy | failed requests (per round) | back in rotation after restart, s (per round) | "
                     "median s |")
        lines.append("|---|---|---|---:|")
        for kind, runs in fo.items():
            fails = ", ".join(str(e) for e, _, _ in runs)
            backs = ", ".join(fmt(b, ".3f") for _, b, _ in runs)
            lines.append(f"| {kind} | {fails} | {backs} | {fmt(median([b for _, b, _ in runs]), '.3f')} |")
        lines.append("")
    text = "\n".join(lines) + "\n"
    with open(opts.out, "w") as f:
        f.write(text)
    print(text)
    log(f"report written to {opts.out}")


if __name__ == "__main__":
    main()
