//! `schedlab watch` and `schedlab watch-corpus`: the runner's side of the
//! `schedlab-watch` crate. The crate diagnoses; this module gives it the
//! report renderer and finds the lab's binaries for the corpus.

use crate::discover;
use schedlab_watch::{cli, corpus};
use std::path::{Path, PathBuf};

/// `schedlab watch ...`: the exit code.
pub fn watch(args: &cli::WatchArgs) -> i32 {
    cli::run(args, &|dir: &Path| {
        schedlab_report::render(dir).map(|r| r.html)
    })
}

/// `schedlab watch-corpus [--quick]`: the confusion matrix; exit 3 when a
/// case was named wrongly (a case that could not run, e.g. go without a
/// toolchain, is listed and not counted).
pub fn corpus(root: &Path, bin_dir: &Path, quick: bool, only: Option<&str>) -> i32 {
    let go = discover::find_go();
    let resolve = |scenario: &str, runtime: &str| -> Result<PathBuf, String> {
        if runtime == "go" {
            let go = go.as_ref().map_err(Clone::clone)?;
            discover::build_go_reference(go, root, scenario)
        } else {
            let b = bin_dir.join(scenario);
            if b.is_file() {
                Ok(b)
            } else {
                Err(discover::build_hint(bin_dir, scenario))
            }
        }
    };
    let total_s = |n: usize| n as u64 * corpus::WATCH_FOR.as_secs();
    let n = corpus::select(quick, only).len();
    if n == 0 {
        eprintln!(
            "schedlab watch-corpus: no case for `{}`; scenarios: baseline, dup_fd, sender_leak, ffi_cap, syscalls, timer_stw",
            only.unwrap_or("")
        );
        return 2;
    }
    eprintln!(
        "schedlab watch-corpus: {n} cases, {} s each (about {} s)",
        corpus::WATCH_FOR.as_secs(),
        total_s(n)
    );
    let outcomes = corpus::run(quick, only, &resolve, &mut |i, n, o| {
        eprintln!("[{i:>2}/{n}] {}", corpus::case_line(o));
    });
    println!();
    print!("{}", corpus::matrix(&outcomes));
    let wrong = outcomes
        .iter()
        .any(|o| matches!(&o.named, Ok(s) if *s != o.case.expect));
    if wrong { 3 } else { 0 }
}
