//! Instructions per invocation, counted by callgrind: a measure that does not move with
//! whatever else the 2-core machine is doing, unlike invocations/s.
//!
//! Each contender runs under `valgrind --tool=callgrind` twice, serving N and then 2N
//! invocations from the in-process Runtime API (which valgrind does not see). The
//! difference of the two totals, divided by N, is the cost of one invocation, with process
//! start and init taken out.

use std::path::Path;
use tokio::process::Command;

use crate::measure::Contender;
use crate::server;

/// Instructions one invocation costs `contender`, measured with `invocations` and twice as
/// many.
pub(crate) async fn per_invocation(
    contender: &Contender,
    invocations: usize,
    scratch: &Path,
) -> Result<f64, Box<dyn std::error::Error>> {
    let single = total(contender, invocations, &scratch.join("single.out")).await?;
    let double = total(contender, 2 * invocations, &scratch.join("double.out")).await?;
    Ok(double.saturating_sub(single) as f64 / invocations as f64)
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
    let mut command =
        contender.lambda_command("valgrind", &api.address, &daemon.local_addr()?.to_string());
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(&contender.binary);
    let mut child = command.spawn()?;
    api.done.notified().await;
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
