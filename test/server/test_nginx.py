#!/usr/bin/python3
"""Two bitnet-server replicas behind nginx (server/deploy/nginx.conf, run with
its ports and paths replaced), all on loopback:
  1. requests through nginx are answered by both replicas;
  2. SIGTERM to replica A while requests run on both: every request in flight
     completes, and every request sent after it is answered by replica B.
Replicas get the aliases replica-a / replica-b, so each answer's "model"
says who answered. Skipped (77) without Debian's nginx.
    test_nginx.py BITNET_SERVER BITNET_MKMODEL WORKDIR"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvtest import Server, check, finish, make_model, sse_events, stream_text  # noqa: E402

exe, mkmodel, workdir = sys.argv[1:4]
nginx_bin = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
if not nginx_bin:
    print("SKIP: no nginx (apt-get install nginx-light)")
    sys.exit(77)
workdir = os.path.join(workdir, "server-nginx")
os.makedirs(workdir, exist_ok=True)
conf_src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "server", "deploy", "nginx.conf")
model = make_model(mkmodel, os.path.join(workdir, "mid.gguf"), "--shape", "small", "--n-embd", "1024",
                   "--n-ff", "2048", "--n-layer", "8", "--n-head", "8", "--n-head-kv", "8", "--n-ctx", "2048")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(a, b):
    """nginx on a free port in front of ports a and b; (process, port)."""
    for attempt in range(5):
        port = free_port()
        conf = open(conf_src).read()
        for old, new in [("127.0.0.1:8081", "127.0.0.1:%d" % a), ("127.0.0.1:8082", "127.0.0.1:%d" % b),
                         ("listen 127.0.0.1:8080", "listen 127.0.0.1:%d" % port)]:
            if old not in conf:
                raise RuntimeError("nginx.conf has no '%s'" % old)
            conf = conf.replace(old, new)
        # paths of our own: nothing under /var
        conf = conf.replace("\nhttp {", "\nhttp {\n    access_log %s/access.log;\n" % workdir
                            + "".join("    %s_temp_path %s/%s;\n" % (t, workdir, t)
                                      for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")), 1)
        path = os.path.join(workdir, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        log = open(os.path.join(workdir, "nginx.err"), "w")
        p = subprocess.Popen([nginx_bin, "-p", workdir, "-c", path, "-e", os.path.join(workdir, "error.log"),
                              "-g", "daemon off; master_process off; pid %s/nginx.pid; error_log %s/error.log;"
                              % (workdir, workdir)], stdout=log, stderr=log)
        end = time.time() + 10
        while time.time() < end and p.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return p, port
            except OSError:
                time.sleep(0.05)
        if p.poll() is None:
            p.kill()
        p.wait(10)
    raise RuntimeError("nginx did not start: " + open(os.path.join(workdir, "nginx.err")).read())


def via_nginx(port, body, timeout=120):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if r.status == 200 else data)
    except OSError as e:
        return 0, str(e)
    finally:
        c.close()


def run_many(port, bodies, results):
    threads = []
    for i, b in enumerate(bodies):
        t = threading.Thread(target=lambda i=i, b=b: results.__setitem__(i, via_nginx(port, b)))
        t.start()
        threads.append(t)
    return threads


def who(r):
    return r[1]["model"] if r[0] == 200 else "status %s" % r[0]


A = Server(exe, model, ["--parallel", "2", "--alias", "replica-a", "--drain-timeout", "30"], workdir, "replica-a")
try:
    B = Server(exe, model, ["--parallel", "2", "--alias", "replica-b"], workdir, "replica-b")
except Exception:
    A.kill()
    raise
try:
    ngx, port = start_nginx(A.port, B.port)
except Exception:
    A.kill()
    B.kill()
    raise
try:
    # 1. both replicas answer
    n1 = 8
    res1 = [None] * n1
    for t in run_many(port, [{"prompt": "p%d" % i, "max_tokens": 40, "seed": i, "ignore_eos": True}
                             for i in range(n1)], res1):
        t.join(120)
    by = {}
    for r in res1:
        by[who(r)] = by.get(who(r), 0) + 1
    print("phase 1: %d requests through nginx: %s" % (n1, by))
    check(by.get("replica-a", 0) > 0 and by.get("replica-b", 0) > 0
          and by.get("replica-a", 0) + by.get("replica-b", 0) == n1,
          "requests through nginx are answered by both replicas", by)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/chat/completions", json.dumps(
        {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10, "stream": True}),
        {"Content-Type": "application/json"})
    r = c.getresponse()
    ev = sse_events(r.read())
    c.close()
    check(r.status == 200 and ev[-1] == "[DONE]" and stream_text(ev)[1] is not None,
          "a stream through nginx arrives framed and whole")

    # 2. SIGTERM to A with requests in flight on both
    k = 6
    res2 = [None] * k
    threads = run_many(port, [{"prompt": "q%d" % i, "max_tokens": 300, "seed": i, "ignore_eos": True}
                              for i in range(k)], res2)
    busy_a = A.wait_metric("bitnet_busy_sequences", lambda v: v >= 1, 20)
    busy_b = B.wait_metric("bitnet_busy_sequences", lambda v: v >= 1, 20)
    A.proc.send_signal(signal.SIGTERM)
    t_stop = time.time()
    print("SIGTERM to replica A with %s sequence(s) busy on A, %s on B" % (busy_a, busy_b))
    time.sleep(0.3)
    m = 8
    res3 = [None] * m
    later = run_many(port, [{"prompt": "r%d" % i, "max_tokens": 20, "seed": i} for i in range(m)], res3)
    for t in threads + later:
        t.join(180)
    rc = A.terminate(60)
    inflight = {}
    for r in res2:
        inflight[who(r)] = inflight.get(who(r), 0) + 1
    done = sum(1 for r in res2 if r[0] == 200 and r[1]["usage"]["completion_tokens"] == 300)
    print("in flight at the stop: %d requests: %s; %d completed with all 300 tokens" % (k, inflight, done))
    check(done == k and inflight.get("replica-a", 0) > 0,
          "every request in flight at the stop completed, replica A's included", inflight)
    after = {}
    for r in res3:
        after[who(r)] = after.get(who(r), 0) + 1
    print("sent after the stop: %d requests: %s" % (m, after))
    check(after.get("replica-b", 0) == m, "every request sent after the stop is answered by replica B", after)
    check(rc == 0, "replica A exited with status 0, %.1f s after SIGTERM" % (time.time() - t_stop))
finally:
    A.terminate(30)
    check(B.terminate(30) == 0, "replica B exits with status 0 on SIGTERM")
    ngx.terminate()
    try:
        ngx.wait(10)
    except subprocess.TimeoutExpired:
        ngx.kill()
finish()
