#!/usr/bin/python3
"""bitnet-cli on a terminal: control characters of the model's text are shown
escaped (piped output stays byte for byte, --raw-output passes them), and
Ctrl-C stops the text, returns a chat to its prompt, and ends the program.

Runs the CLI on a pseudo-terminal (python3's pty module) with a synthetic
model whose byte tokens include ESC, BEL, NUL and the rest of C0. Every wait
is bounded. A model file whose name and architecture hold escape sequences
checks that bitnet-info and bitnet-cli's messages escape file text too.
Usage: check_tty.py BITNET_CLI BITNET_MKMODEL OUTDIR BITNET_INFO
"""
import os
import pty
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tty

cli, mkmodel, outdir, info = sys.argv[1:5]
wrap = shlex.split(os.environ.get("MESON_EXE_WRAPPER", ""))
work = os.path.join(outdir, "tty-test.%d" % os.getpid())
os.makedirs(work, exist_ok=True)
failed = False


def check(cond, what, detail=""):
    global failed
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failed = True
        if detail:
            print(detail)


model = os.path.join(work, "small.gguf")
subprocess.run(wrap + [mkmodel, "--shape", "small", "--type", "i2_s", "-o", model],
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = wrap + [cli, "-m", model, "-t", "1"]
# flat sampling: the synthetic vocabulary's byte tokens come out, controls too
flat = ["-p", "Hi", "-n", "400", "--temp", "5", "--top-k", "0", "--top-p", "1",
        "--min-p", "0", "--seed", "11"]


class Tty:
    """The CLI with stdout (and optionally stdin) on a raw pseudo-terminal:
    no newline translation, so the bytes read are the bytes written."""

    def __init__(self, args, stdin_tty=False, stderr_tty=False):
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        self.err = open(os.path.join(work, "stderr.txt"), "w+b")
        self.proc = subprocess.Popen(args, stdin=slave if stdin_tty else subprocess.DEVNULL,
                                     stdout=slave, stderr=slave if stderr_tty else self.err,
                                     close_fds=True)
        os.close(slave)
        self.out = b""

    def read(self, timeout):
        """Reads what comes within `timeout` seconds; False at end of output."""
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:     # EIO: the other side is closed
            return False
        self.out += data
        return bool(data)

    def read_until(self, pred, timeout):
        end = time.monotonic() + timeout
        while not pred() and time.monotonic() < end:
            if not self.read(0.1):
                break
        return pred()

    def quiet_for(self, seconds):
        """True when nothing is written for `seconds`."""
        n = len(self.out)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.read(0.05):
                break
        return len(self.out) == n

    def write(self, data):
        os.write(self.master, data)

    def finish(self, timeout):
        """Reads to the end; returns the exit status or None after a kill."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.proc.poll() is None:
            self.read(0.1)
        status = self.proc.poll()
        if status is None:
            self.proc.kill()
            self.proc.wait()
        while self.read(0.05):
            pass
        os.close(self.master)
        self.err.seek(0)
        self.stderr = self.err.read().decode("utf-8", "replace")
        self.err.close()
        return status if status is None or status >= 0 else 128 - status


def controls(b):
    """C0 controls but newline and tab, DEL, and UTF-8 C1 controls in b."""
    n = sum(1 for c in b if (c < 0x20 and c not in (0x0A, 0x09)) or c == 0x7F)
    return n + len(re.findall(rb"\xc2[\x80-\x9f]", b))


def unescape(b):
    b = re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), b)
    return re.sub(rb"\\u00([89][0-9a-f])", lambda m: bytes([0xC2, int(m.group(1), 16)]), b)


# ---- control characters ------------------------------------------------------
piped = subprocess.run(base + flat, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=60)
check(piped.returncode == 0 and controls(piped.stdout) > 0,
      "piped output holds the model's control characters (%d)" % controls(piped.stdout))

t = Tty(base + flat)
status = t.finish(60)
check(status == 0 and controls(t.out) == 0,
      "terminal: no raw control characters (status %s, %d found)" % (status, controls(t.out)),
      repr(t.out[:400]))
check(unescape(t.out) == piped.stdout, "terminal: the escapes spell the same bytes as the pipe got")

t = Tty(base + flat + ["--raw-output"])
status = t.finish(60)
check(status == 0 and t.out == piped.stdout, "terminal with --raw-output: byte for byte")

# text from the model file: a name that sets the window title, an architecture
# (quoted in the load error) that clears the screen; same lengths, so the
# patched file stays valid
with open(model, "rb") as f:
    data = f.read()
hostile = os.path.join(work, "hostile.gguf")
with open(hostile, "wb") as f:
    f.write(data.replace(b"synthetic-bitnet", b"\x1b]0;pwned-title\x07"))
badarch = os.path.join(work, "badarch.gguf")
with open(badarch, "wb") as f:
    f.write(data.replace(b"bitnet-b1.58", b"\x1b[2J\x1b[Hpwn!!"))
piped = subprocess.run(wrap + [info, "-k", hostile], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       timeout=60)
check(piped.returncode == 0 and b"\x1b]0;pwned-title\x07" in piped.stdout,
      "bitnet-info into a pipe: the file's name byte for byte")
t = Tty(wrap + [info, "-k", hostile])
status = t.finish(60)
check(status == 0 and controls(t.out) == 0 and b"\\x1b]0;pwned-title\\x07" in t.out,
      "bitnet-info on a terminal: the name and keys escaped (status %s)" % status, repr(t.out[:300]))
t = Tty(wrap + [cli, "-m", badarch, "-p", "hi"], stderr_tty=True)
status = t.finish(60)
check(status == 1 and controls(t.out) == 0 and b"\\x1b[2J" in t.out,
      "bitnet-cli's load error on a terminal: the file's text escaped (status %s)" % status,
      repr(t.out[:300]))

# ---- Ctrl-C -----------------------------------------------------------------------
# Greedy text on the synthetic model runs until the context is full (tens of
# seconds for 16384 tokens): long enough to be interrupted.
long_gen = base + ["-p", "Hi", "-c", "16384", "--temp", "0"]
p = subprocess.Popen(long_gen, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
got = b""
end = time.monotonic() + 30
while len(got) < 300 and time.monotonic() < end:
    r, _, _ = select.select([p.stdout], [], [], 0.5)
    if r:
        chunk = os.read(p.stdout.fileno(), 4096)
        if not chunk:
            break
        got += chunk
p.send_signal(signal.SIGINT)
try:
    out, err = p.communicate(timeout=10)
except subprocess.TimeoutExpired:
    p.kill()
    out, err = p.communicate()
m = re.search(rb"generated (\d+) tokens", err)
check(p.returncode == 130 and m and int(m.group(1)) < 16000,
      "generation: Ctrl-C ends it with the summary, status 130 (status %s)" % p.returncode,
      err.decode("utf-8", "replace"))

# a chat on the terminal: the first Ctrl-C stops the answer, the prompt comes
# back and takes a message; Ctrl-C at the prompt ends the program
chat = base + ["--chat", "-p", "Hi", "-c", "16384", "--temp", "0"]
t = Tty(chat, stdin_tty=True)
t.read_until(lambda: len(t.out) >= 300, 30)
t.proc.send_signal(signal.SIGINT)
back = t.read_until(lambda: t.out.endswith(b"\n> "), 10) and t.quiet_for(1.2)
check(back and t.proc.poll() is None, "chat: Ctrl-C stops the answer, the prompt comes back",
      repr(t.out[-200:]))
n = len(t.out)
t.write(b"Hello again\n")
t.read_until(lambda: len(t.out) >= n + 200 or (len(t.out) > n and t.out.endswith(b"\n> ")), 30)
check(len(t.out) > n + 3, "chat: the next message is answered", repr(t.out[n - 50:]))
t.proc.send_signal(signal.SIGINT)
t.read_until(lambda: t.out.endswith(b"\n> "), 10)
t.quiet_for(1.2)    # more than a second: this one is not a double Ctrl-C
t.proc.send_signal(signal.SIGINT)
status = t.finish(10)
m = re.search(r"generated (\d+) tokens", t.stderr)
check(status == 130 and m, "chat: Ctrl-C at the prompt ends it with the summary (status %s)" % status,
      t.stderr)

# two Ctrl-C within a second during an answer end the program
t = Tty(chat, stdin_tty=True)
t.read_until(lambda: len(t.out) >= 300, 30)
t.proc.send_signal(signal.SIGINT)
time.sleep(0.2)
t.proc.send_signal(signal.SIGINT)
status = t.finish(10)
check(status == 130 and "generated" in t.stderr,
      "chat: two Ctrl-C within a second end it (status %s)" % status, t.stderr)

# Ctrl-C inside a long prompt: 8000 tokens in one batch (-b 8192) take
# seconds on one thread; only the context's abort callback can stop them.
words = ["the", "model", "reads", "a", "long", "prompt", "while", "you", "wait"]
long_text = " ".join(words[(i * 7) % len(words)] for i in range(1600))[:8000]
with open(os.path.join(work, "long.txt"), "w") as f:
    f.write(long_text)
long_prompt = base + ["-c", "16384", "-b", "8192", "-n", "1"]
p = subprocess.Popen(long_prompt + ["-f", os.path.join(work, "long.txt")], stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
time.sleep(1.0)
p.send_signal(signal.SIGINT)
try:
    out, err = p.communicate(timeout=20)
except subprocess.TimeoutExpired:
    p.kill()
    out, err = p.communicate()
check(p.returncode == 130 and b"prompt 0 tokens" in err,
      "long prompt: Ctrl-C stops it inside the batch (status %s)" % p.returncode,
      err.decode("utf-8", "replace"))

# the same inside a chat: the message is dropped, the chat goes on
t = Tty(base + ["--chat", "-c", "16384", "-b", "8192", "-n", "8", "--temp", "0"], stdin_tty=True)
t.read_until(lambda: t.out.endswith(b"> "), 30)
t.write(long_text.encode() + b"\n")
time.sleep(1.0)
t.proc.send_signal(signal.SIGINT)
back = t.read_until(lambda: t.out.endswith(b"\n> ") or t.out.count(b"> ") >= 2, 20) and t.quiet_for(1.2)
n = len(t.out)
t.write(b"Hi\n")
t.read_until(lambda: len(t.out) > n and t.out.endswith(b"> "), 30)
answered = len(t.out) > n + 2
t.quiet_for(1.2)
t.proc.send_signal(signal.SIGINT)
status = t.finish(10)
m = re.search(r"prompt (\d+) tokens", t.stderr)
check(back and answered and status == 130 and "it was dropped" in t.stderr and m and int(m.group(1)) < 100,
      "chat: Ctrl-C inside a long message drops it, the next one is answered (status %s)" % status,
      t.stderr + repr(t.out[-200:]))

shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if failed else 0)
