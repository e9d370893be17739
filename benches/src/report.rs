//! The e2e table: medians over rounds, with ratios to the floor and to the official runtime.

use std::time::Duration;

use crate::instructions::Counts;
use crate::measure::{Contender, Measurement};

fn median<T: Copy + PartialOrd>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values[values.len() / 2]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

pub(crate) fn print(
    contenders: &[Contender],
    results: &[Vec<Measurement>],
    invocations: usize,
    rounds: usize,
) {
    let throughput: Vec<f64> = results
        .iter()
        .map(|runs| median(runs.iter().map(Measurement::throughput).collect()))
        .collect();
    let floor = throughput[0];
    let official = throughput[2];
    println!("e2e: {invocations} invocations per run, {rounds} alternating rounds, medians");
    println!();
    println!(
        "| contender | invocations/s | x floor | x official | p50 µs | p99 µs | CPU µs per invocation | init ms | peak RSS MiB | binary KiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for ((contender, runs), rate) in contenders.iter().zip(results).zip(&throughput) {
        let p50 = median(runs.iter().map(|run| micros(run.percentile(0.5))).collect());
        let p99 = median(
            runs.iter()
                .map(|run| micros(run.percentile(0.99)))
                .collect(),
        );
        let cpu = median(
            runs.iter()
                .map(|run| micros(run.cpu_per_invocation()))
                .collect(),
        );
        let init = median(
            runs.iter()
                .map(|run| run.init.as_secs_f64() * 1e3)
                .collect(),
        );
        let rss = median(
            runs.iter()
                .map(|run| run.peak_rss_kib as f64 / 1024.0)
                .collect(),
        );
        // An interpreted contender has no binary of its own to weigh.
        let size = match runs[0].binary_bytes {
            0 => "-".to_owned(),
            bytes => format!("{:.0}", bytes as f64 / 1024.0),
        };
        println!(
            "| {} | {rate:.0} | {:.2} | {:.2} | {p50:.0} | {p99:.0} | {cpu:.1} | {init:.1} | {rss:.2} | {size} |",
            contender.name,
            rate / floor,
            rate / official,
        );
    }
    print_round_ratios(contenders, results);
}

/// Each contender's ratio to the floor within each round (the floor ran just before it),
/// which drifts less with the machine's load than rates measured minutes apart.
fn print_round_ratios(contenders: &[Contender], results: &[Vec<Measurement>]) {
    println!();
    println!("x floor within each round: min / median / max");
    println!();
    for (contender, runs) in contenders.iter().zip(results).skip(1) {
        let ratios: Vec<f64> = runs
            .iter()
            .zip(&results[0])
            .map(|(run, floor)| run.throughput() / floor.throughput())
            .collect();
        let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios.iter().copied().fold(0.0, f64::max);
        let middle = median(ratios);
        println!("- {}: {low:.2} / {middle:.2} / {high:.2}", contender.name);
    }
}

/// The instructions table: per invocation and for start-up (process start to first poll),
/// each with ratios to the official runtime (lower is better, so a ratio below 1 means fewer
/// instructions), and per invocation also to the floor.
pub(crate) fn print_instructions(contenders: &[Contender], counts: &[Counts], invocations: usize) {
    let (floor, official) = (counts[0], counts[2]);
    println!(
        "instructions (callgrind; runs of {invocations} and {} invocations: per invocation = difference / {invocations}, start-up = a run stopped at its first poll)",
        2 * invocations
    );
    println!();
    println!("| contender | per invocation | x floor | x official | start-up | x official |");
    println!("|---|---|---|---|---|---|");
    for (contender, count) in contenders.iter().zip(counts) {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} |",
            contender.name,
            count.per_invocation,
            count.per_invocation / floor.per_invocation,
            count.per_invocation / official.per_invocation,
            count.start_up,
            count.start_up / official.start_up,
        );
    }
}

/// The concurrency table: contenders in pairs (lambda-kit, then the official runtime at the
/// same number of workers), each compared with its pair.
pub(crate) fn print_concurrency(
    contenders: &[Contender],
    results: &[Vec<Measurement>],
    invocations: usize,
    rounds: usize,
) {
    println!(
        "concurrency: {invocations} invocations per run, each awaiting a 1 ms timer, {rounds} alternating rounds, medians\n"
    );
    println!(
        "| contender | invocations/s | x official | p50 µs | p99 µs | CPU µs per invocation | x official | peak RSS MiB | x official |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (pair, runs) in contenders.chunks(2).zip(results.chunks(2)) {
        let summary = |runs: &[Measurement]| {
            let rate = median(runs.iter().map(Measurement::throughput).collect());
            let cpu = median(
                runs.iter()
                    .map(|run| run.cpu_per_invocation().as_secs_f64() * 1e6)
                    .collect(),
            );
            let rss = median(
                runs.iter()
                    .map(|run| run.peak_rss_kib as f64 / 1024.0)
                    .collect(),
            );
            let p50 = median(
                runs.iter()
                    .map(|run| micros(run.percentile(0.50)))
                    .collect(),
            );
            let p99 = median(
                runs.iter()
                    .map(|run| micros(run.percentile(0.99)))
                    .collect(),
            );
            (rate, cpu, rss, p50, p99)
        };
        let official = summary(&runs[runs.len() - 1]);
        for (contender, runs) in pair.iter().zip(runs) {
            let (rate, cpu, rss, p50, p99) = summary(runs);
            println!(
                "| {} | {rate:.0} | {:.2} | {p50:.0} | {p99:.0} | {cpu:.1} | {:.2} | {rss:.2} | {:.2} |",
                contender.name,
                rate / official.0,
                cpu / official.1,
                rss / official.2,
            );
        }
    }
}
