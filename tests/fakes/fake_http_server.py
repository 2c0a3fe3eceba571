"""Shared pieces of the Python fakes (run on Debian's /usr/bin/python3, stdlib only).

TlsHTTPServer: a ThreadingHTTPServer that does the TLS handshake on each
connection's own thread (a client that stalls or fails the handshake never holds
up accept()) and always tears the connection down when the handler is done.
read_body(handler): the request body, with or without chunked encoding.
"""

import socket
import ssl
import sys
import traceback
from http.server import ThreadingHTTPServer


class TlsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    tls_context = None  # an ssl.SSLContext to serve HTTPS, None for plain HTTP
    log_name = "fake"
    handshake_timeout = 30

    def log_line(self, text):
        sys.stderr.write("%s: %s\n" % (self.log_name, text))
        sys.stderr.flush()

    def finish_request(self, request, client_address):
        # BaseHTTPRequestHandler writes the headers and the body as two segments: with Nagle,
        # the body waits for the client's delayed ACK of the headers (~40 ms on Linux).
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.tls_context is not None:
            try:
                request.settimeout(self.handshake_timeout)
                request = self.tls_context.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError) as error:
                self.log_line("TLS handshake failed: %s" % error)
                return
        try:
            self.RequestHandlerClass(request, client_address, self)
        except (ConnectionError, ssl.SSLError, OSError):
            pass  # the client went away: part of the tests, not an error
        except Exception:
            self.log_line("error serving %s:\n%s" % (client_address, traceback.format_exc()))
        finally:
            try:
                request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            request.close()

    def handle_error(self, request, client_address):
        self.log_line("error serving %s" % (client_address,))


def read_body(handler):
    """The body of the request `handler` (a BaseHTTPRequestHandler) is reading."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks = []
        while True:
            size_line = handler.rfile.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        return b"".join(chunks)
    length = int(handler.headers.get("Content-Length", "0") or "0")
    return handler.rfile.read(length) if length > 0 else b""
