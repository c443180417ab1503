"""TLS to upstreams: proxy_pass https:// (address, upstream group, variables) and the
proxy_ssl_* directives, as an nginx operator sees them: verification with its log lines,
SNI, client certificates, protocols, session reuse, keep-alive over TLS, failures
during the handshake, WebSocket, streamed and spooled bodies, PROXY protocol first.

Origins are backend.Backend with a server-side TLS context (tlsutil.server_context),
which records each connection's SNI, version, resumption and client certificate, or
small socket servers defined here for what Backend cannot do."""

import hashlib
import os
import pathlib
import socket
import ssl
import subprocess
import threading
import time

import pytest

import tlsutil
from backend import Backend, Backends, response, slow, tunnel
from conftest import build_request, read_response, wait_for
from tlsutil import certs, server_context

pytestmark = [tlsutil.needs_tls, pytest.mark.needs_module("http_proxy")]

# nginx 1.22 (the reference binary) defaults to TLSv1 TLSv1.1 TLSv1.2 towards origins;
# Portico, like later nginx, to TLSv1.2 TLSv1.3: say it for both
PROTOCOLS = "proxy_ssl_protocols TLSv1.2 TLSv1.3;\n"
VERIFY = "proxy_ssl_verify on; proxy_ssl_trusted_certificate %s;"


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def path(name):
    return certs().path(name)


def front(ptc, body, upstreams="", **kw):
    """A plain-HTTP server on %PORT% with `body` inside; `upstreams` at http level."""
    return ptc.start(PROTOCOLS + upstreams + "server { listen 127.0.0.1:%%PORT%%; %s }" % body,
                     **kw)


def tls_of(b):
    """TLS facts of every connection to Backend b whose handshake completed."""
    return [c.tls for c in b.connections if c.tls is not None]


def origin(backends, name="a.test", **kw):
    """A TLS Backend serving name's RSA certificate (kw: client_ca, version)."""
    return backends.new(ssl_context=server_context(name, **kw))


def log_has(srv, text, timeout=5.0):
    return wait_for(lambda: text in srv.error_log(), timeout=timeout)


# ---------------------------------------------------------------------------
# proxy_pass https://


def test_https_to_an_address(ptc, backends):
    b = origin(backends)
    srv = front(ptc, "location / { proxy_pass https://%s; add_header X-Up $upstream_addr; }"
                % b.addr)
    r = srv.get("/x?y=1")
    assert (r.status, r.header("X-Backend"), r.header("X-Up")) == (200, b.name, b.addr)
    req = b.requests[0]
    assert (req.target, req.header("Host")) == ("/x?y=1", b.addr)
    assert [t.sni for t in tls_of(b)] == [None]          # proxy_ssl_server_name is off


def test_https_to_an_upstream_group_uses_port_443_for_proxy_port(ptc, backends):
    b = origin(backends)
    srv = front(ptc, "location / { proxy_pass https://a.test/in/; "
                "proxy_set_header X-Port $proxy_port; }",
                "upstream a.test { server %s; }\n" % b.addr)
    assert srv.get("/page").status == 200
    req = b.requests[0]
    assert (req.target, req.header("Host"), req.header("X-Port")) == \
        ("/in/page", "a.test", "443")


def test_https_and_http_to_the_same_host_name_stay_apart(ptc, backends):
    """http://localhost:P and https://localhost:Q are different implicit groups."""
    tls, plain = origin(backends), backends.new()
    srv = front(ptc, "location /s { proxy_pass https://localhost:%d; } "
                "location /p { proxy_pass http://localhost:%d; }" % (tls.port, plain.port))
    assert srv.get("/s").header("X-Backend") == tls.name
    assert srv.get("/p").header("X-Backend") == plain.name


def test_https_with_variables(ptc, backends):
    tls, plain = origin(backends), backends.new()
    srv = front(ptc, "location / { proxy_pass $target; }",
                "map $arg_plain $target { default https://%s; 1 http://%s; }\n"
                % (tls.addr, plain.addr))
    assert srv.get("/a").header("X-Backend") == tls.name
    assert srv.get("/b?plain=1").header("X-Backend") == plain.name
    assert len(tls_of(tls)) == 1 and plain.requests[0].target == "/b?plain=1"


class PlainOrigin:
    """Answers every connection at once with a plain HTTP response: a TLS client gets
    bytes that are no ServerHello."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
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
            c.sendall(response(200, b"plain", headers=[("Connection", "close")]))
            c.close()

    def close(self):
        self.sock.close()


def test_https_to_a_plain_http_origin_fails(ptc):
    o = PlainOrigin()
    try:
        srv = front(ptc, "location / { proxy_pass https://%s; }" % o.addr)
        assert srv.get("/").status == 502
        assert o.accepted == 1
    finally:
        o.close()


# ---------------------------------------------------------------------------
# verification


@pytest.mark.parametrize("trusted, status", [("ca.pem", 200), ("ca2.pem", 502)])
def test_verify_against_the_trusted_certificate(ptc, backends, trusted, status):
    b = origin(backends)
    srv = front(ptc, "location / { %s proxy_pass https://a.test; }" % (VERIFY % path(trusted)),
                "upstream a.test { server %s; }\n" % b.addr)
    assert srv.get("/").status == status
    assert len(b.requests) == (status == 200)
    if status == 502:
        # nginx names the last error of the chain (21), Portico the first (20)
        assert log_has(srv, "upstream SSL certificate verify error: (%s) while SSL "
                       "handshaking to upstream"
                       % ("21:unable to verify the first certificate" if srv.name == "nginx"
                          else "20:unable to get local issuer certificate"))


def test_verify_checks_the_name(ptc, backends):
    b = origin(backends, "b.test")
    srv = front(ptc, "location / { %s proxy_pass https://a.test; } "
                "location /b { %s proxy_ssl_name b.test; proxy_pass https://a.test; }"
                % (VERIFY % path("ca.pem"), VERIFY % path("ca.pem")),
                "upstream a.test { server %s; }\n" % b.addr)
    assert srv.get("/").status == 502
    assert log_has(srv, 'upstream SSL certificate does not match "a.test" while SSL '
                   'handshaking to upstream')
    assert srv.get("/b").status == 200
    assert [r.target for r in b.requests] == ["/b"]


def test_verify_off_accepts_any_certificate(ptc, backends):
    b = origin(backends, "b.test")
    srv = front(ptc, "location / { proxy_ssl_trusted_certificate %s; proxy_pass https://%s; }"
                % (path("ca2.pem"), b.addr))
    assert srv.get("/").status == 200


def test_verify_settings_are_inherited_from_server_level(ptc, backends):
    b = origin(backends)
    srv = front(ptc, "%s location / { proxy_pass https://a.test; } "
                "location /off { proxy_ssl_verify off; proxy_pass https://a.test; }"
                % (VERIFY % path("ca2.pem")), "upstream a.test { server %s; }\n" % b.addr)
    assert srv.get("/").status == 502
    assert srv.get("/off").status == 200


def test_verify_without_trusted_certificate_is_a_config_error(ptc):
    srv = ptc.prepare(PROTOCOLS + "server { listen 127.0.0.1:%PORT%; location / { "
                      "proxy_ssl_verify on; proxy_pass https://127.0.0.1:1; } }")
    out = srv.cli("-t")
    assert out.returncode != 0
    assert "no proxy_ssl_trusted_certificate for proxy_ssl_verify" in out.stderr


def test_next_upstream_after_a_verify_failure(ptc, backends):
    bad, good = origin(backends, "b.test"), origin(backends)
    srv = front(ptc, "location / { %s proxy_pass https://a.test; "
                "add_header X-Up $upstream_addr; add_header X-St $upstream_status; }"
                % (VERIFY % path("ca.pem")),
                "upstream a.test { server %s; server %s; }\n" % (bad.addr, good.addr))
    r = srv.get("/")
    assert (r.status, r.header("X-Backend")) == (200, good.name)
    assert r.header("X-Up") == "%s, %s" % (bad.addr, good.addr)
    assert r.header("X-St") == "502, 200"
    assert bad.requests == []
    assert log_has(srv, 'upstream SSL certificate does not match "a.test"')


def test_verify_depth(ptc, backends):
    """The origin sends leaf + intermediate; depth 0 allows no intermediate."""
    b = backends.new(ssl_context=server_context("a.test", "inter"))
    srv = front(ptc, "location / { %s proxy_pass https://a.test; } "
                "location /d0 { %s proxy_ssl_verify_depth 0; proxy_pass https://a.test; }"
                % (VERIFY % path("ca.pem"), VERIFY % path("ca.pem")),
                "upstream a.test { server %s; }\n" % b.addr)
    assert srv.get("/d0").status == 502
    assert srv.get("/").status == 200
    # Portico names the first error (22:certificate chain too long), nginx the last
    assert log_has(srv, "upstream SSL certificate verify error: (2")


# ---------------------------------------------------------------------------
# SNI and proxy_ssl_name


@pytest.mark.parametrize("conf, sni", [
    ("", None),
    ("proxy_ssl_server_name on;", "a.test"),
    ("proxy_ssl_server_name on; proxy_ssl_name B.test:8443;", "B.test"),
    ("proxy_ssl_server_name on; proxy_ssl_name $http_x_name;", "c.test"),
    ("proxy_ssl_name b.test;", None),
])
def test_server_name(ptc, backends, conf, sni):
    b = origin(backends)
    srv = front(ptc, "location / { %s proxy_pass https://a.test; }" % conf,
                "upstream a.test { server %s; }\n" % b.addr)
    assert srv.get("/", headers={"X-Name": "c.test"}).status == 200
    assert [t.sni for t in tls_of(b)] == [sni]


def test_no_sni_for_an_address(ptc, backends):
    """RFC 6066: a literal address is never sent as a server name."""
    b = origin(backends, "default.test")
    srv = front(ptc, "location / { proxy_ssl_server_name on; proxy_pass https://%s; }"
                % b.addr)
    assert srv.get("/").status == 200
    assert [t.sni for t in tls_of(b)] == [None]


# ---------------------------------------------------------------------------
# client certificates, protocols, ciphers, conf commands


@pytest.fixture(scope="module")
def enc_client_key(tmp_path_factory):
    """The client certificate's key encrypted with "secret", and a password file whose
    second line is the password."""
    d = tmp_path_factory.mktemp("keys")
    key = d / "client.enc.key"
    subprocess.run(["openssl", "pkey", "-in", certs().client()[1], "-aes256", "-passout",
                    "pass:secret", "-out", str(key)], check=True, capture_output=True)
    (d / "pw.txt").write_text("wrong\nsecret\n")
    return str(key), str(d / "pw.txt")


def test_client_certificate_with_password_file(ptc, backends, enc_client_key):
    b = origin(backends, client_ca="ca")
    key, pw = enc_client_key
    srv = front(ptc, "location /with { proxy_ssl_certificate %s; proxy_ssl_certificate_key %s; "
                "proxy_ssl_password_file %s; proxy_pass https://%s; } "
                "location /without { proxy_pass https://%s; }"
                % (certs().client()[0], key, pw, b.addr, b.addr))
    srv.allow_log_errors()  # nginx logs the origin's certificate_required alert at [crit]
    assert srv.get("/without").status == 502
    assert srv.get("/with").status == 200
    assert tls_of(b)[0].peer_cert == certs().der("client.pem")
    assert [r.target for r in b.requests] == ["/with"]


@pytest.mark.portico_only  # nginx resumes /with's session for /without: it gets a 200
def test_session_with_a_client_certificate_is_not_resumed_without_it(ptc, backends):
    b = origin(backends, client_ca="ca", version="TLSv1.3")
    cert, key = certs().client()
    srv = front(ptc, "location /with { proxy_ssl_certificate %s; proxy_ssl_certificate_key %s; "
                "proxy_pass https://%s; } location /without { proxy_pass https://%s; }"
                % (cert, key, b.addr, b.addr))
    assert srv.get("/with").status == 200
    assert srv.get("/without").status == 502
    assert srv.get("/with").status == 200
    assert [r.target for r in b.requests] == ["/with", "/with"]
    assert [t.reused for t in tls_of(b)] == [False, True]


def test_certificate_without_key_is_a_config_error(ptc):
    srv = ptc.prepare(PROTOCOLS + "server { listen 127.0.0.1:%%PORT%%; location / { "
                      "proxy_ssl_certificate %s; proxy_pass https://127.0.0.1:1; } }"
                      % certs().client()[0])
    out = srv.cli("-t")
    assert out.returncode != 0
    assert 'no "proxy_ssl_certificate_key" is defined for certificate' in out.stderr


@pytest.mark.parametrize("origin_versions, conf, status, seen", [
    (("TLSv1.2", "TLSv1.3"), "proxy_ssl_protocols TLSv1.2;", 200, ["TLSv1.2"]),
    (("TLSv1.2", "TLSv1.3"), "", 200, ["TLSv1.3"]),
    ("TLSv1.3", "proxy_ssl_protocols TLSv1.2;", 502, []),
    (("TLSv1.2", "TLSv1.3"), "proxy_ssl_conf_command MaxProtocol TLSv1.2;", 200, ["TLSv1.2"]),
])
def test_protocols(ptc, backends, origin_versions, conf, status, seen):
    b = origin(backends, version=origin_versions)
    srv = front(ptc, "location / { %s proxy_pass https://%s; }" % (conf, b.addr))
    assert srv.get("/").status == status
    assert [t.version for t in tls_of(b)] == seen


def test_ciphers(ptc, backends):
    b = origin(backends, version="TLSv1.2")
    srv = front(ptc, "location / { proxy_ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384; "
                "proxy_pass https://%s; }" % b.addr)
    assert srv.get("/").status == 200
    assert [t.cipher for t in tls_of(b)] == ["ECDHE-RSA-AES256-GCM-SHA384"]


# ---------------------------------------------------------------------------
# proxy_ssl_crl


@pytest.fixture(scope="module")
def revoked_ca(tmp_path_factory):
    """A CA of its own with one server certificate (origin.test) that its CRL revokes and
    one (other.test) that it does not. Returns the directory."""
    d = tmp_path_factory.mktemp("crlca")

    def run(*args):
        subprocess.run(["openssl", *args], cwd=str(d), check=True, capture_output=True,
                       env=dict(os.environ, NAME="unused"))
    (d / "ca.cnf").write_text(
        "[ca]\ndefault_ca = c\n[c]\ndatabase = index.txt\nnew_certs_dir = .\n"
        "serial = serial\ncrlnumber = crlnumber\ncertificate = ca.pem\n"
        "private_key = ca.key\ndefault_md = sha256\ndefault_days = 30\n"
        "default_crl_days = 30\npolicy = p\n[p]\ncommonName = supplied\n"
        "[req]\ndistinguished_name = dn\n[dn]\n[v3_ca]\nbasicConstraints = critical,CA:true\n"
        "keyUsage = critical, keyCertSign, cRLSign\n"
        "[srv]\nbasicConstraints = CA:false\nsubjectAltName = DNS:${ENV::NAME}\n")
    (d / "index.txt").write_text("")
    (d / "serial").write_text("10\n")
    (d / "crlnumber").write_text("01\n")
    env = dict(os.environ, NAME="unused")
    subprocess.run(["openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                    "-subj", "/CN=CRL Test CA", "-days", "30", "-config", "ca.cnf",
                    "-extensions", "v3_ca"], cwd=str(d), check=True, capture_output=True,
                   env=env)
    for name in ("origin.test", "other.test"):
        env = dict(os.environ, NAME=name)
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
                        "-out", name + ".csr", "-subj", "/CN=" + name, "-config", "ca.cnf"],
                       cwd=str(d), check=True, capture_output=True, env=env)
        subprocess.run(["openssl", "ca", "-batch", "-config", "ca.cnf", "-extensions", "srv",
                        "-in", name + ".csr", "-out", name + ".pem", "-notext"],
                       cwd=str(d), check=True, capture_output=True, env=env)
    run("ca", "-config", "ca.cnf", "-revoke", "origin.test.pem")
    run("ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem")
    return d


@pytest.mark.parametrize("name, status", [("other.test", 200), ("origin.test", 502)])
def test_crl(ptc, backends, revoked_ca, name, status):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(revoked_ca / (name + ".pem")), str(revoked_ca / (name + ".key")))
    b = backends.new(ssl_context=ctx)
    srv = front(ptc, "location / { %s proxy_ssl_crl %s; proxy_ssl_name %s; "
                "proxy_pass https://%s; }"
                % (VERIFY % (revoked_ca / "ca.pem"), revoked_ca / "crl.pem", name, b.addr))
    assert srv.get("/").status == status
    if status == 502:
        assert log_has(srv, "upstream SSL certificate verify error: (23:certificate revoked)")


# ---------------------------------------------------------------------------
# sessions


@pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3"])
@pytest.mark.parametrize("reuse", ["on", "off"])
def test_session_reuse(ptc, backends, reuse, version):
    b = origin(backends, version=version)
    srv = front(ptc, "location / { proxy_ssl_session_reuse %s; proxy_pass https://%s; }"
                % (reuse, b.addr))
    for _ in range(3):
        assert srv.get("/").status == 200
    assert [t.reused for t in tls_of(b)] == \
        ([False, True, True] if reuse == "on" else [False, False, False])


@pytest.mark.portico_only  # nginx keeps one session per peer for every location
def test_sessions_are_kept_apart_by_verify_settings(ptc, backends):
    """/lax does not verify; its session must not let /strict (which trusts only ca2,
    not the origin's issuer) skip verification by resuming."""
    b = origin(backends, version="TLSv1.3")
    srv = front(ptc, "location /lax { proxy_pass https://%s; } "
                "location /strict { %s proxy_pass https://%s; }"
                % (b.addr, VERIFY % path("ca2.pem"), b.addr))
    assert srv.get("/lax").status == 200
    assert srv.get("/lax").status == 200
    assert srv.get("/strict").status == 502
    assert [r.target for r in b.requests] == ["/lax", "/lax"]
    assert [t.reused for t in tls_of(b)] == [False, True]


@pytest.mark.portico_only  # nginx keeps one session per peer, whatever the name
def test_sessions_are_kept_apart_by_name(ptc, backends):
    b = origin(backends, version="TLSv1.2")
    loc = "location /%s { proxy_ssl_server_name on; proxy_ssl_name %s; proxy_pass https://%s; } "
    srv = front(ptc, loc % ("a", "a.test", b.addr) + loc % ("b", "b.test", b.addr))
    for p in ("/a", "/b", "/a", "/b"):
        assert srv.get(p).status == 200
    assert [(t.sni, t.reused) for t in tls_of(b)] == \
        [("a.test", False), ("b.test", False), ("a.test", True), ("b.test", True)]


def test_locations_with_the_same_settings_share_sessions(ptc, backends):
    b = origin(backends, version="TLSv1.2")
    strict = VERIFY % path("ca.pem")
    srv = front(ptc, "%s location /one { proxy_pass https://a.test; } "
                "location /two { proxy_pass https://a.test; }" % strict,
                "upstream a.test { server %s; }\n" % b.addr)
    assert [srv.get(p).status for p in ("/one", "/two")] == [200, 200]
    assert [t.reused for t in tls_of(b)] == [False, True]


# ---------------------------------------------------------------------------
# keep-alive over TLS

KEEPALIVE = ("proxy_http_version 1.1; proxy_set_header Connection \"\"; ")


def test_keepalive_carries_several_requests_on_one_tls_connection(ptc, backends):
    b = origin(backends)
    srv = front(ptc, "location / { %s proxy_pass https://a.test; }" % KEEPALIVE,
                "upstream a.test { server %s; keepalive 4; }\n" % b.addr)
    for i in range(5):
        assert srv.get("/%d" % i).status == 200
    assert len(b.connections) == 1
    assert [r.index for r in b.requests] == [0, 1, 2, 3, 4]


@pytest.mark.portico_only  # nginx's pool hands any connection to the peer to any location
def test_pooled_tls_connection_only_for_the_same_settings(ptc, backends):
    b = origin(backends, version="TLSv1.2")
    srv = front(ptc, "location /a { %s proxy_pass https://a.test; } "
                "location /b { %s %s proxy_pass https://a.test; } "
                "location /c { %s %s proxy_pass https://a.test; }"
                % (KEEPALIVE, KEEPALIVE, VERIFY % path("ca.pem"), KEEPALIVE,
                   VERIFY % path("ca.pem")),
                "upstream a.test { server %s; keepalive 4; }\n" % b.addr)
    for p in ("/a", "/b", "/c", "/a"):
        assert srv.get(p).status == 200
    # /b and /c have the same settings: one connection; /a its own
    by_conn = {}
    for r in b.requests:
        by_conn.setdefault(r.conn_id, []).append(r.target)
    assert sorted(by_conn.values()) == [["/a", "/a"], ["/b", "/c"]]


class ShutdownWatcher:
    """A TLS origin answering one request per connection and then waiting for the
    proxy to close: records "close_notify" or "eof" (closed without one)."""

    def __init__(self):
        self.ctx = server_context()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.ends = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.settimeout(10)
        try:
            s = self.ctx.wrap_socket(c, server_side=True, suppress_ragged_eofs=False)
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(4096)
            s.sendall(response(200, b"ok", headers=[("Connection", "keep-alive")]))
            while s.recv(4096):
                pass
            self.ends.append("close_notify")
        except ssl.SSLEOFError:
            self.ends.append("eof")
        except OSError as e:
            self.ends.append(repr(e))
        finally:
            c.close()

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("keepalive", [False, True])
def test_tls_connection_is_closed_with_close_notify(ptc, keepalive):
    """After a response (no keep-alive), or when an idle pooled connection times out."""
    o = ShutdownWatcher()
    try:
        srv = front(ptc, "location / { %s proxy_pass https://a.test; }"
                    % (KEEPALIVE if keepalive else ""),
                    "upstream a.test { server %s; keepalive 2; keepalive_timeout 1s; }\n"
                    % o.addr)
        assert srv.get("/").status == 200
        assert wait_for(lambda: o.ends, timeout=5)
        assert o.ends == ["close_notify"]
    finally:
        o.close()


# ---------------------------------------------------------------------------
# failures during the handshake


class ResettingOrigin:
    """Reads the ClientHello, then resets the connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.hellos = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(5)
            try:
                if c.recv(5)[:1] == b"\x16":
                    self.hellos += 1
            except OSError:
                pass
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            c.close()

    def close(self):
        self.sock.close()


def test_origin_resetting_mid_handshake_gives_502(ptc):
    o = ResettingOrigin()
    try:
        srv = front(ptc, "location / { proxy_pass https://%s; }" % o.addr)
        assert srv.get("/").status == 502
        assert o.hellos == 1
        assert log_has(srv, "while SSL handshaking to upstream")
    finally:
        o.close()


def test_handshake_is_bounded_by_proxy_connect_timeout(ptc, backends):
    b = backends.new(silent=True)   # accepts, never answers the ClientHello
    srv = front(ptc, "location / { proxy_connect_timeout 1s; proxy_pass https://%s; }" % b.addr)
    t0 = time.monotonic()
    assert srv.get("/", timeout=10).status == 504
    assert time.monotonic() - t0 < 5
    assert log_has(srv, "upstream timed out (110: Connection timed out) while SSL "
                   "handshaking to upstream")


def test_reset_then_next_upstream(ptc, backends):
    o = ResettingOrigin()
    try:
        good = origin(backends)
        srv = front(ptc, "location / { proxy_pass https://u; }",
                    "upstream u { server %s; server %s; }\n" % (o.addr, good.addr))
        r = srv.get("/")
        assert (r.status, r.header("X-Backend")) == (200, good.name)
    finally:
        o.close()


# ---------------------------------------------------------------------------
# what runs over the TLS connection


def test_websocket_through_a_tls_origin(ptc, backends):
    def handler(req):
        return tunnel(response(101, headers=[("Upgrade", "websocket"),
                                             ("Connection", "Upgrade")], length=False))
    b = backends.new(handler, ssl_context=server_context())
    srv = front(ptc, "location / { proxy_pass https://%s; proxy_http_version 1.1; "
                "proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection upgrade; }"
                % b.addr)
    s = srv.connect()
    try:
        s.sendall(build_request("/ws", headers={"Upgrade": "websocket",
                                                "Connection": "Upgrade"}))
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        assert head.startswith(b"HTTP/1.1 101")
        for msg in (b"hello", b"x" * 100000):
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(65536)
                assert chunk
                got += chunk
            assert got == msg
    finally:
        s.close()


@pytest.mark.parametrize("chunked", [False, True])
def test_streamed_request_body_over_tls(ptc, backends, chunked):
    b = origin(backends)
    srv = front(ptc, "location / { proxy_request_buffering off; proxy_http_version 1.1; "
                "client_max_body_size 10m; proxy_pass https://%s; }" % b.addr)
    body = os.urandom(300000)
    headers = {"Transfer-Encoding": "chunked"} if chunked else None
    data = body
    if chunked:
        data = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 70000]), body[i:i + 70000])
                        for i in range(0, len(body), 70000)) + b"0\r\n\r\n"
    s = srv.connect()
    try:
        req = build_request("/up", method="POST", headers=headers, body=None if chunked
                            else data)
        if chunked:
            req = req + data
        s.sendall(req)
        r = read_response(s, timeout=10)
    finally:
        s.close()
    assert r.status == 200
    assert hashlib.sha256(b.requests[0].body).hexdigest() == hashlib.sha256(body).hexdigest()


def test_large_response_spooled_for_a_slow_tls_client(ptc, backends):
    """The origin speaks TLS, the client too, and reads slowly: the response spools to a
    temp file and goes to the client through TLS from there."""
    big = os.urandom(3 * 1024 * 1024)
    b = backends.new(lambda req: response(200, big), ssl_context=server_context())
    srv = ptc.start(PROTOCOLS + tlsutil.ssl_server(
        "location / { proxy_buffers 4 8k; proxy_busy_buffers_size 16k; "
        "proxy_pass https://%s; }" % b.addr))
    s = tlsutil.connect(srv.port)
    try:
        s.sendall(build_request("/big", host="a.test"))
        time.sleep(0.5)          # let the origin deliver everything while nobody reads
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                if len(rest) >= len(big):
                    break
    finally:
        s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert hashlib.sha256(rest).digest() == hashlib.sha256(big).digest()
    assert len(b.connections) == 1


class PPTLSOrigin:
    """Reads a PROXY v1 line in plain, then does a TLS handshake and answers."""

    def __init__(self):
        self.ctx = server_context()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.lines = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(5)
            try:
                line = b""
                while not line.endswith(b"\r\n"):
                    line += c.recv(1)
                self.lines.append(line)
                s = self.ctx.wrap_socket(c, server_side=True)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += s.recv(4096)
                s.sendall(response(200, b"tls after proxy", headers=[("Connection", "close")]))
                s.close()
            except (OSError, ssl.SSLError):
                c.close()

    def close(self):
        self.sock.close()


@pytest.mark.portico_only  # nginx has no PROXY protocol towards HTTP origins
def test_proxy_protocol_header_goes_first_in_plain(ptc):
    o = PPTLSOrigin()
    try:
        srv = front(ptc, "location / { proxy_protocol on; proxy_pass https://%s; }" % o.addr)
        r = srv.get("/")
        assert (r.status, r.body) == (200, b"tls after proxy")
        assert len(o.lines) == 1 and o.lines[0].startswith(b"PROXY TCP4 127.0.0.1 127.0.0.1 ")
    finally:
        o.close()


@pytest.mark.portico_only  # nginx 1.22 compares an address with DNS names only: 502 for both
def test_verify_an_address_against_the_certificate_ip(ptc, backends):
    """proxy_pass https://127.0.0.1:P: the name checked is the address, which
    default.test's certificate lists as an IP SAN; a.test's does not."""
    good, bad = origin(backends, "default.test"), origin(backends, "a.test")
    srv = front(ptc, "%s location /good { proxy_pass https://%s; } "
                "location /bad { proxy_pass https://%s; }"
                % (VERIFY % path("ca.pem"), good.addr, bad.addr))
    assert srv.get("/good").status == 200
    assert srv.get("/bad").status == 502
    assert log_has(srv, 'upstream SSL certificate does not match "127.0.0.1"')


def test_if_block_inherits_https(ptc, backends):
    """An `if` inside a location proxies as the location does, over TLS too."""
    b = origin(backends)
    srv = front(ptc, "location / { proxy_pass https://%s; "
                "if ($arg_x) { add_header X-If yes always; } }" % b.addr)
    r = srv.get("/?x=1")
    assert (r.status, r.header("X-If"), r.header("X-Backend")) == (200, "yes", b.name)
    assert len(tls_of(b)) == 1
