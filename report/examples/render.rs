//! Re-renders a stored run directory with this crate's current code:
//! `cargo run -p schedlab-report --example render -- results/<run-id>`.
//! (The runner's `schedlab report` does the same plus the terminal table.)

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: render <run-dir>");
        std::process::exit(2);
    };
    match schedlab_report::render(std::path::Path::new(&dir)) {
        Ok(r) => {
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            println!("{} plot files", r.plots.len());
            println!("{}", r.html.display());
            println!("{}", r.md.display());
        }
        Err(e) => {
            eprintln!("render: {e:#}");
            std::process::exit(2);
        }
    }
}
