//! Each function as its own process: built with cargo, then started with `--serve-http`
//! for one integration and its routes, as lambda-kit's bootstrap serves itself locally.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Why a function cannot be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `cargo metadata` or `cargo build` failed.
    #[error("{0}")]
    Cargo(String),
    /// The process did not start, or did not say where it listens.
    #[error("{function}: {problem}")]
    Process {
        /// The function's name.
        function: String,
        /// What went wrong.
        problem: String,
    },
}

/// Where the functions' binaries come from.
#[derive(Debug, Clone)]
pub enum Binaries {
    /// Built by `cargo build` from the workspace the template's code folders are in.
    Build,
    /// Already built, in this folder.
    In(PathBuf),
}

/// A started function process for one integration.
#[derive(Debug)]
pub(crate) struct Running {
    /// `host:port` it serves.
    pub(crate) address: String,
    _process: Child,
}

impl Binaries {
    /// The path of `binary`, from the package in `code_dir`; built first with `Build`.
    pub(crate) fn path(&self, binary: &str, code_dir: &Path) -> Result<PathBuf, StartError> {
        match self {
            Binaries::In(folder) => Ok(folder.join(binary)),
            Binaries::Build => build(binary, code_dir),
        }
    }
}

/// `cargo build -p PACKAGE --bin BINARY` for the package whose manifest is in `code_dir`.
fn build(binary: &str, code_dir: &Path) -> Result<PathBuf, StartError> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = code_dir.join("Cargo.toml");
    let metadata = std::process::Command::new(&cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .map_err(|error| StartError::Cargo(format!("cannot run cargo: {error}")))?;
    if !metadata.status.success() {
        return Err(StartError::Cargo(format!(
            "cargo metadata for {}: {}",
            manifest.display(),
            String::from_utf8_lossy(&metadata.stderr)
        )));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout)
        .map_err(|error| StartError::Cargo(format!("cargo metadata's output: {error}")))?;
    let manifest = manifest.canonicalize().unwrap_or(manifest);
    let package = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|package| {
            package["manifest_path"]
                .as_str()
                .is_some_and(|path| Path::new(path) == manifest)
        })
        .and_then(|package| package["name"].as_str())
        .ok_or_else(|| {
            StartError::Cargo(format!(
                "no package has the manifest {}",
                manifest.display()
            ))
        })?;
    eprintln!("cargo-lambda-kit: building {binary} (package {package})");
    let status = std::process::Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            package,
            "--bin",
            binary,
            "--manifest-path",
        ])
        .arg(&manifest)
        .status()
        .map_err(|error| StartError::Cargo(format!("cannot run cargo: {error}")))?;
    if !status.success() {
        return Err(StartError::Cargo(format!("cargo build of {binary} failed")));
    }
    let target = metadata["target_directory"].as_str().unwrap_or("target");
    Ok(Path::new(target).join("debug").join(binary))
}

/// Starts `program --serve-http 127.0.0.1:0 --integration INTEGRATION [--route R]...`
/// and waits for the line that says where it listens; its later lines are printed with
/// the function's name in front.
pub(crate) async fn start(
    function: &str,
    program: &Path,
    integration: &str,
    routes: &[String],
    timeout_seconds: u32,
) -> Result<Running, StartError> {
    let problem = |problem: String| StartError::Process {
        function: function.to_owned(),
        problem,
    };
    let mut command = Command::new(program);
    command
        .args(["--serve-http", "127.0.0.1:0", "--integration", integration])
        .args(["--timeout", &timeout_seconds.to_string()])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for route in routes {
        command.args(["--route", route]);
    }
    let mut process = command
        .spawn()
        .map_err(|error| problem(format!("cannot start {}: {error}", program.display())))?;
    let stderr = process
        .stderr
        .take()
        .ok_or_else(|| problem("no stderr".into()))?;
    let mut lines = BufReader::new(stderr).lines();
    let banner = lines
        .next_line()
        .await
        .ok()
        .flatten()
        .ok_or_else(|| problem("it exited before saying where it listens".into()))?;
    let address = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| problem(format!("it said {banner:?}, with no address")))?
        .to_owned();
    let name = function.to_owned();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[{name}] {line}");
        }
    });
    Ok(Running {
        address,
        _process: process,
    })
}
