#!/usr/bin/python3
"""bitnet-server throughput and time to first token (suite `bench`).

On the 2B4T-shape synthetic model (made once with bitnet-mkmodel), 2 threads:
for each concurrency N in 1, 4, 8, 16, a server with --parallel N and a closed
loop of N clients, each sending distinct 32-token prompts (token ids) with
max_tokens 128 and stops off (ignore_eos), streaming. After a warm-up, for a
fixed window: generated tokens/s of the server (its own counter over the
window) and the clients' time to first token (p50, p99, of every request whose
first token came by the end of the window, warm-up included). Then bitnet-bench
--parallel N with the same lengths, for the engine's own aggregate speed, and
the ratio. Rounds alternate server and engine so that noise hits both.
    bench_server.py BITNET_SERVER BITNET_MKMODEL BITNET_BENCH WORKDIR
Environment: BN_BENCH_SECONDS (60), BN_BENCH_WARMUP (10), BN_BENCH_CONC
("1,4,8,16"), BN_BENCH_THREADS (2), BN_BENCH_MODEL (a GGUF instead of the
2B4T-shape one)."""
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
PROMPT, GEN = 32, 128

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


def client(port, cid, n_vocab, stop_at, t_window, ttfts, errors):
    rng = random.Random(cid)
    while time.time() < stop_at:
        prompt = [rng.randrange(n_vocab // 8, n_vocab - n_vocab // 8) for _ in range(PROMPT)]
        body = json.dumps({"prompt": prompt, "max_tokens": GEN, "ignore_eos": True, "stream": True,
                           "temperature": 0})
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        t0 = time.time()
        try:
            c.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
            r = c.getresponse()
            if r.status != 200:
                errors.append(r.status)
                r.read()
                continue
            first = None
            while True:
                line = r.readline()
                if not line:
                    break
                if first is None and line.startswith(b"data: "):
                    first = time.time()
            # every request whose first token came before the end of the window
            # (a slow machine finishes few requests within it)
            if first is not None and first <= t_window[1]:
                ttfts.append(first - t0)
        except Exception as e:  # noqa: BLE001 - any failure is counted, not a dead client
            errors.append(str(e))
        finally:
            c.close()


def run_server(n):
    s = Server(exe, model, ["--parallel", str(n), "-c", "512", "--queue", "64", "-b", "512", "-t", threads], workdir,
               "bench-server-%d" % n)
    try:
        st, h, body = s.request("GET", "/v1/models")
        n_vocab = json.loads(body)["data"][0]["meta"]["n_vocab"]
        start = time.time()
        t_window = [start + warmup, start + warmup + seconds]
        ttfts, errors = [], []
        cl = [threading.Thread(target=client, args=(s.port, 1000 * n + i, n_vocab, t_window[1], t_window, ttfts,
                                                       errors)) for i in range(n)]
        for t in cl:
            t.start()
        time.sleep(max(0.0, t_window[0] - time.time()))
        g0, t0 = s.metric("bitnet_generated_tokens_total"), time.time()
        time.sleep(max(0.0, t_window[1] - time.time()))
        g1, t1 = s.metric("bitnet_generated_tokens_total"), time.time()
        for t in cl:
            t.join(900)
        return (g1 - g0) / (t1 - t0), ttfts, errors
    finally:
        s.terminate(120)


def run_engine(n):
    r = subprocess.run([bench, "-m", model, "-t", threads, "--parallel", str(n), "-p", str(PROMPT), "-n", str(GEN),
                        "-r", "1", "-R", "1", "--no-bandwidth", "--json"], capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        print(r.stderr)
        return float("nan")
    o = json.loads(r.stdout)
    return o["parallel"]["aggregate_tg"] if "parallel" in o else o["tg"]["median"]


print("model %s, %s threads, prompts %d tokens, max_tokens %d, stops off; warm-up %g s, window %g s"
      % (os.path.basename(model), threads, PROMPT, GEN, warmup, seconds))
os.environ["OMP_NUM_THREADS"] = threads
rows = []
ttft1 = None
for n in levels:
    tps, ttfts, errors = run_server(n)
    engine = run_engine(n)
    p50, p99 = percentile(ttfts, 50), percentile(ttfts, 99)
    if n == 1:
        ttft1 = p50
    rows.append((n, tps, engine, tps / engine if engine == engine and engine else float("nan"), p50, p99,
                 len(ttfts), len(errors)))
    print("concurrency %2d: server %.2f tok/s, bitnet-bench --parallel %d %.2f tok/s, TTFT p50 %.3f s p99 %.3f s "
          "(%d requests, %d errors)" % (n, tps, n, engine, p50, p99, len(ttfts), len(errors)), flush=True)

print()
print("| concurrency | server generated tok/s | bitnet-bench --parallel N tok/s | server / engine "
      "| TTFT p50 (s) | TTFT p99 (s) | requests timed |")
print("|---|---|---|---|---|---|---|")
for n, tps, engine, ratio, p50, p99, cnt, err in rows:
    print("| %d | %.2f | %.2f | %.0f %% | %.3f | %.3f | %d |" % (n, tps, engine, 100 * ratio, p50, p99, cnt))
bad = [r for r in rows if r[7]]
if bad:
    print("errors at concurrency %s" % [r[0] for r in bad])
    sys.exit(1)
for r in rows:
    if r[0] == 8:
        print("target: server/engine at concurrency 8 >= 90 %%: %.0f %% (%s); TTFT p50 at 8 < 2x at 1: %.3f vs %.3f (%s)"
              % (100 * r[3], "met" if r[3] >= 0.9 else "NOT met", r[4], ttft1 or float("nan"),
                 "met" if ttft1 and r[4] < 2 * ttft1 else "NOT met"))
