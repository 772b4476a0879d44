//! Connection I/O shared by the HTTP and ASGI request paths: reading into the connection's
//! buffer with a timeout, writing with a write timeout, and the `100 Continue` interim answer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use monoio::buf::{IoBuf, IoBufMut, SliceMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent};
use monoio::net::TcpStream;

use super::shutdown::ShutdownWait;

pub const READ_CHUNK: usize = 16 * 1024;

pub fn compact(rbuf: &mut Vec<u8>, start: &mut usize) {
    if *start > 0 {
        rbuf.copy_within(*start.., 0);
        rbuf.truncate(rbuf.len() - *start);
        *start = 0;
    }
}

pub async fn send_continue(stream: &mut TcpStream, timeout: Duration) -> std::io::Result<()> {
    write_all(stream, b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(), timeout).await.0
}

/// Writes out `wbuf` (left empty, its allocation kept); see [`write_all`] for `timeout`.
pub async fn flush(stream: &mut TcpStream, wbuf: &mut Vec<u8>, timeout: Duration) -> std::io::Result<()> {
    if wbuf.is_empty() {
        return Ok(());
    }
    let (res, mut buf) = write_all(stream, std::mem::take(wbuf), timeout).await;
    buf.clear();
    *wbuf = buf;
    res
}

/// Writes all of `buf`. A write that makes no progress for `timeout` (a client that stopped
/// reading, its window closed) resets the connection and fails; slow progress is fine.
pub async fn write_all(stream: &mut TcpStream, mut buf: Vec<u8>, timeout: Duration) -> (std::io::Result<()>, Vec<u8>) {
    let mut written = 0;
    while written < buf.len() {
        let write = stream.write(buf.slice(written..));
        let outcome = monoio::select! {
            (res, slice) = write => Some((res, slice.into_inner())),
            _ = monoio::time::sleep(timeout) => None,
        };
        let Some((res, back)) = outcome else {
            // The dropped write still owns its buffer; the reset makes it fail and frees it.
            reset(std::os::fd::AsRawFd::as_raw_fd(stream));
            return (Err(std::io::ErrorKind::TimedOut.into()), Vec::new());
        };
        buf = back;
        match res {
            Ok(0) => return (Err(std::io::ErrorKind::WriteZero.into()), buf),
            Ok(n) => written += n,
            Err(e) => return (Err(e), buf),
        }
    }
    (Ok(()), buf)
}

/// Resets the connection now (RST, unsent data discarded): a peer that stopped reading gets no
/// more of our time, and a pending write on the socket fails.
pub fn reset(fd: std::os::fd::RawFd) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: `fd` is an open socket owned by the caller's connection; the option value is a
    // valid `linger` of the size given.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
        libc::shutdown(fd, libc::SHUT_RDWR);
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    Data,
    Closed,
    TimedOut,
    Stopped,
}

/// Appends what the socket has to `buf`, waiting at most `timeout` (and, for an idle
/// keep-alive connection, no longer than the worker keeps running).
pub async fn read_more(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    timeout: Duration,
    idle: Option<ShutdownWait<'_>>,
) -> Read {
    if buf.capacity() - buf.len() < 2048 {
        buf.reserve(READ_CHUNK);
    }
    let len = buf.len();
    let slice: SliceMut<Vec<u8>> = std::mem::take(buf).slice_mut(len..);
    let read = stream.read(slice);
    let stop = MaybeStop(idle);
    monoio::select! {
        (res, slice) = read => {
            *buf = slice.into_inner();
            match res {
                Ok(0) | Err(_) => Read::Closed,
                Ok(_) => Read::Data,
            }
        },
        _ = monoio::time::sleep(timeout) => Read::TimedOut,
        _ = stop => Read::Stopped,
    }
}

/// The shutdown wait for idle connections; never ready for a connection mid-request.
struct MaybeStop<'a>(Option<ShutdownWait<'a>>);

impl Future for MaybeStop<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.0.as_mut() {
            Some(wait) => Pin::new(wait).poll(cx),
            None => Poll::Pending,
        }
    }
}
