#!/usr/bin/env python3
"""Reliability figures under faults (docs/reliability.md, "Measured under faults"): real gateway processes (two
core silos and two edge silos, --role core|edge) clustered through a private Azurite, tenants configured through the
API, client load from this script. Each scenario prints and records what the clients saw. Run through run.sh.

The two edges serve the same listener ports, so the second one runs in a network namespace of its own (the host is
one machine): a veth pair joins it to this namespace (HOST_IP here, NS_IP there); every silo advertises its
address on that link, and a relay on HOST_IP carries the second edge's storage traffic to Azurite (loopback only)."""
import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ADMIN_KEY = "faults-bench-admin-key-0123456789abcdef"
NETNS, VETH = "ogw-faults", "ogwf0"
HOST_IP, NS_IP = "10.213.77.1", "10.213.77.2"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def pct(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000, 2)


# ---------------------------------------------------------------- processes

class Azurite:
    def __init__(self, root, work):
        self.env = dict(os.environ, AZURITE_TABLE_PORT=str(free_port()), AZURITE_DIR=os.path.join(work, "azurite"))
        self.root = root
        self.port = self.env["AZURITE_TABLE_PORT"]
        self.connection = self.connection_at("127.0.0.1", self.port)

    @staticmethod
    def connection_at(host, port):
        return (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"
                f"TableEndpoint=http://{host}:{port}/devstoreaccount1;")

    def start(self):
        subprocess.run(["bash", os.path.join(self.root, "tools/azurite/start.sh")], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def stop(self):
        subprocess.run(["bash", os.path.join(self.root, "tools/azurite/stop.sh")], env=self.env, check=False,
                       stdout=subprocess.DEVNULL)


class Gateway:
    """One gateway process (a silo of the bench's cluster)."""

    def __init__(self, name, role, a, azurite, work, netns=None, storage=None):
        """netns: run in that network namespace (reached at NS_IP); storage: its connection string to Azurite."""
        self.name, self.role, self.a, self.azurite, self.work = name, role, a, azurite, work
        self.netns, self.storage = netns, storage
        self.host = NS_IP if netns else "127.0.0.1"
        self.silo, self.gateway, self.api = free_port(), free_port(), free_port()
        self.proc = None

    def start(self):
        key = os.path.join(self.work, "admin.key")
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        args = prefix + ["dotnet", self.a.gateway_dll, "--role", self.role, "--storage", "azure",
                "--storage-connection-string", self.storage or self.azurite.connection, "--clustering", "azure",
                "--service-id", self.a.service, "--cluster-id", self.a.service,
                "--silo-port", str(self.silo), "--gateway-port", str(self.gateway),
                "--advertised-address", NS_IP if self.netns else HOST_IP,
                "--api-url", f"http://{'0.0.0.0' if self.netns else '127.0.0.1'}:{self.api}", "--admin-key-file", key,
                # The bench's applies come in bursts from one address; the API's rate limits have tests of their own.
                "--api-rate-limit", "0", "--api-rate-limit-per-source", "0"]
        out = open(os.path.join(self.work, f"{self.name}.log"), "ab")
        self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def ready(self):
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.api}/readyz", timeout=3) as r:
                return r.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def wait_ready(self, limit=180):
        start = time.monotonic()
        while time.monotonic() - start < limit:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.proc.returncode}; see {self.work}/{self.name}.log")
            if self.ready():
                return time.monotonic() - start
            time.sleep(0.25)
        raise SystemExit(f"{self.name} not ready within {limit} s; see {self.work}/{self.name}.log")

    def rss_mib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            return None
        return None


def api(gw, method, path, body=None, content_type="application/json", timeout=30):
    data = None if body is None else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
    req = urllib.request.Request(f"http://127.0.0.1:{gw.api}{path}", data=data, method=method,
                                 headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def apply(gw, tenant, yaml, timeout=30):
    return api(gw, "POST", f"/api/v1/tenants/{tenant}/resources", yaml, "application/yaml", timeout)


def mapping(name, port, upstream, host=None, upstream_host=None):
    # No address: each edge binds the port on every address of its own namespace (the gateway's default 0.0.0.0).
    h = f", host: {host}" if host else ""
    return (f"apiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nmetadata: {{ name: {name} }}\n"
            f"spec: {{ port: {port}{h}, service: \"{upstream_host or HOST_IP}:{upstream}\" }}\n")


# ---------------------------------------------------------------- the second edge's network namespace

def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def netns_up():
    netns_down()
    sh("ip", "netns", "add", NETNS)
    sh("ip", "link", "add", VETH, "type", "veth", "peer", "name", VETH + "p")
    sh("ip", "link", "set", VETH + "p", "netns", NETNS)
    sh("ip", "addr", "add", f"{HOST_IP}/30", "dev", VETH)
    sh("ip", "link", "set", VETH, "up")
    for cmd in (["ip", "addr", "add", f"{NS_IP}/30", "dev", VETH + "p"], ["ip", "link", "set", VETH + "p", "up"],
                ["ip", "link", "set", "lo", "up"]):
        sh("ip", "netns", "exec", NETNS, *cmd)


def netns_down():
    sh("ip", "netns", "del", NETNS, check=False)  # takes its end of the veth pair, and so the pair, with it
    sh("ip", "link", "del", VETH, check=False)


async def copy(reader, writer):
    """Copies one direction until EOF or an error, then closes the writer."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


def serve_forever(handle, host, port, backlog):
    """Runs an asyncio TCP server with `handle` per connection until the process ends."""
    async def main():
        server = await asyncio.start_server(handle, host, port, backlog=backlog)
        async with server:
            await server.serve_forever()
    asyncio.run(main())


def relay(listen_host, listen_port, target_port):
    """Carries the namespaced edge's storage traffic to Azurite on loopback; refuses while Azurite is stopped."""
    async def handle(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))

    serve_forever(handle, listen_host, listen_port, 1024)


# ---------------------------------------------------------------- upstream and clients

def echo_server(port):
    """The upstream every tenant routes to: echoes every byte (its own process, so the load never starves it)."""
    serve_forever(copy, "0.0.0.0", port, 4096)


class Load:
    """Clients of tenant A (cleartext) through the edge: new connections in a loop (a round trip each) and
    established connections that echo every 100 ms. Records latencies and every failure by time."""

    def __init__(self, port, workers, established, tls=None, host="127.0.0.1"):
        self.port, self.workers, self.established, self.tls, self.host = port, workers, established, tls, host
        self.rtts, self.failures, self.broken, self.round_trips = [], [], 0, 0
        self._stop = False

    async def _one(self):
        start = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=self.tls and self.tls[0],
                                        server_hostname=self.tls and self.tls[1]), 5)
            writer.write(b"x" * 64)
            await writer.drain()
            await asyncio.wait_for(reader.readexactly(64), 5)
            writer.close()
            self.rtts.append((time.monotonic(), time.monotonic() - start))
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError) as e:
            self.failures.append((time.monotonic(), type(e).__name__))
            await asyncio.sleep(0.05)

    async def _new_connections(self):
        while not self._stop:
            await self._one()

    async def _held(self):
        while not self._stop:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 5)
            except (OSError, asyncio.TimeoutError):
                await asyncio.sleep(0.2)
                continue
            try:
                while not self._stop:
                    writer.write(b"held")
                    await writer.drain()
                    await asyncio.wait_for(reader.readexactly(4), 5)
                    self.round_trips += 1
                    await asyncio.sleep(0.1)
                writer.close()
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                self.broken += 1

    async def run(self):
        self._stop = False
        await asyncio.gather(*[self._new_connections() for _ in range(self.workers)],
                             *[self._held() for _ in range(self.established)])

    def stop(self):
        self._stop = True

    def window(self, start, end):
        rtts = [d for t, d in self.rtts if start <= t <= end]
        fails = [f for t, f in self.failures if start <= t <= end]
        return {"connections": len(rtts), "failed": len(fails), "p50_ms": pct(rtts, 50), "p99_ms": pct(rtts, 99),
                "failure_kinds": sorted(set(fails))}


def slowloris(port, count, source, hold, result):
    """Opens `count` TLS connections from `source` and stalls each after the first bytes of a ClientHello."""
    async def main():
        socks, refused = [], 0
        for _ in range(count):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.bind((source, 0))
                await asyncio.wait_for(asyncio.get_running_loop().sock_connect(s, ("127.0.0.1", port)), 5)
                await asyncio.get_running_loop().sock_sendall(s, b"\x16\x03\x01\x02\x00\x01")
                socks.append(s)
            except (OSError, asyncio.TimeoutError):
                refused += 1
                s.close()
        await asyncio.sleep(hold)
        open_after = 0
        for s in socks:
            try:
                data = s.recv(1)
                open_after += 0 if data == b"" else 1
            except BlockingIOError:
                open_after += 1
            except OSError:
                pass
            s.close()
        result.update(opened=len(socks), refused=refused, still_open_after_hold=open_after)
    asyncio.run(main())


def client_hello(host):
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=host)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def mutate(data, rng):
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        if op < 0.5 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op < 0.65:
            b = b[:rng.randrange(len(b) + 1)]
        elif op < 0.8:
            i = rng.randrange(len(b) + 1)
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        elif op < 0.9 and len(b) > 9:
            i = rng.choice([3, 4, 6, 7, 8])  # record and handshake length fields
            b[i] = rng.choice([0, 0xFF, rng.randrange(256)])
        else:
            b = bytearray(rng.randbytes(rng.randint(1, 600)))
    return bytes(b)


def hello_fuzzer(port, count, seed, parallel, result):
    """Sends `count` mutated ClientHellos, one connection each; reads what the edge answers until it closes."""
    base = client_hello("fuzz.b.test")
    rng = random.Random(seed)

    async def one(data):
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
            writer.write(data)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(4096), 0.2)
            writer.close()
            return "alert or hello" if answer else "closed"
        except asyncio.TimeoutError:
            # The edge waits for the rest of a ClientHello it cannot parse yet; its handshake timeout would close it.
            if writer is None:
                return "connect timeout"
            writer.close()
            return "waiting for more"
        except (OSError, asyncio.IncompleteReadError):
            return "refused"

    async def main():
        counts = {}
        sent = 0
        while sent < count:
            batch = [mutate(base, rng) for _ in range(min(parallel, count - sent))]
            for outcome in await asyncio.gather(*[one(d) for d in batch]):
                counts[outcome] = counts.get(outcome, 0) + 1
            sent += len(batch)
        result.update(sent=sent, outcomes=counts)
    asyncio.run(main())


async def until_applied(silo, document, within_s, call_timeout_s, pause_s):
    """Applies tenant C's document through `silo` until it answers 200: seconds that took, or None after `within_s`."""
    t = time.monotonic()
    while time.monotonic() - t < within_s:
        status, _ = await asyncio.to_thread(apply, silo, "tc", document, call_timeout_s)
        if status == 200:
            return time.monotonic() - t
        await asyncio.sleep(pause_s)
    return None


# ---------------------------------------------------------------- config fuzz

SEEDS = [
    mapping("m", 9000, 9001, upstream_host="127.0.0.1"),
    mapping("t", 9443, 9001, host="a.example.com", upstream_host="127.0.0.1"),
    "apiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: { name: h }\nspec: { hostname: a.example.com, tlsSecret: { name: s } }\n",
    "apiVersion: getambassador.io/v3alpha1\nkind: TLSContext\nmetadata: { name: c }\nspec: { hosts: [a.example.com], secret: s, min_tls_version: v1.2 }\n",
    "apiVersion: getambassador.io/v3alpha1\nkind: Listener\nmetadata: { name: l }\nspec: { port: 9443, protocol: TLS, securityModel: XFP }\n",
    "apiVersion: v1\nkind: Secret\nmetadata: { name: s }\ntype: kubernetes.io/tls\ndata: { tls.crt: AAAA, tls.key: AAAA }\n",
    "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nkind: List\nitems: [*c, *c]\n",
]
TOKENS = ["{", "}", "[", "]", ":", "- ", "&x ", "*x", "!!binary ", "---\n", "\t", "\"", "'", "\\u0000", "99999999999999999999",
          "-1", "null", "~", "kind: TCPMapping", "port: ", "host: ", "<<: *x", "\n  ", "\xff", "\u202e", "é"]


def fuzz_doc(rng):
    doc = rng.choice(SEEDS)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(doc) + 1)
        op = rng.random()
        if op < 0.4:
            doc = doc[:i] + rng.choice(TOKENS) + doc[i:]
        elif op < 0.7:
            doc = doc[:i] + doc[i + rng.randint(1, 12):]
        elif op < 0.85:
            doc = doc[:i] + rng.choice(SEEDS) + doc[i:]
        else:
            doc = doc[:i] + "".join(chr(rng.randrange(1, 0x2FF)) for _ in range(rng.randint(1, 16))) + doc[i:]
    return doc


def config_fuzz(cli, count, seed, work):
    """`ogw check DIR --output json` over directories of fuzzed documents: no crash, every Discarded explained."""
    rng = random.Random(seed)
    done, crashes, exits, unexplained, discarded, errors, codes, per_dir = 0, [], {}, 0, 0, 0, {}, 1000
    while done < count:
        d = tempfile.mkdtemp(prefix="fuzz-", dir=work)
        n = min(per_dir, count - done)
        for i in range(n):
            with open(os.path.join(d, f"doc{i:05}.yaml"), "w", encoding="utf-8", errors="surrogatepass") as f:
                f.write(fuzz_doc(rng))
        p = subprocess.run(cli + ["check", d, "--output", "json"], capture_output=True, text=True, errors="replace", timeout=600)
        exits[p.returncode] = exits.get(p.returncode, 0) + 1
        if p.returncode not in (0, 1) or "Unhandled exception" in p.stderr:
            crashes.append((d, p.returncode, p.stderr[-400:]))
        else:
            try:
                report = json.loads(p.stdout)
                resources = report.get("resources") or []
                discarded += sum(1 for r in resources if r.get("status") == "Discarded")
                unexplained += sum(1 for r in resources if r.get("status") == "Discarded" and not r.get("messages"))
                diagnostics = [e for e in report.get("diagnostics") or [] if str(e.get("severity")).lower() == "error"]
                errors += len(diagnostics)
                unexplained += sum(1 for e in diagnostics if not (e.get("message") and e.get("file")))
                for e in diagnostics:
                    codes[e.get("code")] = codes.get(e.get("code"), 0) + 1
            except json.JSONDecodeError:
                crashes.append((d, p.returncode, "output is not JSON: " + p.stdout[:200]))
        done += n
        shutil.rmtree(d, ignore_errors=True)
    return {"documents": done, "exit_codes": exits, "crashes": len(crashes), "crash_samples": crashes[:3],
            "discarded": discarded, "errors": errors,
            "error_codes": dict(sorted(codes.items(), key=lambda c: -c[1])[:8]), "refusals_without_message_or_file": unexplained}


# ---------------------------------------------------------------- scenarios

async def measure(load, seconds):
    start = time.monotonic()
    await asyncio.sleep(seconds)
    return load.window(start, time.monotonic())


async def run(a):
    root = a.root
    work = tempfile.mkdtemp(prefix="ogw-faults-")
    with open(os.path.join(work, "admin.key"), "w") as f:
        f.write(ADMIN_KEY + "\n")
    a.service = "faults-" + str(os.getpid())
    q = a.quick
    counts = {
        "changes": 10 if q else 100, "outage_s": 10 if q else 30, "slowloris": 500 if q else 5000,
        "hellos": 5000 if q else 1_000_000, "configs": 1000 if q else 100_000, "phase_s": 5 if q else 15,
    }
    results = {"mode": "quick" if q else "full", "counts": counts, "machine": machine(), "scenarios": {}}
    azurite = Azurite(root, work)
    upstream_port, relay_port = free_port(), free_port()
    netns_up()
    echo = multiprocessing.Process(target=echo_server, args=(upstream_port,), daemon=True)
    echo.start()
    storage_relay = multiprocessing.Process(target=relay, args=(HOST_IP, relay_port, int(azurite.port)), daemon=True)
    storage_relay.start()
    azurite.start()
    core1, core2 = Gateway("core1", "core", a, azurite, work), Gateway("core2", "core", a, azurite, work)
    edge = Gateway("edge", "edge", a, azurite, work)
    edge2 = Gateway("edge2", "edge", a, azurite, work, netns=NETNS, storage=Azurite.connection_at(HOST_IP, relay_port))
    procs = [core1, core2, edge, edge2]
    try:
        for g in procs:
            g.start()
            log(g.name, "ready in", round(g.wait_ready(), 1), "s")

        port_a, port_b, port_c = free_port(), free_port(), free_port()
        cert, key = make_cert(work, "b.test")
        for tenant in ["ta", "tb", "tc"]:
            status, body = api(core1, "POST", "/api/v1/tenants", {"name": tenant, "quota": {"allowedPorts": None, "allowedUpstreams": ["127.0.0.0/8", f"{HOST_IP}/32"], "allowedHosts": ["*"]}})
            assert status == 201, (status, body)
        assert apply(core1, "ta", mapping("a", port_a, upstream_port))[0] == 200
        secret = ("apiVersion: v1\nkind: Secret\nmetadata: { name: b-tls }\ntype: kubernetes.io/tls\ndata:\n"
                  f"  tls.crt: {b64(cert)}\n  tls.key: {b64(key)}\n")
        host = "apiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: { name: b }\nspec: { hostname: b.test, tlsSecret: { name: b-tls } }\n"
        status, body = apply(core1, "tb", secret + "---\n" + host + "---\n" + mapping("b", port_b, upstream_port, host="b.test"))
        assert status == 200, body
        tls = ssl.create_default_context(cafile=cert)
        # Tenant A's clients on each edge: edge 1 on loopback, edge 2 at its namespace's address.
        load = Load(port_a, workers=4 if q else 8, established=4 if q else 16)
        load2 = Load(port_a, workers=4 if q else 8, established=4 if q else 16, host=NS_IP)
        on = {edge: load, edge2: load2}
        load_b = Load(port_b, workers=2, established=0, tls=(tls, "b.test"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for l in (load, load2, load_b):
                if not l.rtts:
                    await l._one()
            if load.rtts and load2.rtts and load_b.rtts:
                break
        else:
            raise SystemExit(f"the edges do not serve tenant A and B within 120 s; see {work} (--keep)")
        for l in (load, load2, load_b):
            l.rtts.clear(); l.failures.clear()
        runner = asyncio.ensure_future(asyncio.gather(load.run(), load2.run()))

        def both(start, broken_before):
            return {e.name: {"established_broken": on[e].broken - broken_before[e], "a": on[e].window(start, time.monotonic())}
                    for e in on}

        sc = results["scenarios"]
        start = time.monotonic()
        await asyncio.sleep(counts["phase_s"])
        sc["baseline"] = both(start, {e: on[e].broken for e in on})
        log("baseline", sc["baseline"])

        # 1. Live configuration changes under load: tenant C moves its mapping between two ports.
        start, latencies, refused = time.monotonic(), [], []
        broken_before = {e: on[e].broken for e in on}
        for i in range(counts["changes"]):
            t = time.monotonic()
            status, body = await asyncio.to_thread(apply, core1 if i % 2 else core2, "tc", mapping("c", port_c + (i % 2), upstream_port))
            (latencies if status == 200 else refused).append(time.monotonic() - t if status == 200 else (status, body[:200]))
        sc["config_changes"] = {"changes": counts["changes"], "refused": len(refused), "refusals": refused[:3],
                                "apply_p50_ms": pct(latencies, 50), "apply_p99_ms": pct(latencies, 99),
                                "edges": both(start, broken_before)}
        log("config_changes", sc["config_changes"])

        # 2. Each silo killed (SIGKILL) under load and restarted, one at a time.
        sc["kills"] = {}
        for victim, other in [(core1, core2), (core2, core1), (edge, core1), (edge2, core1)]:
            start, broken_before = time.monotonic(), {e: on[e].broken for e in on}
            victim.kill()
            ok = await until_applied(other, mapping("c", port_c, upstream_port), within_s=120, call_timeout_s=10, pause_s=0.5)
            victim.start()
            ready = await asyncio.to_thread(victim.wait_ready)
            served = None
            t2 = time.monotonic()
            while victim in on and time.monotonic() - t2 < 120:
                if on[victim].window(time.monotonic() - 1, time.monotonic())["connections"] > 0:
                    served = time.monotonic() - t2
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)
            # The killed edge's own connections die with it (its clients reconnect); the figures that matter are
            # the surviving edge's.
            sc["kills"][victim.name] = {"apply_ok_after_s": ok and round(ok, 2), "restart_ready_s": round(ready, 1),
                                        "edge_serving_after_ready_s": served and round(served, 2),
                                        "edges": both(start, broken_before)}
            log("kill", victim.name, sc["kills"][victim.name])

        # 3. Storage outage: Azurite stopped; routes keep serving; applies refused clearly; recovery after.
        start, broken_before = time.monotonic(), {e: on[e].broken for e in on}
        azurite.stop()
        answers = []
        while time.monotonic() - start < counts["outage_s"]:
            t = time.monotonic()
            status, body = await asyncio.to_thread(apply, core1, "tc", mapping("c", port_c + 1, upstream_port), 60)
            answers.append({"status": status, "after_s": round(time.monotonic() - t, 1), "body": body[:300]})
            await asyncio.sleep(1)
        during = both(start, broken_before)
        azurite.start()
        recovered = await until_applied(core1, mapping("c", port_c, upstream_port), within_s=180, call_timeout_s=15, pause_s=1)
        sc["storage_outage"] = {"seconds": counts["outage_s"], "apply_answers": answers, "apply_ok_after_restart_s": recovered and round(recovered, 1),
                                "edges_during": during}
        log("storage_outage", sc["storage_outage"])

        # 4. Slowloris against tenant B's TLS port from 127.0.0.2; tenant B's clients from 127.0.0.1 measured.
        load.stop()
        load2.stop()
        await runner
        runner_b = asyncio.ensure_future(load_b.run())
        quiet = await measure(load_b, counts["phase_s"])
        manager = multiprocessing.Manager()
        out = manager.dict()
        attacker = multiprocessing.Process(target=slowloris, args=(port_b, counts["slowloris"], "127.0.0.2", counts["phase_s"] * 2 + 10, out))
        attacker.start()
        await asyncio.sleep(5)
        attacked = await measure(load_b, counts["phase_s"])
        await asyncio.to_thread(attacker.join, 120)
        load_b.stop()
        await runner_b
        ratio = attacked["p99_ms"] / quiet["p99_ms"] if attacked["p99_ms"] and quiet["p99_ms"] else None
        sc["slowloris"] = {"stalled": counts["slowloris"], "attacker": dict(out), "b_quiet": quiet, "b_attacked": attacked,
                           "p99_ratio": ratio and round(ratio, 2), "pass": bool(ratio and ratio <= 2 and attacked["failed"] == 0)}
        log("slowloris", sc["slowloris"])

        # 5. Fuzzed ClientHellos at tenant B's TLS port.
        rss_before = edge.rss_mib()
        out = manager.dict()
        t = time.monotonic()
        fuzzer = multiprocessing.Process(target=hello_fuzzer, args=(port_b, counts["hellos"], 14, 500, out))
        fuzzer.start()
        peak = rss_before or 0
        while fuzzer.is_alive():
            peak = max(peak, edge.rss_mib() or 0)
            await asyncio.sleep(1)
        alive = edge.proc.poll() is None and edge.ready()
        sc["clienthello_fuzz"] = {"sent": out.get("sent"), "outcomes": dict(out.get("outcomes", {})), "seconds": round(time.monotonic() - t, 1),
                                  "edge_alive": alive, "rss_before_mib": rss_before, "rss_peak_mib": peak, "rss_after_mib": edge.rss_mib()}
        log("clienthello_fuzz", sc["clienthello_fuzz"])

        # 6. Fuzzed configuration documents through the loader (ogw check).
        t = time.monotonic()
        sc["config_fuzz"] = config_fuzz(a.cli, counts["configs"], 7, work)
        sc["config_fuzz"]["seconds"] = round(time.monotonic() - t, 1)
        log("config_fuzz", sc["config_fuzz"])
    finally:
        for g in procs:
            g.stop()
        azurite.stop()
        echo.terminate()
        storage_relay.terminate()
        netns_down()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return results


def b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def make_cert(work, host):
    cert, key = os.path.join(work, "b.crt"), os.path.join(work, "b.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={host}",
                    "-addext", f"subjectAltName=DNS:{host}", "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mib": mem, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "loadavg_at_start": open("/proc/loadavg").read().split()[:3]}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="scaled-down counts (a correctness run)")
    ap.add_argument("--root", required=True)
    ap.add_argument("--gateway-dll", required=True)
    ap.add_argument("--cli", required=True, help="the ogw command, e.g. 'dotnet path/ogw.dll'")
    ap.add_argument("--out", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs of every process)")
    a = ap.parse_args()
    a.cli = a.cli.split()
    results = asyncio.run(run(a))
    results["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
    with open(a.out, "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
