#!/usr/bin/env python3
"""corral's orchestration figures on the real daemon with the Acts image:

  * start to first container ready (a fresh pool of one; 3 runs);
  * scale 1 -> 10 (a reload raising min_containers) until all ten are ready;
  * kill -> replacement ready: SIGKILL of one container at a time through the
    daemon, until the slot is ready with a new container (10 kills);
  * corral's resident memory with 10 containers, idle and under wrk load;
  * the balancer ask alone (bench/balancer_ask.cpp).

Run by bench/orchestration, which builds corral and the images first.
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

PROXY, ADMIN, START = 32100, 32101, 32110
POOL = "bench-orch"


def log(msg):
    print(f"[bench/orchestration] {msg}", file=sys.stderr, flush=True)


def status():
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ADMIN}/status", timeout=2) as r:
            return json.loads(r.read())
    except Exception:
        return None


def ready_slots():
    s = status()
    if not s:
        return {}
    return {x["port"]: x["container"] for x in s["pool"]["slots"] if x["state"] == "ready"}


def config(work, min_containers):
    return f"""[proxy]
listen = "127.0.0.1:{PROXY}"
[admin]
listen = "127.0.0.1:{ADMIN}"
[pool]
name = "{POOL}"
image = "acts:latest"
start_port = {START}
min_containers = {min_containers}
max_containers = 10
volume = "{POOL}-data"
stop_timeout = "2s"
run_dir = "{work}"
[log]
level = "warn"
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait(pred, deadline, step=0.005):
    end = time.time() + deadline
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def cleanup():
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=corral.pool={POOL}"],
                         capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f"] + ids, capture_output=True)
    subprocess.run(["docker", "volume", "rm", "-f", f"{POOL}-data"], capture_output=True)


def main():
    corral_bin, ask_bin = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="corral-orch-")
    cfg_path = os.path.join(work, "corral.toml")
    out = []
    cleanup()
    starts = []
    proc = None
    try:
        for i in range(3):
            with open(cfg_path, "w") as f:
                f.write(config(work, 1))
            t0 = time.time()
            proc = subprocess.Popen([corral_bin, "--config", cfg_path],
                                    stderr=open(os.path.join(work, "corral.log"), "a"))
            if not wait(lambda: len(ready_slots()) >= 1, 60):
                raise SystemExit("no container became ready (see " + work + ")")
            starts.append(time.time() - t0)
            log(f"start to first ready: {starts[-1]:.3f} s")
            if i < 2:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
        # Scale 1 -> 10 by a reload.
        with open(cfg_path, "w") as f:
            f.write(config(work, 10))
        t0 = time.time()
        proc.send_signal(signal.SIGHUP)
        if not wait(lambda: len(ready_slots()) >= 10, 120, 0.01):
            raise SystemExit("the pool did not reach 10 ready containers")
        scale = time.time() - t0
        log(f"scale 1 -> 10: {scale:.3f} s")
        time.sleep(1)
        idle = rss_kib(proc.pid)
        # Under load: wrk for 10 s, sampling corral's RSS.
        wrk = subprocess.Popen(["wrk", "-t1", "-c64", "-d10s", f"http://127.0.0.1:{PROXY}/api/v1/_health"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        peak = 0
        while wrk.poll() is None:
            peak = max(peak, rss_kib(proc.pid))
            time.sleep(0.1)
        wrk_out = wrk.stdout.read()
        rps = next((l.split()[1] for l in wrk_out.splitlines() if l.startswith("Requests/sec")), "?")
        log(f"RSS idle {idle} KiB, under load {peak} KiB ({rps} req/s)")
        # Kill -> replacement ready, one slot at a time.
        kills = []
        for k in range(10):
            port = START + k
            slots = ready_slots()
            old = slots.get(port)
            if not old:
                wait(lambda: ready_slots().get(port), 30)
                old = ready_slots().get(port)
            t0 = time.time()
            subprocess.run(["docker", "kill", old], capture_output=True)
            got = wait(lambda: (lambda c: c and c != old)(ready_slots().get(port)), 60, 0.005)
            if not got:
                raise SystemExit(f"no replacement on {port}")
            kills.append(time.time() - t0)
            log(f"kill {port} -> replacement ready: {kills[-1]:.3f} s")
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        proc = None
    finally:
        if proc and proc.poll() is None:
            proc.kill()
        cleanup()
    ask = subprocess.run([ask_bin], capture_output=True, text=True).stdout
    out.append("| figure | value |")
    out.append("|---|---:|")
    out.append(f"| corral start to first container ready (3 runs: min / median / max) | "
               f"{min(starts):.3f} / {statistics.median(starts):.3f} / {max(starts):.3f} s |")
    out.append(f"| scale 1 -> 10 (reload) until all ten are ready | {scale:.3f} s |")
    out.append(f"| kill -> replacement ready (10 kills: min / median / max) | "
               f"{min(kills):.3f} / {statistics.median(kills):.3f} / {max(kills):.3f} s |")
    out.append(f"| corral resident memory, 10 containers, idle | {idle / 1024:.1f} MiB |")
    out.append(f"| corral resident memory, 10 containers, under load (wrk -t1 -c64 10 s, {rps} req/s) | "
               f"{peak / 1024:.1f} MiB |")
    out.append("")
    out.append("The balancer ask alone (`build/bench/balancer_ask`, the real balancer actor on the "
               "work-sharing scheduler with 2 workers, one ask at a time):")
    out.append("")
    out.append(ask.strip())
    print("\n".join(out))


if __name__ == "__main__":
    main()
