"""proxy_buffering on with a slow client: once the memory buffers are full the
rest of the response goes to a temp file, so the upstream is released early
(as nginx does); proxy_max_temp_file_size 0 keeps the old behaviour."""
import threading

import pytest

from backend import Backends, custom

pytestmark = pytest.mark.needs_module("http_proxy")

SIZE = 24 * 1024 * 1024
BODY = bytes(range(256)) * (SIZE // 256)


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def big_response(done):
    def send(sock, req):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                     % SIZE)
        try:
            sock.sendall(BODY)
            done.set()
        except OSError:
            pass
        return False
    return send


def read_all(s, timeout=30):
    s.settimeout(timeout)
    data = b""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            return data
        data += chunk


@pytest.mark.parametrize("max_temp", ["1024m", "0"])
def test_slow_client_does_not_hold_the_upstream(ptc, backends, max_temp):
    done = threading.Event()
    b = backends.new(lambda req: custom(big_response(done)))
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; location / { proxy_pass http://"
                    + b.addr + "; proxy_buffers 4 4k; proxy_max_temp_file_size "
                    + max_temp + "; } }")
    s = srv.connect()
    s.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 65536)
    s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    finished_early = done.wait(3 if max_temp == "0" else 10)  # the client has not read yet
    data = read_all(s)
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Length: %d" % SIZE in head
    assert len(body) == SIZE and body == BODY
    if max_temp == "0":
        assert not finished_early, "without a temp file the upstream waits for the client"
    else:
        assert finished_early, "the upstream was held until the client read"
        # the spool file is unlinked at once: nothing is left behind
        tmp = srv.prefix / "proxy_temp"
        assert not tmp.exists() or not any(tmp.iterdir())


@pytest.mark.parametrize("buffers, message", [
    ("proxy_buffers 2 4k;", '"proxy_busy_buffers_size" must be less than the size of all '
                            '"proxy_buffers" minus one buffer'),
    ("proxy_busy_buffers_size 1k;", '"proxy_busy_buffers_size" must be equal to or greater '
                                    'than the maximum of the value of "proxy_buffer_size" and '
                                    'one of the "proxy_buffers"'),
])
def test_busy_buffers_size_is_checked(ptc, buffers, message):
    srv = ptc.prepare("server { listen 127.0.0.1:%PORT%; location / { "
                      "proxy_pass http://127.0.0.1:1; " + buffers + " } }")
    r = srv.cli("-t")
    assert r.returncode == 1
    assert message in r.stderr, r.stderr
