//! Benchmarks of lambda-kit. Micro-benchmarks are criterion targets under `benches/`:
//!
//! ```sh
//! cargo bench -p benches --bench log_format
//! ```
