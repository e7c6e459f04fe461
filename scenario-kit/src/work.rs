//! Pure computation for the goroutines and tasks that "stay runnable" in a
//! scenario (syscalls' W compute goroutines, ffi_cap's main): a fixed slice
//! of arithmetic the optimiser cannot remove, so a loop of them measures
//! how much CPU the scheduler gave its caller.

/// A slice of arithmetic, about 4 us on the lab machine: one step of an LCG
/// per iteration, 4096 iterations.
pub fn compute_chunk(x: &mut u64) {
    for _ in 0..4096 {
        *x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    std::hint::black_box(*x);
}
