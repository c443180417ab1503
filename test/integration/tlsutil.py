"""TLS material and client helpers for the test_ssl*.py files.

certs() makes (once per test process, with the openssl CLI, in a temporary directory
removed at exit) everything the TLS tests need and returns a Certs object:

    ca, ca2            two unrelated CAs (RSA-2048 "Portico Test CA", P-256 "Other Test CA")
    inter, inter2      intermediate CAs: ca -> inter -> inter2
    server certs       for a.test, b.test, default.test: RSA-2048 and ECDSA P-256, SAN
                       DNS:<name> (default.test also DNS:localhost, IP:127.0.0.1);
                       subject "/O=Portico Test/OU=<kind>/CN=<name>"; a.test.inter.pem:
                       a.test (P-256) under inter, the file holding leaf and inter
    client certs       client (ca), client_ca2 (ca2), client_expired (ca, 2020),
                       client_revoked (ca, listed in crl.pem), client_deep (inter) and
                       client_deeper (inter2), whose *.chain.pem hold the intermediates
    crl.pem            ca's CRL revoking client_revoked
    a.test.rsa.enc.key the a.test RSA key encrypted with "secret"; passwords.txt holds a
                       wrong password then the right one, bad-passwords.txt only the wrong one
    dhparam.pem        ffdhe2048 parameters
    ticket1/2.key      80-byte session ticket keys; ticket1/2_48.key 48-byte ones
    ocsp-a.test.der    an OCSP response (status good, signed by ca) for a.test's RSA cert

Client side: client_context(), connect(), https_get() (Python's ssl), s_client()
(`openssl s_client` for what Python cannot do: sigalgs, groups, -status,
renegotiation), client_hello() and BioClient (drive a handshake by hand, e.g. a
byte at a time), and needs_tls (skip when the binary under test has no TLS module).
"""

import atexit
import os
import pathlib
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings

import pytest

from conftest import BIN, build_request, read_response

SERVER_NAMES = ("a.test", "b.test", "default.test")
PASSWORD = "secret"

# Serial numbers (hex, as $ssl_client_serial and openssl print them).
SERIALS = {
    "ca": "01", "ca2": "02", "inter": "03",
    "a.test.rsa": "2001", "a.test.ecdsa": "2002", "b.test.rsa": "2003",
    "b.test.ecdsa": "2004", "default.test.rsa": "2005", "default.test.ecdsa": "2006",
    "a.test.inter": "2007",
    "client": "1001", "client_revoked": "1002", "client_ca2": "1003", "client_deep": "1004",
    "inter2": "04", "client_deeper": "1005",
}
CLIENT_SUBJECT = "/O=Portico Test/OU=clients/CN=%s"
CA_SUBJECT = "/O=Portico Test/CN=Portico Test CA"


def _tls_in_binary():
    """True if the binary under test has TLS: its -V names --with-http_ssl_module (as
    nginx's does), or PTC_FORCE_TLS_TESTS=1 is set."""
    if os.environ.get("PTC_FORCE_TLS_TESTS") == "1":
        return True
    try:
        out = subprocess.run([BIN, "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return True  # let the tests report the real problem
    return "--with-http_ssl_module" in out.stdout + out.stderr


needs_tls = pytest.mark.skipif(
    not _tls_in_binary(),
    reason="the binary's -V does not name --with-http_ssl_module (set PTC_FORCE_TLS_TESTS=1 "
    "to run the TLS tests anyway)")


# ---------------------------------------------------------------------------
# certificate factory


def _run(args, cwd, env=None):
    r = subprocess.run(["openssl"] + args, cwd=str(cwd), capture_output=True, timeout=60,
                       env=dict(os.environ, **dict({"PTC_SAN": "DNS:unused"}, **(env or {}))))
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args),
                                                     r.stderr.decode(errors="replace")))
    return r.stdout


class Certs:
    """Paths of the generated material (see the module docstring)."""

    def __init__(self, root):
        self.dir = pathlib.Path(root)

    def path(self, name):
        """Absolute path (str) of a generated file."""
        p = self.dir / name
        if not p.exists():
            raise KeyError("no generated file %s" % name)
        return str(p)

    # servers

    def cert(self, name, kind="rsa"):
        """Server certificate of name ("a.test"...), kind "rsa" or "ecdsa"."""
        return self.path("%s.%s.pem" % (name, kind))

    def key(self, name, kind="rsa"):
        return self.path("%s.%s.key" % (name, kind))

    def der(self, name, kind="rsa"):
        """DER bytes of a certificate file (first certificate in it)."""
        if not name.endswith(".pem"):
            name = "%s.%s.pem" % (name, kind)
        return ssl.PEM_cert_to_DER_cert((self.dir / name).read_text())

    def ssl_lines(self, name, *kinds):
        """nginx config lines serving name's certificates of the given kinds (default
        rsa), e.g. ssl_lines("a.test", "rsa", "ecdsa")."""
        return "".join("ssl_certificate %s; ssl_certificate_key %s; "
                       % (self.cert(name, k), self.key(name, k)) for k in kinds or ("rsa",))

    def which(self, der):
        """The "name.kind" of the server certificate whose DER is der, or None."""
        for name in SERVER_NAMES:
            for kind in ("rsa", "ecdsa"):
                if self.der(name, kind) == der:
                    return "%s.%s" % (name, kind)
        return None

    # clients and CAs

    def client(self, name="client"):
        """(certfile, keyfile) of a client certificate for load_cert_chain."""
        cert = "%s.chain.pem" % name if name.startswith("client_deep") else "%s.pem" % name
        return self.path(cert), self.path("%s.key" % name)

    def pem(self, name):
        """Text of name.pem (a certificate)."""
        return (self.dir / ("%s.pem" % name)).read_text()


_CERTS = None


def certs():
    """The Certs of this process, generated on first use."""
    global _CERTS
    if _CERTS is None:
        root = tempfile.mkdtemp(prefix="ptc-tls-")
        atexit.register(shutil.rmtree, root, True)
        _make_all(pathlib.Path(root))
        _CERTS = Certs(root)
    return _CERTS


REQ_CNF = """[req]
distinguished_name = dn
[dn]
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[rsa_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $ENV::PTC_SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ecdsa_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $ENV::PTC_SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _keygen(name, kind):
    if kind == "rsa":
        return ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", name + ".key"]
    return ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", name + ".key"]


def _sign(d, name, subj, issuer, ext, san="DNS:unused", key=None):
    """name.pem for key (default name.key) signed by issuer (its .pem/.key), with the
    REQ_CNF section ext; issuer None: self-signed."""
    args = ["req", "-new", "-x509", "-config", "req.cnf", "-extensions", ext,
            "-key", key or name + ".key", "-subj", subj, "-set_serial", "0x" + SERIALS[name],
            "-days", "3650", "-sha256", "-out", name + ".pem"]
    if issuer:
        args += ["-CA", issuer + ".pem", "-CAkey", issuer + ".key"]
    _run(args, d, env={"PTC_SAN": san})


CA_CNF = """[ca]
default_ca = test_ca
[test_ca]
dir = .
database = ./index.txt
new_certs_dir = ./newcerts
serial = ./serial
crlnumber = ./crlnumber
certificate = ./ca.pem
private_key = ./ca.key
default_md = sha256
default_crl_days = 3650
policy = any
unique_subject = no
[any]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
"""


def _make_keys(d):
    """Every private key, the generations running in parallel (RSA is the slow part)."""
    jobs = [("ca", "rsa"), ("server-rsa", "rsa"), ("ca2", "ec"), ("inter", "ec"),
            ("inter2", "ec")]
    jobs += [("%s.ecdsa" % n, "ec") for n in SERVER_NAMES]
    jobs += [(n, "ec") for n in ("client", "client_revoked", "client_ca2", "client_deep",
                                 "client_deeper", "client_expired")]
    procs = [subprocess.Popen(["openssl"] + _keygen(n, k), cwd=str(d),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for n, k in jobs]
    for p in procs:
        err = p.communicate(timeout=60)[1]
        if p.returncode != 0:
            raise RuntimeError("openssl genpkey failed: %s" % err.decode(errors="replace"))


def _make_all(d):
    (d / "req.cnf").write_text(REQ_CNF)
    _make_keys(d)
    _sign(d, "ca", CA_SUBJECT, None, "ca_ext")
    _sign(d, "ca2", "/O=Elsewhere/CN=Other Test CA", None, "ca_ext")
    _sign(d, "inter", "/O=Portico Test/CN=Portico Test Intermediate", "ca", "ca_ext")
    _sign(d, "inter2", "/O=Portico Test/CN=Portico Test Intermediate 2", "inter", "ca_ext")

    # servers: one RSA key shared by the RSA certs, one P-256 key per ECDSA cert
    for name in SERVER_NAMES:
        san = "DNS:%s" % name
        if name == "default.test":
            san += ", DNS:localhost, IP:127.0.0.1"
        shutil.copyfile(d / "server-rsa.key", d / ("%s.rsa.key" % name))
        for kind in ("rsa", "ecdsa"):
            _sign(d, "%s.%s" % (name, kind), "/O=Portico Test/OU=%s/CN=%s" % (kind, name),
                  "ca", kind + "_ext", san)

    # a.test under the intermediate: a.test.inter.pem holds the leaf and inter
    _sign(d, "a.test.inter", "/O=Portico Test/OU=inter/CN=a.test", "inter", "ecdsa_ext",
          "DNS:a.test", key="a.test.ecdsa.key")
    shutil.copyfile(d / "a.test.ecdsa.key", d / "a.test.inter.key")
    (d / "a.test.inter.pem").write_text((d / "a.test.inter.pem").read_text() +
                                        (d / "inter.pem").read_text())

    # clients
    for name, issuer in (("client", "ca"), ("client_revoked", "ca"), ("client_ca2", "ca2"),
                         ("client_deep", "inter"), ("client_deeper", "inter2")):
        _sign(d, name, CLIENT_SUBJECT % name, issuer, "client_ext")
    (d / "client_deep.chain.pem").write_text((d / "client_deep.pem").read_text() +
                                             (d / "inter.pem").read_text())
    (d / "client_deeper.chain.pem").write_text((d / "client_deeper.pem").read_text() +
                                               (d / "inter2.pem").read_text() +
                                               (d / "inter.pem").read_text())

    # an expired client and the CRL: `openssl ca` (x509 -days cannot go back in time)
    (d / "ca.cnf").write_text(CA_CNF + REQ_CNF.split("[dn]")[1])
    (d / "newcerts").mkdir()
    (d / "index.txt").write_text("")
    (d / "serial").write_text("1010\n")
    (d / "crlnumber").write_text("01\n")
    _run(["req", "-new", "-config", "req.cnf", "-key", "client_expired.key", "-subj",
          CLIENT_SUBJECT % "client_expired", "-out", "client_expired.csr"], d)
    _run(["ca", "-config", "ca.cnf", "-batch", "-notext", "-startdate", "20200101000000Z",
          "-enddate", "20200201000000Z", "-extensions", "client_ext",
          "-in", "client_expired.csr", "-out", "client_expired.pem"], d)
    _run(["ca", "-config", "ca.cnf", "-revoke", "client_revoked.pem"], d)
    _run(["ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem"], d)

    # key material
    _run(["pkey", "-in", "a.test.rsa.key", "-aes256", "-passout", "pass:" + PASSWORD,
          "-out", "a.test.rsa.enc.key"], d)
    (d / "passwords.txt").write_text("not-it\n%s\n" % PASSWORD)
    (d / "bad-passwords.txt").write_text("not-it\n")
    _run(["genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048",
          "-out", "dhparam.pem"], d)
    for i in (1, 2):
        (d / ("ticket%d.key" % i)).write_bytes(os.urandom(80))
        (d / ("ticket%d_48.key" % i)).write_bytes(os.urandom(48))

    # a "good" OCSP response for a.test's RSA certificate, signed by the CA
    (d / "ocsp-index.txt").write_text("V\t351231235959Z\t\t%s\tunknown\t/CN=a.test\n"
                                      % SERIALS["a.test.rsa"])
    _run(["ocsp", "-issuer", "ca.pem", "-cert", "a.test.rsa.pem", "-no_nonce",
          "-reqout", "ocsp-req.der"], d)
    _run(["ocsp", "-index", "ocsp-index.txt", "-rsigner", "ca.pem", "-rkey", "ca.key",
          "-CA", "ca.pem", "-reqin", "ocsp-req.der", "-ndays", "30",
          "-respout", "ocsp-a.test.der"], d)


# ---------------------------------------------------------------------------
# Python ssl servers (for backend.Backend(ssl_context=...))


def server_context(name="a.test", kind="rsa", *, client_ca=None, version=None):
    """A server-side SSLContext serving name's certificate of kind ("rsa", "ecdsa",
    "inter"); client_ca: require a client certificate from that CA; version as for
    client_context."""
    c = certs()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(c.cert(name, kind), c.key(name, kind))
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(c.path(client_ca + ".pem"))
    if version is not None:
        lo, hi = (version, version) if isinstance(version, str) else version
        ctx.minimum_version, ctx.maximum_version = VERSIONS[lo], VERSIONS[hi]
    return ctx


# ---------------------------------------------------------------------------
# Python ssl clients

VERSIONS = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
            "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}


def client_context(*, ca="ca", verify=True, version=None, ciphers=None, alpn=None,
                   client=None, tickets=True):
    """An ssl.SSLContext for a client.

    ca: trust this generated CA (verify=False: accept any certificate, no hostname
    check); version: "TLSv1.2" or ("TLSv1.2", "TLSv1.3") min..max; ciphers: a TLS 1.2
    cipher string; alpn: list of protocols; client: a client certificate name
    ("client", "client_ca2", ...); tickets=False: do not ask for session tickets.
    """
    c = certs()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(c.path(ca + ".pem"))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        lo, hi = (version, version) if isinstance(version, str) else version
        with warnings.catch_warnings():  # old versions on purpose: they must be refused
            warnings.simplefilter("ignore", DeprecationWarning)
            if VERSIONS[lo] < ssl.TLSVersion.TLSv1_2:
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version, ctx.maximum_version = VERSIONS[lo], VERSIONS[hi]
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if client:
        ctx.load_cert_chain(*c.client(client))
    if not tickets:
        ctx.options |= ssl.OP_NO_TICKET
    return ctx


_DEFAULT_CTX = []


def default_context():
    """One shared client_context() (a saved session can only be reused with the context
    that made it)."""
    if not _DEFAULT_CTX:
        _DEFAULT_CTX.append(client_context())
    return _DEFAULT_CTX[0]


def connect(port, *, sni="a.test", ctx=None, session=None, timeout=5.0):
    """A TLS connection (handshake done) to 127.0.0.1:port; sni=None sends no SNI;
    ctx defaults to default_context()."""
    ctx = ctx or default_context()
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=sni, session=session)
    except BaseException:
        raw.close()
        raise


class Result:
    """What https_get saw: the response and the TLS facts of the connection."""

    def __init__(self, sock, resp):
        self.response = resp
        self.status = resp.status
        self.body = resp.body
        self.text = resp.text
        self.version = sock.version()
        self.cipher = sock.cipher()[0]
        self.peer_der = sock.getpeercert(binary_form=True)
        self.session = sock.session
        self.reused = sock.session_reused
        self.alpn = sock.selected_alpn_protocol()

    def header(self, name):
        return self.response.header(name)


def https_get(port, path="/", *, sni="a.test", host=None, ctx=None, session=None,
              headers=None, method="GET", timeout=5.0):
    """One request over a fresh TLS connection; returns a Result. Host defaults to the
    SNI name (or "localhost" without SNI)."""
    s = connect(port, sni=sni, ctx=ctx, session=session, timeout=timeout)
    try:
        s.sendall(build_request(path, method=method, headers=headers,
                                host=host or sni or "localhost"))
        resp = read_response(s, head=(method == "HEAD"), timeout=timeout)
        return Result(s, resp)
    finally:
        s.close()


def handshake_fails(port, **kw):
    """True if the TLS handshake to port is refused (an SSL error or a closed
    connection); kw as for connect()."""
    try:
        s = connect(port, **kw)
    except (ssl.SSLError, ConnectionError, socket.timeout):
        return True
    s.close()
    return False


# ---------------------------------------------------------------------------
# openssl s_client


def s_client(port, *args, sni="a.test", data=b"", timeout=10.0, ca="ca"):
    """Run `openssl s_client -connect 127.0.0.1:port -servername sni [args]`, feeding
    data on stdin (with -ign_eof when data is given, so the reply is read to the
    server's close). Returns stdout + stderr as text."""
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port]
    if sni:
        cmd += ["-servername", sni]
    else:
        cmd += ["-noservername"]
    if ca:
        cmd += ["-CAfile", certs().path(ca + ".pem")]
    if data:
        cmd.append("-ign_eof")
    cmd += list(args)
    try:
        r = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return ((e.stdout or b"") + (e.stderr or b"")).decode(errors="replace")
    return (r.stdout + r.stderr).decode(errors="replace")


def s_client_field(out, prefix):
    """The rest of the first line of s_client output starting with prefix (stripped),
    or None."""
    for line in out.splitlines():
        line = line.strip()
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    return None


def handshake_ok(out):
    """True if s_client's output shows a completed handshake."""
    return "Cipher is (NONE)" not in out and ("New, TLSv" in out or "Reused, TLSv" in out)


# ---------------------------------------------------------------------------
# handshakes driven by hand


def client_hello(sni="a.test", ctx=None):
    """The bytes (TLS records) of a ClientHello that ctx (default: no verification)
    would send."""
    obj = ssl_object(sni, ctx)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return obj.outgoing.read()


def ssl_object(sni="a.test", ctx=None):
    ctx = ctx or client_context(verify=False)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    obj.incoming, obj.outgoing = inc, out
    return obj


class BioClient:
    """A TLS client over a plain socket through memory BIOs, so the test decides how the
    bytes are written: piece=N sends at most N bytes per send() (with `pause` seconds
    between sends)."""

    def __init__(self, sock, sni="a.test", ctx=None, piece=None, pause=0.0):
        self.sock = sock
        self.obj = ssl_object(sni, ctx)
        self.piece = piece
        self.pause = pause

    def _flush(self):
        data = self.obj.outgoing.read()
        if not self.piece:
            self.sock.sendall(data)
            return
        for i in range(0, len(data), self.piece):
            self.sock.sendall(data[i:i + self.piece])
            if self.pause:
                time.sleep(self.pause)

    def _feed(self):
        data = self.sock.recv(65536)
        if not data:
            self.obj.incoming.write_eof()
            return False
        self.obj.incoming.write(data)
        return True

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                if not self._feed():
                    raise ConnectionError("closed during the handshake")

    def request(self, data, timeout=5.0):
        """Send data, read until the peer closes; returns the plaintext received."""
        self.obj.write(data)
        self._flush()
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = self.obj.read(65536)
                if not chunk:
                    break
                out += chunk
            except ssl.SSLWantReadError:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not self._feed():
                    continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
        return out


def closed_within(sock, timeout):
    """Seconds until the peer closed sock (EOF or reset), reading and discarding any
    bytes; None if it was still open after timeout."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except socket.timeout:
            return None
        except OSError:
            return time.monotonic() - start


# ---------------------------------------------------------------------------
# configs


def ssl_server(body, *, name="a.test", kinds=("rsa",), listen="", port="%PORT%"):
    """A server block listening with ssl on 127.0.0.1:port (listen: extra listen
    parameters), server_name name, serving name's certificates of kinds, then body."""
    return ("server {\n    listen 127.0.0.1:%s ssl%s;\n    server_name %s;\n    %s\n%s\n}\n"
            % (port, " " + listen if listen else "", name, certs().ssl_lines(name, *kinds),
               body))


# nginx 1.22 (the reference binary) still defaults to TLSv1 TLSv1.1 TLSv1.2; Portico,
# like nginx >= 1.23.4, to TLSv1.2 TLSv1.3. Configs say it at http level so that a
# server-level ssl_protocols still overrides it; test_ssl.py checks the default itself.
PROTOCOLS = "ssl_protocols TLSv1.2 TLSv1.3;\n"


def start(ptc, http, **kw):
    """ptc.start(PROTOCOLS + http, **kw)."""
    return ptc.start(PROTOCOLS + http, **kw)


def prepare(ptc, http, **kw):
    """ptc.prepare(PROTOCOLS + http, **kw)."""
    return ptc.prepare(PROTOCOLS + http, **kw)


# ---------------------------------------------------------------------------
# seeing what a client sends


def hello_message(data):
    """The first handshake message (a ClientHello: type 0x01, 3-byte length, body) in
    data, the TLS records a client sent; reassembled across records."""
    hs, pos = b"", 0
    while len(hs) < 4 or len(hs) < 4 + int.from_bytes(hs[1:4], "big"):
        if len(data) < pos + 5 or data[pos] != 22:
            raise ValueError("no complete ClientHello in %d bytes" % len(data))
        n = int.from_bytes(data[pos + 3:pos + 5], "big")
        hs += data[pos + 5:pos + 5 + n]
        pos += 5 + n
    return hs[:4 + int.from_bytes(hs[1:4], "big")]


class Relay:
    """A TCP relay on 127.0.0.1 (self.port) to 127.0.0.1:target, recording what each
    client sends: self.sent[i] holds the bytes of the i-th connection so far."""

    def __init__(self, target):
        self.target = target
        self.sent = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            except OSError:
                client.close()
                continue
            record = bytearray()
            self.sent.append(record)
            for src, dst, rec in ((client, server, record), (server, client, None)):
                threading.Thread(target=self._pump, args=(src, dst, rec), daemon=True).start()

    @staticmethod
    def _pump(src, dst, record):
        src.settimeout(20)
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record is not None:
                    record += data
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def hello(self, i=-1, timeout=5.0):
        """The ClientHello message of connection i (waits for it to be complete)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return hello_message(bytes(self.sent[i]))
            except (ValueError, IndexError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
