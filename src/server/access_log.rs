//! The access log: one line per request on `fastrapi.access`, in uvicorn's format, written by
//! `fastrapi._server.log_access` only when the log is on.

/// One access-log line's worth of the request, copied while its head is still borrowed.
pub struct AccessEntry {
    /// `host:port` of the client (after trusted proxy headers), `""` for none.
    client: String,
    method: String,
    target: String,
    version: &'static str,
}

impl AccessEntry {
    pub fn new(head: &crate::http::Head<'_>, client: String) -> AccessEntry {
        // As sent (uvicorn logs the re-quoted path, the same for any well-formed request).
        let mut target = head.path.to_string();
        if !head.query.is_empty() {
            target.push('?');
            target.push_str(head.query);
        }
        AccessEntry {
            client,
            method: head.method_str.to_string(),
            target,
            version: if head.version == 0 { "1.0" } else { "1.1" },
        }
    }

    /// Hands the line to `fastrapi._server.log_access` (only when the access log is on).
    pub fn log(self, logger: &pyo3::Py<pyo3::PyAny>, status: u16) {
        pyo3::Python::attach(|py| {
            if let Err(e) = logger.call1(py, (self.client, self.method, self.target, self.version, status)) {
                e.print(py);
            }
        });
    }
}
