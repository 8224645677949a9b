//! What the comparison benchmark (`tests/bench/benches/compare/`) needs and the workspace's
//! `forbid(unsafe_code)` keeps out of it: a counting global allocator and CPU pinning.
//!
//! The allocator counts per thread, so a measurement taken on one thread sees exactly the work
//! that thread did: run a server's handler on a current-thread runtime and the figures are the
//! server's alone, whatever the load generator or another runtime does meanwhile.
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: bench_support::CountingAlloc = bench_support::CountingAlloc;
//!
//! let before = bench_support::thread_stats();
//! let v = vec![0u8; 1024];
//! let used = bench_support::thread_stats().since(&before);
//! assert_eq!(used.allocs, 1);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Per-thread counters. `const`-initialized `Cell`s without `Drop`: touching them never
/// allocates and never fails, not even while the thread is being torn down.
struct Counters {
    allocs: Cell<u64>,
    reallocs: Cell<u64>,
    frees: Cell<u64>,
    bytes: Cell<u64>,
    live: Cell<i64>,
    peak: Cell<i64>,
}

thread_local! {
    static COUNTERS: Counters = const {
        Counters {
            allocs: Cell::new(0),
            reallocs: Cell::new(0),
            frees: Cell::new(0),
            bytes: Cell::new(0),
            live: Cell::new(0),
            peak: Cell::new(0),
        }
    };
}

fn grow(c: &Counters, by: i64) {
    let live = c.live.get() + by;
    c.live.set(live);
    if live > c.peak.get() {
        c.peak.set(live);
    }
}

/// The system allocator, counting each thread's allocations on that thread.
///
/// `realloc` is forwarded as a `realloc` (so large buffers still grow in place, as they would
/// without counting) and counted apart from fresh allocations.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

#[allow(unsafe_code)]
// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// bookkeeping only touches thread-local `Cell`s, which neither allocate nor unwind.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNTERS.try_with(|c| {
            c.allocs.set(c.allocs.get() + 1);
            c.bytes.set(c.bytes.get() + layout.size() as u64);
            grow(c, layout.size() as i64);
        });
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = COUNTERS.try_with(|c| {
            c.allocs.set(c.allocs.get() + 1);
            c.bytes.set(c.bytes.get() + layout.size() as u64);
            grow(c, layout.size() as i64);
        });
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = COUNTERS.try_with(|c| {
            c.frees.set(c.frees.get() + 1);
            grow(c, -(layout.size() as i64));
        });
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNTERS.try_with(|c| {
            c.reallocs.set(c.reallocs.get() + 1);
            if new_size > layout.size() {
                c.bytes
                    .set(c.bytes.get() + (new_size - layout.size()) as u64);
            }
            // A moving realloc briefly holds both blocks; counting only the new size keeps the
            // figure what the program asked for, the same for every server measured.
            grow(c, new_size as i64 - layout.size() as i64);
        });
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What the calling thread has allocated since it started (or, for `peak`, since the last
/// [`reset_peak`]). Differences of two snapshots, by [`Stats::since`], measure a stretch of code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Fresh allocations (`alloc` and `alloc_zeroed`).
    pub allocs: u64,
    /// Reallocations: a buffer grown or shrunk.
    pub reallocs: u64,
    /// Deallocations.
    pub frees: u64,
    /// Bytes asked for: fresh allocations plus what reallocations added.
    pub bytes: u64,
    /// Bytes live now on this thread's account (allocated here minus freed here).
    pub live: i64,
    /// The most `live` has been since the last [`reset_peak`].
    pub peak: i64,
}

impl Stats {
    /// The work done between `earlier` and `self` (`live` and `peak` stay absolute).
    pub fn since(&self, earlier: &Stats) -> Stats {
        Stats {
            allocs: self.allocs - earlier.allocs,
            reallocs: self.reallocs - earlier.reallocs,
            frees: self.frees - earlier.frees,
            bytes: self.bytes - earlier.bytes,
            live: self.live,
            peak: self.peak,
        }
    }

    /// Calls into the allocator that hand out memory: allocations plus reallocations.
    pub fn allocator_calls(&self) -> u64 {
        self.allocs + self.reallocs
    }
}

/// The calling thread's counters. All zero unless [`CountingAlloc`] is the global allocator.
pub fn thread_stats() -> Stats {
    COUNTERS.with(|c| Stats {
        allocs: c.allocs.get(),
        reallocs: c.reallocs.get(),
        frees: c.frees.get(),
        bytes: c.bytes.get(),
        live: c.live.get(),
        peak: c.peak.get(),
    })
}

/// Starts a new peak on the calling thread: from now on `peak` is the most bytes live at once.
pub fn reset_peak() {
    COUNTERS.with(|c| c.peak.set(c.live.get()));
}

/// Pins the calling thread to CPU `cpu`.
pub fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(std::io::Error::other(format!("no CPU {cpu}")));
    }
    #[allow(unsafe_code)]
    // SAFETY: `cpu_set_t` is plain data for which all-zeroes is the empty set; `CPU_SET` is given
    // an index below `CPU_SETSIZE`; `sched_setaffinity(0, ..)` affects the calling thread only and
    // reads exactly `size_of::<cpu_set_t>()` bytes from a set that lives across the call.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The CPUs this process may run on, lowest first (empty when they cannot be read).
pub fn allowed_cpus() -> Vec<usize> {
    #[allow(unsafe_code)]
    // SAFETY: all-zeroes is the empty `cpu_set_t`; `sched_getaffinity(0, ..)` writes at most
    // `size_of::<cpu_set_t>()` bytes into it, and `CPU_ISSET` reads it with indices below
    // `CPU_SETSIZE`.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

/// Nanoseconds of CPU the thread `tid` of this process has used, from
/// `/proc/self/task/<tid>/schedstat` (or its `stat`, at clock-tick resolution, where the kernel
/// keeps no schedstat).
pub fn thread_cpu_ns(tid: u32) -> Option<u64> {
    let dir = format!("/proc/self/task/{tid}");
    if let Ok(text) = std::fs::read_to_string(format!("{dir}/schedstat"))
        && let Some(ns) = text.split_whitespace().next().and_then(|f| f.parse().ok())
    {
        return Some(ns);
    }
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    // Fields after the parenthesized command name; utime and stime are the 14th and 15th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    #[allow(unsafe_code)]
    // SAFETY: `sysconf` only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    Some(ticks * 1_000_000_000 / hz)
}

/// The calling thread's id, as `/proc/self/task` names it.
pub fn current_tid() -> u32 {
    #[allow(unsafe_code)]
    // SAFETY: `gettid` has no preconditions and cannot fail.
    let tid = unsafe { libc::gettid() };
    tid as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static ALLOC: CountingAlloc = CountingAlloc;

    #[test]
    fn counts_this_threads_allocations_and_peak() {
        let before = thread_stats();
        reset_peak();
        let mut v: Vec<u8> = Vec::with_capacity(1000);
        v.extend_from_slice(&[1; 1000]);
        v.reserve(3000);
        let after = thread_stats();
        drop(std::hint::black_box(v));
        let used = after.since(&before);
        assert_eq!((used.allocs, used.reallocs), (1, 1));
        assert_eq!(used.bytes, 4000);
        assert_eq!(after.peak - before.live, 4000);
    }

    #[test]
    fn other_threads_are_not_counted_here() {
        let before = thread_stats();
        let big = std::thread::spawn(|| vec![7u8; 1 << 20]).join().unwrap();
        let used = thread_stats().since(&before);
        assert!(used.bytes < 1 << 20, "{used:?}");
        drop(big);
    }

    #[test]
    fn reports_cpus_and_cpu_time() {
        assert!(!allowed_cpus().is_empty());
        assert!(thread_cpu_ns(current_tid()).is_some());
    }
}
