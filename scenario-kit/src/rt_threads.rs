//! The `threads` column: plain std threads, one OS thread per task.
//!
//! [`Ctx::threads`] runs the body on the calling (main) thread and the probe
//! on one extra thread named `probe` that sleeps on the 1 ms grid with
//! `std::thread::sleep` (nanosleep). That thread is the only one the kit
//! adds to any column; the `threads` column's floor is therefore main +
//! probe = 2, and scenarios should say so where they compare thread counts.
//!
//! No runtime counters: the runner's /proc samples are the truth for this
//! column; scenarios add their own with [`Ctx::counter`].

use crate::{Ctx, limits};

impl Ctx {
    /// Runs `body` on this thread with the probe on a thread of its own.
    pub fn threads<F>(&self, body: F) -> anyhow::Result<()>
    where
        F: FnOnce(Ctx) -> anyhow::Result<()>,
    {
        let probe = self.new_probe(Box::new(|_| {}));
        let p = probe.clone();
        let spawned = std::thread::Builder::new()
            .name("probe".into())
            .spawn(move || crate::probe::run_blocking(&p, std::thread::sleep));
        let handle = match spawned {
            Ok(h) => h,
            Err(e) => match limits::thread_limit(&e) {
                Some(what) => self.limit(&what),
                None => return Err(anyhow::Error::new(e).context("starting the probe thread")),
            },
        };
        let result = body(self.clone());
        probe.stop();
        let _ = handle.join();
        self.record_probe(&probe.finish());
        result
    }
}
