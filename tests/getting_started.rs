//! The README's "Getting started", followed as a new user would: a fresh crate made of
//! the section's `Cargo.toml` and `src/main.rs` blocks (lambda-kit taken from this
//! checkout instead of crates.io), whose test passes and whose `--event` run answers; and
//! the HTTP function of the section, with the dependencies the section names.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The section's text, up to the next `## ` heading.
fn section() -> String {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README.md");
    let start = readme
        .find("## Getting started")
        .expect("a Getting started section");
    let rest = &readme[start + 3..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_owned()
}

/// One fenced block: its language, the file it is introduced as (a line such as
/// "`src/main.rs`, a function and its test:" before it) and its code.
struct Block {
    language: String,
    file: Option<String>,
    code: String,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    let mut previous = "";
    while let Some(line) = lines.next() {
        if let Some(language) = line.strip_prefix("```") {
            let file = previous
                .strip_prefix('`')
                .and_then(|rest| rest.split_once('`'))
                .map(|(name, _)| name.to_owned());
            let code: Vec<&str> = lines.by_ref().take_while(|line| *line != "```").collect();
            blocks.push(Block {
                language: language.to_owned(),
                file,
                code: code.join("\n") + "\n",
            });
            previous = "";
        } else if !line.trim().is_empty() {
            previous = line;
        }
    }
    blocks
}

/// The manifest with lambda-kit from this checkout, as its own workspace.
fn local_manifest(manifest: &str) -> String {
    let path = repository().join("lambda-kit");
    let path = path.display();
    manifest
        .replace(
            r#"lambda-kit = "0.1""#,
            &format!(r#"lambda-kit = {{ path = "{path}" }}"#),
        )
        .replace(
            r#"lambda-kit = { version = "0.1","#,
            &format!(r#"lambda-kit = {{ path = "{path}","#),
        )
        + "\n[workspace]\n"
}

/// Writes a crate of `manifest` and `main` in a new directory, with this workspace's lock
/// file (so it builds the versions the workspace has tested).
fn fresh_crate(name: &str, manifest: &str, main: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lambda-kit-getting-started-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).expect("crate directory");
    std::fs::write(dir.join("Cargo.toml"), local_manifest(manifest)).expect("Cargo.toml");
    std::fs::write(dir.join("src/main.rs"), main).expect("src/main.rs");
    std::fs::copy(repository().join("Cargo.lock"), dir.join("Cargo.lock")).expect("Cargo.lock");
    dir
}

/// `cargo ARGS` in `dir`, with a target directory of its own beside the workspace's.
fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    let target = repository().join("target").join("getting-started");
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs")
}

fn assert_success(what: &str, output: &std::process::Output) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_first_function_builds_tests_and_runs() {
    let blocks = blocks(&section());
    let find = |file: &str| {
        blocks
            .iter()
            .find(|block| block.file.as_deref() == Some(file))
            .unwrap_or_else(|| panic!("no block introduced as `{file}`"))
    };
    let manifest = find("Cargo.toml");
    assert_eq!(manifest.language, "toml");
    let main = find("src/main.rs");
    let dir = fresh_crate("hello", &manifest.code, &main.code);

    let test = cargo(&dir, &["test", "--quiet"]);
    assert_success("cargo test", &test);
    let report = String::from_utf8_lossy(&test.stdout);
    assert!(report.contains("1 passed"), "{report}");

    let run = cargo(
        &dir,
        &["run", "--quiet", "--", "--event", r#"{"name":"Ada"}"#],
    );
    assert_success("cargo run -- --event", &run);
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        r#"{"message":"Hello, Ada!"}"#
    );
}

#[test]
fn the_http_function_builds_and_its_test_passes() {
    let section = section();
    let blocks = blocks(&section);
    let manifest = blocks
        .iter()
        .find(|block| block.file.as_deref() == Some("Cargo.toml"))
        .expect("the manifest");
    let http = blocks
        .iter()
        .find(|block| block.language == "rust" && block.code.contains("handler(http)"))
        .expect("the HTTP function");
    // The dependencies the section says an HTTP function needs, as it spells them.
    let lambda_kit = r#"lambda-kit = { version = "0.1", features = ["http"] }"#;
    let axum = r#"axum = { version = "0.8", default-features = false }"#;
    assert!(section.contains(lambda_kit) && section.contains(axum));
    let manifest = manifest
        .code
        .replace("lambda-kit = \"0.1\"", &format!("{lambda_kit}\n{axum}"))
        .replace(
            r#"features = ["testing"]"#,
            r#"features = ["testing", "http"]"#,
        );
    let dir = fresh_crate("http", &manifest, &http.code);
    let test = cargo(&dir, &["test", "--quiet"]);
    assert_success("cargo test", &test);
    assert!(String::from_utf8_lossy(&test.stdout).contains("1 passed"));
}
