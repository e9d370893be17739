//! Instructions per invocation, counted by callgrind: a measure that does not move with
//! whatever else the 2-core machine is doing, unlike invocations/s.
//!
//! Each contender runs under `valgrind --tool=callgrind` twice, serving N and then 2N
//! invocations from the in-process Runtime API (which valgrind does not see). The
//! difference of the two totals, divided by N, is the cost of one invocation, with process
//! start and init taken out. A third run serves none: the process is stopped at its first
//! poll, so its total is start-up (process start and init, as Lambda's Init phase counts
//! it, plus the exit).

use std::path::Path;
use tokio::process::Command;

use crate::measure::Contender;
use crate::server;

/// What one contender's process executed, split into what each invocation costs and what
/// the process costs once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    /// Instructions per invocation.
    pub(crate) per_invocation: f64,
    /// Instructions from process start to the first poll, plus the exit.
    pub(crate) start_up: f64,
}

/// Counts `contender`'s instructions, measured with no invocations, `invocations` and twice
/// as many.
pub(crate) async fn count(
    contender: &Contender,
    invocations: usize,
    scratch: &Path,
) -> Result<Counts, Box<dyn std::error::Error>> {
    // One set of files per contender, named after it, so that kept profiles do not overwrite
    // each other.
    let stem: String = contender
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let file = |run: &str| scratch.join(format!("{stem}.{run}.out"));
    let start_up = total(contender, 0, &file("start-up")).await?;
    let single = total(contender, invocations, &file("single")).await?;
    let double = total(contender, 2 * invocations, &file("double")).await?;
    Ok(Counts {
        per_invocation: double.saturating_sub(single) as f64 / invocations as f64,
        start_up: start_up as f64,
    })
}

/// Instructions the contender's process executed while serving `invocations`.
async fn total(
    contender: &Contender,
    invocations: usize,
    out_file: &Path,
) -> Result<u64, Box<dyn std::error::Error>> {
    let _ = std::fs::remove_file(out_file);
    let api = server::start(invocations, contender.observability()).await?;
    let daemon = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let otlp = server::start_otlp_sink().await?;
    let mut command = contender.lambda_command(
        "valgrind",
        &api.address,
        &daemon.local_addr()?.to_string(),
        &otlp.address,
    );
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(&contender.binary);
    let mut child = command.spawn()?;
    tokio::select! {
        () = api.done.notified() => {}
        exited = child.wait() => {
            return Err(format!("{} under valgrind ended early: {exited:?}", contender.name).into());
        }
    }
    // SIGTERM, not SIGKILL: valgrind writes the counts when its client ends by a signal.
    let pid = child.id().ok_or("valgrind exited early")?;
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await?;
    child.wait().await?;
    let counts = std::fs::read_to_string(out_file)?;
    counts
        .lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .and_then(|total| total.trim().parse().ok())
        .ok_or_else(|| format!("no summary line in {}", out_file.display()).into())
}
