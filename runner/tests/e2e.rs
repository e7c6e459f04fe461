//! End to end: `schedlab run baseline --quick` on the real baseline
//! scenario, through the real report. Needs the baseline binary beside
//! schedlab (same target dir and profile): `cargo build --bins` first
//! (`make test` does).

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn go_available() -> bool {
    let exe = |p: &Path| p.is_file();
    std::env::var_os("GO").is_some_and(|g| exe(Path::new(&g)))
        || std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| exe(&d.join("go"))))
        || std::fs::read_dir("/usr/lib")
            .map(|rd| {
                rd.flatten().any(|e| {
                    e.file_name().to_string_lossy().starts_with("go-")
                        && exe(&e.path().join("bin/go"))
                })
            })
            .unwrap_or(false)
}

fn pngs(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            pngs(&p, out);
        } else if p.extension().is_some_and(|x| x == "png") {
            out.push(p);
        }
    }
}

/// Share of pixels that differ from the most common colour (the
/// background): a blank image has 0.
fn drawn_fraction(p: &Path) -> f64 {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
    let mut reader = dec
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", p.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: does not decode: {e}", p.display()));
    let bpp = info.line_size / info.width as usize;
    let px: Vec<&[u8]> = buf[..info.buffer_size()].chunks(bpp).collect();
    let mut counts = std::collections::HashMap::new();
    for x in &px {
        *counts.entry(*x).or_insert(0usize) += 1;
    }
    let bg = counts.values().max().copied().unwrap_or(0);
    (px.len() - bg) as f64 / px.len() as f64
}

#[test]
fn baseline_quick_end_to_end() {
    let bin_dir = Path::new(SCHEDLAB).parent().unwrap();
    let baseline = bin_dir.join("baseline");
    assert!(
        baseline.is_file(),
        "{} is missing: run `cargo build --bins` first (make test does)",
        baseline.display()
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let run = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("e2e-baseline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&run);
    let o = std::process::Command::new(SCHEDLAB)
        .arg("--root")
        .arg(root)
        .args(["run", "baseline", "--quick", "--out"])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let csv = std::fs::read_to_string(run.join("summary.csv")).unwrap();
    let rows = |rt: &str| -> Vec<Vec<String>> {
        csv.lines()
            .map(|l| l.split(',').map(String::from).collect::<Vec<_>>())
            .filter(|f| f[0] == "baseline" && f[2] == rt)
            .collect()
    };
    // Whatever the quick profile's grid is, tokio has per-repeat rows (and
    // medians.csv a row per point), and every one ended well.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} column"))
    };
    let tokio = rows("tokio");
    // The sampler saw the process: thread counts are there.
    let threads = col("metric.threads_median");
    assert!(
        tokio
            .iter()
            .all(|f| f[threads].parse::<f64>().is_ok_and(|t| t >= 1.0)),
        "{csv}"
    );
    assert!(
        tokio.iter().any(|f| f[3] == "1"),
        "no tokio repeat row:\n{csv}"
    );
    assert!(
        tokio.iter().all(|f| f[3].parse::<u32>().is_ok()),
        "a repeat that is not a number:\n{csv}"
    );
    let med = std::fs::read_to_string(run.join("medians.csv")).unwrap();
    assert!(
        med.lines()
            .any(|l| l.starts_with("baseline,") && l.split(',').nth(2) == Some("tokio")),
        "no tokio median row:\n{med}"
    );
    assert!(
        tokio.iter().all(|f| f[4] == "ok"),
        "a tokio point did not end well:\n{csv}"
    );
    if go_available() {
        let go = rows("go");
        assert!(
            go.iter().any(|f| f[3] == "1" && f[4] == "ok"),
            "go ran:\n{csv}"
        );
    }

    assert!(
        run.join("report.html").is_file(),
        "no report.html in {}",
        run.display()
    );
    let mut found = Vec::new();
    pngs(&run, &mut found);
    assert!(!found.is_empty(), "no PNG under {}", run.display());
    for p in &found {
        let f = drawn_fraction(p);
        // Axes, labels and lines cover well over 0.5% of any plot.
        assert!(f > 0.005, "{} looks blank ({:.4} drawn)", p.display(), f);
    }
    let _ = std::fs::remove_dir_all(&run);
}
