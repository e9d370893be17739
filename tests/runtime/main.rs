//! End-to-end tests of the runtime loop.
