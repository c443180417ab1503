"""The client's address behind proxies: realip (set_real_ip_from,
real_ip_header, real_ip_recursive), PROXY protocol v1/v2 on listen, and
PROXY protocol towards origins (proxy_protocol, a Portico extension)."""
import socket
import struct
import threading

import pytest

from conftest import parse_response, read_response

SHOW = 'return 200 "$remote_addr|$realip_remote_addr";'


def ask(srv, headers=None, prefix=b""):
    s = srv.connect()
    head = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += "%s: %s\r\n" % (k, v)
    s.sendall(prefix + (head + "\r\n").encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def body(srv, headers=None, prefix=b""):
    return parse_response(ask(srv, headers, prefix)).body.decode()


def test_x_real_ip_from_a_trusted_peer(ptc):
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; set_real_ip_from 127.0.0.1; "
                    "location / { " + SHOW + " } }")
    assert body(srv, {"X-Real-IP": "203.0.113.7"}) == "203.0.113.7|127.0.0.1"
    assert body(srv) == "127.0.0.1|127.0.0.1"


def test_untrusted_peer_is_not_believed(ptc):
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; set_real_ip_from 10.0.0.0/8; "
                    "location / { " + SHOW + " } }")
    assert body(srv, {"X-Real-IP": "203.0.113.7"}) == "127.0.0.1|127.0.0.1"


@pytest.mark.parametrize("recursive, expected", [("off", "10.0.0.6"), ("on", "198.51.100.1")])
def test_x_forwarded_for_recursive(ptc, recursive, expected):
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; set_real_ip_from 127.0.0.1; "
                    "set_real_ip_from 10.0.0.0/8; real_ip_header X-Forwarded-For; "
                    "real_ip_recursive " + recursive + "; location / { " + SHOW + " } }")
    xff = "192.0.2.99, 198.51.100.1, 10.0.0.5, 10.0.0.6"
    assert body(srv, {"X-Forwarded-For": xff}) == expected + "|127.0.0.1"


def test_ipv6_in_x_forwarded_for_and_access_log(ptc):
    srv = ptc.start("log_format a '$remote_addr'; server { listen 127.0.0.1:%PORT%; "
                    "access_log logs/a.log a; set_real_ip_from 127.0.0.0/8; "
                    "real_ip_header X-Forwarded-For; location / { " + SHOW + " } }")
    assert body(srv, {"X-Forwarded-For": "2001:db8::7"}) == "2001:db8::7|127.0.0.1"
    assert srv.wait_for(lambda: "2001:db8::7" in srv.access_log("a.log"))


def test_keep_alive_requests_each_get_their_own_address(ptc):
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; set_real_ip_from 127.0.0.1; "
                    "location / { " + SHOW + " } }")
    s = srv.connect()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Real-IP: 192.0.2.1\r\n\r\n")
    assert read_response(s).body == b"192.0.2.1|127.0.0.1"
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(s).body == b"127.0.0.1|127.0.0.1"
    s.close()


PP = 'return 200 "$proxy_protocol_addr:$proxy_protocol_port|$remote_addr";'


def test_proxy_protocol_v1_on_listen(ptc):
    srv = ptc.start("server { listen 127.0.0.1:%PORT% proxy_protocol; location / { " + PP
                    + " } }")
    line = b"PROXY TCP4 192.0.2.10 127.0.0.1 5555 80\r\n"
    assert body(srv, prefix=line) == "192.0.2.10:5555|127.0.0.1"


def v2_header(src, sport, dst, dport):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    addrs = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
    return sig + b"\x21\x11" + struct.pack("!H", len(addrs)) + addrs


def test_proxy_protocol_v2_and_realip(ptc):
    srv = ptc.start("server { listen 127.0.0.1:%PORT% proxy_protocol; "
                    "set_real_ip_from 127.0.0.1; real_ip_header proxy_protocol; "
                    "location / { " + PP + " } }")
    assert body(srv, prefix=v2_header("198.51.100.3", 4242, "127.0.0.1", 80)) == \
        "198.51.100.3:4242|198.51.100.3"


def test_proxy_protocol_split_over_reads_and_keepalive(ptc):
    srv = ptc.start("server { listen 127.0.0.1:%PORT% proxy_protocol; location / { " + PP
                    + " } }")
    s = srv.connect()
    s.sendall(b"PROXY TCP4 192.0.2.1")
    s.sendall(b"1 127.0.0.1 1234 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(s).body == b"192.0.2.11:1234|127.0.0.1"
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(s).body == b"192.0.2.11:1234|127.0.0.1"
    s.close()


def test_broken_proxy_protocol_header_closes(ptc):
    srv = ptc.start("server { listen 127.0.0.1:%PORT% proxy_protocol; location / { " + PP
                    + " } }")
    assert ask(srv, prefix=b"PROXY TCP9 x y z w\r\n") == b""
    assert ask(srv, prefix=b"") == b""  # a plain request is not a PROXY header
    srv.allow_log_errors()


class RawOrigin:
    """A one-shot origin that records the raw bytes of each connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            self.received.append(data)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            c.close()

    def close(self):
        self.sock.close()


@pytest.mark.portico_only
@pytest.mark.needs_module("http_proxy")
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_proxy_protocol_to_origin(ptc, version):
    origin = RawOrigin()
    try:
        srv = ptc.start("server { listen 127.0.0.1:%PORT%; location / { proxy_pass "
                        "http://127.0.0.1:" + str(origin.port) + "; proxy_protocol "
                        + version + "; } }")
        s = srv.connect()
        s.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(s).body == b"ok"
        client_port = s.getsockname()[1]
        s.close()
        data = origin.received[0]
        if version == "v1":
            want = ("PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n" % (client_port, srv.port)).encode()
            assert data.startswith(want + b"GET /x HTTP/1.0\r\n"), data
        else:
            want = v2_header("127.0.0.1", client_port, "127.0.0.1", srv.port)
            assert data.startswith(want + b"GET /x HTTP/1.0\r\n"), data
    finally:
        origin.close()
