"""Helpers of the bitnet-server tests: start a server on a free loopback port,
talk HTTP to it, stop it. Every wait is bounded; every server is stopped."""
import http.client
import json
import os
import select
import signal
import subprocess
import sys
import time

FAILED = []


def check(cond, what, detail=""):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what + (": " + str(detail) if detail != "" else ""))
        FAILED.append(what)
    return cond


def finish():
    if FAILED:
        print("%d check(s) failed: %s" % (len(FAILED), ", ".join(FAILED)))
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


class Server:
    """bitnet-server -m MODEL --port 0 ARGS, on 127.0.0.1."""

    def __init__(self, exe, model, args=(), workdir=".", name="server"):
        self.log = open(os.path.join(workdir, name + ".log"), "w+")
        cmd = [exe, "--port", "0", "--host", "127.0.0.1", "-t", "1"] + list(args)
        if model:
            cmd += ["-m", model]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log)
        self.port = None
        line = b""
        end = time.time() + 30
        while time.time() < end and not line.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], 1.0)
            if r:
                c = os.read(self.proc.stdout.fileno(), 1)
                if not c:
                    break
                line += c
        if not line.startswith(b"listening on http://"):
            self.kill()
            raise RuntimeError("the server did not start: %r; log: %s" % (line, self.stderr()))
        self.port = int(line.strip().rsplit(b":", 1)[1])
        end = time.time() + 60
        while time.time() < end:
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("the server never became ready: " + self.stderr())

    def stderr(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, headers dict, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def post(self, path, body, **kw):
        st, h, data = self.request("POST", path, body, **kw)
        try:
            return st, json.loads(data)
        except ValueError:
            return st, data

    def metric(self, name, headers=None):
        _, _, data = self.request("GET", "/metrics", headers=headers)
        for line in data.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def wait_metric(self, name, pred, seconds=10, headers=None):
        end = time.time() + seconds
        v = None
        while time.time() < end:
            v = self.metric(name, headers)
            if v is not None and pred(v):
                return v
            time.sleep(0.02)
        return v

    def terminate(self, seconds=30):
        """SIGTERM, then the exit status (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def sse_events(raw):
    """The data: payloads of a text/event-stream body, checking its framing."""
    text = raw.decode()
    if not text.endswith("\n\n"):
        raise ValueError("the stream does not end with an empty line")
    events = text[:-2].split("\n\n")
    out = []
    for e in events:
        if not e.startswith("data: ") or "\n" in e:
            raise ValueError("not a one-line data: event: %r" % e[:80])
        out.append(e[6:])
    return out


def stream_text(events):
    """The text of a streamed answer (chat or completion), and its finish reason."""
    text, finish = "", None
    for e in events:
        if e == "[DONE]":
            continue
        o = json.loads(e)
        for ch in o.get("choices", []):
            d = ch.get("delta")
            text += (d.get("content") or "") if d is not None else ch.get("text", "")
            finish = ch.get("finish_reason") or finish
    return text, finish


def make_model(mkmodel, path, *args):
    if not os.path.exists(path):
        subprocess.run([mkmodel, "--type", "i2_s", "-o", path + ".tmp"] + list(args), check=True,
                       stdout=subprocess.DEVNULL)
        os.rename(path + ".tmp", path)
    return path
