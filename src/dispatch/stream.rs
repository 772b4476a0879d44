//! Response bodies sent piece by piece as the socket takes them: a `StreamingResponse`'s
//! iterator or a file, optionally compressed on the way by the native GZip middleware.

use std::io::Write;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::files::FileBody;
use crate::http::body::{encode_end, encode_piece};
use crate::http::response::Framing;
use crate::python::aio::{AsyncBridge, PendingTask, Started};
use crate::python::log::{log_error, report_app_error};
use crate::python::pool::SyncPolicy;

pub struct Stream {
    source: Source,
    /// Set by the GZip middleware: every piece is compressed and flushed as it goes.
    gzip: Option<flate2::write::GzEncoder<Vec<u8>>>,
}

enum Source {
    /// A `StreamingResponse`'s async iterator.
    PythonAsync(Py<PyAny>),
    /// A sync iterator: each `next()` inline or in the thread pool, as its route's policy says.
    PythonSync(Py<PyAny>, SyncPolicy),
    /// A file (or ranges of one) read from disk.
    File(FileBody),
}

/// The next piece of a streamed body.
pub enum Chunk {
    Data(Vec<u8>),
    End,
    /// The iterator awaits: wait for the task, then call [`Stream::pending_chunk`].
    Pending(PendingTask),
    /// The iterator raised or the file failed (already logged): the connection must be closed.
    Failed,
}

impl Stream {
    pub fn python_async(iterator: Py<PyAny>) -> Stream {
        Stream { source: Source::PythonAsync(iterator), gzip: None }
    }

    pub fn python_sync(iterator: Py<PyAny>, policy: SyncPolicy) -> Stream {
        Stream { source: Source::PythonSync(iterator, policy), gzip: None }
    }

    pub fn file(body: FileBody) -> Stream {
        Stream { source: Source::File(body), gzip: None }
    }

    /// From now on every piece is gzip-compressed at `level` (the GZip middleware decided).
    pub fn compress(&mut self, level: u32) {
        self.gzip = Some(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level)));
    }

    /// Asks the source for its next piece.
    pub fn next_chunk(&mut self, bridge: &AsyncBridge) -> Chunk {
        match &mut self.source {
            Source::File(file) => match file.next_chunk() {
                Ok(Some(data)) => Chunk::Data(data),
                Ok(None) => Chunk::End,
                Err(e) => {
                    Python::attach(|py| log_error(py, &format!("sending a file failed: {e}"), None));
                    Chunk::Failed
                }
            },
            Source::PythonAsync(iterator) => Python::attach(|py| {
                let started = iterator
                    .bind(py)
                    .call_method0(pyo3::intern!(py, "__anext__"))
                    .and_then(|coro| bridge.start(py, coro));
                match started {
                    Ok(Started::Done(result)) => chunk_from(py, result),
                    Ok(Started::Pending(task)) => Chunk::Pending(task),
                    Err(e) => chunk_from(py, Err(e)),
                }
            }),
            Source::PythonSync(iterator, policy) => Python::attach(|py| {
                // `next(iterator, END)`: the end of the iteration is a value, so it survives the
                // trip through a pool thread (a StopIteration could not leave a coroutine).
                let args = (iterator.bind(py), end_marker(py)).into_pyobject(py);
                let next = py.import(pyo3::intern!(py, "builtins")).and_then(|b| b.getattr(pyo3::intern!(py, "next")));
                let (args, next) = match (args, next) {
                    (Ok(args), Ok(next)) => (args, next),
                    (Err(e), _) | (_, Err(e)) => return chunk_from(py, Err(e)),
                };
                if !policy.offloads() {
                    return chunk_from(py, policy.call_inline(&next, &args, None));
                }
                match policy.call_pooled(&next, &args, None).and_then(|coro| bridge.start(py, coro)) {
                    Ok(Started::Done(result)) => chunk_from(py, result),
                    Ok(Started::Pending(task)) => Chunk::Pending(task),
                    Err(e) => chunk_from(py, Err(e)),
                }
            }),
        }
    }

    /// The piece a suspended `__anext__` (or a `next()` in the pool) produced.
    pub fn pending_chunk(task: &PendingTask) -> Chunk {
        Python::attach(|py| chunk_from(py, task.task.bind(py).call_method0(pyo3::intern!(py, "result"))))
    }

    /// Appends the bytes to write for one piece: compressed and framed as needed.
    pub fn encode(&mut self, framing: Framing, data: &[u8], out: &mut Vec<u8>) {
        match &mut self.gzip {
            Some(gzip) => {
                if gzip.write_all(data).and_then(|()| gzip.flush()).is_ok() {
                    let compressed = std::mem::take(gzip.get_mut());
                    encode_piece(framing, &compressed, out);
                }
            }
            None => encode_piece(framing, data, out),
        }
    }

    /// Appends the bytes that end the body (the gzip trailer, the last chunk).
    pub fn finish(&mut self, framing: Framing, out: &mut Vec<u8>) {
        if let Some(gzip) = &mut self.gzip {
            if gzip.try_finish().is_ok() {
                let tail = std::mem::take(gzip.get_mut());
                encode_piece(framing, &tail, out);
            }
        }
        encode_end(framing, out);
    }
}

/// The value `next(iterator, END)` gives at the end of a sync iterator.
fn end_marker(py: Python<'_>) -> &Bound<'_, PyAny> {
    static END: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    END.get_or_init(py, || pyo3::types::PyBytes::new(py, b"fastrapi: end of a sync iterator").into_any().unbind())
        .bind(py)
}

fn chunk_from(py: Python<'_>, item: PyResult<Bound<'_, PyAny>>) -> Chunk {
    match item {
        Ok(value) if value.is(end_marker(py)) => Chunk::End,
        Ok(value) => {
            if let Ok(bytes) = value.cast::<PyBytes>() {
                return Chunk::Data(bytes.as_bytes().to_vec());
            }
            if let Ok(text) = value.cast::<PyString>() {
                if let Ok(text) = text.to_str() {
                    return Chunk::Data(text.as_bytes().to_vec());
                }
            }
            match value.extract::<Vec<u8>>() {
                Ok(bytes) => Chunk::Data(bytes),
                Err(e) => {
                    report_app_error(py, &e);
                    Chunk::Failed
                }
            }
        }
        Err(e) => {
            if e.is_instance_of::<pyo3::exceptions::PyStopAsyncIteration>(py) {
                Chunk::End
            } else {
                // The head is already sent: all that is left is to log and end the connection.
                report_app_error(py, &e);
                Chunk::Failed
            }
        }
    }
}
