//! Decides whether `bootstrap --serve` (the local emulator) is compiled in, as the cfg
//! `emulator`: with the `serve` feature (a default one), in builds with debug assertions
//! (`cargo run`, `cargo test`, `cargo lambda watch`), and in release builds only with the
//! `serve-in-release` feature. A production bootstrap so never carries the emulator's
//! servers, and `cargo run -- --serve` stays one command away.
//!
//! Cargo features cannot depend on the profile, and `cfg(debug_assertions)` alone would
//! need the feature test repeated beside it at every gated item; one cfg says both.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(emulator)");
    println!("cargo::rustc-check-cfg=cfg(docsrs)");
    let on = |name: &str| std::env::var_os(name).is_some();
    let debug_build = on("CARGO_CFG_DEBUG_ASSERTIONS");
    if on("CARGO_FEATURE_SERVE") && (debug_build || on("CARGO_FEATURE_SERVE_IN_RELEASE")) {
        println!("cargo::rustc-cfg=emulator");
    }
}
