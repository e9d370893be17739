//! The binary outside Lambda: `bootstrap --event '<json>'` invokes the handler once.
//!
//! The response JSON goes to stdout and the process exits 0; a failed invocation prints
//! the error JSON Lambda would return and exits 1; a command line that makes no sense
//! prints a usage text on stderr and exits 2. (The exit status travels back to `main` in
//! the returned error; see `crate::mode::Exit`.) Logs go to stderr, so stdout is only the
//! answer and can be piped into `jq`.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tracing::Instrument;

use crate::config::Config;
use crate::context::Context;
use crate::drive::Drivable;
use crate::error::{Error, error_type};
use crate::metrics::Metrics;
use crate::response::FunctionResponse;

#[cfg(emulator)]
mod http_api;
#[cfg(emulator)]
mod serve;

#[cfg(emulator)]
pub(crate) use serve::run as serve;

/// Why `--serve` is refused in a build without the emulator (see `build.rs`).
#[cfg(not(emulator))]
pub(crate) const SERVE_NOT_BUILT: &str = if cfg!(feature = "serve") {
    "--serve is not in release builds: run a debug build (`cargo run -- --serve`), or turn \
     on lambda-kit's `serve-in-release` feature"
} else {
    "--serve is not in this build: turn on lambda-kit's `serve` feature"
};

/// Where `--serve` listens without an address.
const DEFAULT_SERVE_ADDRESS: &str = "127.0.0.1:9000";

/// What `--serve` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServeOptions {
    /// Where the Invoke API listens.
    pub(crate) address: String,
    /// How long an invocation may run.
    pub(crate) timeout: Duration,
    /// External extensions to run beside the function (`--extension PATH`, repeatable),
    /// besides those in the `extensions/` folder next to the binary.
    pub(crate) extensions: Vec<PathBuf>,
    /// With `--serve-http`: serve HTTP as an integration would, instead of the Invoke API.
    #[cfg(emulator)]
    pub(crate) http: Option<http_api::Front>,
}

/// Exit status of a failed invocation.
const EXIT_FAILED: u8 = 1;
/// Exit status of a command line that makes no sense.
const EXIT_USAGE: u8 = 2;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cli {
    /// Invoke once with the event from this source, within this timeout (`--timeout`;
    /// without it, the function's timeout as `AWS_LAMBDA_FUNCTION_TIMEOUT` says, else 3 s).
    Invoke(EventSource, Option<Duration>),
    /// Print the usage text (after `problem`, if any) and exit 2.
    Usage(Option<String>),
    /// Print the usage text on stdout and exit 0.
    Help,
    /// Run the local emulator.
    Serve(ServeOptions),
}

/// Where `--event` takes the event from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventSource {
    /// The argument itself.
    Inline(String),
    /// `@path`: a file.
    File(PathBuf),
    /// `-`: standard input.
    Stdin,
}

impl Cli {
    /// Reads the arguments after the program name; `None` when there are none.
    pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Option<Cli> {
        let args: Vec<String> = args
            .into_iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        let usage = |problem: String| Some(Cli::Usage(Some(problem)));
        match args.as_slice() {
            [] => None,
            [flag] if flag == "-h" || flag == "--help" => Some(Cli::Help),
            [flag, value, rest @ ..] if flag == "--event" => {
                invoke(EventSource::from_arg(value), rest)
            }
            [flag, rest @ ..] if flag.starts_with("--event=") => {
                invoke(EventSource::from_arg(&flag["--event=".len()..]), rest)
            }
            [flag] if flag == "--event" => usage("--event needs a value".into()),
            [flag, rest @ ..] if flag == "--serve" => match parse_serve(rest, false) {
                Ok(options) => Some(Cli::Serve(options)),
                Err(problem) => usage(problem),
            },
            [flag, rest @ ..] if flag == "--serve-http" => match parse_serve(rest, true) {
                Ok(options) => Some(Cli::Serve(options)),
                Err(problem) => usage(problem),
            },
            [other, ..] => usage(format!("unexpected argument {other:?}")),
        }
    }

    /// Prints the usage text for usage and help, returning the error (carrying the exit
    /// status) that ends the process; `Ok` when the command is an invoke or `--serve`
    /// (which the caller runs).
    pub(crate) fn unless_invoking(&self) -> Result<(), Error> {
        match self {
            Cli::Invoke(..) | Cli::Serve(_) => Ok(()),
            Cli::Help => {
                println!("{}", usage_text());
                Err(
                    Error::new(error_type::COMMAND_LINE, "the usage text was asked for")
                        .reported(0),
                )
            }
            Cli::Usage(problem) => {
                if let Some(problem) = problem {
                    eprintln!("error: {problem}\n");
                }
                eprintln!("{}", usage_text());
                let problem = problem.as_deref().unwrap_or("no command");
                Err(Error::new(error_type::COMMAND_LINE, problem).reported(EXIT_USAGE))
            }
        }
    }
}

/// `--event <source> [--timeout SECONDS]`.
fn invoke(source: EventSource, rest: &[String]) -> Option<Cli> {
    match rest {
        [] => Some(Cli::Invoke(source, None)),
        [flag, seconds] if flag == "--timeout" => match parse_seconds(seconds) {
            Ok(timeout) => Some(Cli::Invoke(source, Some(timeout))),
            Err(problem) => Some(Cli::Usage(Some(problem.to_owned()))),
        },
        [other, ..] => Some(Cli::Usage(Some(format!(
            "unexpected argument after the event: {other:?}"
        )))),
    }
}

/// A `--timeout` value: a number of seconds above zero.
fn parse_seconds(value: &str) -> Result<Duration, &'static str> {
    value
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or("--timeout needs a number of seconds above zero")
}

/// The error Lambda answers for an invocation that ran past its timeout.
pub(crate) fn timed_out(timeout: Duration) -> Error {
    Error::new(
        crate::error::error_type::TIMED_OUT,
        format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
    )
}

/// `--serve [ADDR] [--timeout SECONDS] [--extension PATH]...`, or with `http`
/// `--serve-http` and the same arguments, plus `--integration NAME` and `--route ROUTE`s.
fn parse_serve(args: &[String], http: bool) -> Result<ServeOptions, String> {
    let mut options = ServeOptions {
        address: DEFAULT_SERVE_ADDRESS.to_owned(),
        timeout: Duration::from_secs(3),
        extensions: Vec::new(),
        #[cfg(emulator)]
        http: None,
    };
    let mut integration = None;
    let mut routes = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--integration" if http => integration = Some(args.next().cloned().unwrap_or_default()),
            "--route" if http => routes.push(args.next().cloned().unwrap_or_default()),
            "--timeout" => {
                options.timeout = parse_seconds(args.next().map_or("", String::as_str))?;
            }
            "--extension" => match args.next() {
                Some(path) => options.extensions.push(PathBuf::from(path)),
                None => {
                    return Err("--extension needs the path of an extension's executable".into());
                }
            },
            address if !address.starts_with('-') => options.address = address.to_owned(),
            other => return Err(format!("unexpected argument to --serve: {other:?}")),
        }
    }
    #[cfg(emulator)]
    if http {
        options.http = Some(http_api::Front::parse(integration.as_deref(), &routes)?);
    }
    #[cfg(not(emulator))]
    let _ = (integration, routes);
    Ok(options)
}

impl EventSource {
    fn from_arg(value: &str) -> Self {
        match value {
            "-" => EventSource::Stdin,
            _ => match value.strip_prefix('@') {
                Some(path) => EventSource::File(PathBuf::from(path)),
                None => EventSource::Inline(value.to_owned()),
            },
        }
    }

    fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            EventSource::Inline(json) => Ok(json.clone().into_bytes()),
            EventSource::File(path) => std::fs::read(path).map_err(|error| {
                format!("could not read the event file {}: {error}", path.display())
            }),
            EventSource::Stdin => {
                let mut event = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut event)
                    .map_err(|error| format!("could not read the event from stdin: {error}"))?;
                Ok(event)
            }
        }
    }
}

fn usage_text() -> String {
    let program = std::env::args()
        .next()
        .and_then(|path| path.rsplit('/').next().map(str::to_owned))
        .unwrap_or_else(|| "bootstrap".into());
    format!(
        "usage: {program} --event '<json>'   invoke once with this event\n       \
         {program} --event @FILE      invoke once with the event in FILE\n       \
         {program} --event -          invoke once with the event on stdin\n       \
         {program} --event ... --timeout SECONDS\n                                    \
         stop it as Lambda would after SECONDS (default: AWS_LAMBDA_FUNCTION_TIMEOUT, else 3)\n       \
         {program} --serve [ADDR] [--timeout SECONDS] [--extension PATH]...\n                                    \
         run as a local Lambda on ADDR (default 127.0.0.1:9000), with the external\n                                    \
         extensions at PATH and in the extensions/ folder next to this binary\n                                    \
         {program} --serve-http [ADDR] [--integration http|rest|url|alb] [--route 'GET /orders/{{id}}']...\n                                    \
         serve HTTP on ADDR as an HTTP API (the default), a REST API, a function URL or a\n                                    \
         load balancer would; every path and method goes to the function, or with --route\n                                    \
         (http, rest) the routes given, others answered 404\n                                    \
         (both: debug builds; release builds need lambda-kit's `serve-in-release` feature)\n\n\
         Inside AWS Lambda (AWS_LAMBDA_RUNTIME_API set) run it without arguments."
    )
}

/// Invokes the handler once with the event the command line names, printing the outcome.
pub(crate) async fn invoke_once<S, E, R>(
    mut service: S,
    cli: Cli,
    config: Arc<Config>,
    metrics: Metrics,
) -> Result<(), Error>
where
    S: Drivable<E, R>,
{
    let Cli::Invoke(source, timeout) = cli else {
        return cli.unless_invoking();
    };
    let payload = match source.read() {
        Ok(payload) => payload,
        Err(problem) => return Cli::Usage(Some(problem)).unless_invoking(),
    };
    // As in Lambda and `--serve`: the context's deadline is the timeout, and the
    // invocation is stopped there.
    let timeout = timeout.unwrap_or(config.local_timeout());
    // Sampled, as `--serve` does it (see `serve.rs`).
    let context = Context::builder()
        .config(config)
        .deadline(SystemTime::now() + timeout)
        .xray_trace_id(Some(crate::context::new_trace_header(true)))
        .build();
    let facts = crate::telemetry::event::EventFacts::if_wanted(&payload);
    let span = crate::telemetry::invocation_span(&context, true, facts.as_ref());
    let invocation = Arc::new(metrics)
        .scope(true, crate::drive::drive(&mut service, &payload, context))
        .instrument(span.clone());
    let outcome = tokio::time::timeout(timeout, invocation)
        .await
        .unwrap_or_else(|_| Err(timed_out(timeout)));
    let printed = match outcome {
        Ok(FunctionResponse::Buffered(response)) => {
            let mut stdout = std::io::stdout().lock();
            // A closed stdout (piped into `head`) is not the handler's failure.
            let _ = stdout.write_all(&response).and_then(|()| writeln!(stdout));
            let _ = stdout.flush();
            Ok(())
        }
        Ok(FunctionResponse::Streamed(streamed)) => {
            // Chunks are printed as they come; an HTTP stream's prelude is not body.
            let mut body = streamed.body;
            let mut failed = None;
            while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
                match chunk {
                    Ok(chunk) => {
                        let mut stdout = std::io::stdout().lock();
                        let _ = stdout.write_all(&chunk).and_then(|()| stdout.flush());
                    }
                    Err(error) => {
                        span.in_scope(|| crate::telemetry::log_failure(&error));
                        failed = Some(error);
                        break;
                    }
                }
            }
            failed.map_or(Ok(()), |error| Err(error.reported(EXIT_FAILED)))
        }
        Err(error) => {
            span.in_scope(|| crate::telemetry::log_failure(&error));
            print_error(&error);
            Err(error.reported(EXIT_FAILED))
        }
    };
    // As after an answer inside Lambda: buffered telemetry leaves before the process does.
    drop(span);
    crate::telemetry::flush::flush_current().await;
    printed
}

/// Prints the error JSON Lambda would return, on stdout.
pub(crate) fn print_error(error: &Error) {
    let body = serde_json::to_string(&error.to_body()).unwrap_or_default();
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{body}");
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Option<Cli> {
        Cli::parse(args.iter().map(OsString::from))
    }

    #[test]
    fn event_forms() {
        assert_eq!(parse(&[]), None);
        assert_eq!(
            parse(&["--event", "{}"]),
            Some(Cli::Invoke(EventSource::Inline("{}".into()), None))
        );
        assert_eq!(
            parse(&["--event={\"a\":1}"]),
            Some(Cli::Invoke(EventSource::Inline("{\"a\":1}".into()), None))
        );
        assert_eq!(
            parse(&["--event", "@e.json"]),
            Some(Cli::Invoke(EventSource::File("e.json".into()), None))
        );
        assert_eq!(
            parse(&["--event", "-"]),
            Some(Cli::Invoke(EventSource::Stdin, None))
        );
        assert_eq!(
            parse(&["--event", "{}", "--timeout", "0.5"]),
            Some(Cli::Invoke(
                EventSource::Inline("{}".into()),
                Some(Duration::from_millis(500))
            ))
        );
        assert_eq!(parse(&["--help"]), Some(Cli::Help));
        assert_eq!(
            parse(&["--serve"]),
            Some(Cli::Serve(ServeOptions {
                address: "127.0.0.1:9000".into(),
                timeout: Duration::from_secs(3),
                extensions: Vec::new(),
                http: None,
            }))
        );
        assert_eq!(
            parse(&["--serve-http", "--integration", "url"]),
            Some(Cli::Serve(ServeOptions {
                address: "127.0.0.1:9000".into(),
                timeout: Duration::from_secs(3),
                extensions: Vec::new(),
                http: Some(http_api::Front::parse(Some("url"), &[]).expect("a front")),
            }))
        );
        assert_eq!(
            parse(&[
                "--serve",
                "0.0.0.0:8080",
                "--timeout",
                "1.5",
                "--extension",
                "x/e"
            ]),
            Some(Cli::Serve(ServeOptions {
                address: "0.0.0.0:8080".into(),
                timeout: Duration::from_millis(1500),
                extensions: vec![PathBuf::from("x/e")],
                http: None,
            }))
        );
    }

    #[test]
    fn nonsense_is_a_usage_error() {
        for args in [
            &["--event"][..],
            &["--bogus"],
            &["--event", "{}", "extra"],
            &["--event", "{}", "--timeout", "never"],
            &["--serve", "--timeout", "0"],
            &["--serve", "--verbose"],
            &["--serve", "--integration", "url"],
            &["--serve-http", "--integration", "graphql"],
            &["--serve-http", "--route", "/orders"],
            &[
                "--serve-http",
                "--integration",
                "url",
                "--route",
                "GET /orders",
            ],
        ] {
            assert!(matches!(parse(args), Some(Cli::Usage(Some(_)))), "{args:?}");
        }
    }
}
