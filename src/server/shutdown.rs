//! A per-worker stop flag that every connection and the accept loop can await.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use ahash::AHashMap;

#[derive(Default)]
pub struct Shutdown {
    stopped: Cell<bool>,
    next_id: Cell<u64>,
    waiters: RefCell<AHashMap<u64, Waker>>,
}

impl Shutdown {
    pub fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    pub fn trigger(&self) {
        self.stopped.set(true);
        for (_, waker) in self.waiters.borrow_mut().drain() {
            waker.wake();
        }
    }

    pub fn wait(&self) -> ShutdownWait<'_> {
        ShutdownWait { shutdown: self, id: None }
    }
}

pub struct ShutdownWait<'a> {
    shutdown: &'a Shutdown,
    id: Option<u64>,
}

impl Future for ShutdownWait<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.shutdown.is_stopped() {
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
