//! What `#[rpc]` says about the user's own dependencies, checked on a real crate with cargo:
//! a crate that depends on `rpc-core` but not `rpc-client` gets one error that says what to do,
//! not one "cannot find `rpc_client`" per method.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Copies `tests/fixtures/{name}` to `target/fixtures/{name}` with the workspace's path and
/// Cargo.lock, so it resolves to the same crates without touching the network.
fn fixture(name: &str) -> std::path::PathBuf {
    let root = common::workspace_root();
    let from = root.join("tests/fixtures").join(name);
    let to = root.join("target/fixtures").join(name);
    std::fs::create_dir_all(to.join("src")).expect("create the fixture's directory");
    let manifest = std::fs::read_to_string(from.join("Cargo.toml.in"))
        .expect("read the fixture's manifest")
        .replace("@WORKSPACE@", &root.display().to_string());
    std::fs::write(to.join("Cargo.toml"), manifest).expect("write the fixture's manifest");
    std::fs::copy(from.join("src/lib.rs"), to.join("src/lib.rs")).expect("copy the fixture");
    std::fs::copy(root.join("Cargo.lock"), to.join("Cargo.lock")).expect("copy Cargo.lock");
    to
}

async fn cargo_check(dir: &Path) -> common::ChildOutput {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = common::run_child(
        Command::new(cargo)
            .current_dir(dir)
            .args([
                "check",
                "--offline",
                "--quiet",
                "-j2",
                "--message-format=short",
            ])
            // The fixtures' own target directory: the workspace's is locked by the running tests.
            .env("CARGO_TARGET_DIR", dir.join("../target"))
            .env_remove("RUSTFLAGS"),
        Duration::from_secs(400),
    )
    .await
    .expect("run cargo");
    assert!(
        output.status.is_some(),
        "cargo check ran over its time: {output:?}"
    );
    output
}

#[tokio::test]
async fn a_client_without_rpc_client_is_one_error_saying_what_to_do() {
    let dir = fixture("server_without_client");
    let output = cargo_check(&dir).await;
    assert!(
        !output.status.unwrap().success(),
        "the fixture must not build: {output:?}"
    );
    let errors: Vec<&str> = output
        .stderr
        .lines()
        .filter(|l| l.contains("error:") && !l.starts_with("error: could not compile"))
        .collect();
    assert_eq!(errors.len(), 1, "exactly one error: {}", output.stderr);
    assert!(
        errors[0].contains("src/lib.rs:5:1")
            && errors[0].contains("needs the `rpc-client` crate")
            && errors[0].contains("#[rpc(server)]"),
        "the error is on the attribute and says what to do: {}",
        errors[0]
    );
}

#[tokio::test]
async fn a_server_only_trait_needs_no_rpc_client() {
    let dir = fixture("server_only");
    let output = cargo_check(&dir).await;
    assert!(
        output.status.unwrap().success(),
        "the fixture builds: {output:?}"
    );
}
