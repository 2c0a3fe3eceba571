#!/usr/bin/python3
"""Pieces shared by the Python drivers that run `infra-bot run` against the fakes of tests/fakes/
over real TLS on 127.0.0.1: bench/soak/soak.py and tests/replicas/replicas_suite.py.

Standard library only (the fakes themselves need Debian's python3-websockets and python3-botocore).
  make_tls(folder)       a throwaway CA and a server certificate for 127.0.0.1
  free_port()            a free TCP port on 127.0.0.1
  Child                  a process we started, its output lines handed to a callback
  Control                the fake Slack's control API over one keep-alive HTTPS connection
  percentile, read_rss_kb, read_cpu_seconds, payload_text
"""

import http.client
import json
import math
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKES = os.path.join(ROOT, "tests", "fakes")
PYTHON = "/usr/bin/python3"


# ---- TLS: a throwaway CA and a server certificate for 127.0.0.1 (as tests/support/test_tls.hpp)


def make_tls(folder):
    ext = os.path.join(folder, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    steps = [
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
         "ca.pem", "-days", "2", "-subj", "/CN=infra-bot soak CA"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
         "server.csr", "-subj", "/CN=localhost"],
        ["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"],
    ]
    for step in steps:
        subprocess.run(step, cwd=folder, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
    return (os.path.join(folder, "ca.pem"), os.path.join(folder, "server.pem"),
            os.path.join(folder, "server.key"))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- child processes ------------------------------------------------------------------------


class Child:
    """A process we started, with its output lines handed to `on_line` by reader threads."""

    def __init__(self, name, argv, env, on_line, log_path, first_line_port=False,
                 first_line_json=False, stdin_pipe=False):
        """first_line_port: the first "PORT <n>" line of stdout is the port (wait_port);
        first_line_json: the first stdout line is a JSON object (wait_first); stdin_pipe: the
        child's stdin is a pipe we hold open (some children end when it closes)."""
        self.name = name
        self.log = open(log_path, "w", buffering=1, encoding="utf-8", errors="replace")
        self.port = None
        self.first = None
        self.port_ready = threading.Event()
        self.proc = subprocess.Popen(argv, env=env,
                                     stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.threads = []
        for stream, label in ((self.proc.stdout, "out"), (self.proc.stderr, "err")):
            wants = None
            if label == "out":
                wants = "port" if first_line_port else ("json" if first_line_json else None)
            t = threading.Thread(target=self._read, args=(stream, label, on_line, wants),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def _read(self, stream, label, on_line, wants_port):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            try:
                self.log.write(label + " " + line + "\n")
            except ValueError:
                pass
            if wants_port == "port" and self.port is None and line.startswith("PORT "):
                self.port = int(line.split()[1])
                self.port_ready.set()
                continue
            if wants_port == "json" and self.first is None:
                try:
                    self.first = json.loads(line)
                except ValueError:
                    self.first = {"unreadable": line}
                self.port_ready.set()
                continue
            try:
                on_line(label, line)
            except Exception as error:  # a bad line must not stop the reader
                sys.stderr.write("%s line handler: %r\n" % (self.name, error))

    def wait_port(self, timeout):
        self.port_ready.wait(timeout)
        return self.port

    def wait_first(self, timeout):
        self.port_ready.wait(timeout)
        return self.first

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signals our own child by pid and waits (bounded); SIGKILL after `timeout`."""
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for t in self.threads:
            t.join(5)
        self.log.close()
        return self.proc.returncode


# ---- the control API ---------------------------------------------------------------------------


class Control:
    def __init__(self, port, ca_file):
        self.port = port
        self.context = ssl.create_default_context(cafile=ca_file)
        self.connection = None

    def call(self, op, body):
        data = json.dumps(body).encode()
        for attempt in range(2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPSConnection("127.0.0.1", self.port,
                                                                  context=self.context,
                                                                  timeout=15)
                self.connection.request("POST", "/control/" + op, body=data,
                                        headers={"Content-Type": "application/json"})
                response = self.connection.getresponse()
                return json.loads(response.read().decode())
            except (OSError, http.client.HTTPException, ValueError):
                if self.connection is not None:
                    self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise
        return {}


def read_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def read_cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError):
        return None


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(math.ceil(p / 100.0 * len(ordered))) - 1))
    return ordered[k]


def payload_text(payload):
    if isinstance(payload, dict):
        text = payload.get("text")
        if isinstance(text, str):
            return text
    return ""


