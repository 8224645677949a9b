//! Running the Python interop scripts of `tests/interop/` with the virtualenv's interpreter
//! (`.venv`, made by `scripts/setup-test-deps.sh`): each prints one line per check and exits
//! non-zero if any failed.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::workspace_root;

/// How long a script may run before it is killed.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The virtualenv's interpreter; fails the test, saying how to fix it, when it is missing.
pub(crate) fn venv_python() -> PathBuf {
    let python = workspace_root().join(".venv").join("bin").join("python");
    assert!(
        python.is_file(),
        "the Python interop clients are not installed: {} does not exist.\n\
         Run `scripts/setup-test-deps.sh` from the workspace root, then run the tests again.",
        python.display()
    );
    python
}

/// Runs `tests/interop/{script} {url}` with the virtualenv's Python and fails the test, showing
/// its output, unless it exits successfully. Returns its stdout.
pub(crate) async fn run_python_client(script: &str, url: &str) -> String {
    run_python_script(script, &[url]).await
}

/// Runs `tests/interop/{script} ARGS...` as [`run_python_client`] does.
pub(crate) async fn run_python_script(script: &str, args: &[&str]) -> String {
    let python = venv_python();
    let script_path = workspace_root().join("tests").join("interop").join(script);
    assert!(
        script_path.is_file(),
        "{} does not exist",
        script_path.display()
    );

    let started = Instant::now();
    let super::ChildOutput {
        status,
        stdout,
        stderr,
    } = super::run_child(
        Command::new(&python)
            .arg(&script_path)
            .args(args)
            .current_dir(workspace_root())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONNOUSERSITE", "1")
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME"),
        TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let elapsed = started.elapsed();

    let verdict = match status {
        Some(status) if status.success() => {
            println!("{script} passed in {elapsed:.1?}:\n{stdout}");
            if !stderr.trim().is_empty() {
                println!("--- stderr ---\n{stderr}");
            }
            return stdout;
        }
        Some(status) => format!("exited with {status}"),
        None => format!("was killed after {TIMEOUT:?}"),
    };
    panic!(
        "the Python interop client {script} {verdict}.\n\
         --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- end ---\n\
         (If a module is missing, run `scripts/setup-test-deps.sh` from the workspace root.)"
    );
}
