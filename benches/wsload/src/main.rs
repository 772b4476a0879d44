//! wsload: a closed-loop WebSocket echo load generator for fastrapi's benchmarks.
//!
//! One thread, one monoio runtime (io_uring, or epoll with `--driver epoll`). It opens
//! `--connections` WebSocket connections to a loopback `ws://` URL, then every connection
//! loops for `--duration` seconds: send `--pipeline` masked text frames of `--message-size`
//! bytes in one write, read the same number of messages back, check each is the echo of what
//! was sent, and record the round-trip time (like `wrk` for HTTP: the next message leaves only
//! when the previous echo arrived). At the end it prints one JSON object on stdout: messages
//! per second (round trips), latency avg/p50/p90/p99/max in ms, and the errors by kind.
//!
//! The client side of RFC 6455 is written here, small on purpose: a fixed upgrade request
//! (the RFC's sample `Sec-WebSocket-Key`, so the expected `Sec-WebSocket-Accept` is a
//! constant), masked frames out, unmasked frames in (fragmented messages are reassembled,
//! pings answered, a close frame is an error).
//!
//! It never hangs: every connect, write and read has a timeout (`--timeout`, default 5 s). A
//! connection that fails (refused, closed by the server, timed out, bad echo) is counted as an
//! error and reopened after 50 ms until the duration is over, and a hard stop at duration +
//! 2 × timeout + 5 s ends the process whatever is still pending.
//!
//! Usage: `wsload --url ws://127.0.0.1:PORT/path [--connections 64] [--duration 10]
//! [--message-size 32] [--pipeline 1] [--timeout 5] [--driver io_uring|epoll]`

use std::cell::RefCell;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;

/// RFC 6455 §1.3's sample key and the accept value every server must compute from it.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const MAX_HANDSHAKE: usize = 16 * 1024;
const MAX_MESSAGE: usize = 16 << 20;
const READ_CHUNK: usize = 16 * 1024;
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);
const CLOSE_WAIT: Duration = Duration::from_secs(2);

const OP_CONT: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

// --------------------------------------------------------------------------- configuration

#[derive(Clone, Copy, PartialEq, Eq)]
enum DriverKind {
    IoUring,
    Epoll,
}

impl DriverKind {
    fn name(self) -> &'static str {
        match self {
            DriverKind::IoUring => "io_uring",
            DriverKind::Epoll => "epoll",
        }
    }
}

struct Config {
    url: String,
    addr: SocketAddr,
    host: String,
    path: String,
    connections: usize,
    duration: Duration,
    message_size: usize,
    pipeline: usize,
    timeout: Duration,
    driver: DriverKind,
}

const USAGE: &str = "usage: wsload --url ws://127.0.0.1:PORT/path [options]

  --url URL              ws:// URL on a loopback address (127.0.0.0/8, ::1, localhost)
  -c, --connections N    concurrent connections (default 64)
  -d, --duration S       seconds of load (default 10)
  -s, --message-size N   bytes per text message (default 32)
  -p, --pipeline N       messages in flight per connection (default 1: send, await the echo)
  --timeout S            per connect/handshake/write/read timeout in seconds (default 5)
  --driver D             io_uring (default; falls back to epoll if unavailable) or epoll

Prints one JSON object on stdout. Exit code 0 if at least one echo completed, 1 if none, 2 on
bad arguments.";

fn usage_error(msg: &str) -> ! {
    eprintln!("wsload: {msg}\n\n{USAGE}");
    std::process::exit(2);
}

fn parse_seconds(flag: &str, v: &str, max: f64) -> Duration {
    let num = v.strip_suffix('s').unwrap_or(v);
    match num.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= max => Duration::from_secs_f64(s),
        _ => usage_error(&format!("{flag} must be a number of seconds in (0, {max}], got {v:?}")),
    }
}

fn parse_count(flag: &str, v: &str, min: usize, max: usize) -> usize {
    match v.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => n,
        _ => usage_error(&format!("{flag} must be an integer in [{min}, {max}], got {v:?}")),
    }
}

/// `ws://host[:port][/path]` → (address, Host header, path). Loopback only.
fn parse_url(url: &str) -> Result<(SocketAddr, String, String), String> {
    let rest = url.strip_prefix("ws://").ok_or_else(|| "the URL must start with ws:// (no TLS)".to_string())?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6.find(']').ok_or("unterminated [IPv6] host")?;
        let port = v6[end + 1..].strip_prefix(':');
        (&v6[..end], port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port: u16 = match port {
        Some(p) => p.parse().map_err(|_| format!("bad port {p:?}"))?,
        None => 80,
    };
    let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse().map_err(|_| format!("host {host:?} is not an IP address or localhost"))?
    };
    if !ip.is_loopback() {
        return Err(format!("{ip} is not a loopback address: wsload only targets this machine"));
    }
    if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err("the path contains spaces or control characters".into());
    }
    Ok((SocketAddr::new(ip, port), authority.to_string(), path.to_string()))
}

fn parse_args() -> Config {
    let mut url: Option<String> = None;
    let mut connections = 64;
    let mut duration = Duration::from_secs(10);
    let mut message_size = 32;
    let mut pipeline = 1;
    let mut timeout = Duration::from_secs(5);
    let mut driver = DriverKind::IoUring;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = match inline.or_else(|| args.next()) {
            Some(v) => v,
            None => usage_error(&format!("{flag} needs a value")),
        };
        match flag.as_str() {
            "--url" => url = Some(value),
            "-c" | "--connections" => connections = parse_count(&flag, &value, 1, 10_000),
            "-d" | "--duration" => duration = parse_seconds(&flag, &value, 3600.0),
            "-s" | "--message-size" => message_size = parse_count(&flag, &value, 0, 1 << 20),
            "-p" | "--pipeline" => pipeline = parse_count(&flag, &value, 1, 1024),
            "--timeout" => timeout = parse_seconds(&flag, &value, 600.0),
            "--driver" => {
                driver = match value.as_str() {
                    "io_uring" | "iouring" | "uring" => DriverKind::IoUring,
                    "epoll" | "legacy" => DriverKind::Epoll,
                    _ => usage_error(&format!("unknown driver {value:?}")),
                }
            }
            _ => usage_error(&format!("unknown option {flag:?}")),
        }
    }
    let url = url.unwrap_or_else(|| usage_error("--url is required"));
    let (addr, host, path) = parse_url(&url).unwrap_or_else(|e| usage_error(&e));
    Config { url, addr, host, path, connections, duration, message_size, pipeline, timeout, driver }
}

// --------------------------------------------------------------------------- statistics

/// Log-linear latency histogram in nanoseconds: exact below 1024 ns, then 512 buckets per
/// power of two (≤ 0.2% relative error), like HdrHistogram with three significant digits.
struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum_ns: u128,
    max_ns: u64,
}

const SUB_BITS: u32 = 9;
const SUB: usize = 1 << SUB_BITS; // 512
const LINEAR: usize = 2 * SUB; // 1024

impl Histogram {
    fn new() -> Self {
        Histogram { counts: vec![0; LINEAR + 54 * SUB], total: 0, sum_ns: 0, max_ns: 0 }
    }

    fn index(v: u64) -> usize {
        if v < LINEAR as u64 {
            v as usize
        } else {
            let exp = 63 - v.leading_zeros(); // ≥ 10
            let shift = exp - SUB_BITS; // ≥ 1
            let mantissa = (v >> shift) as usize; // in [512, 1024)
            LINEAR + (shift as usize - 1) * SUB + (mantissa - SUB)
        }
    }

    /// The middle of bucket `i`.
    fn value(i: usize) -> u64 {
        if i < LINEAR {
            i as u64
        } else {
            let j = i - LINEAR;
            let shift = (j / SUB + 1) as u32;
            let mantissa = (j % SUB + SUB) as u64;
            (mantissa << shift) + ((1u64 << shift) >> 1)
        }
    }

    fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.counts[Self::index(ns)] += 1;
        self.total += 1;
        self.sum_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    fn quantile_ns(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let target = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                return Self::value(i).min(self.max_ns);
            }
        }
        self.max_ns
    }

    fn avg_ns(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum_ns as f64 / self.total as f64
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ErrorKind {
    Connect,
    Handshake,
    Read,
    Write,
    Timeout,
    Closed,
    Protocol,
    Mismatch,
}

const KINDS: [(ErrorKind, &str); 8] = [
    (ErrorKind::Connect, "connect"),
    (ErrorKind::Handshake, "handshake"),
    (ErrorKind::Read, "read"),
    (ErrorKind::Write, "write"),
    (ErrorKind::Timeout, "timeout"),
    (ErrorKind::Closed, "closed"),
    (ErrorKind::Protocol, "protocol"),
    (ErrorKind::Mismatch, "mismatch"),
];

struct Failure {
    kind: ErrorKind,
    detail: String,
}

fn fail(kind: ErrorKind, detail: impl Into<String>) -> Failure {
    Failure { kind, detail: detail.into() }
}

type Res<T> = Result<T, Failure>;

const MAX_SAMPLES: usize = 8;

struct Stats {
    hist: Histogram,
    errors: [u64; KINDS.len()],
    samples: Vec<String>,
    opened: u64,
}

impl Stats {
    fn error(&mut self, conn: usize, f: Failure) {
        let i = KINDS.iter().position(|(k, _)| *k == f.kind).unwrap_or(0);
        self.errors[i] += 1;
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(format!("conn {conn}: {}: {}", KINDS[i].1, f.detail));
        }
    }

    fn total_errors(&self) -> u64 {
        self.errors.iter().sum()
    }
}

// --------------------------------------------------------------------------- frames

/// xorshift64*: masking keys (RFC 6455 wants them unpredictable, a benchmark only varied).
struct Rng(u64);

impl Rng {
    fn new(id: usize) -> Self {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        Rng((t ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    fn mask(&mut self) -> [u8; 4] {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((v >> 32) as u32).to_ne_bytes()
    }
}

/// A client frame: FIN set, masked.
fn encode_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | opcode);
    let n = payload.len();
    if n < 126 {
        out.push(0x80 | n as u8);
    } else if n <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend_from_slice(payload);
    for (i, b) in out[start..].iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

/// Message `seq`'s text: lowercase letters shifted by `seq`, so an echo of the wrong message
/// (or a corrupted one) is caught.
#[inline]
fn payload_byte(seq: u64, i: usize) -> u8 {
    b'a' + ((seq.wrapping_add(i as u64)) % 26) as u8
}

fn make_payload(out: &mut Vec<u8>, seq: u64, size: usize) {
    out.clear();
    out.extend((0..size).map(|i| payload_byte(seq, i)));
}

fn is_echo(msg: &[u8], seq: u64, size: usize) -> bool {
    msg.len() == size && msg.iter().enumerate().all(|(i, &b)| b == payload_byte(seq, i))
}

enum Parse {
    Need,
    Frame { fin: bool, opcode: u8, start: usize, end: usize },
    Bad(String),
}

/// One server frame at the start of `buf` (server frames are never masked).
fn parse_frame(buf: &[u8]) -> Parse {
    if buf.len() < 2 {
        return Parse::Need;
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x70 != 0 {
        return Parse::Bad(format!("frame with reserved bits set ({b0:#04x}) but no extension negotiated"));
    }
    if b1 & 0x80 != 0 {
        return Parse::Bad("masked frame from the server".into());
    }
    let (len, header) = match b1 & 0x7F {
        126 => {
            if buf.len() < 4 {
                return Parse::Need;
            }
            (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4)
        }
        127 => {
            if buf.len() < 10 {
                return Parse::Need;
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(b), 10)
        }
        n => (u64::from(n), 2),
    };
    if len > MAX_MESSAGE as u64 {
        return Parse::Bad(format!("frame of {len} bytes (limit {MAX_MESSAGE})"));
    }
    let end = header + len as usize;
    if buf.len() < end {
        return Parse::Need;
    }
    Parse::Frame { fin: b0 & 0x80 != 0, opcode: b0 & 0x0F, start: header, end }
}

// --------------------------------------------------------------------------- connections

struct Conn {
    stream: TcpStream,
    /// Received bytes not parsed yet are `rbuf[rpos..]`.
    rbuf: Vec<u8>,
    rpos: usize,
    /// The last message read.
    msg: Vec<u8>,
    wbuf: Vec<u8>,
}

impl Conn {
    /// Reads more bytes into `rbuf`.
    async fn fill(&mut self, timeout: Duration) -> Res<()> {
        if self.rpos == self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
        } else if self.rpos > 0 && self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 4 {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
        if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 4 {
            if self.rbuf.len() > MAX_MESSAGE + 16 {
                return Err(fail(ErrorKind::Protocol, "more than 16 MiB unparsed"));
            }
            self.rbuf.reserve(READ_CHUNK.max(self.rbuf.len()));
        }
        let buf = std::mem::take(&mut self.rbuf);
        let (len, cap) = (buf.len(), buf.capacity());
        match monoio::time::timeout(timeout, self.stream.read(buf.slice_mut(len..cap))).await {
            Err(_) => Err(fail(ErrorKind::Timeout, format!("nothing received for {:.1} s", timeout.as_secs_f64()))),
            Ok((res, slice)) => {
                self.rbuf = slice.into_inner();
                match res {
                    Ok(0) => Err(fail(ErrorKind::Read, "connection closed by the server (EOF)")),
                    Ok(_) => Ok(()),
                    Err(e) => Err(fail(ErrorKind::Read, e.to_string())),
                }
            }
        }
    }

    /// Writes all of `wbuf`.
    async fn flush(&mut self, timeout: Duration) -> Res<()> {
        let buf = std::mem::take(&mut self.wbuf);
        match monoio::time::timeout(timeout, self.stream.write_all(buf)).await {
            Err(_) => Err(fail(ErrorKind::Timeout, format!("write blocked for {:.1} s", timeout.as_secs_f64()))),
            Ok((res, buf)) => {
                self.wbuf = buf;
                res.map(|_| ()).map_err(|e| fail(ErrorKind::Write, e.to_string()))
            }
        }
    }

    /// Reads one data message into `self.msg`, answering pings on the way.
    async fn read_message(&mut self, rng: &mut Rng, timeout: Duration) -> Res<()> {
        self.msg.clear();
        let mut in_message = false;
        loop {
            match parse_frame(&self.rbuf[self.rpos..]) {
                Parse::Need => self.fill(timeout).await?,
                Parse::Bad(why) => return Err(fail(ErrorKind::Protocol, why)),
                Parse::Frame { fin, opcode, start, end } => {
                    let payload = self.rpos + start..self.rpos + end;
                    self.rpos += end;
                    match opcode {
                        OP_TEXT if !in_message => {
                            self.msg.extend_from_slice(&self.rbuf[payload]);
                            if fin {
                                return Ok(());
                            }
                            in_message = true;
                        }
                        OP_CONT if in_message => {
                            self.msg.extend_from_slice(&self.rbuf[payload]);
                            if self.msg.len() > MAX_MESSAGE {
                                return Err(fail(ErrorKind::Protocol, "message over 16 MiB"));
                            }
                            if fin {
                                return Ok(());
                            }
                        }
                        OP_BINARY if !in_message => {
                            return Err(fail(ErrorKind::Mismatch, "binary message where the text echo was expected"))
                        }
                        OP_PING => {
                            let data = self.rbuf[payload].to_vec();
                            let pending = std::mem::take(&mut self.wbuf);
                            self.wbuf.clear();
                            encode_frame(&mut self.wbuf, OP_PONG, &data, rng.mask());
                            self.flush(timeout).await?;
                            self.wbuf = pending;
                        }
                        OP_PONG => {}
                        OP_CLOSE => {
                            let p = &self.rbuf[payload];
                            let detail = if p.len() >= 2 {
                                let code = u16::from_be_bytes([p[0], p[1]]);
                                let reason = String::from_utf8_lossy(&p[2..]);
                                format!("close frame from the server (code {code}, reason {reason:?})")
                            } else {
                                "close frame from the server (no code)".to_string()
                            };
                            return Err(fail(ErrorKind::Closed, detail));
                        }
                        _ => return Err(fail(ErrorKind::Protocol, format!("unexpected frame opcode {opcode:#x}"))),
                    }
                }
            }
        }
    }
}

fn handshake_failure(f: Failure) -> Failure {
    match f.kind {
        ErrorKind::Timeout | ErrorKind::Connect => f,
        _ => fail(ErrorKind::Handshake, f.detail),
    }
}

/// Connects and upgrades (the whole of it bounded by `cfg.timeout`).
async fn open(cfg: &Config) -> Res<Conn> {
    match monoio::time::timeout(cfg.timeout, open_inner(cfg)).await {
        Ok(r) => r,
        Err(_) => {
            Err(fail(ErrorKind::Timeout, format!("connect + handshake took over {:.1} s", cfg.timeout.as_secs_f64())))
        }
    }
}

async fn open_inner(cfg: &Config) -> Res<Conn> {
    let stream = TcpStream::connect(cfg.addr).await.map_err(|e| fail(ErrorKind::Connect, e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: wsload\r\n\r\n",
        cfg.path, cfg.host
    );
    let mut conn = Conn {
        stream,
        rbuf: Vec::with_capacity(READ_CHUNK),
        rpos: 0,
        msg: Vec::with_capacity(cfg.message_size.max(64)),
        wbuf: request.into_bytes(),
    };
    conn.flush(cfg.timeout).await.map_err(handshake_failure)?;
    let head_end = loop {
        if let Some(i) = conn.rbuf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if conn.rbuf.len() > MAX_HANDSHAKE {
            return Err(fail(ErrorKind::Handshake, "response head over 16 KiB"));
        }
        conn.fill(cfg.timeout).await.map_err(handshake_failure)?;
    };
    let head = String::from_utf8_lossy(&conn.rbuf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    if !status.starts_with("HTTP/1.1 101") {
        let status: String = status.chars().take(80).collect();
        return Err(fail(ErrorKind::Handshake, format!("expected 101 Switching Protocols, got {status:?}")));
    }
    let accept = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("sec-websocket-accept").then(|| value.trim().to_string())
    });
    if accept.as_deref() != Some(ACCEPT) {
        return Err(fail(ErrorKind::Handshake, format!("wrong Sec-WebSocket-Accept {accept:?}")));
    }
    conn.rpos = head_end;
    Ok(conn)
}

/// The measured loop: `pipeline` messages out, their echoes back, until the deadline.
async fn echo_loop(
    conn: &mut Conn,
    cfg: &Config,
    stats: &RefCell<Stats>,
    rng: &mut Rng,
    seq: &mut u64,
    deadline: Instant,
) -> Res<()> {
    let mut payload = Vec::with_capacity(cfg.message_size);
    while Instant::now() < deadline {
        conn.wbuf.clear();
        for k in 0..cfg.pipeline {
            make_payload(&mut payload, *seq + k as u64, cfg.message_size);
            encode_frame(&mut conn.wbuf, OP_TEXT, &payload, rng.mask());
        }
        let sent = Instant::now();
        conn.flush(cfg.timeout).await?;
        for k in 0..cfg.pipeline {
            conn.read_message(rng, cfg.timeout).await?;
            let expected = *seq + k as u64;
            if !is_echo(&conn.msg, expected, cfg.message_size) {
                let got = String::from_utf8_lossy(&conn.msg[..conn.msg.len().min(40)]).into_owned();
                return Err(fail(
                    ErrorKind::Mismatch,
                    format!("echo of message {expected} differs: got {} bytes {got:?}", conn.msg.len()),
                ));
            }
            let now = Instant::now();
            if now <= deadline {
                stats.borrow_mut().hist.record(now - sent);
            }
        }
        *seq += cfg.pipeline as u64;
    }
    Ok(())
}

/// Close handshake after the run (not measured, errors ignored), bounded by CLOSE_WAIT.
async fn close(mut conn: Conn, rng: &mut Rng, timeout: Duration) {
    let wait = timeout.min(CLOSE_WAIT);
    conn.wbuf.clear();
    encode_frame(&mut conn.wbuf, OP_CLOSE, &1000u16.to_be_bytes(), rng.mask());
    if conn.flush(wait).await.is_err() {
        return;
    }
    let end = Instant::now() + wait;
    // Late echoes are skipped; the server's close frame (an Err here) ends it.
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        if left.is_zero() || conn.read_message(rng, left).await.is_err() {
            return;
        }
    }
}

async fn pause_until(deadline: Instant) {
    if let Some(left) = deadline.checked_duration_since(Instant::now()) {
        monoio::time::sleep(left.min(RECONNECT_PAUSE)).await;
    }
}

async fn connection(id: usize, first: Option<Conn>, cfg: Rc<Config>, stats: Rc<RefCell<Stats>>, deadline: Instant) {
    let mut rng = Rng::new(id);
    let mut seq = (id as u64).wrapping_mul(1_000_003);
    let mut next = first;
    if next.is_none() {
        pause_until(deadline).await; // its first attempt already failed (and was counted)
    }
    while Instant::now() < deadline {
        let mut conn = match next.take() {
            Some(c) => c,
            None => match open(&cfg).await {
                Ok(c) => {
                    stats.borrow_mut().opened += 1;
                    c
                }
                Err(f) => {
                    stats.borrow_mut().error(id, f);
                    pause_until(deadline).await;
                    continue;
                }
            },
        };
        match echo_loop(&mut conn, &cfg, &stats, &mut rng, &mut seq, deadline).await {
            Ok(()) => {
                close(conn, &mut rng, cfg.timeout).await;
                return;
            }
            Err(f) => {
                stats.borrow_mut().error(id, f);
                drop(conn);
                pause_until(deadline).await;
            }
        }
    }
}

// --------------------------------------------------------------------------- run + report

struct Outcome {
    connected: usize,
    hard_stop: bool,
    wall: Duration,
}

async fn run(cfg: Rc<Config>, stats: Rc<RefCell<Stats>>) -> Outcome {
    // Open every connection first (in parallel), then start the clock.
    let t0 = Instant::now();
    let opening: Vec<_> = (0..cfg.connections)
        .map(|_| {
            let cfg = cfg.clone();
            monoio::spawn(async move { open(&cfg).await })
        })
        .collect();
    let mut first = Vec::with_capacity(cfg.connections);
    for (id, h) in opening.into_iter().enumerate() {
        match h.await {
            Ok(c) => first.push(Some(c)),
            Err(f) => {
                stats.borrow_mut().error(id, f);
                first.push(None);
            }
        }
    }
    let connected = first.iter().filter(|c| c.is_some()).count();
    stats.borrow_mut().opened += connected as u64;
    eprintln!(
        "wsload: {connected}/{} connections open in {:.0} ms; {} s of load on {}",
        cfg.connections,
        t0.elapsed().as_secs_f64() * 1e3,
        cfg.duration.as_secs_f64(),
        cfg.url
    );

    let start = Instant::now();
    let deadline = start + cfg.duration;
    let tasks: Vec<_> = first
        .into_iter()
        .enumerate()
        .map(|(id, c)| monoio::spawn(connection(id, c, cfg.clone(), stats.clone(), deadline)))
        .collect();
    // Every operation has its own timeout, so this only bites if something is badly wrong.
    let hard = cfg.duration + 2 * cfg.timeout + CLOSE_WAIT + Duration::from_secs(3);
    let all = async {
        for t in tasks {
            t.await;
        }
    };
    let hard_stop = monoio::time::timeout(hard, all).await.is_err();
    Outcome { connected, hard_stop, wall: start.elapsed() }
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn report(cfg: &Config, driver: DriverKind, stats: &Stats, outcome: &Outcome) -> String {
    let h = &stats.hist;
    let secs = cfg.duration.as_secs_f64();
    let ms = |ns: f64| ns / 1e6;
    let latency = if h.total == 0 {
        "null".to_string()
    } else {
        format!(
            "{{\"avg\": {:.4}, \"p50\": {:.4}, \"p90\": {:.4}, \"p99\": {:.4}, \"max\": {:.4}}}",
            ms(h.avg_ns()),
            ms(h.quantile_ns(0.50) as f64),
            ms(h.quantile_ns(0.90) as f64),
            ms(h.quantile_ns(0.99) as f64),
            ms(h.max_ns as f64),
        )
    };
    let kinds: Vec<String> =
        KINDS.iter().zip(stats.errors.iter()).map(|((_, name), n)| format!("\"{name}\": {n}")).collect();
    let samples: Vec<String> = stats.samples.iter().map(|s| json_str(s)).collect();
    let mut out = String::new();
    out.push_str("{\n");
    let _ = writeln!(out, "  \"tool\": \"wsload\",");
    let _ = writeln!(out, "  \"url\": {},", json_str(&cfg.url));
    let _ = writeln!(out, "  \"driver\": \"{}\",", driver.name());
    let _ = writeln!(out, "  \"connections\": {},", cfg.connections);
    let _ = writeln!(out, "  \"duration_s\": {secs},");
    let _ = writeln!(out, "  \"message_size\": {},", cfg.message_size);
    let _ = writeln!(out, "  \"pipeline\": {},", cfg.pipeline);
    let _ = writeln!(out, "  \"timeout_s\": {},", cfg.timeout.as_secs_f64());
    let _ = writeln!(out, "  \"messages\": {},", h.total);
    let _ = writeln!(out, "  \"messages_per_sec\": {:.1},", h.total as f64 / secs);
    let _ = writeln!(out, "  \"latency_ms\": {latency},");
    let _ = writeln!(out, "  \"errors\": {},", stats.total_errors());
    let _ = writeln!(out, "  \"error_kinds\": {{{}}},", kinds.join(", "));
    let _ = writeln!(out, "  \"error_samples\": [{}],", samples.join(", "));
    let _ = writeln!(out, "  \"connected\": {},", outcome.connected);
    let _ = writeln!(out, "  \"opened\": {},", stats.opened);
    let _ = writeln!(out, "  \"hard_stop\": {},", outcome.hard_stop);
    let _ = writeln!(out, "  \"wall_s\": {:.3}", outcome.wall.as_secs_f64());
    out.push('}');
    out
}

fn main() {
    let cfg = Rc::new(parse_args());
    let stats = Rc::new(RefCell::new(Stats {
        hist: Histogram::new(),
        errors: [0; KINDS.len()],
        samples: Vec::new(),
        opened: 0,
    }));
    let mut driver = cfg.driver;
    let outcome = loop {
        match driver {
            DriverKind::IoUring => {
                match monoio::RuntimeBuilder::<monoio::IoUringDriver>::new().with_entries(1024).enable_timer().build() {
                    Ok(mut rt) => break rt.block_on(run(cfg.clone(), stats.clone())),
                    Err(e) => {
                        eprintln!("wsload: io_uring unavailable ({e}); using epoll");
                        driver = DriverKind::Epoll;
                    }
                }
            }
            DriverKind::Epoll => {
                let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
                    .with_entries(1024)
                    .enable_timer()
                    .build()
                    .unwrap_or_else(|e| {
                        eprintln!("wsload: cannot start the epoll runtime: {e}");
                        std::process::exit(1);
                    });
                break rt.block_on(run(cfg.clone(), stats.clone()));
            }
        }
    };
    let stats = stats.borrow();
    println!("{}", report(&cfg, driver, &stats, &outcome));
    if outcome.hard_stop {
        eprintln!("wsload: hard stop: some connections were still pending");
    }
    // Exit without dropping the runtime: nothing pending may delay the end.
    std::process::exit(if stats.hist.total > 0 { 0 } else { 1 });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_round_trip() {
        for v in [0u64, 1, 1023, 1024, 1025, 5_000, 123_456, 9_876_543_210] {
            let mid = Histogram::value(Histogram::index(v));
            let err = (mid as f64 - v as f64).abs() / (v.max(1) as f64);
            assert!(err <= 0.002, "{v} -> {mid}");
        }
        let mut h = Histogram::new();
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile_ns(0.5) as f64 / 1e3;
        let p99 = h.quantile_ns(0.99) as f64 / 1e3;
        assert!((p50 - 50.0).abs() < 0.2, "{p50}");
        assert!((p99 - 99.0).abs() < 0.3, "{p99}");
        assert_eq!(h.quantile_ns(1.0), 100_000);
    }

    #[test]
    fn frames() {
        let mut out = Vec::new();
        encode_frame(&mut out, OP_TEXT, b"hello", [1, 2, 3, 4]);
        assert_eq!(out[0], 0x81);
        assert_eq!(out[1], 0x80 | 5);
        let unmasked: Vec<u8> = out[6..].iter().enumerate().map(|(i, b)| b ^ [1, 2, 3, 4][i & 3]).collect();
        assert_eq!(unmasked, b"hello");

        let mut big = Vec::new();
        encode_frame(&mut big, OP_TEXT, &[b'x'; 300], [0; 4]);
        assert_eq!(&big[1..4], &[0x80 | 126, 1, 44]);

        match parse_frame(&[0x81, 3, b'a', b'b', b'c', 0x89]) {
            Parse::Frame { fin, opcode, start, end } => assert!(fin && opcode == OP_TEXT && start == 2 && end == 5),
            _ => panic!("expected a frame"),
        }
        assert!(matches!(parse_frame(&[0x81, 126, 1]), Parse::Need));
        assert!(matches!(parse_frame(&[0x81, 0x83, 0, 0]), Parse::Bad(_)));
    }

    #[test]
    fn payloads_and_urls() {
        let mut p = Vec::new();
        make_payload(&mut p, 7, 32);
        assert!(is_echo(&p, 7, 32));
        assert!(!is_echo(&p, 8, 32));
        assert!(p.iter().all(u8::is_ascii_lowercase));

        let (addr, host, path) = parse_url("ws://127.0.0.1:8000/ws").unwrap();
        assert_eq!(addr, "127.0.0.1:8000".parse().unwrap());
        assert_eq!((host.as_str(), path.as_str()), ("127.0.0.1:8000", "/ws"));
        assert_eq!(parse_url("ws://localhost:9").unwrap().2, "/");
        assert!(parse_url("ws://[::1]:9/x").is_ok());
        assert!(parse_url("ws://10.0.0.1:80/").is_err());
        assert!(parse_url("wss://127.0.0.1/").is_err());
    }
}
