//! Thread floor of an idle gmp program: `cargo run -p gmp --example floor -- <procs> [ms]`.
//! Prints the thread count from /proc/self/status after the main goroutine
//! slept, like the Go reference program measures it.

fn threads() -> usize {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let mut args = all.clone().into_iter();
    if all.iter().any(|a| a == "--help") {
        println!("usage: floor <procs> [sleep-ms]");
        return;
    }
    let procs: usize = match args.next().map(|a| a.parse()) {
        None => 1,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("floor: procs must be a number");
            std::process::exit(2);
        }
    };
    let ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let rt = match gmp::Runtime::builder().procs(procs).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("floor: {e}");
            std::process::exit(2);
        }
    };
    let n = rt.block_on(move || {
        gmp::sleep(std::time::Duration::from_millis(ms));
        let n = threads();
        println!("procs={procs} threads={n}");
        println!("{:?}", gmp::stats());
        for t in gmp::thread_create_profile() {
            println!("  M{} at {:?}: {}", t.m_id, t.at, t.cause);
        }
        print!("{}", gmp::goroutine_dump());
        n
    });
    println!("threads after block_on: {} (main saw {n})", threads());
}
