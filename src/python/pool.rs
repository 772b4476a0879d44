//! Sync code that may block: `def` endpoints and dependencies run on the core's thread while
//! their calls stay short, and in the shared thread pool (AnyIO's, the one Starlette's
//! `run_in_threadpool` uses) once a call is seen to block, so one blocking call never holds up
//! the other connections of the core. A result from a pool thread reaches the core through the
//! asyncio loop's self-pipe, which the core's reactor watches: nothing polls.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// An inline call longer than this moves its callable to the pool.
const BLOCKING: Duration = Duration::from_millis(1);
/// Fast calls in a row, in the pool, before a callable comes back inline (doubled each time it
/// has to move out again, so one that blocks now and then settles in the pool).
const FIRST_PROMOTION: u32 = 8;
const LAST_PROMOTION: u32 = 1 << 16;

/// Where a sync callable runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// Inline while calls stay short, in the pool once one blocks.
    Auto,
    Inline,
    Threadpool,
}

impl SyncMode {
    pub fn parse(name: &str) -> PyResult<SyncMode> {
        match name {
            "auto" => Ok(SyncMode::Auto),
            "inline" => Ok(SyncMode::Inline),
            "threadpool" => Ok(SyncMode::Threadpool),
            other => Err(pyo3::exceptions::PyValueError::new_err(format!(
                "sync mode must be 'auto', 'inline' or 'threadpool', not {other:?}"
            ))),
        }
    }
}

/// What "auto" has learnt about one callable; shared with the pool threads that time it.
#[derive(Debug)]
struct Learnt {
    pooled: AtomicBool,
    fast_in_a_row: AtomicU32,
    promote_after: AtomicU32,
}

impl Learnt {
    fn saw_inline(&self, took: Duration) {
        if took > BLOCKING {
            self.fast_in_a_row.store(0, Ordering::Relaxed);
            self.pooled.store(true, Ordering::Relaxed);
        }
    }

    fn saw_pooled(&self, took: Duration) {
        if took > BLOCKING {
            self.fast_in_a_row.store(0, Ordering::Relaxed);
            return;
        }
        let streak = self.fast_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        let needed = self.promote_after.load(Ordering::Relaxed);
        if streak >= needed && self.pooled.swap(false, Ordering::Relaxed) {
            self.fast_in_a_row.store(0, Ordering::Relaxed);
            self.promote_after.store((needed * 2).min(LAST_PROMOTION), Ordering::Relaxed);
        }
    }
}

/// Where one sync callable (an endpoint, a dependency, a streaming body's iterator) runs, and
/// what "auto" has learnt of it. `fastrapi._fastrapi.SyncPolicy`.
#[pyclass(module = "fastrapi._fastrapi", frozen)]
#[derive(Clone)]
pub struct SyncPolicy {
    mode: SyncMode,
    learnt: Arc<Learnt>,
}

impl SyncPolicy {
    pub fn new(mode: SyncMode) -> SyncPolicy {
        let learnt = Learnt {
            pooled: AtomicBool::new(mode == SyncMode::Threadpool),
            fast_in_a_row: AtomicU32::new(0),
            promote_after: AtomicU32::new(FIRST_PROMOTION),
        };
        SyncPolicy { mode, learnt: Arc::new(learnt) }
    }

    /// The policy for `func`: its own `fastrapi.concurrency.sync_mode` if it has one, else `mode`.
    pub fn for_callable(func: &Bound<'_, PyAny>, mode: SyncMode) -> PyResult<SyncPolicy> {
        match func.getattr(pyo3::intern!(func.py(), "__fastrapi_sync_mode__")) {
            Ok(own) => Ok(SyncPolicy::new(SyncMode::parse(&own.extract::<String>()?)?)),
            Err(_) => Ok(SyncPolicy::new(mode)),
        }
    }

    /// Whether the next call goes to the pool.
    pub fn offloads(&self) -> bool {
        match self.mode {
            SyncMode::Inline => false,
            SyncMode::Threadpool => true,
            SyncMode::Auto => self.learnt.pooled.load(Ordering::Relaxed),
        }
    }

    /// Calls `func` on this thread, timing the call when "auto" decides.
    pub fn call_inline<'py>(
        &self,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if self.mode != SyncMode::Auto {
            return func.call(args, kwargs);
        }
        let started = Instant::now();
        let result = func.call(args, kwargs);
        self.learnt.saw_inline(started.elapsed());
        result
    }

    /// A coroutine that runs `func` in the pool (AnyIO's `to_thread.run_sync`: the threads and
    /// the limit Starlette's `run_in_threadpool` uses; context variables are copied).
    pub fn call_pooled<'py>(
        &self,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = func.py();
        let job = PoolJob {
            func: func.clone().unbind(),
            args: args.clone().unbind(),
            kwargs: kwargs.map(|k| k.clone().unbind()),
            learnt: (self.mode == SyncMode::Auto).then(|| self.learnt.clone()),
        };
        run_sync(py)?.call1((Bound::new(py, job)?,))
    }
}

/// `anyio.to_thread.run_sync`, looked up once per process.
fn run_sync(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static RUN_SYNC: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    RUN_SYNC
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("anyio.to_thread")?.getattr("run_sync")?.unbind()))
        .map(|f| f.bind(py))
}

/// The call a pool thread makes, timed so "auto" learns when the callable is fast again.
#[pyclass(module = "fastrapi._fastrapi", frozen)]
struct PoolJob {
    func: Py<PyAny>,
    args: Py<PyTuple>,
    kwargs: Option<Py<PyDict>>,
    learnt: Option<Arc<Learnt>>,
}

#[pymethods]
impl PoolJob {
    fn __call__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let started = Instant::now();
        let result = self.func.bind(py).call(self.args.bind(py), self.kwargs.as_ref().map(|k| k.bind(py)));
        if let Some(learnt) = &self.learnt {
            learnt.saw_pooled(started.elapsed());
        }
        result
    }
}

#[pymethods]
impl SyncPolicy {
    #[new]
    #[pyo3(signature = (mode = "auto"))]
    fn py_new(mode: &str) -> PyResult<SyncPolicy> {
        Ok(SyncPolicy::new(SyncMode::parse(mode)?))
    }

    /// `True` when the next call goes to the thread pool (await `pooled(...)`), else call `inline(...)`.
    #[getter]
    fn offload(&self) -> bool {
        self.offloads()
    }

    #[pyo3(signature = (func, /, *args, **kwargs))]
    fn inline<'py>(
        &self,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.call_inline(func, args, kwargs)
    }

    #[pyo3(name = "pooled", signature = (func, /, *args, **kwargs))]
    fn py_pooled<'py>(
        &self,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.call_pooled(func, args, kwargs)
    }

    #[getter]
    fn mode(&self) -> &'static str {
        match self.mode {
            SyncMode::Auto => "auto",
            SyncMode::Inline => "inline",
            SyncMode::Threadpool => "threadpool",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learnt() -> Learnt {
        Learnt {
            pooled: AtomicBool::new(false),
            fast_in_a_row: AtomicU32::new(0),
            promote_after: AtomicU32::new(FIRST_PROMOTION),
        }
    }

    #[test]
    fn a_blocking_call_moves_to_the_pool_and_comes_back_later_each_time() {
        let l = learnt();
        l.saw_inline(Duration::from_micros(50));
        assert!(!l.pooled.load(Ordering::Relaxed));
        l.saw_inline(Duration::from_millis(5));
        assert!(l.pooled.load(Ordering::Relaxed));
        for _ in 0..FIRST_PROMOTION - 1 {
            l.saw_pooled(Duration::from_micros(50));
        }
        assert!(l.pooled.load(Ordering::Relaxed));
        l.saw_pooled(Duration::from_micros(50));
        assert!(!l.pooled.load(Ordering::Relaxed), "back inline after a streak of fast calls");
        l.saw_inline(Duration::from_millis(5));
        for _ in 0..FIRST_PROMOTION {
            l.saw_pooled(Duration::from_micros(50));
        }
        assert!(l.pooled.load(Ordering::Relaxed), "the second time it takes a longer streak");
        l.saw_pooled(Duration::from_millis(5));
        assert_eq!(l.fast_in_a_row.load(Ordering::Relaxed), 0);
    }
}
