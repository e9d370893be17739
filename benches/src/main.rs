//! Benchmarks of lambda-kit against the official runtime and the floor.
//!
//! ```sh
//! cargo run -p benches --release -- e2e                  # 20,000 invocations x 3 rounds
//! cargo run -p benches --release -- e2e --invocations 5000 --rounds 5
//! cargo run -p benches --release -- soak                 # 1,000,000 invocations, RSS sampled
//! cargo run -p benches --release -- soak --traced        # the same with a trace header each
//! cargo run -p benches --release -- instructions         # callgrind: per invocation, start-up
//! cargo run -p benches --release -- instructions --keep /tmp/cg   # and keep the profiles
//! cargo run -p benches --release -- concurrency          # Managed Instances: 8 and 64 workers
//! cargo bench -p benches --bench log_format              # micro-benchmark
//! ```
//!
//! `e2e` builds the contenders (the crate's examples) in release mode, then runs each as
//! its own process against an in-process Runtime API, in alternating rounds, and prints
//! medians with ratios.

mod instructions;
mod measure;
mod report;
mod server;

use std::path::PathBuf;
use std::process::Command;

use measure::{Contender, Measurement};

const USAGE: &str = "usage: benches e2e [--invocations N] [--rounds R] \
     | benches soak [--invocations N] [--traced] | benches instructions [--invocations N] [--keep DIR] \
     | benches concurrency [--invocations N] [--rounds R]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, options) = match args.split_first() {
        Some((command, options))
            if ["e2e", "soak", "instructions", "concurrency"].contains(&command.as_str()) =>
        {
            (command.as_str(), options)
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let mut invocations = match command {
        "soak" => 1_000_000,
        "instructions" => 2_000,
        _ => 20_000,
    };
    let mut rounds = 3;
    let mut keep = None;
    let mut traced = false;
    let mut options = options.iter();
    while let Some(option) = options.next() {
        if option == "--traced" && command == "soak" {
            traced = true;
            continue;
        }
        if option == "--keep" && command == "instructions" {
            keep = options.next().map(PathBuf::from);
            continue;
        }
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
    if command == "soak" {
        return run_soak(&examples, invocations, traced);
    }
    let contenders = match command {
        "concurrency" => concurrency_contenders(&examples),
        _ => contenders(&examples),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if command == "instructions" {
        // Under callgrind an interpreter counts its own start and bytecode loop, not a
        // runtime's cost: the instruction table is of the compiled bootstraps.
        let compiled: Vec<Contender> = contenders
            .into_iter()
            .filter(|contender| !contender.is_interpreted())
            .collect();
        return run_instructions(&runtime, &compiled, invocations, keep);
    }
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
    match command {
        "concurrency" => report::print_concurrency(&contenders, &results, invocations, rounds),
        _ => report::print(&contenders, &results, invocations, rounds),
    }
    Ok(())
}

/// The Lambda Managed Instances set: each invocation awaits a 1 ms timer, so that
/// invocations overlap; lambda-kit and the official runtime's `run_concurrent` at 8 and at
/// 64 workers, in pairs (the report compares each pair).
fn concurrency_contenders(examples: &std::path::Path) -> Vec<Contender> {
    let mut contenders = Vec::new();
    for (workers, kit, official) in [
        (
            8,
            "lambda-kit, 8 workers",
            "official run_concurrent, 8 workers",
        ),
        (
            64,
            "lambda-kit, 64 workers",
            "official run_concurrent, 64 workers",
        ),
    ] {
        contenders
            .push(Contender::new(kit, examples.join("kit_timer")).with_max_concurrency(workers));
        contenders.push(
            Contender::new(official, examples.join("official_timer")).with_max_concurrency(workers),
        );
    }
    contenders
}

/// The bootstraps measured side by side; the report reads the floor first and the
/// official runtime third. AWS's runtime interface clients for Python and Node.js come
/// last, when they are installed (`pip install awslambdaric`; `npm install` in benches/node).
fn contenders(examples: &std::path::Path) -> Vec<Contender> {
    let mut contenders = vec![
        Contender::new("floor (raw keep-alive loop)", examples.join("floor")),
        Contender::new("lambda-kit", examples.join("kit_hello")),
        Contender::new("official lambda_runtime", examples.join("official_hello")),
        Contender::new(
            "lambda-kit, JSON logs + X-Ray sampled",
            examples.join("kit_hello_logging"),
        )
        .with_observability(),
        Contender::new(
            "lambda-kit, JSON logs + OTel export to a local receiver",
            examples.join("kit_hello_otel"),
        )
        .with_otel(),
    ];
    match python_with_awslambdaric() {
        Some(python) => contenders.push(Contender::interpreted(
            "Python, awslambdaric",
            python,
            &["-m", "awslambdaric", "handler.handler"],
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python"),
        )),
        None => eprintln!(
            "the Python contender is left out: `python3 -c 'import awslambdaric'` failed \
             (pip install awslambdaric)"
        ),
    }
    let node_function = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("node");
    let node_client = node_function.join("node_modules/aws-lambda-ric/bin/index.mjs");
    match which("node").filter(|_| node_client.is_file()) {
        Some(node) => contenders.push(Contender::interpreted(
            "Node.js, aws-lambda-ric",
            node,
            &[
                "node_modules/aws-lambda-ric/bin/index.mjs",
                "handler.handler",
            ],
            node_function,
        )),
        None => eprintln!(
            "the Node.js contender is left out: it needs node and `npm install` in benches/node"
        ),
    }
    contenders
}

/// The full path of `program` on `PATH`.
fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|folder| folder.join(program))
        .find(|path| path.is_file())
}

/// The interpreter that can import `awslambdaric`, by its full path (contenders run with
/// an empty environment, so without `PATH`).
fn python_with_awslambdaric() -> Option<std::path::PathBuf> {
    let output = std::process::Command::new("python3")
        .args(["-c", "import awslambdaric, sys; print(sys.executable)"])
        .output()
        .ok()?;
    let path = String::from_utf8(output.stdout).ok()?;
    output
        .status
        .success()
        .then(|| std::path::PathBuf::from(path.trim()))
}

/// Counts instructions per invocation, and for start-up, of each contender under callgrind.
/// With `keep`, callgrind's profiles stay in that folder, one set per contender, for
/// `callgrind_annotate` (build with `CARGO_PROFILE_RELEASE_STRIP=false` to see names).
fn run_instructions(
    runtime: &tokio::runtime::Runtime,
    contenders: &[Contender],
    invocations: usize,
    keep: Option<PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let scratch = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("lambda-kit-callgrind-{}", std::process::id()))
    });
    std::fs::create_dir_all(&scratch)?;
    let mut counts = Vec::new();
    for contender in contenders {
        let count = runtime.block_on(instructions::count(contender, invocations, &scratch))?;
        eprintln!(
            "{}: {:.0} instructions per invocation, {:.0} for start-up",
            contender.name, count.per_invocation, count.start_up
        );
        counts.push(count);
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    report::print_instructions(contenders, &counts, invocations);
    Ok(())
}

/// Serves `invocations` to lambda-kit's hello and prints its resident memory as it goes.
fn run_soak(
    examples: &std::path::Path,
    invocations: usize,
    traced: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let contender = if traced {
        // Every invocation with its own trace header, JSON logs and X-Ray on.
        Contender::new(
            "lambda-kit, JSON logs + X-Ray sampled",
            examples.join("kit_hello_logging"),
        )
        .with_observability()
    } else {
        Contender::new("lambda-kit", examples.join("kit_hello"))
    };
    let every = (invocations / 10).max(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let samples = runtime.block_on(measure::soak(&contender, invocations, every))?;
    println!(
        "soak: {invocations} invocations of {}, resident memory (VmRSS)",
        contender.name
    );
    println!();
    println!("| answered | RSS KiB |");
    println!("|---|---|");
    for (answered, rss) in &samples {
        println!("| {answered} | {rss} |");
    }
    if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
        let growth = last.1 as i64 - first.1 as i64;
        println!();
        println!("growth from the first sample to the last: {growth} KiB");
    }
    Ok(())
}

/// Builds the contenders in release mode and returns the folder holding them.
fn build_examples() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The OpenTelemetry contender on its own: built together, the `otel` feature would be
    // compiled into every lambda-kit contender.
    for args in [
        &["build", "--release", "-p", "benches", "--examples"][..],
        &[
            "build",
            "--release",
            "-p",
            "benches",
            "--example",
            "kit_hello_otel",
            "--features",
            "otel",
        ],
    ] {
        let status = Command::new(&cargo).args(args).status()?;
        if !status.success() {
            return Err("building the benchmark examples failed".into());
        }
    }
    let exe = std::env::current_exe()?;
    let release = exe.parent().ok_or("the harness has no folder")?;
    Ok(release.join("examples"))
}
