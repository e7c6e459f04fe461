//! Goroutine stacks carved from large `MAP_NORESERVE` slabs.
//!
//! Go allocates goroutine stacks from spans of the heap; a parked goroutine
//! costs the pages its stack touched (2 KiB minimum in Go, growable). gmp's
//! goroutines are corosensei coroutines, which need a fixed-size stack, so:
//!
//! * Stacks have a fixed virtual size (`stack_size`, default 256 KiB) and are
//!   carved out of slabs of 1024 stacks mapped with one `mmap(MAP_NORESERVE)`
//!   each. Only touched pages cost RSS; one mapping per 1024 stacks keeps
//!   1,000,000 goroutines far below `vm.max_map_count` (65,530), which a
//!   guard page per stack (two mappings each) would exceed.
//! * There is no guard page. Instead a canary (64 bytes) sits directly below
//!   each stack's limit and is checked on every switch away from the
//!   goroutine ([`GStack::canary_intact`]); an overwritten canary aborts the
//!   process naming the goroutine and its spawn site. The canary of slot
//!   `i+1` lives in the top 64 bytes of slot `i`, i.e. in the page slot `i`'s
//!   own first frames already touch, so a parked goroutine whose frames fit
//!   in one page costs one page of RSS (plus its `G`). Slot 0's canary lives
//!   in a spare page at the start of the slab.
//! * A dead goroutine keeps its stack for the next goroutine (Go keeps dead
//!   Gs with their stacks on gFree lists the same way); stack memory is never
//!   returned to the OS. The pool's free list is kept for a later stack
//!   shrinker.
//!
//! Invariant: a slot is owned by at most one `GStack`; a `GStack` is owned by
//! exactly one coroutine or one dead `G`.

use std::collections::HashMap;
use std::sync::Mutex;

use corosensei::stack::{Stack, StackPointer};

const PAGE: usize = 4096;
const SLOTS_PER_SLAB: usize = 1024;
const CANARY_BYTES: usize = 64;
const CANARY_WORD: u64 = 0x6f67_2d73_7461_636b; // "go-stack"

/// One goroutine stack: `[lo, hi)`, canary at `[lo - 64, lo)`.
pub(crate) struct GStack {
    lo: usize,
    hi: usize,
}

struct Pool {
    free: Vec<(usize, usize)>,
    slab_next: usize,
    slab_end: usize,
}

static POOLS: Mutex<Option<HashMap<usize, Pool>>> = Mutex::new(None);

impl GStack {
    /// Takes a stack of `size` bytes (a multiple of the page size) from the
    /// pool, mapping a new slab when the free list is empty.
    pub(crate) fn alloc(size: usize) -> GStack {
        let mut guard = POOLS.lock().unwrap_or_else(|e| e.into_inner());
        let pools = guard.get_or_insert_with(HashMap::new);
        let pool = pools.entry(size).or_insert(Pool {
            free: Vec::new(),
            slab_next: 0,
            slab_end: 0,
        });
        if let Some((lo, hi)) = pool.free.pop() {
            return GStack { lo, hi };
        }
        if pool.slab_next == pool.slab_end {
            let bytes = PAGE + SLOTS_PER_SLAB * size;
            // SAFETY: an anonymous private mapping with no address hint has no
            // preconditions; failure is checked below.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                crate::panic::fatal(&format!(
                    "runtime: cannot allocate goroutine stack slab of {bytes} bytes: {}",
                    std::io::Error::last_os_error()
                ));
            }
            pool.slab_next = p as usize + PAGE;
            pool.slab_end = pool.slab_next + SLOTS_PER_SLAB * size;
        }
        let slot = pool.slab_next;
        pool.slab_next += size;
        // Stack of this slot: [slot, slot + size - 64); the top 64 bytes hold
        // the canary of the next slot (written when that slot is handed out).
        let st = GStack {
            lo: slot,
            hi: slot + size - CANARY_BYTES,
        };
        st.write_canary();
        st
    }

    fn write_canary(&self) {
        let c = (self.lo - CANARY_BYTES) as *mut u64;
        for i in 0..CANARY_BYTES / 8 {
            // SAFETY: [lo-64, lo) lies inside the slab (the spare first page or
            // the top of the previous slot, which no stack uses) and is
            // 8-aligned because slots are page-aligned.
            unsafe { c.add(i).write_volatile(CANARY_WORD) };
        }
    }

    /// Reports whether the canary below this stack's limit is untouched.
    pub(crate) fn canary_intact(&self) -> bool {
        let c = (self.lo - CANARY_BYTES) as *const u64;
        // SAFETY: see write_canary; reading our own canary words.
        (0..CANARY_BYTES / 8).all(|i| unsafe { c.add(i).read_volatile() } == CANARY_WORD)
    }

    #[allow(dead_code)]
    pub(crate) fn bounds(&self) -> (usize, usize) {
        (self.lo, self.hi)
    }
}

// SAFETY: corosensei asks for a guard page below `limit`. gmp replaces it by
// the canary checked on every switch (see the module comment): an overflow
// is detected at the next switch and aborts the process, instead of faulting
// at once. `base`/`limit` are 16-aligned (page-aligned slot, 64-byte canary)
// and the stack is far larger than MIN_STACK_SIZE.
unsafe impl Stack for GStack {
    fn base(&self) -> StackPointer {
        StackPointer::new(self.hi).expect("stack base is non-null")
    }
    fn limit(&self) -> StackPointer {
        StackPointer::new(self.lo).expect("stack limit is non-null")
    }
}

/// Starts loading the canary below a stack whose limit is `lo` into the
/// cache, so that the check when the goroutine switches away finds it
/// there: the canary sits in another slot's page, a cache and TLB miss for
/// a goroutine that has not run lately, and the goroutine's own run hides
/// the latency. A hint only (no fault, no effect on memory).
#[inline]
pub(crate) fn prefetch_canary(lo: usize) {
    if lo != 0 {
        prefetch_line(lo - CANARY_BYTES);
    }
}

/// A prefetch hint for the cache line at `addr` (no effect elsewhere than
/// x86_64).
#[inline]
fn prefetch_line(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch reads nothing the program sees and never
        // faults, whatever the address; SSE is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(addr as *const i8) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

/// Starts loading what resuming `gp` first touches: its `G`, the top of its
/// stack (and so the page's TLB entry) and its canary. A hint, as
/// [`prefetch_canary`].
#[inline]
pub(crate) fn prefetch_goroutine(gp: &crate::runtime2::G) {
    prefetch_line(gp as *const crate::runtime2::G as usize);
    let hi = gp.stack_hi.load(std::sync::atomic::Ordering::Relaxed);
    if hi != 0 {
        prefetch_line(hi - 64);
    }
    prefetch_canary(gp.stack_lo.load(std::sync::atomic::Ordering::Relaxed));
}

/// Checks the canary below a stack whose limit is `lo`.
pub(crate) fn canary_intact_at(lo: usize) -> bool {
    GStack { lo, hi: lo }.canary_intact()
}
