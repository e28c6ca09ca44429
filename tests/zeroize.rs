//! Secret buffers are zeroized before their memory is freed. A counting allocator looks into
//! every block freed while a check runs and counts those still holding the canary: a plain
//! `String` (the control) leaves it behind; the library's secret holders must not.
#![allow(
    unsafe_code,
    reason = "a global allocator that reads blocks before freeing them"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::Value;
use vault_config::testing::MockVault;
use vault_config::{EnvSnapshot, ExposeSecret, SecretData, SecretString, VaultConfig};

const CANARY: &str = "zeroize-canary-5d1e";

static SCANNING: AtomicBool = AtomicBool::new(false);
static HITS: AtomicUsize = AtomicUsize::new(0);

struct Scanning;

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

#[global_allocator]
static ALLOCATOR: Scanning = Scanning;

/// How many freed blocks still held the canary while `f` ran.
fn leftovers(f: impl FnOnce()) -> usize {
    HITS.store(0, Ordering::SeqCst);
    SCANNING.store(true, Ordering::SeqCst);
    f();
    SCANNING.store(false, Ordering::SeqCst);
    HITS.load(Ordering::SeqCst)
}

/// A fresh heap copy (the constant itself lives in static memory, never freed).
fn canary() -> String {
    CANARY.to_owned()
}

#[derive(Debug, VaultConfig)]
#[config(vault_path = "app", env_prefix = "ZZ_")]
struct Settings {
    #[config(secret)]
    from_vault: SecretString,
    #[config(secret)]
    from_env: SecretString,
}

// One test: the allocator is global, so no other test may free memory while one scans.
#[test]
fn secret_holders_zeroize_before_freeing() {
    // The control: a plain String leaves the value in freed memory.
    assert!(
        leftovers(|| drop(canary())) > 0,
        "the detector sees nothing"
    );

    assert_eq!(
        leftovers(|| drop(SecretString::from(canary()))),
        0,
        "SecretString"
    );

    assert_eq!(
        leftovers(|| {
            let mut map = BTreeMap::new();
            // Built without json!, which serializes a copy and frees the original.
            let list = Value::Array(vec![Value::String(canary())]);
            map.insert("key".to_owned(), Value::String(canary()));
            map.insert(
                "nested".to_owned(),
                Value::Object([("list".to_owned(), list)].into_iter().collect()),
            );
            drop(SecretData::new(map));
        }),
        0,
        "SecretData"
    );

    assert_eq!(
        leftovers(|| drop(EnvSnapshot::from_iter([("ZZ_FROM_ENV", canary())]))),
        0,
        "EnvSnapshot"
    );

    // A whole load: env and Vault values through resolution and deserialization, then the
    // settings dropped. Every intermediate copy is freed inside the window.
    let leftover = leftovers(|| {
        let vault =
            MockVault::new().secret("secret/app", [("from_vault", Value::String(canary()))]);
        let settings = Settings::loader()
            .env(EnvSnapshot::from_iter([("ZZ_FROM_ENV", canary())]))
            .vault(vault)
            .load()
            .unwrap();
        assert_eq!(settings.from_vault.expose_secret(), CANARY);
        assert_eq!(settings.from_env.expose_secret(), CANARY);
        drop(settings);
    });
    assert_eq!(
        leftover, 0,
        "a load left copies of a secret in freed memory"
    );
}
