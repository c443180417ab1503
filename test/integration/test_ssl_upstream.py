"""TLS towards origins: proxy_pass https://, proxy_ssl_verify /
proxy_ssl_trusted_certificate / proxy_ssl_verify_depth, proxy_ssl_server_name /
proxy_ssl_name, proxy_ssl_protocols, proxy_ssl_ciphers, proxy_ssl_certificate(_key),
proxy_ssl_session_reuse.

The origin is backend.Backend with a server-side SSLContext (tlsutil.server_context);
it records each connection's SNI, version, cipher, resumption and client
certificate in conn.tls."""

import socket
import threading

import pytest

import tlsutil
from backend import Backends
from tlsutil import certs, server_context

pytestmark = [tlsutil.needs_tls, pytest.mark.needs_module("http_proxy")]

# nginx 1.22 still defaults to TLSv1 TLSv1.1 TLSv1.2 towards origins too
PROTOCOLS = "proxy_ssl_protocols TLSv1.2 TLSv1.3;\n"


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, b, location, upstream=True):
    """A plain-HTTP front (%PORT%) whose `location /` is `location`; @U is replaced by
    an upstream block named a.test holding b (upstream=False: by b's address)."""
    up = "upstream a.test { server %s; }\n" % b.addr if upstream else ""
    http = (PROTOCOLS + up + "server { listen 127.0.0.1:%%PORT%%; %s }"
            % location.replace("@U", "a.test" if upstream else b.addr))
    return ptc.start(http)


def path(name):
    return certs().path(name)


def conns_tls(b):
    return [c.tls for c in b.connections if c.tls is not None]


def test_proxy_pass_https(ptc, backends):
    b = backends.new(ssl_context=server_context())
    srv = start(ptc, b, "location / { proxy_pass https://@U; }", upstream=False)
    r = srv.get("/x?y=1")
    assert (r.status, r.header("X-Backend")) == (200, b.name)
    assert b.targets == ["/x?y=1"]
    tls = conns_tls(b)
    assert len(tls) == 1 and tls[0].sni is None     # proxy_ssl_server_name is off


class PlainOrigin:
    """A loopback port that answers every connection with a plain HTTP response at once
    (so a TLS client gets bytes that are no ServerHello)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain")
            c.close()

    def close(self):
        self.sock.close()


def test_proxy_pass_https_to_a_plain_origin_fails(ptc):
    origin = PlainOrigin()
    try:
        srv = start(ptc, origin, "location / { proxy_pass https://@U; }")
        assert srv.get("/").status == 502
        assert origin.accepted == 1
    finally:
        origin.close()


@pytest.mark.parametrize("trusted, name, status", [
    ("ca.pem", None, 200),
    ("ca2.pem", None, 502),                # an unknown issuer
    ("ca.pem", "c.test", 502),            # the name does not match the certificate
    ("ca.pem", "a.test", 200),
])
def test_proxy_ssl_verify(ptc, backends, trusted, name, status):
    b = backends.new(ssl_context=server_context())
    loc = "proxy_ssl_verify on; proxy_ssl_trusted_certificate %s; " % path(trusted)
    if name:
        loc += "proxy_ssl_name %s; " % name
    srv = start(ptc, b, "location / { %s proxy_pass https://@U; }" % loc)
    assert srv.get("/").status == status
    assert len(b.requests) == (1 if status == 200 else 0)


def test_proxy_ssl_verify_off_accepts_any_certificate(ptc, backends):
    b = backends.new(ssl_context=server_context("b.test"))
    srv = start(ptc, b, "location / { proxy_ssl_trusted_certificate %s; proxy_pass https://@U; }"
                % path("ca2.pem"))
    assert srv.get("/").status == 200


@pytest.mark.parametrize("depth, status", [("", 200), ("proxy_ssl_verify_depth 0;", 502),
                                           ("proxy_ssl_verify_depth 2;", 200)])
def test_proxy_ssl_verify_depth(ptc, backends, depth, status):
    """The origin's certificate is under an intermediate, which the origin sends."""
    b = backends.new(ssl_context=server_context("a.test", "inter"))
    srv = start(ptc, b, "location / { proxy_ssl_verify on; proxy_ssl_trusted_certificate %s; "
                "%s proxy_pass https://@U; }" % (path("ca.pem"), depth))
    assert srv.get("/").status == status


@pytest.mark.parametrize("conf, sni", [
    ("", None),
    ("proxy_ssl_server_name on;", "a.test"),
    ("proxy_ssl_server_name on; proxy_ssl_name b.test;", "b.test"),
    ("proxy_ssl_server_name off; proxy_ssl_name b.test;", None),
])
def test_proxy_ssl_server_name(ptc, backends, conf, sni):
    b = backends.new(ssl_context=server_context())
    srv = start(ptc, b, "location / { %s proxy_pass https://@U; }" % conf)
    assert srv.get("/").status == 200
    assert [t.sni for t in conns_tls(b)] == [sni]


def test_proxy_ssl_name_is_checked_by_verify(ptc, backends):
    b = backends.new(ssl_context=server_context("b.test"))
    loc = ("proxy_ssl_verify on; proxy_ssl_trusted_certificate %s; proxy_ssl_server_name on; "
           % path("ca.pem"))
    srv = start(ptc, b, "location /a { %s proxy_pass https://@U; } "
                "location /b { %s proxy_ssl_name b.test; proxy_pass https://@U; }" % (loc, loc))
    assert srv.get("/a").status == 502
    assert srv.get("/b").status == 200
    assert [t.sni for t in conns_tls(b)][-1] == "b.test"


@pytest.mark.parametrize("origin, directive, status, version", [
    (("TLSv1.2", "TLSv1.3"), "proxy_ssl_protocols TLSv1.2;", 200, "TLSv1.2"),
    (("TLSv1.2", "TLSv1.3"), "proxy_ssl_protocols TLSv1.3;", 200, "TLSv1.3"),
    ("TLSv1.3", "proxy_ssl_protocols TLSv1.2;", 502, None),
    ("TLSv1.2", "proxy_ssl_protocols TLSv1.3;", 502, None),
])
def test_proxy_ssl_protocols(ptc, backends, origin, directive, status, version):
    b = backends.new(ssl_context=server_context(version=origin))
    srv = start(ptc, b, "location / { %s proxy_pass https://@U; }" % directive)
    assert srv.get("/").status == status
    assert [t.version for t in conns_tls(b)] == ([version] if version else [])


def test_proxy_ssl_ciphers(ptc, backends):
    b = backends.new(ssl_context=server_context())
    srv = start(ptc, b, "location / { proxy_ssl_protocols TLSv1.2; "
                "proxy_ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256; proxy_pass https://@U; }")
    assert srv.get("/").status == 200
    assert [t.cipher for t in conns_tls(b)] == ["ECDHE-RSA-AES128-GCM-SHA256"]


def test_proxy_ssl_certificate(ptc, backends):
    b = backends.new(ssl_context=server_context(client_ca="ca"))
    cert, key = certs().client("client")
    srv = start(ptc, b, "location /with { proxy_ssl_certificate %s; proxy_ssl_certificate_key %s; "
                "proxy_pass https://@U; } location /without { proxy_pass https://@U; }"
                % (cert, key))
    if srv.name == "nginx":
        srv.allow_log_errors()  # nginx logs the origin's certificate_required alert at [crit]
    assert srv.get("/without").status == 502
    assert srv.get("/with").status == 200
    assert conns_tls(b)[-1].peer_cert == certs().der("client.pem")
    assert b.targets == ["/with"]


@pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3"])
@pytest.mark.parametrize("reuse", ["on", "off"])
def test_proxy_ssl_session_reuse(ptc, backends, reuse, version):
    b = backends.new(ssl_context=server_context(version=version))
    srv = start(ptc, b, "location / { proxy_ssl_session_reuse %s; proxy_pass https://@U; }"
                % reuse)
    for _ in range(3):
        assert srv.get("/").status == 200
    reused = [t.reused for t in conns_tls(b)]
    assert len(reused) == 3
    assert reused == ([False, True, True] if reuse == "on" else [False] * 3)


@pytest.mark.portico_only  # nginx keeps one saved session per peer, whatever the location
def test_session_not_shared_between_locations_with_different_tls_settings(ptc, backends):
    """/right trusts the CA that signed the origin's certificate, /wrong only ca2. A
    session made by /right must not let /wrong skip its own verification."""
    b = backends.new(ssl_context=server_context(version="TLSv1.2"))
    verify = "proxy_ssl_verify on; proxy_ssl_trusted_certificate %s;"
    srv = start(ptc, b, "location /right { %s proxy_pass https://@U; } "
                "location /wrong { %s proxy_pass https://@U; }"
                % (verify % path("ca.pem"), verify % path("ca2.pem")))
    assert srv.get("/wrong").status == 502
    assert srv.get("/right").status == 200
    assert srv.get("/wrong").status == 502
    assert srv.get("/right").status == 200
    assert [t.reused for t in conns_tls(b)] == [False, True]
    assert b.targets == ["/right", "/right"]


@pytest.mark.portico_only  # nginx keeps one saved session per peer, whatever the location
def test_session_with_a_client_certificate_not_reused_without_it(ptc, backends):
    """A session made by a location that presents a client certificate must not let a
    location without one resume it (and so be taken for that client)."""
    b = backends.new(ssl_context=server_context(client_ca="ca", version="TLSv1.2"))
    cert, key = certs().client("client")
    srv = start(ptc, b, "location /with { proxy_ssl_certificate %s; proxy_ssl_certificate_key %s; "
                "proxy_pass https://@U; } location /without { proxy_pass https://@U; }"
                % (cert, key))
    assert srv.get("/with").status == 200
    assert srv.get("/without").status == 502
    assert srv.get("/with").status == 200
    assert b.targets == ["/with", "/with"]


def test_session_reuse_needs_verification_again_when_settings_match(ptc, backends):
    """Two locations with the same verify settings: both verify, both succeed."""
    b = backends.new(ssl_context=server_context(version="TLSv1.2"))
    strict = "proxy_ssl_verify on; proxy_ssl_trusted_certificate %s;" % path("ca.pem")
    srv = start(ptc, b, "location /one { %s proxy_pass https://@U; } "
                "location /two { %s proxy_pass https://@U; }" % (strict, strict))
    assert [srv.get(p).status for p in ("/one", "/two", "/one")] == [200, 200, 200]
