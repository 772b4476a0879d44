"""Writes the seed corpora under fuzz/corpus/<target>/: small, meaningful inputs (valid requests,
pipelining, chunked bodies with extensions, smuggling attempts, huge numbers) that the fuzzer then
mutates. Each target's first bytes choose its limits; see the target's source for their layout.

Run from the repository root: python fuzz/make_corpus.py
"""

import hashlib
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"

# Control bytes: http_head picks (max_head_bytes, max_headers, max_body_bytes) by index.
HEAD_DEFAULT_LIMITS = bytes([4, 3, 3])  # 16 KiB, 100 headers, 16 MiB
HEAD_SMALL_LIMITS = bytes([1, 2, 2])  # 64 bytes, 3 headers, 1000 bytes
FRAMING_LIMITS = bytes([2, 1, 1])  # 16 KiB, 100 headers, 16 MiB
FRAMING_SMALL_LIMITS = bytes([0, 0, 0])  # 64 bytes, 2 headers, 10 bytes
CHUNKED_CONTROL = [bytes([3, 0]), bytes([3, 6]), bytes([2, 2])]  # (1 MiB, 16 bytes) x read sizes 1, 7, 3

GET = b"GET /items/1?q=caf%C3%A9&n=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: seed\r\n\r\n"
REQUESTS = [
    GET,
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"\r\n\r\nGET /after-empty-lines HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\nHost: a\n\n",
    b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    GET + GET + b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'5;a=b;q="x y"\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n',
    # Smuggling attempts and framing edge cases.
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00000000000000000000003\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\t\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\rX: y\r\n\r\n",
    b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
    b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET / HTTP/1.1\r\n\r\n",
    b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: \x00\r\n\r\n",
    b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(101)) + b"\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n",
]

CHUNKED = [
    b"5\r\nhello\r\n0\r\n\r\n",
    b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n",
    b'5;name=value;q="quoted \\" string"\r\nhello\r\n0;last\r\nX-Trailer: 1\r\nY: 2\r\n\r\n',
    b"A\r\n0123456789\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
    b"0000000000000005\r\nhello\r\n0\r\n\r\n",
    b"fffffffffffffff\r\n",
    b"ffffffffffffffff\r\nx\r\n0\r\n\r\n",
    b"5 \r\nhello\r\n0\r\n\r\n",
    b" 5\r\nhello\r\n0\r\n\r\n",
    b"5\t;x\r\nhello\r\n0\r\n\r\n",
    b"5\nhello\n0\n\n",
    b"5;\nx\r\nhello\r\n0\r\n\r\n",
    b"5;a\rb\r\nhello\r\n0\r\n\r\n",
    b"-5\r\nhello\r\n0\r\n\r\n",
    b"0x5\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhelloXX0\r\n\r\n",
    b"3\r\nabc\r\n0\r\nbad trailer\r\n\r\n",
    b"11\r\n0123456789abcdefg\r\n0\r\n\r\n",
    b"1;" + b"e" * 5000 + b"\r\nx\r\n0\r\n\r\n",
]

QUERIES = [
    b"a=1&b=2",
    b"a=1&&b=&c&=&=x",
    b"q=caf%C3%A9+au+lait&sum=1%2B1",
    b"%zz=%&x=%4&y=%%41",
    b"bad=%E2%82&mixed=%C3\xc3\xa9",
    b"a=b=c&list=1&list=2",
    b"name\x00value\x00second name\x00caf\xc3\xa9 & co=1%",
]

PATHS = [b"/a%20b", b"/%FF%fe", b"/%%41%4", b"/caf%C3%A9", b"/a+b%2Fc", b"/%E2%82%AC%E2%82", b"/%00%0A"]

COOKIES = [
    b"a=1; b=2",
    b' a = 1 ;b; =x; ;;c="quoted"',
    b'esc="a\\"b\\\\c"; oct="\\101\\102"; half="x',
    b"a=1; a=2; A=3",
    b"\xa0sid\xa0=\x85v\x85; k=\tv\t",
]

# range: (size selector, content type, header). Selector 2 = 100 bytes, 3 = 1 MiB, 4 = u64::MAX.
RANGES = [
    (2, b"text/plain", b"bytes=0-9"),
    (2, b"text/plain", b"bytes=-10"),
    (2, b"text/plain", b"bytes=90-"),
    (2, b"text/plain; charset=utf-8", b"bytes=50-59, 0-9, 5-20, 21-22"),
    (3, b"image/png", b"bytes=0-1,x,-,,3-4"),
    (2, b"", b"BYTES = 1_0-2_0"),
    (2, b"", b"bytes=--5"),
    (2, b"", b"bytes=5-2"),
    (0, b"", b"bytes=0-0"),
    (2, b"", b"items=0-1"),
    (2, b"", b"bytes=" + b",".join([b"0-1"] * 101)),
    (4, b"", b"bytes=99999999999999999999999999999999999999-"),
    (4, b"", b"bytes=-170141183460469231731687303715884105727"),
    (2, b"", b"bytes=0-170141183460469231731687303715884105727"),
]

# route_match: template text with {str}-style parameters, and a path.
TEMPLATE_CHARS = "/ab1.-_{é "
CONVERTORS = ["str", "path", "int", "float", "uuid"]
PATH_CHARS = "/abfAF019.-_{é \n%"
ROUTES = [
    ("a/{str}", "a/bab"),
    ("b/{path}", "b/a/b.a"),
    ("1/{int}", "1/19"),
    ("_/{float}", "_/1.9"),
    ("-/{uuid}", "-/abf0119a-1111-9999-0000-abf0119a0000"),
    ("-/{uuid}", "-/AFF0119A11119999-0000AFF0119A0000"),
    ("{str}.{str}", "a.b.b"),
    ("{path}/a", "1/9/a"),
    ("a/{str}", "a/b\n"),
    ("ab", "ab\n"),
]


def route_seed(template: str, path: str) -> bytes:
    out = bytearray()
    rest = template
    while rest:
        param = next((c for c in CONVERTORS if rest.startswith("{" + c + "}")), None)
        if param:
            out.append(CONVERTORS.index(param))
            rest = rest[len(param) + 2 :]
        else:
            out.append(next(b for b in range(0x30, 0xFF) if TEMPLATE_CHARS[b % len(TEMPLATE_CHARS)] == rest[0]))
            rest = rest[1:]
    out.append(0xFF)
    out += bytes(next(b for b in range(256) if PATH_CHARS[b % len(PATH_CHARS)] == c) for c in path)
    return bytes(out)


def write(target: str, seeds: list[bytes]) -> None:
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (directory / hashlib.sha1(seed).hexdigest()).write_bytes(seed)


def main() -> None:
    write("http_head", [HEAD_DEFAULT_LIMITS + r for r in REQUESTS] + [HEAD_SMALL_LIMITS + r for r in REQUESTS[:12]])
    write("framing_diff", [FRAMING_LIMITS + r for r in REQUESTS] + [FRAMING_SMALL_LIMITS + r for r in REQUESTS[:12]])
    write("chunked", [control + body for control in CHUNKED_CONTROL for body in CHUNKED])
    write("query", QUERIES)
    write("percent", PATHS + QUERIES)
    write("cookies", COOKIES)
    write("range", [bytes([size, len(ctype)]) + ctype + header for size, ctype, header in RANGES])
    write("route_match", [route_seed(t, p) for t, p in ROUTES])


if __name__ == "__main__":
    main()
