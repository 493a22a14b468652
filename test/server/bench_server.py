#!/usr/bin/python3
"""bitnet-server throughput and time to first token (suite `bench`).

On the 2B4T-shape synthetic model (made once with bitnet-mkmodel), 2 threads:
for each concurrency N in 1, 4, 8, 16, a server with --parallel N and a closed
loop of N clients, each sending distinct 32-token prompts (token ids) with
max_tokens 128 and stops off (ignore_eos), streaming. Two phases per server:

steady  the closed loop the issue means. The clients start staggered over one
        request's length: client i sends its first request when client 0's
        first answer has i * 128 / N tokens, so from then on a request ends,
        and a new one joins N - 1 decoding streams, every 128 / N steps (equal
        lengths keep these phases). Measured over a window that starts after
        the warm-up (and not before every client has started): generated
        tokens/s of the server (its own counter over the window) and the time
        to first token (p50, p99) of the requests sent within the window.
burst   then all N clients send at once and wait for each other, for a few
        rounds: N prompts arrive together (what a closed loop started all at
        once keeps doing, since equal lengths keep the clients in lockstep).
        Its time to first token and tokens/s are reported separately.

Then bitnet-bench --parallel N with the same lengths, for the engine's own
aggregate speed, and the ratio of the steady figure to it. Each request's
send, first-token and end times go to WORKDIR/bench-server-N.json.
    bench_server.py BITNET_SERVER BITNET_MKMODEL BITNET_BENCH WORKDIR
Environment: BN_BENCH_SECONDS (60), BN_BENCH_WARMUP (10), BN_BENCH_CONC
("1,4,8,16"), BN_BENCH_THREADS (2), BN_BENCH_BURST (rounds, 3; 0 = none),
BN_BENCH_ENGINE (0: no bitnet-bench runs, to compare servers quickly), BN_BENCH_MODEL
(a GGUF instead of the 2B4T-shape one), BN_BENCH_SERVER_ARGS (more options for
the server, e.g. "--draft 8")."""
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvtest import Server  # noqa: E402

exe, mkmodel, bench, workdir = sys.argv[1:5]
seconds = float(os.environ.get("BN_BENCH_SECONDS", "60"))
warmup = float(os.environ.get("BN_BENCH_WARMUP", "10"))
levels = [int(x) for x in os.environ.get("BN_BENCH_CONC", "1,4,8,16").split(",")]
threads = os.environ.get("BN_BENCH_THREADS", "2")
burst_rounds = int(os.environ.get("BN_BENCH_BURST", "3"))
with_engine = os.environ.get("BN_BENCH_ENGINE", "1") != "0"
extra_args = os.environ.get("BN_BENCH_SERVER_ARGS", "").split()
PROMPT, GEN = 32, 128
TOGETHER = 0.02     # requests sent within this many seconds of each other arrive together

model = os.environ.get("BN_BENCH_MODEL")
if not model:
    # the model test/bench makes, if it is there; else our own copy
    shared = os.path.join(workdir, "..", "bench", "2b4t-i2_s.gguf")
    model = shared if os.path.exists(shared) else os.path.join(workdir, "2b4t-i2_s.gguf")
    if not os.path.exists(model):
        subprocess.run([mkmodel, "--shape", "2b4t", "--seed", "1", "--type", "i2_s", "-o", model + ".tmp"],
                       check=True)
        os.rename(model + ".tmp", model)


def percentile(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def generate(port, prompt, on_event=None):
    """One streamed completion: (send, first token, end) times (time.monotonic(),
    the server's clock too), or raises."""
    body = json.dumps({"prompt": prompt, "max_tokens": GEN, "ignore_eos": True, "stream": True,
                       "temperature": 0})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        t0 = time.monotonic()
        c.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError("status %d: %s" % (r.status, r.read()[:200]))
        first = None
        while True:
            line = r.readline()
            if not line:
                break
            if line.startswith(b"data: ") and line != b"data: [DONE]\n":
                if first is None:
                    first = time.monotonic()
                if on_event:
                    on_event()
        if first is None:
            raise RuntimeError("no token came")
        return t0, first, time.monotonic()
    finally:
        c.close()


class Load:
    """N clients of one server: the steady phase, then the burst rounds."""

    def __init__(self, port, n, n_vocab):
        self.port, self.n = port, n
        self.rngs = [random.Random(1000 * n + i) for i in range(n)]
        self.n_vocab = n_vocab
        self.records = []           # (phase, client, send, first, end)
        self.errors = []
        self.mu = threading.Lock()
        self.window_end = float("inf")
        self.gates = [threading.Event() for _ in range(n)]
        self.gates[0].set()
        self.events0 = 0
        self.burst = threading.Barrier(n + 1, timeout=900)

    def prompt(self, cid):
        rng = self.rngs[cid]
        return [rng.randrange(self.n_vocab // 8, self.n_vocab - self.n_vocab // 8) for _ in range(PROMPT)]

    def one(self, phase, cid, on_event=None):
        try:
            t = generate(self.port, self.prompt(cid), on_event)
            with self.mu:
                self.records.append((phase, cid) + t)
        except Exception as e:  # noqa: BLE001 - any failure is counted, not a dead client
            with self.mu:
                self.errors.append("%s: %s" % (phase, e))

    def counted(self):
        # client 0's first answer paces the others' starts: one every GEN / n tokens
        self.events0 += 1
        for i in range(1, self.n):
            if self.events0 >= i * GEN / self.n:
                self.gates[i].set()

    def client(self, cid):
        self.gates[cid].wait(300)
        first = True
        while time.monotonic() < self.window_end:
            self.one("steady", cid, self.counted if first and cid == 0 else None)
            if first and cid == 0:
                for g in self.gates:     # a failed or short first answer opens the gates anyway
                    g.set()
            first = False
        for _ in range(burst_rounds):
            self.burst.wait()           # everyone sends at once
            self.one("burst", cid)
            self.burst.wait()           # ... and waits for the others


def run_server(n):
    s = Server(exe, model, ["--parallel", str(n), "-c", "512", "--queue", "64", "-b", "512", "-t", threads]
               + extra_args, workdir, "bench-server-%d" % n)
    try:
        st, h, body = s.request("GET", "/v1/models")
        n_vocab = json.loads(body)["data"][0]["meta"]["n_vocab"]
        load = Load(s.port, n, n_vocab)
        start = time.monotonic()
        cl = [threading.Thread(target=load.client, args=(i,)) for i in range(n)]
        for t in cl:
            t.start()
        load.gates[-1].wait(300)
        w0 = max(start + warmup, time.monotonic())
        load.window_end = w0 + seconds
        time.sleep(max(0.0, w0 - time.monotonic()))
        counters = ("bitnet_generated_tokens_total", "bitnet_decode_steps_total", "bitnet_draft_tokens_total",
                    "bitnet_draft_tokens_accepted_total")
        c0, t0 = [s.metric(c) for c in counters], time.monotonic()
        time.sleep(max(0.0, load.window_end - time.monotonic()))
        c1, t1 = [s.metric(c) for c in counters], time.monotonic()
        steady_tps = (c1[0] - c0[0]) / (t1 - t0)
        # per pass: tokens generated, and with --draft: drafts checked and accepted
        passes = max(1.0, c1[1] - c0[1])
        per_pass = [(c1[i] - c0[i]) / passes for i in (0, 2, 3)]
        # burst rounds: the clients finish their running requests, then all send together
        burst_tps = float("nan")
        if burst_rounds:
            load.burst.wait()
            b0, bt0 = s.metric("bitnet_generated_tokens_total"), time.monotonic()
            for r in range(burst_rounds):
                load.burst.wait()
                if r + 1 < burst_rounds:
                    load.burst.wait()
            b1, bt1 = s.metric("bitnet_generated_tokens_total"), time.monotonic()
            burst_tps = (b1 - b0) / (bt1 - bt0)
        for t in cl:
            t.join(900)
        with open(os.path.join(workdir, "bench-server-%d.json" % n), "w") as f:
            json.dump({"window": [t0, t1], "fields": ["phase", "client", "send", "first", "end"],
                       "requests": load.records, "errors": load.errors}, f)
        return steady_tps, burst_tps, load.records, (t0, t1), load.errors, per_pass
    finally:
        s.terminate(120)


def summary(records, phase, window=None):
    """TTFTs of a phase's requests (sent within the window), and the median count
    of requests sent together with each (itself included)."""
    rs = [r for r in records if r[0] == phase and (not window or window[0] <= r[2] < window[1])]
    sends = sorted(r[2] for r in records if r[0] == phase)
    together = [sum(1 for t in sends if abs(t - r[2]) < TOGETHER) for r in rs]
    return [r[3] - r[2] for r in rs], percentile(together, 50)


def run_engine(n):
    r = subprocess.run([bench, "-m", model, "-t", threads, "--parallel", str(n), "-p", str(PROMPT), "-n", str(GEN),
                        "-r", "1", "-R", "1", "--no-bandwidth", "--json"], capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        print(r.stderr)
        return float("nan")
    o = json.loads(r.stdout)
    return o["parallel"]["aggregate_tg"] if "parallel" in o else o["tg"]["median"]


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


print("model %s, %s threads, prompts %d tokens, max_tokens %d, stops off; warm-up %g s, window %g s, "
      "%d burst rounds%s" % (os.path.basename(model), threads, PROMPT, GEN, warmup, seconds, burst_rounds,
                             (", server options " + " ".join(extra_args)) if extra_args else ""))
os.environ["OMP_NUM_THREADS"] = threads
rows = []
for n in levels:
    la = load_average()
    tps, btps, records, window, errors, per_pass = run_server(n)
    engine = run_engine(n) if with_engine else float("nan")
    ttfts, together = summary(records, "steady", window)
    bttfts, btogether = summary(records, "burst")
    row = dict(n=n, tps=tps, engine=engine, ratio=tps / engine if engine == engine and engine else float("nan"),
               p50=percentile(ttfts, 50), p99=percentile(ttfts, 99), count=len(ttfts), together=together,
               bp50=percentile(bttfts, 50), bp99=percentile(bttfts, 99), bcount=len(bttfts), btps=btps,
               btogether=btogether, errors=len(errors), load=la, gen_pass=per_pass[0], draft_pass=per_pass[1],
               acc_pass=per_pass[2])
    rows.append(row)
    print("concurrency %(n)2d (load average %(load)s): steady: server %(tps).2f tok/s, bitnet-bench --parallel "
          "%(n)d %(engine).2f tok/s, TTFT p50 %(p50).3f s p99 %(p99).3f s (%(count)d requests, %(together)g sent "
          "together); burst: %(btps).2f tok/s, TTFT p50 %(bp50).3f s p99 %(bp99).3f s (%(bcount)d requests, "
          "%(btogether)g sent together); %(errors)d errors; per pass: %(gen_pass).2f tokens generated, "
          "%(draft_pass).2f drafted, %(acc_pass).2f accepted" % row, flush=True)
    for e in errors[:5]:
        print("  error: " + e)

print()
print("Steady state (staggered closed loop; TTFT of requests sent in the window):")
print("| concurrency | server generated tok/s | bitnet-bench --parallel N tok/s | server / engine "
      "| TTFT p50 (s) | TTFT p99 (s) | requests timed |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print("| %(n)d | %(tps).2f | %(engine).2f | %(ratio_pct).0f %% | %(p50).3f | %(p99).3f | %(count)d |"
          % dict(r, ratio_pct=100 * r["ratio"]))
print()
print("Burst (all N prompts arrive at once, %d rounds):" % burst_rounds)
print("| concurrency | server generated tok/s | TTFT p50 (s) | TTFT p99 (s) | requests timed |")
print("|---|---|---|---|---|")
for r in rows:
    print("| %(n)d | %(btps).2f | %(bp50).3f | %(bp99).3f | %(bcount)d |" % r)
bad = [r["n"] for r in rows if r["errors"]]
if bad:
    print("errors at concurrency %s" % bad)
    sys.exit(1)
ttft1 = next((r["p50"] for r in rows if r["n"] == 1), None)
for r in rows:
    if r["n"] == 8:
        print("target: server/engine at concurrency 8 >= 90 %%: %.0f %% (%s); steady TTFT p50 at 8 < 2x at 1: "
              "%.3f vs %.3f (%s)" % (100 * r["ratio"], "met" if r["ratio"] >= 0.9 else "NOT met", r["p50"],
                                     ttft1 or float("nan"), "met" if ttft1 and r["p50"] < 2 * ttft1 else "NOT met"))
