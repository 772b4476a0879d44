//! Connection I/O shared by the HTTP and ASGI request paths: reading into the connection's
//! buffer with a timeout, writing the output buffer, and the `100 Continue` interim answer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use monoio::buf::{IoBufMut, SliceMut};
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
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

pub async fn send_continue(stream: &mut TcpStream) -> std::io::Result<()> {
    let (res, _) = stream.write_all(&b"HTTP/1.1 100 Continue\r\n\r\n"[..]).await;
    res.map(|_| ())
}

pub async fn flush(stream: &mut TcpStream, wbuf: &mut Vec<u8>) -> std::io::Result<()> {
    if wbuf.is_empty() {
        return Ok(());
    }
    let (res, mut buf) = stream.write_all(std::mem::take(wbuf)).await;
    buf.clear();
    *wbuf = buf;
    res.map(|_| ())
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
