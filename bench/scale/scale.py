#!/usr/bin/python3
"""Control plane at SaaS scale: N tenants x M TLS mappings through the real gateway process (docs/scale.md).

Started by bench/scale/run.sh (which publishes the gateway). For each source (the config directory, the management
API) it starts the gateway, loads N tenants (each: a TLS Secret, a wildcard Host and M TCPMappings by SNI on one
shared port, or on a port of its own), measures how long until every tenant is served after the start (a TLS
connection with one of its SNI names reaches the upstream), then changes one mapping of a tenant `--applies` times
(another tenant each time) and measures apply -> served: from writing the file / sending the request until a new TLS
connection with that SNI name reaches the new upstream. Also the gateway's RSS. With --storage azure it restarts the
gateway over the stored state and measures the cold start too. Only the table goes to stdout; every process started
here is stopped on exit.
"""

import argparse
import base64
import concurrent.futures
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

DOMAIN = "scale.test"
ADMIN_KEY = "scale-bench-admin-key-0123456789"
AZURITE = "UseDevelopmentStorage=true"  # Azurite on 127.0.0.1:10002 (tools/azurite/start.sh)
CHILDREN = []


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values, p):
    """Nearest rank."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))]


class Upstream:
    """A TCP server that sends its one-byte name, then closes: a connection shows which upstream a route reaches."""

    def __init__(self, name):
        self.name = name.encode()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                c.sendall(self.name)
            except OSError:
                pass
            c.close()


CLIENT_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CLIENT_TLS.check_hostname = False
CLIENT_TLS.verify_mode = ssl.CERT_NONE


def probe(port, host, timeout=3.0):
    """The upstream's name a new TLS connection with SNI `host` reaches, or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            with CLIENT_TLS.wrap_socket(raw, server_hostname=host) as tls:
                return tls.recv(16) or None
    except (OSError, ssl.SSLError):
        return None


class Layout:
    """Which port and SNI names each tenant uses, and its YAML."""

    def __init__(self, a, ports, crt, key):
        self.a = a
        self.ports = ports  # one shared port, or one per tenant
        self.secret = f"""apiVersion: v1
kind: Secret
metadata:
  name: tenant-cert
type: kubernetes.io/tls
data:
  tls.crt: {base64.b64encode(crt).decode()}
  tls.key: {base64.b64encode(key).decode()}
"""

    @staticmethod
    def tenant(i):
        return f"t{i:05d}"

    def port(self, i):
        return self.ports[0] if len(self.ports) == 1 else self.ports[i]

    def host(self, i, j):
        return f"m{j}.{self.tenant(i)}.{DOMAIN}"

    def mapping(self, i, j, upstream_port):
        return f"""apiVersion: getambassador.io/v3alpha1
kind: TCPMapping
metadata:
  name: m{j}
spec:
  port: {self.port(i)}
  host: {self.host(i, j)}
  service: 127.0.0.1:{upstream_port}
"""

    def yaml(self, i, upstreams):
        """`upstreams[j]`: the upstream port of mapping j."""
        host = f"""apiVersion: getambassador.io/v3alpha1
kind: Host
metadata:
  name: wildcard
spec:
  hostname: "*.{self.tenant(i)}.{DOMAIN}"
  tlsSecret:
    name: tenant-cert
"""
        return "---\n".join([self.secret, host] + [self.mapping(i, j, upstreams[j]) for j in range(self.a.mappings)])


class Gateway:
    """One to three gateway processes (silo 0: role all, the edge; the others: role core, grains only)."""

    def __init__(self, a, work, config_dir=None, service_id=None):
        self.a = a
        self.procs = []
        self.api = None
        ports = [free_ports(3) for _ in range(a.silos)]
        primary = f"127.0.0.1:{ports[0][1]}"
        key_file = os.path.join(work, "admin.key")
        with open(key_file, "w") as f:
            f.write(ADMIN_KEY)
        for s in range(a.silos):
            api, silo, gw = ports[s]
            args = ["dotnet", os.path.join(a.gateway_dir, "OrleansGateway.Silo.dll"),
                    "--role", "all" if s == 0 else "core",
                    "--storage", a.storage, "--bind-address", "127.0.0.1",
                    "--api-url", f"http://127.0.0.1:{api}", "--silo-port", str(silo), "--gateway-port", str(gw),
                    "--admin-key-file", key_file, "--api-rate-limit-per-source", "0", "--api-rate-limit", "0",
                    "--service-id", service_id or "scale", "--cluster-id", service_id or "scale"]
            if a.storage == "azure":
                args += ["--storage-connection-string", a.connection_string]
            if a.silos > 1:
                args += ["--primary-silo", primary]
            if config_dir and s == 0:
                args += ["--config-dir", config_dir]
            out = open(os.path.join(work, f"silo{s}.log"), "ab")
            p = subprocess.Popen(args, stdout=out, stderr=out, start_new_session=True, cwd=a.gateway_dir)
            CHILDREN.append(p)
            self.procs.append(p)
            if s == 0:
                self.api = f"http://127.0.0.1:{api}"
                self.started = time.monotonic()
        self.wait_api()

    def wait_api(self):
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    raise SystemExit(f"a gateway process exited ({p.returncode}); see its log")
            try:
                self.request("GET", "/api/v1/whoami")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        raise SystemExit("the gateway's API did not answer within 180 s")

    def request(self, method, path, body=None, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.api + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": content_type})
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()

    def rss(self):
        return [rss_mib(p.pid) for p in self.procs]

    def stop(self):
        for p in self.procs:
            stop(p)


def stop(p, grace=10.0):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        except ProcessLookupError:
            pass


def wait_all_served(layout, n, a, started, expect, limit):
    """Seconds from `started` until one SNI name of every tenant reaches `expect(i)`: the last tenant first (cheap),
    then sweeps until none is missing."""
    deadline = started + limit
    last = n - 1
    while probe(layout.port(last), layout.host(last, last % a.mappings), 1.0) != expect(last):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    served_at = time.monotonic()
    missing = list(range(n))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        while missing:
            results = list(pool.map(lambda i: probe(layout.port(i), layout.host(i, i % a.mappings)) == expect(i), missing))
            missing = [i for i, ok in zip(missing, results) if not ok]
            if missing:
                served_at = time.monotonic()
                if served_at > deadline:
                    log(f"{len(missing)} tenant(s) still not served, e.g. {layout.tenant(missing[0])}")
                    return None
                time.sleep(0.1)
    return served_at - started


def measure_applies(layout, a, n, change, upstreams, label):
    """`change(i, upstream_port)` makes mapping m0 of tenant i point at that upstream; returns apply -> served seconds."""
    times = []
    current = {}
    for k in range(a.applies):
        i = (k * 7919) % n  # spread over the tenants, each a different one while k < n
        now = current.get(i, upstreams["A"])
        target = "B" if now == upstreams["A"] else "A"
        t0 = time.monotonic()
        change(i, upstreams[target])
        host = layout.host(i, 0)
        while probe(layout.port(i), host, 1.0) != target.encode():
            if time.monotonic() - t0 > 60:
                raise SystemExit(f"{label}: apply {k} ({layout.tenant(i)}) not served within 60 s")
            time.sleep(0.005)
        times.append(time.monotonic() - t0)
        current[i] = upstreams[target]
    return times


def summary(times):
    ms = [t * 1000 for t in times]
    return {"p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99), "max_ms": max(ms), "mean_ms": statistics.mean(ms)}


def run_configdir(a, work, layout, upstreams):
    n = a.tenants
    conf = os.path.join(work, "config")
    os.makedirs(conf)
    for i in range(n):
        d = os.path.join(conf, layout.tenant(i))
        os.makedirs(d)
        with open(os.path.join(d, "tenant.yaml"), "w") as f:
            f.write(layout.yaml(i, [upstreams["A"]] * a.mappings))
    log(f"config dir: {n} tenants x {a.mappings} mappings written; starting the gateway")
    gw = Gateway(a, work, conf, f"scalecd{int(time.time())}")
    try:
        served = wait_all_served(layout, n, a, gw.started, lambda i: b"A", a.start_limit)
        log(f"config dir: all served {served} s after start")
        rss_loaded = gw.rss()

        def change(i, port):
            d = os.path.join(conf, layout.tenant(i))
            ups = [upstreams["A"]] * a.mappings
            ups[0] = port
            tmp = os.path.join(d, ".tenant.yaml.tmp")
            with open(tmp, "w") as f:
                f.write(layout.yaml(i, ups))
            os.replace(tmp, os.path.join(d, "tenant.yaml"))

        times = measure_applies(layout, a, n, change, upstreams, "config dir")
        result = {"source": "config-dir", "all_served_s": served, "rss_loaded_mib": rss_loaded, "rss_end_mib": gw.rss(),
                  **summary(times)}
        log(f"config dir: {result}")
        return result
    finally:
        gw.stop()


def run_api(a, work, layout, upstreams):
    n = a.tenants
    service = f"scaleapi{int(time.time())}"
    gw = Gateway(a, work, None, service)
    quota = json.dumps({"allowedPorts": None, "allowedUpstreams": None, "allowedHosts": None})
    try:
        t0 = time.monotonic()

        def load(i):
            t = layout.tenant(i)
            gw.request("POST", "/api/v1/tenants", json.dumps({"name": t, "quota": json.loads(quota)}))
            gw.request("POST", f"/api/v1/tenants/{t}/resources", layout.yaml(i, [upstreams["A"]] * a.mappings), "application/yaml")

        with concurrent.futures.ThreadPoolExecutor(a.api_parallel) as pool:
            list(pool.map(load, range(n)))
        loaded = time.monotonic() - t0
        served = wait_all_served(layout, n, a, t0, lambda i: b"A", a.start_limit)
        log(f"api: {n} tenants applied in {loaded:.1f} s, all served {served} s after the first request")
        rss_loaded = gw.rss()

        def change(i, port):
            gw.request("POST", f"/api/v1/tenants/{layout.tenant(i)}/resources", layout.mapping(i, 0, port), "application/yaml")

        times = measure_applies(layout, a, n, change, upstreams, "api")
        result = {"source": "api", "load_s": loaded, "all_served_s": served, "rss_loaded_mib": rss_loaded,
                  "rss_end_mib": gw.rss(), **summary(times)}
        log(f"api: {result}")
    finally:
        gw.stop()

    if a.storage == "azure":
        # Cold start over the stored state: the same service id, nothing applied.
        gw = Gateway(a, work, None, service)
        try:
            cold = wait_cold(layout, n, a, gw)
            result["cold_start_s"] = cold
            result["rss_cold_mib"] = gw.rss()
            log(f"api: cold start over stored state: all served {cold} s after start")
        finally:
            gw.stop()
    return result


def wait_cold(layout, n, a, gw):
    """After the applies, tenant i's m0 reaches whichever upstream it was left at; any greeting counts."""
    deadline = gw.started + a.start_limit
    missing = list(range(n))
    served_at = None
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        while missing:
            results = list(pool.map(lambda i: probe(layout.port(i), layout.host(i, 1 % a.mappings)) is not None, missing))
            missing = [i for i, ok in zip(missing, results) if not ok]
            served_at = time.monotonic()
            if missing:
                if served_at > deadline:
                    return None
                time.sleep(0.1)
    return served_at - gw.started


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tenants", type=int, default=100)
    p.add_argument("--mappings", type=int, default=10, help="TCPMappings per tenant")
    p.add_argument("--ports", choices=["shared", "separate"], default="shared",
                   help="shared: every tenant on one TLS port; separate: a port per tenant")
    p.add_argument("--storage", choices=["memory", "azure"], default="memory")
    p.add_argument("--connection-string", default=AZURITE, help="for --storage azure (default: Azurite on 127.0.0.1:10002)")
    p.add_argument("--silos", type=int, choices=[1, 3], default=1)
    p.add_argument("--sources", default="config-dir,api")
    p.add_argument("--applies", type=int, default=100)
    p.add_argument("--api-parallel", type=int, default=4, help="concurrent API requests while loading the tenants")
    p.add_argument("--start-limit", type=float, default=900)
    p.add_argument("--base-port", type=int, default=27000)
    p.add_argument("--gateway-dir", required=True)
    p.add_argument("--out", help="also write the results as JSON to this file")
    a = p.parse_args()
    a.gateway_dir = os.path.abspath(a.gateway_dir)

    work = tempfile.mkdtemp(prefix="ogw-scale-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", f"/CN=*.{DOMAIN}", "-keyout", f"{work}/tls.key", "-out", f"{work}/tls.crt"],
                   check=True, capture_output=True)
    crt, key = open(f"{work}/tls.crt", "rb").read(), open(f"{work}/tls.key", "rb").read()
    ports = [a.base_port] if a.ports == "shared" else list(range(a.base_port, a.base_port + a.tenants))
    layout = Layout(a, ports, crt, key)
    upstreams = {"A": Upstream("A").port, "B": Upstream("B").port}
    log(f"work directory {work}; load average {os.getloadavg()}")

    results = []
    for source in a.sources.split(","):
        run = {"config-dir": run_configdir, "api": run_api}[source]
        os.makedirs(os.path.join(work, source))
        results.append(run(a, os.path.join(work, source), layout, upstreams))

    setup = f"{a.tenants} tenants x {a.mappings} mappings, {a.ports} port(s), storage {a.storage}, {a.silos} silo(s)"
    print(f"\n{setup}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print("| source | all served after start | apply -> served p50 | p99 | max | RSS loaded | RSS after applies | cold start (stored) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        served = f"{r['all_served_s']:.1f} s" if r["all_served_s"] is not None else "not within the limit"
        cold = f"{r['cold_start_s']:.1f} s" if r.get("cold_start_s") is not None else "-"
        print(f"| {r['source']} | {served} | {r['p50_ms']:.0f} ms | {r['p99_ms']:.0f} ms | {r['max_ms']:.0f} ms | "
              f"{max(r['rss_loaded_mib']):.0f} MiB | {max(r['rss_end_mib']):.0f} MiB | {cold} |")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"setup": vars(a), "results": results, "load_average": os.getloadavg()}, f, indent=2)


if __name__ == "__main__":
    try:
        main()
    finally:
        for child in CHILDREN:
            stop(child)
