//! Values that belong to one worker thread but sit inside Python objects any thread may drop.
//!
//! An ASGI `receive`/`send` holds its request's `Rc<Exchange>`. A `def` endpoint run in the thread
//! pool is handed a `Request` that holds `receive`, and the pool thread can drop the last
//! reference after the worker has moved on. [`ThreadBound`] makes such a holder a normal
//! (sendable) Python object: using the value from another thread is refused, and a drop on another
//! thread hands the value back to its owner, which drops it on its own thread at its next
//! [`drop_orphans`].

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::{self, ThreadId};

use pyo3::exceptions::PyRuntimeError;
use pyo3::PyResult;

pub struct ThreadBound<T: 'static> {
    owner: ThreadId,
    value: ManuallyDrop<T>,
}

// SAFETY: the value is only reached on its owner thread (`get` checks), and only dropped there
// (`Drop` sends it home otherwise); other threads move the wrapper, never the value's state.
unsafe impl<T: 'static> Send for ThreadBound<T> {}
unsafe impl<T: 'static> Sync for ThreadBound<T> {}

impl<T: 'static> ThreadBound<T> {
    pub fn new(value: T) -> Self {
        ThreadBound { owner: thread::current().id(), value: ManuallyDrop::new(value) }
    }

    pub fn get(&self) -> PyResult<&T> {
        if thread::current().id() == self.owner {
            Ok(&self.value)
        } else {
            Err(PyRuntimeError::new_err("an ASGI receive/send callable was called outside its worker's thread"))
        }
    }
}

impl<T: 'static> Drop for ThreadBound<T> {
    fn drop(&mut self) {
        // SAFETY: taken once, here; the field is never used again.
        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        if thread::current().id() == self.owner {
            drop(value);
        } else {
            let orphan = Orphan { owner: self.owner, _value: Box::new(value) };
            ORPHANS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(orphan);
            ORPHAN_COUNT.fetch_add(1, Ordering::Release);
        }
    }
}

struct Orphan {
    owner: ThreadId,
    // Only held, to be dropped by its owner.
    _value: Box<dyn std::any::Any>,
}

// SAFETY: an orphan's value is moved, untouched, to its owner thread, which alone drops it.
unsafe impl Send for Orphan {}

static ORPHANS: Mutex<Vec<Orphan>> = Mutex::new(Vec::new());
static ORPHAN_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Drops the values other threads handed back to this thread (one atomic load when there are none).
pub fn drop_orphans() {
    if ORPHAN_COUNT.load(Ordering::Acquire) == 0 {
        return;
    }
    let me = thread::current().id();
    let mine: Vec<Orphan> = {
        let mut orphans = ORPHANS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (mine, others) = std::mem::take(&mut *orphans).into_iter().partition(|o| o.owner == me);
        *orphans = others;
        ORPHAN_COUNT.fetch_sub(mine.len(), Ordering::AcqRel);
        mine
    };
    drop(mine);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn a_value_dropped_on_another_thread_is_dropped_by_its_owner() {
        let shared = Rc::new(());
        let bound = ThreadBound::new(shared.clone());
        assert!(bound.get().is_ok());
        let carried = std::sync::Arc::new(Mutex::new(Some(bound)));
        let carrier = carried.clone();
        thread::spawn(move || {
            assert!(carrier.lock().unwrap().as_ref().unwrap().get().is_err());
            carrier.lock().unwrap().take();
        })
        .join()
        .unwrap();
        assert_eq!(Rc::strong_count(&shared), 2);
        drop_orphans();
        assert_eq!(Rc::strong_count(&shared), 1);
    }
}
