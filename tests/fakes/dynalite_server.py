#!/usr/bin/python3
"""Runs dynalite (a DynamoDB implementation on LevelDB, from npm) on 127.0.0.1 for tests.

  /usr/bin/python3 tests/fakes/dynalite_server.py --node-modules DIR [--create-table-ms MS]

DIR is a node_modules directory holding dynalite 4.0.0 (tests/state/package.json; dev.sh installs
it into $build/state-tests/node_modules). dynalite listens on 127.0.0.1 only, on a port the OS
chooses. Once it answers, one line is printed on stdout:

  {"endpoint": "http://127.0.0.1:PORT"}

It runs until killed (SIGTERM/SIGINT) or until stdin closes; then dynalite is stopped too.
Importable: start_dynalite(node_modules_dir) -> (proc, endpoint); stop with proc.terminate().

dynalite 4.0.0 has no UpdateTimeToLive and its DescribeTimeToLive always says DISABLED. The small
launcher below answers those two itself, keeping each table's TTL setting in memory, as AWS does:
enabling TTL that is already enabled is a ValidationException ("TimeToLive is already enabled").
It does not return ReturnValuesOnConditionCheckFailure's item either (the client reads instead).
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

LAUNCHER = r"""
const path = require('path');
const modules = process.argv[1];
const createTableMs = Number(process.argv[2]);
const dynalite = require(path.join(modules, 'dynalite'));
const server = dynalite({createTableMs, deleteTableMs: createTableMs, updateTableMs: createTableMs});
const inner = server.listeners('request').slice();
server.removeAllListeners('request');
const ttl = new Map();
function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {'Content-Type': 'application/x-amz-json-1.0',
                         'Content-Length': Buffer.byteLength(text),
                         'x-amzn-RequestId': 'dynalite-ttl-' + Date.now()});
  res.end(text);
}
server.on('request', (req, res) => {
  const target = String(req.headers['x-amz-target'] || '');
  if (target !== 'DynamoDB_20120810.UpdateTimeToLive' &&
      target !== 'DynamoDB_20120810.DescribeTimeToLive') {
    for (const listener of inner) listener.call(server, req, res);
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let data;
    try { data = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch (e) {
      return answer(res, 400, {__type: 'com.amazon.coral.service#SerializationException'});
    }
    const table = data.TableName;
    if (typeof table !== 'string' || !table) {
      return answer(res, 400, {__type: 'com.amazon.coral.validate#ValidationException',
                               message: 'TableName is required'});
    }
    const current = ttl.get(table);
    if (target.endsWith('DescribeTimeToLive')) {
      return answer(res, 200, {TimeToLiveDescription: current
          ? {TimeToLiveStatus: 'ENABLED', AttributeName: current}
          : {TimeToLiveStatus: 'DISABLED'}});
    }
    const spec = data.TimeToLiveSpecification || {};
    if (spec.Enabled === true && current) {
      return answer(res, 400, {__type: 'com.amazon.coral.validate#ValidationException',
                               message: 'TimeToLive is already enabled'});
    }
    if (spec.Enabled === true) ttl.set(table, spec.AttributeName); else ttl.delete(table);
    return answer(res, 200, {TimeToLiveSpecification: spec});
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write('PORT ' + server.address().port + '\n');
});
"""


def _answers(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    body = b"{}"
    request = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % (port, len(body))
    ) + body
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as conn:
                conn.sendall(request)
                if conn.recv(12).startswith(b"HTTP/1.1"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def start_dynalite(node_modules_dir, create_table_ms=50):
    """Starts dynalite; returns (proc, endpoint). Raises RuntimeError when it does not start."""
    node_modules_dir = os.path.abspath(node_modules_dir)
    if not os.path.isdir(os.path.join(node_modules_dir, "dynalite")):
        raise RuntimeError("no dynalite in %s (run ./dev.sh test, or npm ci tests/state)" % node_modules_dir)
    proc = subprocess.Popen(
        ["node", "-e", LAUNCHER, node_modules_dir, str(create_table_ms)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        cwd=node_modules_dir,
    )
    line = proc.stdout.readline().decode("utf-8", "replace").strip()
    if not line.startswith("PORT "):
        proc.kill()
        proc.wait()
        raise RuntimeError("dynalite did not start (it printed %r)" % line)
    port = int(line[5:])
    if not _answers(port):
        proc.kill()
        proc.wait()
        raise RuntimeError("dynalite on port %d does not answer" % port)
    return proc, "http://127.0.0.1:%d" % port


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node-modules", required=True)
    parser.add_argument("--create-table-ms", type=int, default=50)
    args = parser.parse_args()
    try:
        proc, endpoint = start_dynalite(args.node_modules, args.create_table_ms)
    except RuntimeError as error:
        sys.stderr.write("dynalite_server: %s\n" % error)
        return 1
    # A signal handler runs on the main thread between bytecodes: it only sets a flag (taking
    # a lock there, as Event.set does, can deadlock with the Event.wait it interrupted).
    done = threading.Event()
    stopping = []

    def stop(*_):
        stopping.append(True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def watch_stdin():
        try:
            while os.read(0, 4096):  # unbuffered: no lock held at interpreter exit
                pass
        except (OSError, ValueError):
            pass
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    sys.stdout.write(json.dumps({"endpoint": endpoint}) + "\n")
    sys.stdout.flush()
    while not stopping and not done.is_set():
        time.sleep(0.1)
        if proc.poll() is not None:
            sys.stderr.write("dynalite_server: dynalite exited (%s)\n" % proc.returncode)
            return 1
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
