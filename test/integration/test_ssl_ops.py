"""Operating TLS: a reload swaps certificates and keys without dropping connections;
a broken certificate or key (on reload or with -t) is refused, the old config keeps
serving, and the error names the file (and, in Portico, the config file:line)."""

import re
import shutil
import signal

import pytest

import tlsutil
from backend import Backends, slow
from conftest import read_response, wait_for
from tlsutil import PROTOCOLS, certs, client_context, https_get

pytestmark = tlsutil.needs_tls

ANY = client_context(verify=False)


def site_conf(tag, cert="site.pem", key="site.key", extra=""):
    return (PROTOCOLS + "server {\n    listen 127.0.0.1:%%PORT%% ssl;\n    server_name a.test;\n"
            "    ssl_certificate %s;\n    ssl_certificate_key %s;\n"
            "    add_header X-Conf %s always;\n%s\n"
            "    location / { return 200 ok; }\n}\n" % (cert, key, tag, extra))


def install(srv, name, kind="rsa"):
    """Copy name's certificate and key to conf/site.pem and conf/site.key."""
    shutil.copyfile(certs().cert(name, kind), srv.prefix / "conf" / "site.pem")
    shutil.copyfile(certs().key(name, kind), srv.prefix / "conf" / "site.key")


def start_site(ptc, extra=""):
    srv = ptc.prepare(site_conf("old", extra=extra))
    install(srv, "a.test")
    srv._launch(())
    srv._wait_ready()
    return srv


def served(srv):
    """(certificate name, X-Conf) a new connection gets."""
    r = https_get(srv.port, ctx=ANY)
    return certs().which(r.peer_der), r.header("X-Conf")


def line_of(srv, needle):
    """1-based line number of the first line of the written config containing needle."""
    for i, line in enumerate(srv.conf_path.read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError("%r not in the config" % needle)


# --- reload swaps certificates ----------------------------------------------------


def test_reload_swaps_certificate_without_dropping_connections(ptc):
    with Backends() as bs:
        b = bs.new(lambda req: slow([b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
                                     b"slow body"], delay=1.5))
        extra = "    location /slow { proxy_pass http://%s; }" % b.addr
        srv = start_site(ptc, extra)
        assert served(srv) == ("a.test.rsa", "old")
        s = tlsutil.connect(srv.port, ctx=ANY)
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            assert read_response(s).status == 200
            # a request in flight on the old connection while the reload happens
            s.sendall(b"GET /slow HTTP/1.1\r\nHost: a.test\r\n\r\n")
            assert b.wait_requests(1)
            install(srv, "b.test")
            srv.reload(site_conf("new", extra=extra))
            assert wait_for(lambda: served(srv) == ("b.test.rsa", "new"), timeout=10)
            r = read_response(s, timeout=10)
            assert (r.status, r.body, r.header("X-Conf")) == (200, b"slow body", "old")
            assert certs().which(s.getpeercert(binary_form=True)) == "a.test.rsa"
        finally:
            s.close()
        assert served(srv) == ("b.test.rsa", "new")


def test_reload_swaps_rsa_for_ecdsa(ptc):
    srv = start_site(ptc)
    assert served(srv)[0] == "a.test.rsa"
    install(srv, "a.test", "ecdsa")
    srv.reload(site_conf("new"))
    assert wait_for(lambda: served(srv) == ("a.test.ecdsa", "new"), timeout=10)
    assert https_get(srv.port).status == 200          # verifies against the CA and a.test


# --- broken certificates on reload and with -t -----------------------------------------

BROKEN = {
    # name: (certificate path, key path, text the error must contain)
    "missing certificate": ("missing.pem", "site.key", "missing.pem"),
    "garbage certificate": ("garbage.pem", "site.key", "garbage.pem"),
    "missing key": ("site.pem", "missing.key", "missing.key"),
    "mismatched key": ("site.pem", "other.key", "other.key"),
}


def break_files(srv):
    (srv.prefix / "conf" / "garbage.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64"
                                                     "\n-----END CERTIFICATE-----\n")
    shutil.copyfile(certs().path("ca.key"), srv.prefix / "conf" / "other.key")  # RSA, not ours


def broken_reload(srv, how, cert, key):
    """Write the broken config and ask for a reload (`-s reload` or SIGHUP to the master);
    returns what the operator sees: the command's stderr plus the error log, as a
    function (the log is written asynchronously)."""
    srv.write_conf(site_conf("new", cert, key))
    if how == "SIGHUP":
        srv.signal(signal.SIGHUP)
        return srv.error_log
    r = srv.cli("-s", "reload")   # nginx's -s reload already refuses this config
    return lambda: r.stderr + srv.error_log()


@pytest.mark.parametrize("how", ["-s reload", "SIGHUP"])
@pytest.mark.parametrize("case", BROKEN.keys())
def test_broken_certificate_on_reload_keeps_the_old_config(ptc, case, how):
    cert, key, named = BROKEN[case]
    srv = start_site(ptc)
    srv.allow_log_errors()
    break_files(srv)
    assert srv.wait_for(lambda: len(srv.worker_pids()) == 1)  # slow under ASan
    workers = srv.worker_pids()
    said = broken_reload(srv, how, cert, key)
    assert wait_for(lambda: named in said() and "[emerg]" in said()), said()
    assert served(srv) == ("a.test.rsa", "old")
    assert srv.worker_pids() == workers
    assert srv.worker_pids() == workers
    assert https_get(srv.port).status == 200


@pytest.mark.portico_only  # nginx names the file but not the config line for these
@pytest.mark.parametrize("how", ["-s reload", "SIGHUP"])
@pytest.mark.parametrize("case", BROKEN.keys())
def test_broken_certificate_on_reload_names_config_line(ptc, case, how):
    cert, key, named = BROKEN[case]
    srv = start_site(ptc)
    srv.allow_log_errors()
    break_files(srv)
    said = broken_reload(srv, how, cert, key)
    where = "test.conf:%d" % line_of(srv, "ssl_certificate_key" if "key" in case
                                     else "ssl_certificate ")
    assert wait_for(lambda: where in said()), said()
    assert served(srv) == ("a.test.rsa", "old")


@pytest.mark.parametrize("case", BROKEN.keys())
def test_config_test_with_a_broken_certificate(ptc, case):
    cert, key, named = BROKEN[case]
    srv = ptc.prepare(site_conf("x", cert, key))
    install(srv, "a.test")
    break_files(srv)
    r = srv.cli("-t")
    assert r.returncode != 0
    assert named in r.stderr and "[emerg]" in r.stderr, r.stderr


@pytest.mark.portico_only  # nginx names the file but not the config line for these
@pytest.mark.parametrize("case", BROKEN.keys())
def test_config_test_with_a_broken_certificate_names_config_line(ptc, case):
    cert, key, named = BROKEN[case]
    srv = ptc.prepare(site_conf("x", cert, key))
    install(srv, "a.test")
    break_files(srv)
    r = srv.cli("-t")
    where = "test.conf:%d" % line_of(srv, "ssl_certificate_key" if "key" in case
                                     else "ssl_certificate ")
    assert r.returncode != 0 and where in r.stderr, r.stderr


def test_listen_ssl_without_a_certificate_is_refused(ptc):
    srv = ptc.prepare("server { listen 127.0.0.1:%PORT% ssl; location / { return 200; } }")
    r = srv.cli("-t")
    assert r.returncode != 0
    assert re.search(r'no "ssl_certificate" is defined', r.stderr), r.stderr
