//! Memory, for the fleet: the bytes the heap holds (this binary's global allocator counts what
//! it hands out over the system allocator's) and the process's resident set
//! (`/proc/self/status`). Heap bytes are exact and go down when memory is freed; the resident
//! set is what the machine pays, allocator overhead and the binary included.
#![allow(
    unsafe_code,
    reason = "a global allocator that counts the bytes it passes on to the system's"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Put in place with `#[global_allocator] static A: Counting = Counting;`.
pub struct Counting;

// SAFETY: every call is passed on to `System` unchanged; only a counter is updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

/// The heap and the resident set at one moment, in bytes (resident 0 where it cannot be read).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Memory {
    pub heap: usize,
    pub rss: usize,
}

impl Memory {
    pub fn now() -> Memory {
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
                line.split_whitespace().nth(1)?.parse::<usize>().ok()
            })
            .map_or(0, |kib| kib * 1024);
        Memory {
            heap: LIVE.load(Ordering::Relaxed),
            rss,
        }
    }

    /// What each of `n` instances added since `base`, in bytes (heap, resident).
    pub fn per_instance(self, base: Memory, n: usize) -> (f64, f64) {
        let n = n.max(1) as f64;
        (
            (self.heap as f64 - base.heap as f64) / n,
            (self.rss as f64 - base.rss as f64) / n,
        )
    }
}
