//! Certificates in the live engine on a paused clock (time jumps to the next timer, so days pass
//! in milliseconds), against an in-memory PKI role that issues a certificate valid for a drawn
//! validity and, for a drawn window, refuses to issue. Per seed, after every step:
//!
//! 1. while the role issued throughout, the published certificate has more than a fifth of its
//!    validity left (issued again at about 2/3, never late);
//! 2. no flood: at most one certificate per 0.6 of a validity, plus the first;
//! 3. while the role refuses, the published certificate is the last good one, and health names
//!    the error;
//! 4. once the role issues again, a new certificate is published within the longest backoff;
//! 5. the task is alive.
//!
//! A failing seed prints the line that replays it:
//! `PKI_SIM_SEED=<seed> cargo test --test it pki_sim::replay -- --nocapture`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use vault_config::VaultConfig;
use vault_config::live::Live;
use vault_config::pki::Certificate;
use vault_config::source::{
    BoxFuture, FetchResult, PathKind, SecretData, SecretSource, SourceError, VaultPath,
};

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "PKISIM_")]
struct Served {
    #[config(pki = "pki/issue/internal", common_name = "api.internal")]
    tls: Certificate,
}

/// Four certificates and their keys, reused under new serials (the engine reads the serial
/// and the end from the answer; the key must match its certificate).
fn pairs() -> &'static [(String, String)] {
    static PAIRS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    PAIRS.get_or_init(|| {
        (0..4)
            .map(|i| {
                let made = rcgen::generate_simple_self_signed(vec![format!("api{i}.internal")])
                    .expect("a certificate");
                (made.cert.pem(), made.key_pair.serialize_pem())
            })
            .collect()
    })
}

/// The role: its validity, the window in which it refuses, and what it issued.
struct Role {
    validity: Duration,
    refuse: (Instant, Instant),
    /// When each certificate was issued, by serial number (its index).
    issued: Vec<Instant>,
    refusals: u32,
}

#[derive(Clone)]
struct SimPki(Arc<Mutex<Role>>);

impl SecretSource for SimPki {
    fn fetch<'a>(&'a self, paths: &'a [VaultPath]) -> BoxFuture<'a, Vec<FetchResult>> {
        Box::pin(async move {
            let now = Instant::now();
            let mut role = self.0.lock().unwrap();
            paths
                .iter()
                .map(|path| {
                    assert_eq!(path.kind, PathKind::Issue);
                    if role.refuse.0 <= now && now < role.refuse.1 {
                        role.refusals += 1;
                        return Err(SourceError::denied("unknown role: internal"));
                    }
                    let serial = role.issued.len();
                    role.issued.push(now);
                    let (cert, key) = &pairs()[serial % 4];
                    let data: SecretData = [
                        ("certificate", serde_json::json!(cert)),
                        ("private_key", serde_json::json!(key)),
                        (
                            "serial_number",
                            serde_json::json!(format!("00:{serial:02x}")),
                        ),
                        (
                            "expiration",
                            serde_json::json!(
                                vault_config_core::unix_now() + role.validity.as_secs()
                            ),
                        ),
                    ]
                    .into_iter()
                    .collect();
                    Ok(data.with_lease(Some(role.validity)))
                })
                .collect()
        })
    }
}

/// The index of the published certificate (its serial).
fn published(live: &Live<Served>) -> usize {
    let serial = live.current().tls.serial().to_owned();
    usize::from_str_radix(serial.trim_start_matches("00:"), 16).expect("a serial of the model")
}

fn run_seed(seed: u64) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        fastrand::seed(seed);
        let mut rng = fastrand::Rng::with_seed(seed);
        let validity = Duration::from_secs(rng.u64(20..=7200));
        let start = Instant::now();
        let refuse_at = start + validity.mul_f64(2.0 + 4.0 * rng.f64());
        let refuse_for = validity.mul_f64(0.9 * rng.f64());
        let role = Arc::new(Mutex::new(Role {
            validity,
            refuse: (refuse_at, refuse_at + refuse_for),
            issued: Vec::new(),
            refusals: 0,
        }));
        let fail = |why: String| {
            format!(
                "seed {seed} (validity {validity:?}, refusing {refuse_for:?} from {:?}): {why}\n  replay: PKI_SIM_SEED={seed} cargo test --test it pki_sim::replay -- --nocapture",
                refuse_at - start
            )
        };
        let loader = Served::loader()
            .env_vars::<[(&str, &str); 0], &str, &str>([])
            .vault(SimPki(Arc::clone(&role)));
        let live = Live::builder(loader)
            .refresh_every(Duration::from_secs(86_400))
            .start_async()
            .await
            .map_err(|e| fail(format!("start failed: {e}")))?;
        let total = validity * 10;
        let step = validity / 20;
        let longest_backoff = Duration::from_secs(10);
        while start.elapsed() < total {
            tokio::time::sleep(step).await;
            let now = Instant::now();
            let (issued, refusing, refused_until) = {
                let role = role.lock().unwrap();
                (
                    role.issued.clone(),
                    role.refuse.0 <= now && now < role.refuse.1,
                    role.refuse.1,
                )
            };
            let health = live.health();
            if health.last_error.as_deref().is_some_and(|e| e.contains("stopped")) {
                return Err(fail("the live task died".into()));
            }
            let serial = published(&live);
            let left = (issued[serial] + validity).saturating_duration_since(now);
            // 1. Issued again in time while the role issues (and was not refusing lately).
            let disturbed = now < refused_until + longest_backoff + step;
            if !disturbed && now >= refuse_at && left <= validity / 5 {
                return Err(fail(format!("the certificate in use has {left:?} left")));
            }
            if now < refuse_at && left <= validity / 5 {
                return Err(fail(format!("before any refusal, {left:?} left")));
            }
            // 2. No flood.
            let most = (start.elapsed().as_secs_f64() / (validity.as_secs_f64() * 0.6)) as usize + 1;
            if issued.len() > most {
                return Err(fail(format!("{} certificates in {:?}", issued.len(), start.elapsed())));
            }
            // 3. The last good one while refused, and health says why.
            let cert = &health.leases[0];
            if refusing && serial + 1 != issued.len() {
                return Err(fail("a certificate was published that the role never issued".into()));
            }
            if refusing && role.lock().unwrap().refusals > 0 && cert.last_error.is_none() {
                return Err(fail(format!("refused, and health shows no error: {cert:?}")));
            }
            // 4. Recovered once the role issues again, if one was due meanwhile.
            if now >= refused_until + longest_backoff + step
                && issued.last().is_some_and(|at| *at + validity.mul_f64(0.75) < now)
                && issued.last().is_some_and(|at| *at < refused_until)
            {
                return Err(fail("no new certificate after the role issued again".into()));
            }
        }
        live.shutdown_async().await;
        Ok(())
    })
}

fn seeds() -> u64 {
    std::env::var("PKI_SIM_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100)
}

#[test]
fn certificates_are_issued_in_time_never_flooded_and_kept_while_refused() {
    let failures: Vec<String> = (0..seeds()).filter_map(|s| run_seed(s).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One seed, to replay a failure: `PKI_SIM_SEED=<seed>`.
#[test]
fn replay() {
    if let Some(seed) = std::env::var("PKI_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        run_seed(seed).unwrap();
    }
}
