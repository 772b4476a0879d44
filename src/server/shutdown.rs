//! A per-worker stop flag that every connection and the accept loop can await. Retiring (after
//! `limit_max_requests`) stops the accept loop only; stopping (a signal) also ends idle
//! connections and WebSockets.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use ahash::AHashMap;

#[derive(Default)]
pub struct Shutdown {
    stopped: Cell<bool>,
    retiring: Cell<bool>,
    next_id: Cell<u64>,
    waiters: RefCell<AHashMap<u64, Waker>>,
}

impl Shutdown {
    pub fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    pub fn is_retiring(&self) -> bool {
        self.retiring.get()
    }

    pub fn trigger(&self) {
        self.stopped.set(true);
        self.wake_all();
    }

    pub fn retire(&self) {
        self.retiring.set(true);
        self.wake_all();
    }

    fn wake_all(&self) {
        for (_, waker) in self.waiters.borrow_mut().drain() {
            waker.wake();
        }
    }

    /// Ready once the worker stops.
    pub fn wait(&self) -> ShutdownWait<'_> {
        ShutdownWait { shutdown: self, id: None, or_retiring: false }
    }

    /// Ready once the worker stops or retires: time to stop accepting.
    pub fn wait_or_retire(&self) -> ShutdownWait<'_> {
        ShutdownWait { shutdown: self, id: None, or_retiring: true }
    }
}

pub struct ShutdownWait<'a> {
    shutdown: &'a Shutdown,
    id: Option<u64>,
    or_retiring: bool,
}

impl Future for ShutdownWait<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.shutdown.is_stopped() || (self.or_retiring && self.shutdown.is_retiring()) {
            return Poll::Ready(());
        }
        let id = match self.id {
            Some(id) => id,
            None => {
                let id = self.shutdown.next_id.get();
                self.shutdown.next_id.set(id + 1);
                self.id = Some(id);
                id
            }
        };
        self.shutdown.waiters.borrow_mut().insert(id, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for ShutdownWait<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.shutdown.waiters.borrow_mut().remove(&id);
        }
    }
}
