//! Finding things: the lab's root, its scenarios, their binaries, Go.
//!
//! * Root: `--root`, else the current directory or the first ancestor that
//!   has a `scenarios/` folder.
//! * Scenarios: `<root>/scenarios/*/sweep.yaml`, sorted by folder name.
//! * Binaries: the scenario binary for runtimes gmp, tokio and threads is
//!   `<bin-dir>/<scenario>` (binary name = scenario name, a fixed contract:
//!   tests point a scenario at a fixture by symlinking it under that name).
//!   bin-dir is `--bin-dir`, else `$SCHEDLAB_BIN_DIR`, else the directory
//!   of the running `schedlab` (target/release or target/debug, where cargo
//!   puts every binary of the workspace).
//! * Go: `$GO`, else `go` on PATH, else the newest `/usr/lib/go-*/bin/go`.
//!   The reference program `reference/go/<scenario>` is built once per run
//!   into `<root>/target/go-ref/<scenario>` and run like any scenario
//!   binary with `--runtime go`. No toolchain, no reference program or a
//!   failed build: the go column is skipped with the reason; nothing fails.
//! * A scenario's parameters: `<bin-dir>/<scenario> --describe` ([`describe`]).
//! * A folder under `scenarios/` whose name is not a valid scenario name
//!   (it would be a path) is reported like a sweep that does not load.

use anyhow::{Result, bail};
use schedlab_protocol::spec::ScenarioSpec;
use schedlab_protocol::sweep::{Sweep, SweepError, check_scenario_name};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const ENV_BIN_DIR: &str = "SCHEDLAB_BIN_DIR";
pub const GO_INSTALL_HINT: &str =
    "install one with `apt-get install golang-1.19-go` (or set $GO to a go binary)";

pub fn find_root(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(r) = explicit {
        if !r.join("scenarios").is_dir() {
            bail!("--root {}: no scenarios/ folder there", r.display());
        }
        return Ok(r.to_path_buf());
    }
    let cwd = std::env::current_dir()?;
    for dir in cwd.ancestors() {
        if dir.join("scenarios").is_dir() {
            return Ok(dir.to_path_buf());
        }
    }
    bail!(
        "no scenarios/ folder in {} or its parents; run from the schedlab checkout or pass --root",
        cwd.display()
    )
}

/// Scenario names with their sweep (or why it does not load).
pub fn scenarios(root: &Path) -> Vec<(String, Result<Sweep, SweepError>)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(root.join("scenarios")) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("sweep.yaml").is_file())
        .collect();
    dirs.sort();
    for d in dirs {
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sweep = match check_scenario_name(&name) {
            Ok(()) => Sweep::load(&d.join("sweep.yaml")),
            Err(e) => Err(SweepError::Invalid(format!("{}: {e}", d.display()))),
        };
        out.push((name, sweep));
    }
    out
}

pub fn bin_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(d) = explicit {
        return d.to_path_buf();
    }
    if let Some(d) = std::env::var_os(ENV_BIN_DIR).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// What `binary --describe` says, or None when it cannot say (a binary
/// from before `--describe`, a test fixture, a hang: 10 s at most).
pub fn describe(binary: &Path) -> Option<ScenarioSpec> {
    use std::io::Read;
    let mut child = Command::new(binary)
        .arg("--describe")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let start = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() < std::time::Duration::from_secs(10) => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let mut out = String::new();
    child.stdout.take()?.read_to_string(&mut out).ok()?;
    if !status.success() {
        return None;
    }
    serde_json::from_str(out.trim()).ok()
}

/// The cargo profile a bin dir belongs to, for the build hint.
pub fn build_hint(bin_dir: &Path, scenario: &str) -> String {
    let release = bin_dir.ends_with("release");
    format!(
        "scenario binary {} not found: build it with `cargo build{} -p {scenario}` (or `cargo build{} --bins`), \
         or point --bin-dir / ${ENV_BIN_DIR} at the folder that has it",
        bin_dir.join(scenario).display(),
        if release { " --release" } else { "" },
        if release { " --release" } else { "" },
    )
}

/// A version key from a path like /usr/lib/go-1.19/bin/go.
fn go_version_key(p: &Path) -> Vec<u32> {
    let s = p.to_string_lossy();
    let v = s
        .split("/go-")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("");
    v.split('.').map(|x| x.parse().unwrap_or(0)).collect()
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| crate::supervise::is_executable(p))
}

/// A Go toolchain, or why there is none.
pub fn find_go() -> Result<PathBuf, String> {
    if let Some(g) = std::env::var_os("GO").filter(|g| !g.is_empty()) {
        let p = PathBuf::from(g);
        return if crate::supervise::is_executable(&p) {
            Ok(p)
        } else {
            Err(format!("$GO={} is not an executable", p.display()))
        };
    }
    if let Some(p) = on_path("go") {
        return Ok(p);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib")
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("go-"))
                .map(|e| e.path().join("bin/go"))
                .filter(|p| crate::supervise::is_executable(p))
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|p| go_version_key(p));
    found.pop().ok_or_else(|| {
        "no Go toolchain found (not $GO, not on PATH, no /usr/lib/go-*/bin/go)".to_string()
    })
}

pub fn go_version(go: &Path) -> String {
    Command::new(go)
        .arg("version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| format!("unavailable: `{} version` failed", go.display()))
}

/// Builds `reference/go/<scenario>` into `target/go-ref/<scenario>`.
pub fn build_go_reference(go: &Path, root: &Path, scenario: &str) -> Result<PathBuf, String> {
    let src_root = root.join("reference/go");
    if !src_root.join(scenario).is_dir() {
        return Err(format!(
            "no reference program reference/go/{scenario} (add one: a main package there speaking the metrics protocol)"
        ));
    }
    let out = root.join("target/go-ref").join(scenario);
    let _ = std::fs::create_dir_all(root.join("target/go-ref"));
    let mut cmd = Command::new(go);
    cmd.args(["build", "-o"])
        .arg(&out)
        .arg(format!("./{scenario}"))
        .current_dir(&src_root);
    // Standard library only: never reach for the network.
    cmd.env("GOPROXY", "off").env("GOTOOLCHAIN", "local");
    if std::env::var_os("HOME").is_none() && std::env::var_os("GOCACHE").is_none() {
        cmd.env("GOCACHE", root.join("target/go-cache"));
    }
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(out),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let tail: Vec<&str> = err.lines().rev().take(5).collect();
            Err(format!(
                "`go build` of reference/go/{scenario} failed: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ))
        }
        Err(e) => Err(format!("cannot run {}: {e}", go.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_versions_sort_numerically() {
        let mut v = [
            PathBuf::from("/usr/lib/go-1.9/bin/go"),
            PathBuf::from("/usr/lib/go-1.19/bin/go"),
        ];
        v.sort_by_key(|p| go_version_key(p));
        assert_eq!(v[1], PathBuf::from("/usr/lib/go-1.19/bin/go"));
    }
}
