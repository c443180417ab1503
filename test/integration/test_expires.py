"""expires: the Expires and Cache-Control headers, as nginx sets them (times
relative to the request or to Last-Modified, epoch, max, off, daily times,
negative times, variables), which statuses get them, inheritance, and what
happens to the headers an origin sent. Configs use @A for a backend."""

import email.utils
import os
import time

import pytest

from backend import Backends, response


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, body, files=None, http="", b=None):
    conf = http + "\nserver {\n    listen 127.0.0.1:%PORT%;\n" + body + "\n}\n"
    if b is not None:
        conf = conf.replace("@A", b.addr)
    return ptc.start(conf, files=files or {"html/f.txt": "file\n"})


def epoch(value):
    return int(email.utils.parsedate_to_datetime(value).timestamp())


def check_relative(resp, seconds):
    """Expires is Date + seconds and Cache-Control says max-age=seconds."""
    assert resp.status == 200
    assert epoch(resp.header("Expires")) - epoch(resp.header("Date")) in (seconds, seconds + 1)
    assert resp.header_all("Cache-Control") == ["max-age=%d" % seconds]


def test_time_after_access(ptc):
    srv = start(ptc, "location / { expires 1h; }")
    check_relative(srv.get("/f.txt"), 3600)
    r = srv.get("/f.txt", headers={"If-Modified-Since": srv.get("/f.txt").header("Last-Modified")})
    assert r.status == 304
    assert r.header("Cache-Control") == "max-age=3600"


def test_units_and_plus_sign(ptc):
    srv = start(ptc, "location /a { expires +1d12h; return 200 a; }"
                     "location /b { expires 90; return 200 b; }"
                     "location /c { expires 2w; return 200 c; }")
    check_relative(srv.get("/a"), 129600)
    check_relative(srv.get("/b"), 90)
    check_relative(srv.get("/c"), 1209600)


def test_zero_is_now(ptc):
    srv = start(ptc, "location / { expires 0; return 200 x; }")
    r = srv.get("/")
    assert r.header("Expires") == r.header("Date")
    assert r.header("Cache-Control") == "max-age=0"


def test_negative_time_is_no_cache(ptc):
    srv = start(ptc, "location / { expires -1; return 200 x; }")
    r = srv.get("/")
    assert epoch(r.header("Expires")) - epoch(r.header("Date")) in (-1, 0)
    assert r.header("Cache-Control") == "no-cache"


def test_epoch_and_max(ptc):
    srv = start(ptc, "location /e { expires epoch; return 200 e; }"
                     "location /m { expires max; return 200 m; }")
    r = srv.get("/e")
    assert r.header("Expires") == "Thu, 01 Jan 1970 00:00:01 GMT"
    assert r.header("Cache-Control") == "no-cache"
    r = srv.get("/m")
    assert r.header("Expires") == "Thu, 31 Dec 2037 23:55:55 GMT"
    assert r.header("Cache-Control") == "max-age=315360000"


def test_modified_counts_from_last_modified(ptc):
    srv = start(ptc, "location / { expires modified +1d; }")
    mtime = int(time.time()) - 3600
    os.utime(srv.prefix / "html" / "f.txt", (mtime, mtime))
    r = srv.get("/f.txt")
    assert epoch(r.header("Last-Modified")) == mtime
    assert epoch(r.header("Expires")) == mtime + 86400
    age = int(r.header("Cache-Control").split("=")[1])
    assert abs(age - (mtime + 86400 - epoch(r.header("Date")))) <= 1
    # a Last-Modified already past the time: no-cache, Expires in the past
    old = mtime - 7 * 86400
    os.utime(srv.prefix / "html" / "f.txt", (old, old))
    r = srv.get("/f.txt")
    assert epoch(r.header("Expires")) == old + 86400
    assert r.header("Cache-Control") == "no-cache"


def test_modified_without_last_modified_counts_from_now(ptc):
    srv = start(ptc, "location / { expires modified 10m; return 200 x; }")
    check_relative(srv.get("/"), 600)


def test_daily_time(ptc):
    srv = start(ptc, "location / { expires @3h30m; return 200 x; }")
    r = srv.get("/")
    date = epoch(r.header("Date"))
    tm = time.localtime(date)
    want = int(time.mktime((tm.tm_year, tm.tm_mon, tm.tm_mday, 3, 30, 0, 0, 0, tm.tm_isdst)))
    if want <= date:
        want = int(time.mktime((tm.tm_year, tm.tm_mon, tm.tm_mday + 1, 3, 30, 0, 0, 0,
                                tm.tm_isdst)))
    assert epoch(r.header("Expires")) == want
    age = int(r.header("Cache-Control").split("=")[1])
    assert abs(age - (want - date)) <= 1


@pytest.mark.parametrize("status", [200, 201, 204, 206, 301, 302, 303, 307, 308])
def test_statuses_that_get_it(ptc, status):
    srv = start(ptc, "location / { expires 1m; return %d /x; }" % status)
    r = srv.get("/")
    assert r.header("Cache-Control") == "max-age=60"
    assert r.header("Expires") is not None


@pytest.mark.parametrize("status", [400, 403, 404, 500, 503])
def test_errors_do_not_get_it(ptc, status):
    srv = start(ptc, "location / { expires 1m; return %d; }" % status)
    r = srv.get("/")
    assert r.status == status
    assert r.header("Cache-Control") is None
    assert r.header("Expires") is None


def test_missing_file_gets_none(ptc):
    srv = start(ptc, "location / { expires 1m; }")
    r = srv.get("/nope")
    assert r.status == 404 and r.header("Expires") is None


def test_inheritance_and_off(ptc):
    srv = start(ptc, "expires 2m;"
                     "location / { return 200 a; }"
                     "location /off { expires off; return 200 b; }"
                     "location /own { expires 3m; return 200 c; }")
    check_relative(srv.get("/"), 120)
    r = srv.get("/off")
    assert r.header("Expires") is None and r.header("Cache-Control") is None
    check_relative(srv.get("/own"), 180)


def test_http_level(ptc):
    srv = start(ptc, "location / { return 200 a; }", http="expires 5m;")
    check_relative(srv.get("/"), 300)


def test_in_if_block(ptc):
    srv = start(ptc, "location / { expires 1m; if ($arg_long) { expires 1d; } return 200 a; }")
    check_relative(srv.get("/"), 60)
    check_relative(srv.get("/?long=1"), 86400)


def test_with_add_header(ptc):
    srv = start(ptc, "location / { expires 1m; add_header X-A b; return 200 a; }")
    r = srv.get("/")
    assert r.header("Cache-Control") == "max-age=60"
    assert r.header("X-A") == "b"


def test_replaces_headers_from_the_origin(ptc, backends):
    b = backends.new(lambda req: response(200, b"up", headers=[
        ("Expires", "Thu, 01 Jan 2037 00:00:00 GMT"), ("Cache-Control", "private"),
        ("Cache-Control", "no-store"), ("X-Other", "kept")]))
    srv = start(ptc, "location / { expires 1h; proxy_pass http://@A; }"
                     "location /plain/ { proxy_pass http://@A; }", b=b)
    r = srv.get("/")
    assert r.body == b"up"
    check_relative(r, 3600)
    assert r.header_all("Expires") == [r.header("Expires")]
    assert r.header("X-Other") == "kept"
    r = srv.get("/plain/")
    assert r.header("Expires") == "Thu, 01 Jan 2037 00:00:00 GMT"
    assert r.header_all("Cache-Control") == ["private", "no-store"]


def test_variable_value(ptc):
    srv = start(ptc, "location / { expires $exp; return 200 x; }",
                http="map $arg_t $exp { default off; css 1h; old epoch; top max; "
                     "neg -10; bad nonsense; }")
    check_relative(srv.get("/?t=css"), 3600)
    r = srv.get("/?t=old")
    assert r.header("Expires") == "Thu, 01 Jan 1970 00:00:01 GMT"
    assert srv.get("/?t=top").header("Cache-Control") == "max-age=315360000"
    assert srv.get("/?t=neg").header("Cache-Control") == "no-cache"
    for t in ("", "bad"):
        r = srv.get("/?t=" + t)
        assert r.status == 200
        assert r.header("Expires") is None and r.header("Cache-Control") is None


def test_modified_with_a_variable(ptc):
    srv = start(ptc, "location / { set $t 30m; expires modified $t; }")
    mtime = int(time.time()) - 600
    os.utime(srv.prefix / "html" / "f.txt", (mtime, mtime))
    r = srv.get("/f.txt")
    assert epoch(r.header("Expires")) == mtime + 1800


@pytest.mark.parametrize("args, message", [
    ("nonsense", "invalid value"),
    ("modified @10h", "daily time cannot be used with \"modified\" parameter"),
    ("@25h", "daily time value must be less than 24 hours"),
    ("later 1h", "invalid value"),
    ("1h 2h 3h", "invalid number of arguments"),
])
def test_config_errors(ptc, args, message):
    srv = ptc.prepare("server { listen 127.0.0.1:%%PORT%%; location / { expires %s; } }" % args)
    r = srv.cli("-t")
    assert r.returncode == 1
    assert message in r.stderr
    assert "test.conf:" in r.stderr
