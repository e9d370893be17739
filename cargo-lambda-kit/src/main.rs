//! `cargo lambda-kit start-api [--template PATH] [--address ADDR] [--timeout SECONDS]`.

use std::path::PathBuf;
use std::process::ExitCode;

use cargo_lambda_kit::{Binaries, Options};

const USAGE: &str =
    "usage: cargo lambda-kit start-api [--template PATH] [--address ADDR] [--timeout SECONDS]

  Builds every function of a SAM template that an Api or HttpApi event or a FunctionUrlConfig
  reaches, starts each as its own process, and serves them behind one local HTTP API
  (default 127.0.0.1:3000), routed as API Gateway routes them; each function URL gets an
  address of its own.

  --template PATH     the SAM template (default: template.yaml)
  --address ADDR      where the API listens (default: 127.0.0.1:3000)
  --timeout SECONDS   each invocation's timeout (default: 30)";

fn options(args: &[String]) -> Result<Options, String> {
    // As a cargo subcommand, cargo passes the subcommand's own name first.
    let args = match args {
        [first, rest @ ..] if first == "lambda-kit" => rest,
        all => all,
    };
    let [command, rest @ ..] = args else {
        return Err("no command".into());
    };
    if command != "start-api" {
        return Err(format!("unknown command {command:?}"));
    }
    let mut options = Options {
        template: PathBuf::from("template.yaml"),
        address: "127.0.0.1:3000".into(),
        binaries: Binaries::Build,
        timeout_seconds: 30,
    };
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        let mut value = || rest.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--template" => options.template = PathBuf::from(value()?),
            "--address" => options.address = value()?,
            "--timeout" => {
                let value = value()?;
                options.timeout_seconds = value
                    .parse()
                    .map_err(|_| format!("--timeout {value:?} is not a number of seconds"))?;
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(options)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match options(&args) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("error: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let api = match cargo_lambda_kit::start(&options).await {
        Ok(api) => api,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    for (function, route) in &api.routes {
        eprintln!("Mounted {function} at {route} on http://{}", api.address);
    }
    for (function, address) in &api.function_urls {
        eprintln!("Function URL of {function}: http://{address}");
    }
    eprintln!(
        "cargo-lambda-kit: serving the API on http://{} (Ctrl-C stops it)",
        api.address
    );
    tokio::select! {
        () = api.serve() => ExitCode::FAILURE,
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
    }
}
