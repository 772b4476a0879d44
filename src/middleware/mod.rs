//! Middleware configured from Python and run natively around every route.

pub mod cors;

pub use cors::Cors;
