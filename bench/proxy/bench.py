#!/usr/bin/python3
"""Side-by-side loopback benchmark: direct, OrleansGateway (native and managed relay engines), HAProxy and nginx `stream` in one run.

Started by bench/run.sh (which installs the packages and builds the load generator and the gateway). Every scenario
runs for every target in turn (rotated each round), each round repeated; medians and per-round ratios to HAProxy and
to direct are printed as a table and written to bench/results/latest.json, docs/benchmarks.md (between the
markers) and docs/benchmarks.png. Every process started here is stopped on exit, whatever happens.
"""

import argparse
import datetime
import json
import os
import platform
import re
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# "gateway" runs the default (native) relay engine; "managed" is the same gateway with --relay-engine managed, the
# reference that shows what the native engine changes.
TARGETS = ["direct", "gateway", "managed", "haproxy", "nginx"]
PROXIES = ["gateway", "managed", "haproxy", "nginx"]
GATEWAYS = ["gateway", "managed"]
SNI = "bench.local"
IDLE_CONNECTIONS = 9800  # the open-files limit here is 20,000 and a proxy holds two sockets per connection
RATE_WORKERS = 64
TLS_THREADS = 4
REDIS_CLIENTS = 50
ALL_SCENARIOS = ["bulk", "rate", "pinned", "pp50", "tls", "redis", "tenants", "rss"]
LOADED_TENANTS = 1000
LOADED_MAPPINGS = 10  # per tenant: 10 TLS hosts on the tenant's own port

CHILDREN = []  # every Popen started here; killed on exit


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def start(args, log_path=None, **kw):
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    p = subprocess.Popen(args, stdout=kw.pop("stdout", out), stderr=out, start_new_session=True, **kw)
    CHILDREN.append(p)
    return p


def stop(p, grace=5.0):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    if p in CHILDREN:
        CHILDREN.remove(p)


def stop_all():
    for p in list(CHILDREN):
        stop(p, grace=3.0)


def run(args, timeout, **kw):
    """Runs a client to completion; killed (with its process group) past the timeout."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True, **kw)
    CHILDREN.append(p)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p, grace=1.0)
        raise RuntimeError(f"{' '.join(args[:3])} did not finish within {timeout:.0f} s")
    CHILDREN.remove(p)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} exited {p.returncode}: {err.strip()[-400:]}")
    return out


def free_ports(count):
    """`count` ports the OS hands out now (bound together so they differ), released for the servers to bind."""
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def free_port_run(count):
    """A base port with `count` consecutive free ports (the load generator's servers bind base..base+2)."""
    for base in range(42000, 60000, 7):
        socks = []
        try:
            for i in range(count):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", base + i))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no run of free ports between 42000 and 60000")


def listening(port):
    """True when a socket listens on the port; read from /proc so that no probe connection reaches the server (iperf3
    takes a probe for a test client and resets the next real one)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            for line in open(table).readlines()[1:]:
                f = line.split()
                if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                    return True
        except OSError:
            pass
    return False


def wait_port(port, deadline_s, proc=None, what=""):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening on {port}")
        if listening(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {deadline_s:.0f} s")


def proc_tree(pid):
    """pid and its descendants (nginx: master and workers)."""
    pids = [pid]
    try:
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        return pids
    for c in children:
        pids += proc_tree(int(c))
    return pids


def rss_kib(pid):
    total = 0
    for p in proc_tree(pid):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_seconds(pid):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in proc_tree(pid):
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def pin(pid, cpus):
    for p in proc_tree(pid):
        subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(p)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ------------------------------------------------------------------------------------------------ configs


def make_certificate(work):
    key, crt = os.path.join(work, "bench.key"), os.path.join(work, "bench.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", f"/CN={SNI}",
                    "-addext", f"subjectAltName=DNS:{SNI}"], check=True, capture_output=True)
    pem = os.path.join(work, "bench.pem")
    with open(pem, "w") as f:
        f.write(open(crt).read() + open(key).read())
    return key, crt, pem


# Emissary's default circuit breaker allows 1,024 connections per cluster; HAProxy runs with maxconn ~9,950 and nginx with
# 20,000 worker connections here, so the gateway's mappings get a limit above the idle-connection scenario too.
BREAKERS = """  circuit_breakers:
  - max_connections: 20000
    max_pending_requests: 20000
"""


def write_gateway_config(work, ports, up, key, crt, name="gateway-config"):
    import base64
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    b64 = lambda p: base64.b64encode(open(p, "rb").read()).decode()
    docs = [f"""apiVersion: v1
kind: Secret
metadata:
  name: bench-cert
  namespace: default
type: kubernetes.io/tls
data:
  tls.crt: {b64(crt)}
  tls.key: {b64(key)}
""", f"""apiVersion: getambassador.io/v3alpha1
kind: Host
metadata:
  name: bench
spec:
  hostname: {SNI}
  tlsSecret:
    name: bench-cert
"""]
    for name, port, dest in [("echo", ports["echo"], up["echo"]), ("close", ports["close"], up["close"]),
                             ("iperf", ports["iperf"], up["iperf"]), ("redis", ports["redis"], up["redis"])]:
        docs.append(f"""apiVersion: getambassador.io/v3alpha1
kind: TCPMapping
metadata:
  name: {name}
spec:
  port: {port}
  service: 127.0.0.1:{dest}
{BREAKERS}""")
    for name, port, dest in [("tls-close", ports["tls"], up["close"]), ("tls-sink", ports["tls_sink"], up["sink"]),
                             ("tls-redis", ports["redis_tls"], up["redis"])]:
        docs.append(f"""apiVersion: getambassador.io/v3alpha1
kind: TCPMapping
metadata:
  name: {name}
spec:
  port: {port}
  host: {SNI}
  service: 127.0.0.1:{dest}
{BREAKERS}""")
    with open(os.path.join(d, "bench.yaml"), "w") as f:
        f.write("---\n".join(docs))
    return d


def write_loaded_tenants(config_dir, tenant_ports, dest, key, crt):
    """LOADED_TENANTS tenants (a subdirectory each), each with its own TLS Secret, a wildcard Host and LOADED_MAPPINGS
    TCPMappings by SNI on its own port: the routing state a large shared edge holds."""
    import base64
    b64 = lambda p: base64.b64encode(open(p, "rb").read()).decode()
    secret = f"""apiVersion: v1
kind: Secret
metadata:
  name: tenant-cert
type: kubernetes.io/tls
data:
  tls.crt: {b64(crt)}
  tls.key: {b64(key)}
"""
    for i, port in enumerate(tenant_ports):
        d = os.path.join(config_dir, f"t{i:04d}")
        os.makedirs(d, exist_ok=True)
        docs = [secret, f"""apiVersion: getambassador.io/v3alpha1
kind: Host
metadata:
  name: wildcard
spec:
  hostname: "*.t{i:04d}.{SNI}"
  tlsSecret:
    name: tenant-cert
"""]
        for j in range(LOADED_MAPPINGS):
            docs.append(f"""apiVersion: getambassador.io/v3alpha1
kind: TCPMapping
metadata:
  name: m{j}
spec:
  port: {port}
  host: m{j}.t{i:04d}.{SNI}
  service: 127.0.0.1:{dest}
""")
        with open(os.path.join(d, "tenant.yaml"), "w") as f:
            f.write("---\n".join(docs))


def loaded_host(i, j):
    return f"m{j}.t{i:04d}.{SNI}"


def write_haproxy_config(work, ports, up, pem):
    import resource
    # HAProxy sizes its file descriptors from maxconn (two per connection plus a few) and refuses to start above the
    # hard limit; the idle-connection scenario needs IDLE_CONNECTIONS of them.
    maxconn = min(10000, (resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 100) // 2)
    lines = ["global", f"  maxconn {maxconn}", "defaults", "  mode tcp", "  timeout connect 5s", "  timeout client 1h",
             "  timeout server 1h", ""]
    for name, port, dest, tls in [("echo", ports["echo"], up["echo"], False), ("close", ports["close"], up["close"], False),
                                  ("iperf", ports["iperf"], up["iperf"], False), ("tls", ports["tls"], up["close"], True),
                                  ("tlssink", ports["tls_sink"], up["sink"], True), ("redis", ports["redis"], up["redis"], False),
                                  ("redistls", ports["redis_tls"], up["redis"], True)]:
        ssl = f" ssl crt {pem}" if tls else ""
        lines += [f"listen {name}", f"  bind 127.0.0.1:{port}{ssl}", f"  server s1 127.0.0.1:{dest}", ""]
    path = os.path.join(work, "haproxy.cfg")
    open(path, "w").write("\n".join(lines))
    return path


def write_nginx_config(work, ports, up, key, crt):
    servers = []
    for port, dest, tls in [(ports["echo"], up["echo"], False), (ports["close"], up["close"], False),
                            (ports["iperf"], up["iperf"], False), (ports["tls"], up["close"], True),
                            (ports["tls_sink"], up["sink"], True), (ports["redis"], up["redis"], False),
                            (ports["redis_tls"], up["redis"], True)]:
        ssl = f" ssl;\n    ssl_certificate {crt};\n    ssl_certificate_key {key}" if tls else ""
        servers.append(f"  server {{\n    listen 127.0.0.1:{port}{ssl};\n    proxy_pass 127.0.0.1:{dest};\n  }}")
    conf = f"""load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes auto;
worker_rlimit_nofile 20000;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 20000; }}
stream {{
{chr(10).join(servers)}
}}
"""
    path = os.path.join(work, "nginx.conf")
    open(path, "w").write(conf)
    return path


# ------------------------------------------------------------------------------------------------ scenarios


class Bench:
    def __init__(self, a):
        self.a = a
        self.loadgen = a.loadgen
        self.secs = a.seconds
        self.work = tempfile.mkdtemp(prefix="ogw-bench-")
        self.samples = {}  # metric -> target -> [values per round]
        self.procs = {}

    def record(self, metric, target, value):
        self.samples.setdefault(metric, {}).setdefault(target, []).append(value)

    # -------------------------------------------------------------- setup

    def setup(self):
        base = free_port_run(3)
        up = {"echo": base, "close": base + 1, "sink": base + 2}
        (up["iperf"], up["redis"]) = free_ports(2)
        names = ["echo", "close", "iperf", "tls", "tls_sink", "redis", "redis_tls"]
        self.up = up
        self.ports = {"direct": {"echo": up["echo"], "close": up["close"], "iperf": up["iperf"], "redis": up["redis"]}}
        p = free_ports(len(names) * len(PROXIES) + 3)
        for i, t in enumerate(PROXIES):
            self.ports[t] = dict(zip(names, p[i * len(names):(i + 1) * len(names)]))
        log(f"work directory {self.work}")

        self.server = start([self.loadgen, "serve", str(up["echo"])], os.path.join(self.work, "loadgen-serve.log"))
        self.iperf = start(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(up["iperf"])], os.path.join(self.work, "iperf3.log"))
        wait_port(up["echo"], 10, self.server, "loadgen serve")
        wait_port(up["iperf"], 10, self.iperf, "iperf3 -s")
        if "redis" in self.a.only:
            self.redis_server = start(["redis-server", "--port", str(up["redis"]), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--protected-mode", "no", "--daemonize", "no", "--maxclients", "10000"],
                               os.path.join(self.work, "redis-server.log"))
            wait_port(up["redis"], 10, self.redis_server, "redis-server")
            # One key for the GETs (redis-benchmark's GET reads key:__rand_int__, here without -r: one key).
            run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(up["redis"]), "-t", "set", "-n", "100", "-q"], timeout=30)

        key, crt, pem = make_certificate(self.work)
        self.crt = crt
        self.gw_conf = {t: write_gateway_config(self.work, self.ports[t], up, key, crt, f"{t}-config") for t in GATEWAYS}
        if "tenants" in self.a.only:
            # A third gateway (native engine) with the same mappings plus 1,000 tenants x 10 mappings, measured against the
            # unloaded one in the same round: what a connection costs must not depend on how many routes the edge holds.
            self.loaded_ports = free_ports(LOADED_TENANTS + len(names))
            self.ports["loaded"] = dict(zip(names, self.loaded_ports[LOADED_TENANTS:]))
            self.gw_conf["loaded"] = write_gateway_config(self.work, self.ports["loaded"], up, key, crt, "loaded-config")
            write_loaded_tenants(self.gw_conf["loaded"], self.loaded_ports[:LOADED_TENANTS], up["close"], key, crt)
        self.haproxy_conf = write_haproxy_config(self.work, self.ports["haproxy"], up, pem)
        self.nginx_conf = write_nginx_config(self.work, self.ports["nginx"], up, key, crt)
        self.gw_env = dict(os.environ)
        # HAProxy and nginx log nothing per connection here; the gateway's per-connection access log is turned off
        # the same way (its metrics stay on).
        self.gw_env["Logging__LogLevel__OrleansGateway.AccessLog"] = "Warning"
        self.gw_env["Logging__LogLevel__Default"] = "Warning"
        for kv in self.a.gateway_env:
            k, v = kv.split("=", 1)
            self.gw_env[k] = v
        for t in PROXIES:
            if t in self.a.targets:
                self.launch(t)
        if "tenants" in self.a.only:
            self.launch("loaded")
        log("all targets listen")
        self.idle_cpu()

    def idle_cpu(self):
        """Each proxy's own CPU over IDLE_SECONDS with no traffic, after its warm-up and settle (all at once: idle
        processes do not compete). Issue 17's target for the gateway: under 0.2 % of a core."""
        pids = {t: self.pid(t) for t in PROXIES if t in self.procs}
        c0 = {t: cpu_seconds(p) for t, p in pids.items()}
        time.sleep(self.a.idle_seconds)
        for t, p in pids.items():
            self.record("idle_cpu_pct", t, (cpu_seconds(p) - c0[t]) / self.a.idle_seconds * 100)

    def launch(self, target):
        """Starts (or restarts: a fresh process) one proxy and waits until all its listeners are bound."""
        if target in self.procs:
            stop(self.procs.pop(target))
        logf = os.path.join(self.work, f"{target}.log")
        if target in GATEWAYS or target == "loaded":
            api_port, silo_port, gw_port = free_ports(3)
            self.procs[target] = start(
                ["dotnet", os.path.join(self.a.gateway_dir, "OrleansGateway.Silo.dll"), "--storage", "memory", "--role", "all",
                 "--config-dir", self.gw_conf[target], "--bind-address", "127.0.0.1", "--api-url", f"http://127.0.0.1:{api_port}",
                 "--silo-port", str(silo_port), "--gateway-port", str(gw_port),
                 "--relay-engine", "managed" if target == "managed" else "native"],
                logf, env=self.gw_env, cwd=self.a.gateway_dir)
        elif target == "haproxy":
            self.procs[target] = start(["haproxy", "-db", "-f", self.haproxy_conf], logf)
        else:
            self.procs[target] = start(["nginx", "-c", self.nginx_conf, "-p", self.work, "-e",
                                        os.path.join(self.work, "nginx-error.log")], logf)
        for port in self.ports[target].values():
            wait_port(port, 120, self.procs[target], target)
        if target == "loaded":
            # 10,000 mappings of 1,000 tenants go through the control plane first; the last tenant's port says they are in.
            for port in (self.loaded_ports[0], self.loaded_ports[-1]):
                wait_port(port, 900, self.procs[target], f"{target} (tenant ports)")
        self.warm_up(target)

    def warm_up(self, target):
        """A few seconds of each kind of traffic, unmeasured: a deployed proxy has long been running, and the gateway's
        JIT (tiered compilation) would otherwise be measured along with the first scenarios after a start."""
        w = str(self.a.warmup)
        ports = self.ports[target]
        settled = 0.0
        # Twice: tiered PGO compiles hot methods in two steps (instrumented, then final), and the second step starts
        # only when traffic runs the instrumented code.
        for _ in range(2):
            run([self.loadgen, "rate", f"127.0.0.1:{ports['close']}", str(RATE_WORKERS), w], timeout=self.a.warmup + 20)
            run([self.loadgen, "pingpong", f"127.0.0.1:{ports['echo']}", "50", w], timeout=self.a.warmup + 20)
            run([self.loadgen, "tls-rate", f"127.0.0.1:{ports['tls']}", str(TLS_THREADS), w, SNI], timeout=self.a.warmup + 30)
            run([self.loadgen, "tls-bulk", f"127.0.0.1:{ports['tls_sink']}", w, SNI], timeout=self.a.warmup + 30)
            settled += self.settle(target)
        if target in GATEWAYS:
            self.record("jit_settle_s", target, settled)

    def settle(self, target):
        """Waits until the proxy is idle (under 3 % of a CPU over a second). The gateway's tiered JIT recompiles the
        methods the warm-up made hot on a background thread; on a loaded 2-CPU machine that took over a minute and,
        measured along, doubled its CPU per connection (docs/benchmarks.md). Returns the seconds waited."""
        pid, start, limit_s = self.pid(target), time.monotonic(), self.a.settle
        while time.monotonic() - start < limit_s:
            c0 = cpu_seconds(pid)
            time.sleep(1.0)
            if cpu_seconds(pid) - c0 < 0.03:
                break
        else:
            log(f"  {target} still busy after {limit_s:.0f} s idle; measuring anyway")
        return time.monotonic() - start

    def pid(self, target):
        return self.procs[target].pid if target in self.procs else None

    # -------------------------------------------------------------- measurements

    def ensure_iperf_server(self):
        """iperf3 -s ends on a signal from outside (seen once on a shared machine, ending a 20-minute run): start it again."""
        if self.iperf.poll() is None:
            return
        log(f"  iperf3 -s had exited ({self.iperf.returncode}); starting it again")
        port = self.ports["direct"]["iperf"]
        self.iperf = start(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port)], os.path.join(self.work, "iperf3.log"))
        wait_port(port, 10, self.iperf, "iperf3 -s")

    def iperf_run(self, target, streams, reverse):
        port = self.ports[target]["iperf"]
        args = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(self.secs), "-P", str(streams), "-J"]
        if reverse:
            args.append("-R")
        pid = self.pid(target)
        c0 = cpu_seconds(pid) if pid else 0.0
        for attempt in range(20):
            self.ensure_iperf_server()
            out = run(args, timeout=self.secs + 20)
            doc = json.loads(out)
            # The iperf3 server takes one test at a time and may still be closing the previous one.
            if "busy" not in doc.get("error", ""):
                break
            time.sleep(0.25)
        cpu = cpu_seconds(pid) - c0 if pid else 0.0
        if "error" in doc or "sum_received" not in doc.get("end", {}):
            raise RuntimeError(f"iperf3 through {target} ({streams} streams{', reverse' if reverse else ''}): {doc.get('error', 'no result')}")
        end = doc["end"]
        received = end["sum_received"]
        return received["bits_per_second"] / 1e9, received["bytes"], cpu

    def bulk(self, target):
        total_bytes, total_cpu = 0, 0.0
        for streams in (1, 4):
            for reverse in (False, True):
                gbit, nbytes, cpu = self.iperf_run(target, streams, reverse)
                self.record(f"bulk{streams}_{'down' if reverse else 'up'}", target, gbit)
                total_bytes += nbytes
                total_cpu += cpu
        if target != "direct":
            self.record("cpu_s_per_gb", target, total_cpu / (total_bytes / 1e9))

    def rate(self, target):
        pid = self.pid(target)
        c0 = cpu_seconds(pid) if pid else 0.0
        r = json.loads(run([self.loadgen, "rate", f"127.0.0.1:{self.ports[target]['close']}", str(RATE_WORKERS), str(self.secs)],
                           timeout=self.secs + 20))
        self.record("conn_rate", target, r["rate"])
        if pid and r["conns"]:
            self.record("cpu_us_per_conn", target, (cpu_seconds(pid) - c0) / r["conns"] * 1e6)
        if r["errors"]:
            log(f"  {target}: {r['errors']} connection errors")

    def pingpong(self, target, conns, pinned):
        server_pid, pid = self.server.pid, self.pid(target)
        prefix = []
        if pinned:
            pin(server_pid, "0")
            if pid:
                pin(pid, "0")
            prefix = ["taskset", "-c", "0"]
        try:
            r = json.loads(run(prefix + [self.loadgen, "pingpong", f"127.0.0.1:{self.ports[target]['echo']}", str(conns), str(self.secs)],
                               timeout=self.secs + 20))
        finally:
            if pinned:
                allcpus = f"0-{os.cpu_count() - 1}"
                pin(server_pid, allcpus)
                if pid:
                    pin(pid, allcpus)
        key = "pp1" if conns == 1 else f"pp{conns}"
        for q in ("p50", "p99", "p999"):
            self.record(f"{key}_{q}", target, r[f"{q}_us"])

    def tls(self, target):
        pid = self.pid(target)
        c0 = cpu_seconds(pid)
        r = json.loads(run([self.loadgen, "tls-rate", f"127.0.0.1:{self.ports[target]['tls']}", str(TLS_THREADS), str(self.secs), SNI],
                           timeout=self.secs + 30))
        self.record("tls_rate", target, r["rate"])
        if r["handshakes"]:
            self.record("tls_cpu_us", target, (cpu_seconds(pid) - c0) / r["handshakes"] * 1e6)
        self.record("tls_client_cpu", target, r["client_cpu_s"] / r["secs"] * 100)
        if r["errors"]:
            log(f"  {target}: {r['errors']} TLS errors")
        b = json.loads(run([self.loadgen, "tls-bulk", f"127.0.0.1:{self.ports[target]['tls_sink']}", str(self.secs), SNI],
                           timeout=self.secs + 30))
        self.record("tls_bulk", target, b["gbit_s"])

    def redis(self, target):
        """redis-benchmark GETs through the target to one redis-server: keepalive, pipelined (16), a new connection per
        request (-k 0), and the same three over TLS terminated by the proxy (direct: cleartext only)."""
        pid = self.pid(target)
        modes = [("redis_get", [], 40000), ("redis_get_p16", ["-P", "16"], 300000), ("redis_get_k0", ["-k", "0"], 6000)]
        if target != "direct":
            tls = ["--tls", "--sni", SNI, "--cacert", self.crt]
            modes += [("redis_tls_get", tls, 30000), ("redis_tls_get_p16", tls + ["-P", "16"], 200000),
                      ("redis_tls_get_k0", tls + ["-k", "0"], 500)]
        for key, extra, guess in modes:
            port = self.ports[target]["redis_tls" if "--tls" in extra else "redis"]
            n = max(2000, int(guess * self.secs))
            c0 = cpu_seconds(pid) if pid else 0.0
            out = run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(REDIS_CLIENTS), "-n", str(n), "-t", "get",
                       "--csv"] + extra, timeout=self.secs * 10 + 60)
            rps = None
            for line in out.splitlines():
                cells = [c.strip('"') for c in line.split(",")]
                if cells and cells[0] == "GET":
                    rps = float(cells[1])
            if rps is None:
                raise RuntimeError(f"redis-benchmark through {target} ({key}) printed no GET result: {out.strip()[-300:]}")
            self.record(key, target, rps)
            if pid:
                self.record(f"{key}_cpu_us", target, (cpu_seconds(pid) - c0) / n * 1e6)

    def tenants(self, target):
        """The unloaded gateway and the one with 1,000 tenants x 10 mappings, back to back: connection rate and CPU on
        the same cleartext mapping, and TLS handshakes by SNI (a host among 10,000 on the loaded one)."""
        i, j = LOADED_TENANTS // 2, LOADED_MAPPINGS // 2
        for which, tls_port, host in [("gateway", self.ports["gateway"]["tls"], SNI),
                                      ("loaded", self.loaded_ports[i], loaded_host(i, j))]:
            pid = self.pid(which)
            c0 = cpu_seconds(pid)
            r = json.loads(run([self.loadgen, "rate", f"127.0.0.1:{self.ports[which]['close']}", str(RATE_WORKERS), str(self.secs)],
                               timeout=self.secs + 20))
            self.record("tenants_conn_rate", which, r["rate"])
            if r["conns"]:
                self.record("tenants_cpu_us_per_conn", which, (cpu_seconds(pid) - c0) / r["conns"] * 1e6)
            c0 = cpu_seconds(pid)
            t = json.loads(run([self.loadgen, "tls-rate", f"127.0.0.1:{tls_port}", str(TLS_THREADS), str(self.secs), host],
                               timeout=self.secs + 30))
            self.record("tenants_tls_rate", which, t["rate"])
            if t["handshakes"]:
                self.record("tenants_tls_cpu_us", which, (cpu_seconds(pid) - c0) / t["handshakes"] * 1e6)
            if r["errors"] or t["errors"]:
                log(f"  {which}: {r['errors']} connection errors, {t['errors']} TLS errors")
        self.record("tenants_rss_mib", "loaded", rss_kib(self.pid("loaded")) / 1024)
        self.record("tenants_rss_mib", "gateway", rss_kib(self.pid("gateway")) / 1024)

    def hold(self, target, count):
        """Opens `count` idle proxied connections; returns (held, failed, stop function)."""
        hold = subprocess.Popen([self.loadgen, "hold", f"127.0.0.1:{self.ports[target]['echo']}", str(count), "60"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True, text=True)
        CHILDREN.append(hold)
        ready, _, _ = select.select([hold.stdout], [], [], 60)
        if not ready:
            stop(hold)
            raise RuntimeError(f"{target}: {count} idle connections not established within 60 s")
        r = json.loads(hold.stdout.readline())

        def release():
            hold.stdin.close()
            stop(hold, grace=10)
        return r["held"], r["failed"], release

    def idle_rss(self, target):
        # A fresh process: a proxy keeps (pools) what earlier scenarios made it allocate, which would hide the cost of
        # the idle connections. It is warmed first (code paths, pools for a few hundred connections), so that the
        # difference is what the idle connections themselves hold. The fresh process serves the next scenarios.
        self.launch(target)
        pid = self.pid(target)
        _, _, release = self.hold(target, 200)
        release()
        time.sleep(1.0)
        before = rss_kib(pid)
        held, failed, release = self.hold(target, IDLE_CONNECTIONS)
        try:
            time.sleep(1.0)  # let the proxy settle (its side of the last connections)
            after = rss_kib(pid)
            if held:
                self.record("rss_kib_per_conn", target, (after - before) / held)
            if failed:
                log(f"  {target}: {failed} of {IDLE_CONNECTIONS} idle connections failed")
        finally:
            release()
        time.sleep(1.0)  # the proxy closes its 2 x 9,800 sockets

    # -------------------------------------------------------------- driver

    def run_all(self):
        plan = [
            ("bulk", "bulk throughput (iperf3, 1 and 4 streams, both directions)", TARGETS, self.bulk),
            ("rate", "connection rate", TARGETS, self.rate),
            ("pinned", "ping-pong, 1 connection, all on CPU 0", TARGETS, lambda t: self.pingpong(t, 1, True)),
            ("pp50", "ping-pong, 50 connections", TARGETS, lambda t: self.pingpong(t, 50, False)),
            ("tls", "TLS termination", PROXIES, self.tls),
            ("redis", "redis-benchmark GET through each proxy to one redis-server", TARGETS, self.redis),
            ("tenants", f"{LOADED_TENANTS} tenants x {LOADED_MAPPINGS} mappings loaded", ["gateway"], self.tenants),
            ("rss", f"RSS with {IDLE_CONNECTIONS} idle connections", PROXIES, self.idle_rss),
        ]
        plan = [(title, [t for t in targets if t in self.a.targets], fn) for key, title, targets, fn in plan if key in self.a.only]
        for rnd in range(self.a.rounds):
            for title, targets, fn in plan:
                log(f"round {rnd + 1}/{self.a.rounds}: {title}")
                order = targets[rnd % len(targets):] + targets[:rnd % len(targets)]
                for t in order:
                    for p, proc in list(self.procs.items()) + [("redis-server", getattr(self, "redis_server", None))]:
                        if proc is not None and proc.poll() is not None:
                            raise RuntimeError(f"{p} exited with {proc.returncode}; see {self.work}/{p}.log")
                    fn(t)


# ------------------------------------------------------------------------------------------------ report

ROWS = [
    # key, label, unit, higher is better, target (ratio to HAProxy) or None
    ("bulk1_up", "Bulk, 1 stream, client→server", "Gbit/s", True, 1.5),
    ("bulk1_down", "Bulk, 1 stream, server→client", "Gbit/s", True, 1.5),
    ("bulk4_up", "Bulk, 4 streams, client→server", "Gbit/s", True, 1.5),
    ("bulk4_down", "Bulk, 4 streams, server→client", "Gbit/s", True, 1.5),
    ("conn_rate", f"New connections/s (64 B echo, {RATE_WORKERS} workers)", "conn/s", True, 1.1),
    ("cpu_us_per_conn", "Proxy CPU per connection", "µs", False, 1.0),
    ("pp1_p50", "Ping-pong 1 conn, pinned to CPU 0, p50", "µs", False, None),
    ("pp1_p99", "Ping-pong 1 conn, pinned to CPU 0, p99", "µs", False, None),
    ("pp1_p999", "Ping-pong 1 conn, pinned to CPU 0, p99.9", "µs", False, None),
    ("pp1_added_p99", "Added p99 latency, 1 conn pinned", "µs", False, 1.0),
    ("pp50_p50", "Ping-pong 50 conns, p50", "µs", False, None),
    ("pp50_p99", "Ping-pong 50 conns, p99", "µs", False, None),
    ("pp50_p999", "Ping-pong 50 conns, p99.9", "µs", False, None),
    ("pp50_added_p99", "Added p99 latency, 50 conns", "µs", False, 1.0),
    ("rss_kib_per_conn", f"RSS per idle proxied connection ({IDLE_CONNECTIONS} held)", "KiB", False, 0.5),
    ("cpu_s_per_gb", "Proxy CPU per GB relayed (bulk runs)", "CPU s/GB", False, None),
    ("tls_rate", f"TLS handshakes/s (ECDSA P-256, full handshakes, {TLS_THREADS} client threads)", "hs/s", True, 1.0),
    ("tls_cpu_us", "Proxy CPU per TLS connection (handshake + 64 B echo)", "µs", False, 1.0),
    ("tls_client_cpu", "TLS client CPU during handshakes", "% of a core", False, None),
    ("tls_bulk", "TLS termination bulk, 1 stream", "Gbit/s", True, 1.0),
    ("redis_get", f"redis-benchmark GET, keepalive ({REDIS_CLIENTS} clients)", "req/s", True, 1.0),
    ("redis_get_p16", "redis-benchmark GET, pipelined 16", "req/s", True, 1.0),
    ("redis_get_k0", "redis-benchmark GET, a new connection per request", "req/s", True, 1.0),
    ("redis_tls_get", "redis-benchmark GET over TLS, keepalive", "req/s", True, 1.0),
    ("redis_tls_get_p16", "redis-benchmark GET over TLS, pipelined 16", "req/s", True, 1.0),
    ("redis_tls_get_k0", "redis-benchmark GET over TLS, a new connection per request", "req/s", True, 1.0),
    ("redis_get_k0_cpu_us", "Proxy CPU per request, a new connection per request", "µs", False, None),
    ("redis_tls_get_k0_cpu_us", "Proxy CPU per request, new TLS connection per request", "µs", False, None),
    ("jit_settle_s", "Gateway: seconds until idle after the warm-up (tiered JIT)", "s", False, None),
    ("idle_cpu_pct", "CPU with no traffic, after warm-up and settle (once per run)", "% of a core", False, None),
]

# The loaded-edge scenario: the same gateway with and without 1,000 tenants x 10 mappings, in the same rounds.
TENANT_ROWS = [
    ("tenants_conn_rate", "New connections/s (64 B echo, the same cleartext mapping)", "conn/s", True),
    ("tenants_cpu_us_per_conn", "Proxy CPU per connection", "µs", False),
    ("tenants_tls_rate", f"TLS handshakes/s (loaded: SNI among {LOADED_TENANTS * LOADED_MAPPINGS:,} hosts)", "hs/s", True),
    ("tenants_tls_cpu_us", "Proxy CPU per TLS connection", "µs", False),
    ("tenants_rss_mib", "Gateway RSS", "MiB", False),
]


def derive(samples):
    """Added p99 latency per round: the proxy's p99 minus direct's p99 in the same round."""
    for key in ("pp1", "pp50"):
        direct = samples.get(f"{key}_p99", {}).get("direct", [])
        for t in PROXIES:
            vals = samples.get(f"{key}_p99", {}).get(t, [])
            added = [v - d for v, d in zip(vals, direct)]
            if added:
                samples.setdefault(f"{key}_added_p99", {})[t] = added


def median_ratio(per, a, b):
    rs = [x / y for x, y in zip(per.get(a, []), per.get(b, [])) if y]
    return statistics.median(rs) if rs else None


def summarize(samples):
    derive(samples)
    table = []
    for key, label, unit, higher, target in ROWS:
        per = samples.get(key, {})
        if not per:
            continue
        med = {t: statistics.median(v) for t, v in per.items() if v}
        r_h = median_ratio(per, "gateway", "haproxy")
        r_d = median_ratio(per, "gateway", "direct") if key.startswith(("bulk", "conn_rate", "pp", "redis_get")) and "added" not in key \
            and not key.endswith("_cpu_us") else None
        met = None
        if target is not None and r_h is not None:
            met = r_h >= target if higher else r_h <= target
        table.append({"key": key, "label": label, "unit": unit, "higher_is_better": higher, "median": med,
                      "rounds": per, "gateway_vs_haproxy": r_h, "gateway_vs_direct": r_d,
                      "managed_vs_haproxy": median_ratio(per, "managed", "haproxy"),
                      "target": None if target is None else (f"≥ {target}×" if higher else f"≤ {target}×"), "met": met})
    return table


def summarize_tenants(samples):
    rows = []
    for key, label, unit, higher in TENANT_ROWS:
        per = samples.get(key, {})
        if not per:
            continue
        med = {t: statistics.median(v) for t, v in per.items() if v}
        rows.append({"key": key, "label": label, "unit": unit, "higher_is_better": higher, "median": med, "rounds": per,
                     "loaded_vs_unloaded": median_ratio(per, "loaded", "gateway")})
    return rows


def tenants_markdown(rows):
    if not rows:
        return ""
    lines = [f"With {LOADED_TENANTS:,} tenants × {LOADED_MAPPINGS} mappings loaded (each tenant: a TLS port with {LOADED_MAPPINGS} "
             "SNI hosts), against the same gateway without them, in the same rounds:", "",
             "| metric | unit | gateway | gateway, loaded | loaded ÷ unloaded |", "|---|---|---|---|---|"]
    for r in rows:
        m, x = r["median"], r["loaded_vs_unloaded"]
        lines.append(f"| {r['label']} | {r['unit']} | {fmt(m.get('gateway'))} | {fmt(m.get('loaded'))} | {'–' if x is None else f'{x:.2f}×'} |")
    return "\n".join(lines)


def fmt(v):
    if v is None:
        return "–"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def markdown_table(table):
    lines = ["| metric | unit | direct | gateway | gateway, managed engine | HAProxy | nginx | gateway ÷ HAProxy | managed ÷ HAProxy | gateway ÷ direct | target |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    x = lambda r: "–" if r is None else f"{r:.2f}×"
    for row in table:
        m = row["median"]
        verdict = "" if row["target"] is None else f"{row['target']} {'✅' if row['met'] else '❌' if row['met'] is False else '–'}"
        lines.append(f"| {row['label']} | {row['unit']} | {fmt(m.get('direct'))} | {fmt(m.get('gateway'))} | {fmt(m.get('managed'))} | "
                     f"{fmt(m.get('haproxy'))} | {fmt(m.get('nginx'))} | {x(row['gateway_vs_haproxy'])} | {x(row.get('managed_vs_haproxy'))} | "
                     f"{x(row['gateway_vs_direct'])} | {verdict} |")
    return "\n".join(lines)


def text_table(table, tenants=()):
    head = (f"{'metric':58} {'unit':>10} {'direct':>9} {'gateway':>9} {'managed':>9} {'haproxy':>9} {'nginx':>9} {'gw/hap':>7} "
            f"{'mgd/hap':>7} {'gw/dir':>7}  target")
    lines = [head, "-" * len(head)]
    x = lambda r: "-" if r is None else f"{r:.2f}"
    for row in table:
        m = row["median"]
        verdict = "" if row["target"] is None else f"{row['target']} {'met' if row['met'] else 'MISSED' if row['met'] is False else '-'}"
        lines.append(f"{row['label'][:58]:58} {row['unit'][:10]:>10} {fmt(m.get('direct')):>9} {fmt(m.get('gateway')):>9} "
                     f"{fmt(m.get('managed')):>9} {fmt(m.get('haproxy')):>9} {fmt(m.get('nginx')):>9} {x(row['gateway_vs_haproxy']):>7} "
                     f"{x(row.get('managed_vs_haproxy')):>7} {x(row['gateway_vs_direct']):>7}  {verdict}")
    for r in tenants:
        m = r["median"]
        lines.append(f"{('loaded edge: ' + r['label'])[:58]:58} {r['unit'][:10]:>10} unloaded {fmt(m.get('gateway')):>9} "
                     f"loaded {fmt(m.get('loaded')):>9} loaded/unloaded {x(r['loaded_vs_unloaded'])}")
    return "\n".join(lines)


def chart(table, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is missing (apt-get install python3-matplotlib); no chart")
        return False
    rows = [r for r in table if r["key"] in ("bulk1_up", "bulk1_down", "bulk4_up", "bulk4_down", "conn_rate",
                                              "pp1_added_p99", "pp50_added_p99", "rss_kib_per_conn", "tls_rate", "tls_bulk")]
    short = {"bulk1_up": "bulk 1 stream\nup", "bulk1_down": "bulk 1 stream\ndown", "bulk4_up": "bulk 4 streams\nup",
             "bulk4_down": "bulk 4 streams\ndown", "conn_rate": "connections/s", "pp1_added_p99": "added p99\n1 conn pinned",
             "pp50_added_p99": "added p99\n50 conns", "rss_kib_per_conn": "RSS per idle\nconnection",
             "tls_rate": "TLS\nhandshakes/s", "tls_bulk": "TLS bulk\n1 stream"}
    labels, values = [], {t: [] for t in PROXIES}
    rows += [r for r in table if r["key"] in ("redis_get", "redis_get_k0", "redis_tls_get_k0")]
    short.update({"redis_get": "redis GET\nkeepalive", "redis_get_k0": "redis GET\nnew conn", "redis_tls_get_k0": "redis TLS GET\nnew conn"})
    for r in rows:
        h = r["median"].get("haproxy")
        if not h:
            continue
        labels.append(short[r["key"]] + ("\n(higher is better)" if r["higher_is_better"] else "\n(lower is better)"))
        for t in PROXIES:
            values[t].append((r["median"].get(t) or 0) / h)
    fig, ax = plt.subplots(figsize=(13, 6))
    width = 0.2
    colors = {"gateway": "#2b6cb0", "managed": "#90cdf4", "haproxy": "#9b9b9b", "nginx": "#38a169"}
    names = {"gateway": "OrleansGateway", "managed": "OrleansGateway, managed engine", "haproxy": "haproxy", "nginx": "nginx"}
    for i, t in enumerate(PROXIES):
        xs = [x + (i - 1.5) * width for x in range(len(labels))]
        ax.bar(xs, values[t], width, label=names[t], color=colors[t])
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("median ÷ HAProxy's median (same run)")
    ax.set_title("OrleansGateway vs HAProxy vs nginx stream on loopback (same run)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def versions():
    def first(args):
        try:
            r = subprocess.run(args, capture_output=True, text=True, timeout=20)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except Exception as e:  # noqa: BLE001 - a missing tool is reported as such
            return f"unavailable ({e})"
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    return {
        "cpus": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release(), "ram_gib": round(mem / 1024 / 1024, 1),
        "haproxy": first(["haproxy", "-v"]), "nginx": first(["nginx", "-v"]), "dotnet": first(["dotnet", "--version"]),
        "iperf3": first(["iperf3", "--version"]), "openssl": first(["openssl", "version"]),
    }


def load_text(machine):
    load = machine.get("load_average")
    return f"; 1-minute load average {load[0]} at the start and {load[1]} at the end" if load else ""


def write_docs(result, png_ok):
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    v, a = result["machine"], result["settings"]
    block = f"""<!-- bench:begin (written by bench/run.sh; edit outside these markers) -->
Latest run: {result['finished']} — `{result['command']}` ({a['rounds']} rounds of {a['seconds']} s per scenario and target, medians; ratios are medians of the per-round ratios).

Machine: {v['cpus']} CPUs ({v['cpu_model']}), kernel {v['kernel']}, {v['ram_gib']} GiB RAM; client, upstream and proxy share the CPUs{load_text(v)}.
Versions: {v['haproxy']}; {v['nginx']}; .NET SDK {v['dotnet']}; {v['iperf3']}; {v['openssl']}.

{markdown_table(result['table'])}

{tenants_markdown(result.get('tenants', []))}

{"![gateway, HAProxy and nginx relative to HAProxy](benchmarks.png)" if png_ok else "(no chart: matplotlib missing)"}
<!-- bench:end -->"""
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n<!-- bench:begin -->\n<!-- bench:end -->\n"
    text = re.sub(r"<!-- bench:begin.*?<!-- bench:end -->", lambda _: block, text, flags=re.S)
    open(path, "w").write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--loadgen", default="")
    ap.add_argument("--gateway-dir", default="", help="the published gateway (OrleansGateway.Silo.dll)")
    ap.add_argument("--report-only", metavar="JSON", help="re-render the table, docs and chart from a results file; measure nothing")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--settle", type=float, default=45, help="longest wait for a proxy to go idle after its warm-up")
    ap.add_argument("--warmup", type=float, default=2, help="seconds of each kind of traffic after a proxy starts, unmeasured")
    ap.add_argument("--idle-seconds", type=float, default=60, help="how long each proxy's CPU is measured with no traffic (once, after setup)")
    ap.add_argument("--gateway-env", action="append", default=[], help="NAME=VALUE for the gateway process (e.g. DOTNET_gcServer=1)")
    ap.add_argument("--only", type=lambda v: v.split(","), default=ALL_SCENARIOS,
                    help=f"scenarios to run (comma-separated): {','.join(ALL_SCENARIOS)} (a partial run does not rewrite the docs)")
    ap.add_argument("--targets", type=lambda v: v.split(","), default=TARGETS, help="targets (comma-separated)")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md and its chart")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "latest.json"))
    ap.add_argument("--command", default="bench/run.sh")
    a = ap.parse_args()
    if a.report_only:
        result = json.load(open(a.report_only))
        result["table"] = summarize(result["samples"])
        result["tenants"] = summarize_tenants(result["samples"])
        print(text_table(result["table"], result["tenants"]))
        if not a.no_docs:
            write_docs(result, chart(result["table"], os.path.join(ROOT, "docs", "benchmarks.png")))
        return
    a.loadgen, a.gateway_dir = os.path.abspath(a.loadgen), os.path.abspath(a.gateway_dir)

    def on_signal(signum, _):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    b = Bench(a)
    try:
        b.setup()
        b.run_all()
    finally:
        stop_all()
        log(f"logs in {b.work}")
    table = summarize(b.samples)
    tenants = summarize_tenants(b.samples)
    result = {"finished": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "command": a.command, "duration_s": round(time.monotonic() - started),
              "settings": {"rounds": a.rounds, "seconds": a.seconds, "warmup": a.warmup, "gateway_env": a.gateway_env,
                           "idle_connections": IDLE_CONNECTIONS, "rate_workers": RATE_WORKERS, "tls_threads": TLS_THREADS},
              "machine": dict(versions(), load_average=[round(load_before, 1), round(os.getloadavg()[0], 1)]),
              "table": table, "tenants": tenants, "samples": b.samples}
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
    print(text_table(table, tenants))
    if not a.no_docs and set(a.only) == set(ALL_SCENARIOS) and len(a.targets) == len(TARGETS):
        png_ok = chart(table, os.path.join(ROOT, "docs", "benchmarks.png"))
        write_docs(result, png_ok)
    log(f"done in {result['duration_s']} s; {a.out}")


if __name__ == "__main__":
    main()
