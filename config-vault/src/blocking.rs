//! The one bridge from synchronous code to the async client, as reqwest's `blocking` module
//! is for reqwest: every synchronous entry point that waits for the client (`Settings::load()`,
//! `explain()`, `check()`, `Live::explain()`, the operator CLI) runs its futures here. (Live
//! settings started from synchronous code run their background task on a thread of their
//! own, so that one never delays another.)
//!
//! The futures run on a small runtime of the library's own (two workers), started on first use
//! and kept for the life of the process, and the calling thread waits for them. So a load
//! from synchronous code works outside any runtime and inside both Tokio flavours, and
//! repeated synchronous loads share one runtime instead of starting one each. Async entry
//! points (`load_async()`, `watch_async()`) run on the caller's runtime and never come here.
//!
//! ```
//! let answer = vault_config_vault::blocking::block_on(async { 6 * 7 }).unwrap();
//! assert_eq!(answer, 42);
//! ```

use std::cell::Cell;
use std::future::Future;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use tracing::instrument::WithSubscriber;
use vault_config_core::BoxFuture;

thread_local! {
    /// Set on the bridge's own worker threads: waiting there for the bridge would deadlock.
    static ON_BRIDGE: Cell<bool> = const { Cell::new(false) };
}

/// The library's runtime: two workers (a batch's TLS handshakes and decoding are CPU work),
/// started on first use. A static is never dropped, so the runtime lives as long as the
/// process.
fn runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("vault-config")
                .on_thread_start(|| ON_BRIDGE.with(|on| on.set(true)))
                .enable_all()
                .build()
                .map_err(|e| format!("could not start vault-config's runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Starts `future` on the library's runtime without waiting for it (the background task of
/// live settings started from async code outside Tokio). Its spans and events go to the
/// caller's `tracing` subscriber, also a scoped one.
pub(crate) fn spawn<F>(future: F) -> Result<tokio::task::JoinHandle<F::Output>, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Ok(runtime()?.spawn(future.with_current_subscriber()))
}

/// Runs `future` on the library's runtime and waits for it on the calling thread: from
/// synchronous code, inside or outside an async runtime. An `Err` says why it could not
/// run (the runtime could not start, the future panicked, or this is one of the runtime's
/// own threads, where waiting would deadlock).
///
/// Inside an async runtime this blocks the calling thread like any synchronous call; from
/// async code prefer the `_async` entry points.
pub fn block_on<F>(future: F) -> Result<F::Output, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if ON_BRIDGE.with(Cell::get) {
        return Err("a synchronous vault-config call from inside vault-config's own runtime would deadlock; use the async entry point".into());
    }
    let task = spawn(future)?;
    pollster::block_on(task).map_err(|e| format!("the vault-config task failed: {e}"))
}

/// The loader's hook: a load's Vault work from synchronous code.
pub(crate) fn block_on_work(work: BoxFuture<'static, ()>) -> Result<(), String> {
    block_on(work)
}

/// Whether the calling thread is one of the bridge's own.
pub(crate) fn on_bridge() -> bool {
    ON_BRIDGE.with(Cell::get)
}

/// The longest the process waits at exit for the give-backs still running (a hung Vault holds
/// the exit no longer; its tokens then live out their TTL).
pub const GIVE_BACK_AT_EXIT: Duration = Duration::from_secs(10);

/// Give-backs (a finished one-shot load's lease and token revocations) still running.
static PENDING: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// The loader's hook: the give-back of a load's own client, off the load's critical path. It
/// runs on the library's runtime, whatever runtime the load ran on, so that it outlives the
/// caller's; a process that exits right after the load waits for it at exit (up to
/// [`GIVE_BACK_AT_EXIT`]), so that no token is left behind either way.
pub(crate) fn give_back(work: BoxFuture<'static, ()>) -> Option<BoxFuture<'static, ()>> {
    if !exit_hook::installed() {
        // No exit hook on this platform: the load waits for its give-back.
        return Some(work);
    }
    let pending = Pending::count();
    // Counted until the work ends, panics included (the guard drops with the task); if the
    // runtime could not start, nothing can run it and the guard drops at once.
    let _ = spawn(async move {
        work.await;
        drop(pending);
    });
    None
}

/// One give-back still running, counted in [`PENDING`] for as long as it lives.
struct Pending;

impl Pending {
    fn count() -> Pending {
        *lock_pending() += 1;
        Pending
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        *lock_pending() -= 1;
        PENDING.1.notify_all();
    }
}

fn lock_pending() -> std::sync::MutexGuard<'static, usize> {
    PENDING
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits until every give-back of a finished load is done, for at most `within`; whether
/// they all are. The process does this at exit; a program that needs it earlier (before a
/// `fork`, say, or to count tokens in a test) can call it. (A forked child does not wait at
/// its exit for give-backs its parent started: they run on the parent's threads.)
///
/// ```
/// use std::time::Duration;
/// assert!(vault_config_vault::blocking::wait_for_give_backs(Duration::from_secs(1)));
/// ```
pub fn wait_for_give_backs(within: Duration) -> bool {
    let (guard, _) = PENDING
        .1
        .wait_timeout_while(lock_pending(), within, |n| *n > 0)
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *guard == 0
}

/// The process exit hook, installed once, on the first give-back.
mod exit_hook {
    use std::sync::OnceLock;

    /// The process that installed the hook: a forked child inherits the hook and the count,
    /// not the threads that run the give-backs, so it must not wait for them.
    static INSTALLER: OnceLock<u32> = OnceLock::new();

    /// Whether the hook is in place (installing it on first use).
    pub(super) fn installed() -> bool {
        static INSTALLED: OnceLock<bool> = OnceLock::new();
        *INSTALLED.get_or_init(|| {
            INSTALLER.get_or_init(std::process::id);
            install()
        })
    }

    #[cfg(unix)]
    #[allow(unsafe_code, reason = "the one call the exit hook needs; see SAFETY")]
    fn install() -> bool {
        extern "C" fn at_exit() {
            // Never unwinds: waiting on a poisoned lock takes the value, and a timeout ends it.
            if INSTALLER.get() == Some(&std::process::id()) {
                super::wait_for_give_backs(super::GIVE_BACK_AT_EXIT);
            }
        }
        // SAFETY: `atexit` takes a plain `extern "C" fn()` that lives as long as the program
        // and is called once by `exit`, on the exiting thread, while the library's runtime
        // threads still run; the hook only waits on a condition variable with a deadline.
        unsafe { libc::atexit(at_exit) == 0 }
    }

    #[cfg(not(unix))]
    fn install() -> bool {
        false
    }
}
