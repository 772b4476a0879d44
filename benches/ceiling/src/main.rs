//! fastrapi-ceiling: the "ceiling reference" for fastrapi's load benchmarks.
//!
//! A pure-Rust, single-threaded HTTP/1.1 keep-alive server on monoio that
//! answers every request with a fixed JSON hello-world:
//!
//! ```text
//! HTTP/1.1 200 OK
//! date: <cached per second>
//! content-length: 17
//! content-type: application/json
//!
//! {"Hello":"World"}
//! ```
//!
//! It parses every complete request in the read buffer with httparse
//! (pipelining), answers the whole batch with one write, and closes on EOF.
//! No Python, no routing: whatever fastrapi costs on top of this is overhead.
//!
//! Usage: `fastrapi-ceiling --port N [--host 127.0.0.1] [--driver io_uring|epoll]`

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{ListenerOpts, TcpListener, TcpStream};

const BODY: &[u8] = b"{\"Hello\":\"World\"}";
const READ_BUF: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// One full response; only the 29-byte date changes (once per second).
struct Response {
    secs: u64,
    bytes: Vec<u8>,
    date_at: usize,
}

impl Response {
    fn new() -> Self {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(b"HTTP/1.1 200 OK\r\ndate: ");
        let date_at = bytes.len();
        bytes.extend_from_slice(httpdate::fmt_http_date(SystemTime::now()).as_bytes());
        bytes
            .extend_from_slice(b"\r\ncontent-length: 17\r\ncontent-type: application/json\r\n\r\n");
        bytes.extend_from_slice(BODY);
        let secs = now_secs();
        Response {
            secs,
            bytes,
            date_at,
        }
    }

    /// Refresh the date if the second changed (clock_gettime is a vDSO call).
    #[inline]
    fn current(&mut self) -> &[u8] {
        let secs = now_secs();
        if secs != self.secs {
            self.secs = secs;
            let d = httpdate::fmt_http_date(SystemTime::now());
            self.bytes[self.date_at..self.date_at + 29].copy_from_slice(&d.as_bytes()[..29]);
        }
        &self.bytes
    }
}

#[inline]
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

thread_local! {
    static RESPONSE: RefCell<Response> = RefCell::new(Response::new());
}

enum Parsed {
    /// `consumed` bytes held `count` complete requests.
    Ok {
        consumed: usize,
        count: usize,
    },
    Bad,
}

/// Parse every complete request at the start of `buf`.
fn parse_all(buf: &[u8]) -> Parsed {
    let mut consumed = 0;
    let mut count = 0;
    while consumed < buf.len() {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[consumed..]) {
            Ok(httparse::Status::Complete(n)) => {
                // Skip a request body if one is announced (the benchmark sends none,
                // but a POST must not desynchronise the stream).
                let mut body = 0usize;
                for h in req.headers.iter() {
                    if h.name.eq_ignore_ascii_case("content-length") {
                        match std::str::from_utf8(h.value)
                            .ok()
                            .and_then(|s| s.trim().parse().ok())
                        {
                            Some(v) => body = v,
                            None => return Parsed::Bad,
                        }
                    }
                }
                if consumed + n + body > buf.len() {
                    break; // body not fully received yet
                }
                consumed += n + body;
                count += 1;
            }
            Ok(httparse::Status::Partial) => break,
            Err(_) => return Parsed::Bad,
        }
    }
    Parsed::Ok { consumed, count }
}

async fn serve_conn(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut rbuf: Vec<u8> = Vec::with_capacity(READ_BUF);
    let mut wbuf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        // Read, appending after whatever partial request is left over.
        if rbuf.len() == rbuf.capacity() {
            if rbuf.capacity() >= 1024 * 1024 {
                return; // refuse absurdly large requests
            }
            rbuf.reserve(rbuf.capacity());
        }
        let start = rbuf.len();
        let cap = rbuf.capacity();
        let (res, slice) = stream
            .read(monoio::buf::IoBufMut::slice_mut(rbuf, start..cap))
            .await;
        rbuf = slice.into_inner();
        match res {
            Ok(0) | Err(_) => return, // EOF or error: close
            Ok(_) => {}
        }

        let (consumed, count) = match parse_all(&rbuf) {
            Parsed::Ok { consumed, count } => (consumed, count),
            Parsed::Bad => {
                let _ = stream
                    .write_all(&b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"[..])
                    .await;
                return;
            }
        };
        if count == 0 {
            continue;
        }

        // One write for the whole batch.
        wbuf.clear();
        RESPONSE.with(|r| {
            let mut r = r.borrow_mut();
            let resp = r.current();
            for _ in 0..count {
                wbuf.extend_from_slice(resp);
            }
        });
        let (res, w) = stream.write_all(wbuf).await;
        wbuf = w;
        if res.is_err() {
            return;
        }

        // Keep any trailing partial request at the front of the buffer.
        if consumed == rbuf.len() {
            rbuf.clear();
        } else {
            rbuf.drain(..consumed);
        }
    }
}

async fn run(addr: SocketAddr, driver: &'static str) {
    // No SO_REUSEPORT (monoio's default): a port clash must fail here, not silently split
    // the benchmark's connections with another server.
    let opts = ListenerOpts::new().reuse_port(false).reuse_addr(true);
    let listener = TcpListener::bind_with_config(addr, &opts).unwrap_or_else(|e| {
        eprintln!("fastrapi-ceiling: cannot bind {addr}: {e}");
        std::process::exit(1);
    });
    eprintln!("fastrapi-ceiling listening on http://{addr} (driver {driver})");
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                monoio::spawn(serve_conn(stream));
            }
            Err(e) => {
                eprintln!("fastrapi-ceiling: accept error: {e}");
            }
        }
    }
}

fn usage() -> ! {
    eprintln!("usage: fastrapi-ceiling --port N [--host 127.0.0.1] [--driver io_uring|epoll]");
    std::process::exit(2);
}

fn main() {
    let mut port: Option<u16> = None;
    let mut host = String::from("127.0.0.1");
    let mut driver = String::from("io_uring");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" | "-p" => port = args.next().and_then(|v| v.parse().ok()),
            "--host" => host = args.next().unwrap_or_else(|| usage()),
            "--driver" => driver = args.next().unwrap_or_else(|| usage()),
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    let port = port.unwrap_or_else(|| usage());
    let addr: SocketAddr = format!("{host}:{port}").parse().unwrap_or_else(|_| usage());

    match driver.as_str() {
        "io_uring" | "iouring" | "uring" => {
            // The same ring set-up flags fastrapi uses by default, so the ceiling is like for like.
            let mut ring = io_uring::IoUring::builder();
            ring.setup_coop_taskrun().setup_single_issuer();
            let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
                .uring_builder(ring)
                .with_entries(1024)
                .build()
                .unwrap_or_else(|e| {
                    eprintln!("fastrapi-ceiling: io_uring unavailable: {e}");
                    std::process::exit(1);
                });
            rt.block_on(run(addr, "io_uring"));
        }
        "epoll" | "legacy" => {
            let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
                .with_entries(1024)
                .build()
                .unwrap_or_else(|e| {
                    eprintln!("fastrapi-ceiling: epoll driver failed: {e}");
                    std::process::exit(1);
                });
            rt.block_on(run(addr, "epoll"));
        }
        _ => usage(),
    }
}
