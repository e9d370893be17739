//! Benchmarks of lambda-kit against the official runtime and the floor.
//!
//! ```sh
//! cargo run -p benches --release -- e2e                  # 20,000 invocations x 3 rounds
//! cargo run -p benches --release -- e2e --invocations 5000 --rounds 5
//! cargo bench -p benches --bench log_format              # micro-benchmark
//! ```
//!
//! `e2e` builds the contenders (the crate's examples) in release mode, then runs each as
//! its own process against an in-process Runtime API, in alternating rounds, and prints
//! medians with ratios.

mod measure;
mod report;
mod server;

use std::path::PathBuf;
use std::process::Command;

use measure::{Contender, Measurement};

const USAGE: &str = "usage: benches e2e [--invocations N] [--rounds R]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(("e2e", options)) = args
        .split_first()
        .map(|(first, rest)| (first.as_str(), rest))
    else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let mut invocations = 20_000;
    let mut rounds = 3;
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let value = options.next().and_then(|value| value.parse().ok());
        match (option.as_str(), value) {
            ("--invocations", Some(n)) => invocations = n,
            ("--rounds", Some(n)) => rounds = n,
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let examples = build_examples()?;
    let contenders = [
        Contender::new("floor (raw keep-alive loop)", examples.join("floor")),
        Contender::new("lambda-kit", examples.join("kit_hello")),
        Contender::new("official lambda_runtime", examples.join("official_hello")),
        Contender::new(
            "lambda-kit, JSON logs + X-Ray sampled",
            examples.join("kit_hello_logging"),
        )
        .with_observability(),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut results: Vec<Vec<Measurement>> = vec![Vec::new(); contenders.len()];
    for round in 1..=rounds {
        for (index, contender) in contenders.iter().enumerate() {
            let measurement = runtime.block_on(measure::run(contender, invocations))?;
            eprintln!(
                "round {round}/{rounds}: {}: {:.0} invocations/s",
                contender.name,
                measurement.throughput()
            );
            results[index].push(measurement);
        }
    }
    report::print(&contenders, &results, invocations, rounds);
    Ok(())
}

/// Builds the contenders in release mode and returns the folder holding them.
fn build_examples() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "benches", "--examples"])
        .status()?;
    if !status.success() {
        return Err("building the benchmark examples failed".into());
    }
    let exe = std::env::current_exe()?;
    let release = exe.parent().ok_or("the harness has no folder")?;
    Ok(release.join("examples"))
}
