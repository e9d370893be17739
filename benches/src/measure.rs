//! Running one contender once and reading what it cost.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::server;

/// A bootstrap to measure.
pub(crate) struct Contender {
    pub(crate) name: &'static str,
    /// The program: a bootstrap, or an interpreter (see `interpreted`).
    pub(crate) binary: PathBuf,
    /// Arguments and working folder for an interpreter's runtime client.
    interpreted: Option<Interpreted>,
    /// More of the function's environment (`AWS_LAMBDA_MAX_CONCURRENCY`).
    env: Vec<(&'static str, String)>,
    observability: bool,
    otel: bool,
}

/// How an interpreted contender starts: the interpreter's arguments, in the function's
/// folder.
struct Interpreted {
    args: Vec<String>,
    folder: PathBuf,
}

impl Contender {
    pub(crate) fn new(name: &'static str, binary: PathBuf) -> Self {
        Contender {
            name,
            binary,
            interpreted: None,
            env: Vec::new(),
            observability: false,
            otel: false,
        }
    }

    /// A function run by an interpreter (`python3 -m awslambdaric handler.handler` in its
    /// folder), as users of other languages run theirs. It has no binary of its own to weigh,
    /// and is not counted under callgrind.
    pub(crate) fn interpreted(
        name: &'static str,
        interpreter: PathBuf,
        args: &[&str],
        folder: PathBuf,
    ) -> Self {
        let mut contender = Contender::new(name, interpreter);
        contender.interpreted = Some(Interpreted {
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            folder,
        });
        contender
    }

    /// Runs with `AWS_LAMBDA_MAX_CONCURRENCY` at `workers`, as Lambda Managed Instances set
    /// it.
    pub(crate) fn with_max_concurrency(mut self, workers: usize) -> Self {
        self.env
            .push(("AWS_LAMBDA_MAX_CONCURRENCY", workers.to_string()));
        self
    }

    /// Whether an interpreter runs it.
    pub(crate) fn is_interpreted(&self) -> bool {
        self.interpreted.is_some()
    }

    /// Spans exported over OTLP/HTTP to a local receiver instead of X-Ray (with JSON logs,
    /// every invocation sampled by its X-Ray header).
    pub(crate) fn with_otel(mut self) -> Self {
        self.observability = true;
        self.otel = true;
        self
    }

    /// JSON logs on, and every invocation sampled for X-Ray (sent to a local UDP socket).
    pub(crate) fn with_observability(mut self) -> Self {
        self.observability = true;
        self
    }

    /// Whether JSON logs and X-Ray sampling are on.
    pub(crate) fn observability(&self) -> bool {
        self.observability
    }

    /// A quiet command running `program` in the Lambda environment of this contender: the
    /// Runtime API at `runtime_api`, the X-Ray daemon at `daemon`, the OTLP receiver at
    /// `otlp` (used by the OpenTelemetry contender only). `program` is the bootstrap itself,
    /// or a tool that runs it.
    pub(crate) fn lambda_command(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        runtime_api: &str,
        daemon: &str,
        otlp: &str,
    ) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_XRAY_DAEMON_ADDRESS", daemon)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        command.envs(self.env.iter().map(|(name, value)| (*name, value)));
        if let Some(interpreted) = &self.interpreted {
            command
                .args(&interpreted.args)
                .current_dir(&interpreted.folder);
        }
        if self.observability {
            command.env("AWS_LAMBDA_LOG_FORMAT", "JSON");
        }
        if self.otel {
            // OpenTelemetry instead of X-Ray, as a function would choose one of them.
            command
                .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}"))
                .env("POWERTOOLS_TRACE_DISABLED", "true");
        }
        command
    }
}

/// What one run of one contender measured.
#[derive(Debug, Clone)]
pub(crate) struct Measurement {
    pub(crate) invocations: usize,
    pub(crate) elapsed: Duration,
    pub(crate) latencies: Vec<Duration>,
    pub(crate) init: Duration,
    pub(crate) peak_rss_kib: u64,
    pub(crate) binary_bytes: u64,
    /// Time the function's process spent on a CPU, init included (a few ms of seconds).
    pub(crate) cpu: Duration,
}

impl Measurement {
    pub(crate) fn throughput(&self) -> f64 {
        self.invocations as f64 / self.elapsed.as_secs_f64()
    }

    /// The function's own CPU time per invocation: what it costs apart from waiting on the
    /// Runtime API and the kernel's scheduling between the two processes.
    pub(crate) fn cpu_per_invocation(&self) -> Duration {
        self.cpu / self.invocations.max(1) as u32
    }

    pub(crate) fn percentile(&self, fraction: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    }
}

pub(crate) async fn run(
    contender: &Contender,
    invocations: usize,
) -> Result<Measurement, Box<dyn std::error::Error>> {
    let api = server::start(invocations, contender.observability).await?;
    // Absorbs X-Ray datagrams so that sends succeed as they would with a daemon.
    let daemon = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let otlp = server::start_otlp_sink().await?;
    let mut command = contender.lambda_command(
        &contender.binary,
        &api.address,
        &daemon.local_addr()?.to_string(),
        &otlp.address,
    );
    let spawned = Instant::now();
    let mut child = command.spawn()?;
    tokio::select! {
        () = api.done.notified() => {}
        exited = child.wait() => {
            return Err(format!("{} ended early: {exited:?}", contender.name).into());
        }
    }
    let peak_rss_kib = child.id().map(peak_rss_kib).unwrap_or_default();
    let cpu = child.id().map(cpu_time).unwrap_or_default();
    child.kill().await?;
    let recording = api.recording.lock().unwrap_or_else(|p| p.into_inner());
    if recording.errors > 0 {
        return Err(format!(
            "{} answered {} invocations with errors",
            contender.name, recording.errors
        )
        .into());
    }
    let first_poll = recording.first_poll.ok_or("no poll arrived")?;
    let last_answer = recording.last_answer.ok_or("no answer arrived")?;
    Ok(Measurement {
        invocations,
        elapsed: last_answer - first_poll,
        latencies: recording.latencies.clone(),
        init: first_poll - spawned,
        peak_rss_kib,
        binary_bytes: match contender.is_interpreted() {
            true => 0,
            false => std::fs::metadata(&contender.binary)?.len(),
        },
        cpu,
    })
}

/// Time a process has spent on a CPU so far, over all its threads: the first field of each
/// `/proc/<pid>/task/<tid>/schedstat`, in nanoseconds (finer than `utime`/`stime`, which
/// count 10 ms ticks). Threads that already ended are not counted; the runtimes measured
/// here keep theirs.
fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .sum()
}

/// `VmHWM` (peak resident memory) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// A `/proc/<pid>/status` memory field, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or_default()
}

/// Serves `invocations` to `contender` and samples its resident memory (`VmRSS`, KiB)
/// every `every` answers: the soak run.
pub(crate) async fn soak(
    contender: &Contender,
    invocations: usize,
    every: usize,
) -> Result<Vec<(usize, u64)>, Box<dyn std::error::Error>> {
    let api = server::start(invocations, contender.observability).await?;
    let (sender, mut milestones) = tokio::sync::mpsc::unbounded_channel();
    api.recording
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .milestones = Some((every, sender));
    let daemon = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let mut child = contender
        .lambda_command(
            &contender.binary,
            &api.address,
            &daemon.local_addr()?.to_string(),
            "127.0.0.1:9",
        )
        .spawn()?;
    let pid = child.id().ok_or("the function exited at once")?;
    let mut samples = Vec::new();
    while let Some(answered) = milestones.recv().await {
        samples.push((answered, status_kib(pid, "VmRSS:")));
        if answered >= invocations {
            break;
        }
    }
    child.kill().await?;
    Ok(samples)
}
