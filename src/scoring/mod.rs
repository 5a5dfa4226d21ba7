//! The real-time scoring engine.

pub mod model;
