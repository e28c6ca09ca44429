//! A global allocator for zeroization tests (shared by `config-vault`'s unit tests and the
//! facade's `tests/zeroize.rs`): while a check runs, every block being freed is searched for
//! a canary, and the blocks still holding it are counted. A plain `String` (the control)
//! leaves the canary behind; a zeroizing holder must not.
#![allow(
    unsafe_code,
    reason = "a global allocator that reads blocks before freeing them"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The value the checks plant; never in static memory once copied to the heap.
pub const CANARY: &str = "zeroize-canary-5d1e";

static SCANNING: AtomicBool = AtomicBool::new(false);
static HITS: AtomicUsize = AtomicUsize::new(0);
/// One check at a time: the allocator is global.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Put in place with `#[global_allocator] static A: Scanning = Scanning;`.
pub struct Scanning;

// SAFETY: every call is passed on to `System` unchanged; `dealloc` only reads the block it is
// given (valid for `layout.size()` bytes until it is freed) before freeing it.
unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if SCANNING.load(Ordering::Relaxed) && layout.size() >= CANARY.len() {
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if block.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()) {
                HITS.fetch_add(1, Ordering::Relaxed);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// How many freed blocks still held the canary while `f` ran.
pub fn leftovers(f: impl FnOnce()) -> usize {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    HITS.store(0, Ordering::SeqCst);
    SCANNING.store(true, Ordering::SeqCst);
    f();
    SCANNING.store(false, Ordering::SeqCst);
    HITS.load(Ordering::SeqCst)
}

/// A fresh heap copy of the canary (the constant itself is never freed).
pub fn canary() -> String {
    CANARY.to_owned()
}
