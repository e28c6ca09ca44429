//! Certificates from the PKI engine of `scripts/dev-vault` (`#[config(pki = "..")]`): issued
//! at load, issued again before they end, served by a real rustls server through the live
//! resolver to clients that verify them against the issuing CA (no failed handshake, several
//! serials, connections opened before a rotation keep working), mTLS both ways, a refused
//! issuance that keeps the last good certificate and recovers, and the bad answers a role can
//! give.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::client::Resumption;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use vault_config::VaultConfig;
use vault_config::live::Live;
use vault_config::pki::Certificate;

use crate::fixtures::dev_vault::DevVault;

/// A service's serving certificate from the dev server's role `internal`, valid 9 s: a new
/// one every ~6 s.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "PKI_")]
struct Service {
    /// This service's serving certificate.
    #[config(pki = "pki/issue/internal", common_name = "api.internal", alt_names = ["api.internal", "localhost"], ttl = "9s")]
    tls: Certificate,
}

/// The same from the role `refusable`, which the test deletes and restores, and a KV value.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "PKI_")]
struct Refusable {
    #[config(pki = "pki/issue/refusable", common_name = "api.internal", alt_names = ["localhost"], ttl = "12s")]
    tls: Certificate,
    #[config(vault(path = "pki-refusable", key = "greeting"))]
    greeting: String,
}

/// A token holding only the struct's generated policy.
fn token_with_policy<T: VaultConfig>(v: &DevVault, name: &str) -> Vec<(String, String)> {
    let hcl = T::schema().policy(
        &["default"],
        &vault_config_core::location::Overrides::none(),
        |mount| mount == "secret",
    );
    assert!(hcl.contains("capabilities = [\"update\"]"), "{hcl}");
    v.put_policy(name, &hcl);
    vec![
        ("VAULT_ADDR".into(), v.addr.clone()),
        ("VAULT_TOKEN".into(), v.token_with(&[name], "1h")),
    ]
}

/// A TLS server on a free loopback port: each connection echoes what it reads, so that a
/// long-lived connection shows it still works.
async fn serve(config: ServerConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 64];
                while let Ok(n) = tls.read(&mut buf).await {
                    if n == 0 || tls.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A new TLS connection to `addr` as `localhost`, verified against `roots`: the serving
/// certificate's DER.
async fn handshake(
    addr: SocketAddr,
    config: &Arc<ClientConfig>,
) -> Result<(Vec<u8>, tokio_rustls::client::TlsStream<TcpStream>), String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(Arc::clone(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec())
        .ok_or("no certificate")?;
    Ok((leaf, tls))
}

async fn echo(tls: &mut tokio_rustls::client::TlsStream<TcpStream>) -> Result<(), String> {
    tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4];
    tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
    (&buf == b"ping").then_some(()).ok_or("bad echo".into())
}

/// Every handshake a full one: a resumed session would show the certificate of the session
/// it resumes, not the one served now.
fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = Resumption::disabled();
    Arc::new(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_server_serves_each_new_certificate_without_a_restart() {
    let Some(v) = DevVault::get() else { return };
    // The binary's recorder, installed before the live task records anything.
    crate::metrics::snapshotter();
    let env = token_with_policy::<Service>(&v, "pki-service");
    let live = Live::builder(Service::loader().env_vars(env))
        .refresh_every(Duration::from_secs(3600))
        .start_async()
        .await
        .expect("the first load issues the certificate");
    let first = live.current();
    assert!(first.tls.not_after() > vault_config_core::unix_now());
    let explain = live.explain_async().await.to_string();
    assert!(
        explain.contains("pki pki/issue/internal (serial …"),
        "{explain}"
    );
    assert!(!explain.contains("PRIVATE KEY"), "{explain}");
    let debug = format!("{:?}", first.tls);
    assert!(
        !debug.contains("PRIVATE KEY") && debug.contains("[REDACTED]"),
        "{debug}"
    );

    let server = ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(live.server_cert_resolver(|s| &s.tls)));
    let addr = serve(server).await;
    let client = client_config(first.tls.root_store());
    let (_, mut long_lived) = handshake(addr, &client).await.expect("first handshake");
    let started = Instant::now();
    let (mut handshakes, mut failures, mut served) = (0, Vec::new(), BTreeSet::new());
    while started.elapsed() < Duration::from_secs(22) {
        handshakes += 1;
        match handshake(addr, &client).await {
            Ok((leaf, mut tls)) => {
                served.insert(leaf);
                if let Err(e) = echo(&mut tls).await {
                    failures.push(format!("echo at {:?}: {e}", started.elapsed()));
                }
            }
            Err(e) => failures.push(format!("handshake at {:?}: {e}", started.elapsed())),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let health = live.health();
    let cert = &health.leases[0];
    println!(
        "pki: {handshakes} handshakes in 22 s, {} failed, {} certificates served, generation {}",
        failures.len(),
        served.len(),
        cert.generation
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        served.len() >= 3,
        "only {} certificates served",
        served.len()
    );
    echo(&mut long_lived)
        .await
        .expect("a connection opened before the rotations still works");
    assert_eq!(
        (cert.field.as_str(), cert.path.as_str()),
        ("tls", "pki/issue/internal")
    );
    assert!(
        cert.serial.as_deref().is_some_and(|s| s.starts_with('…')),
        "{cert:?}"
    );
    assert!(cert.not_after.is_some() && cert.generation >= 3, "{cert:?}");
    let health_json = serde_json::to_string(&health).unwrap();
    assert!(!health_json.contains("PRIVATE KEY"));
    let (metrics, _) = crate::metrics::snapshot();
    let end = metrics
        .get("vault_config_certificate_expiry_timestamp_seconds{settings=Service,field=tls}")
        .copied()
        .unwrap_or_default();
    // The end of a certificate in use: ahead, and within one validity (9 s).
    let now = vault_config_core::unix_now() as f64;
    assert!(
        end > now && end <= now + 10.0,
        "expiry gauge {end}, health {cert:?}"
    );
    live.shutdown_async().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_both_ways_with_rotating_certificates() {
    let Some(v) = DevVault::get() else { return };
    let env = token_with_policy::<Service>(&v, "pki-mtls");
    let server_live = Live::builder(Service::loader().env_vars(env.clone()))
        .refresh_every(Duration::from_secs(3600))
        .start_async()
        .await
        .unwrap();
    let client_live = Live::builder(Service::loader().env_vars(env))
        .refresh_every(Duration::from_secs(3600))
        .start_async()
        .await
        .unwrap();
    let roots = Arc::new(server_live.current().tls.root_store());
    let verifier = WebPkiClientVerifier::builder(Arc::clone(&roots))
        .build()
        .unwrap();
    let server = ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(server_live.server_cert_resolver(|s| &s.tls)));
    let addr = serve(server).await;
    let mut client = ClientConfig::builder()
        .with_root_certificates(Arc::clone(&roots))
        .with_client_cert_resolver(Arc::new(client_live.client_cert_resolver(|s| &s.tls)));
    client.resumption = Resumption::disabled();
    let client = Arc::new(client);
    let started = Instant::now();
    let (mut failures, mut served) = (Vec::new(), BTreeSet::new());
    while started.elapsed() < Duration::from_secs(14) {
        match handshake(addr, &client).await {
            // The server checks the client's certificate after the handshake's last flight:
            // an echo proves it was accepted.
            Ok((leaf, mut tls)) => match echo(&mut tls).await {
                Ok(()) => {
                    served.insert(leaf);
                }
                Err(e) => failures.push(format!("echo at {:?}: {e}", started.elapsed())),
            },
            Err(e) => failures.push(format!("handshake at {:?}: {e}", started.elapsed())),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let client_generation = client_live.health().leases[0].generation;
    println!(
        "mtls: {} failures, {} server certificates, client generation {client_generation}",
        failures.len(),
        served.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(served.len() >= 2 && client_generation >= 2);
    server_live.shutdown_async().await;
    client_live.shutdown_async().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_issuance_keeps_the_last_good_certificate_and_recovers() {
    let Some(v) = DevVault::get() else { return };
    let role = serde_json::json!({
        "allowed_domains": ["internal", "localhost"], "allow_subdomains": true,
        "allow_bare_domains": true, "allow_localhost": true, "max_ttl": "1h",
        "key_type": "ec", "key_bits": 256, "no_store": true, "generate_lease": false,
    });
    let (status, body) = v.call("POST", "pki/roles/refusable", Some(&role));
    assert!((200..300).contains(&status), "{status} {body}");
    v.write(
        "secret/pki-refusable",
        serde_json::json!({ "greeting": "hello" }),
    );
    let env = token_with_policy::<Refusable>(&v, "pki-refusable");
    let live = Live::builder(Refusable::loader().env_vars(env))
        .refresh_every(Duration::from_secs(3600))
        .start_async()
        .await
        .unwrap();
    let first = live.current();
    let (status, body) = v.call("DELETE", "pki/roles/refusable", None);
    assert!((200..300).contains(&status), "{status} {body}");
    // Due at ~8 s: the issuance is refused, the certificate in use stays, health says why.
    let deadline = Instant::now() + Duration::from_secs(10);
    let failing = loop {
        let cert = live.health().leases[0].clone();
        if cert.last_error.is_some() {
            break cert;
        }
        assert!(Instant::now() < deadline, "no failure shown: {cert:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("refused: {failing:?}");
    assert!(
        failing.ttl_remaining.is_some_and(|t| t <= 12),
        "{failing:?}"
    );
    assert_eq!(
        live.current().tls.serial(),
        first.tls.serial(),
        "the last good one is kept"
    );
    // The rest of the settings still change while the certificate cannot be replaced.
    v.write(
        "secret/pki-refusable",
        serde_json::json!({ "greeting": "changed" }),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while live.current().greeting != "changed" {
        assert!(
            Instant::now() < deadline,
            "the KV change was held back: {:?}",
            live.health()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(live.current().tls.serial(), first.tls.serial());
    let (status, body) = v.call("POST", "pki/roles/refusable", Some(&role));
    assert!((200..300).contains(&status), "{status} {body}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let cert = live.health().leases[0].clone();
        if cert.generation > 1 && cert.last_error.is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {cert:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(live.current().tls.serial(), first.tls.serial());
    live.shutdown_async().await;
}

/// A role that refuses the common name: one problem naming the field and Vault's reason.
#[test]
fn a_common_name_the_role_refuses_is_one_clear_problem() {
    let Some(v) = DevVault::get() else { return };
    let env = vec![
        ("VAULT_ADDR".to_owned(), v.addr.clone()),
        ("VAULT_TOKEN".to_owned(), v.root.clone()),
        (
            "PKI_TLS_COMMON_NAME".to_owned(),
            "evil.example.com".to_owned(),
        ),
    ];
    let err = Service::loader().env_vars(env).load().unwrap_err();
    let text = err.to_string();
    assert_eq!(err.problems().len(), 1, "{text}");
    assert!(
        text.contains("`tls`") && text.contains("pki/issue/internal"),
        "{text}"
    );
    assert!(text.contains("not allowed by this role"), "{text}");
}

/// The certificate's terms from env: the common name and the TTL asked (cut by nothing here).
#[test]
fn env_overrides_the_terms_and_the_real_end_is_scheduled() {
    let Some(v) = DevVault::get() else { return };
    let env = vec![
        ("VAULT_ADDR".to_owned(), v.addr.clone()),
        ("VAULT_TOKEN".to_owned(), v.root.clone()),
        ("PKI_TLS_COMMON_NAME".to_owned(), "web.internal".to_owned()),
        // Above the role's max TTL (1 h): the server cuts it.
        ("PKI_TLS_TTL".to_owned(), "48h".to_owned()),
    ];
    let settings = Service::loader().env_vars(env).load().unwrap();
    let left = settings.tls.not_after() - vault_config_core::unix_now();
    assert!(
        left <= 3600 && left > 3500,
        "the role's max TTL cuts it: {left} s"
    );
    assert!(
        settings
            .tls
            .certificate_pem()
            .starts_with("-----BEGIN CERTIFICATE")
    );
}

/// The issue answer's data as `Certificate` reads it, from a certificate and a key of rcgen.
fn answer(cert_pem: &str, key_pem: &str) -> serde_json::Value {
    serde_json::json!({
        "certificate": cert_pem,
        "private_key": key_pem,
        "issuing_ca": cert_pem,
        "serial_number": "1d:4e:00:3f:a2",
        "expiration": vault_config_core::unix_now() + 60,
    })
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_refused_without_showing_it() {
    let a = rcgen::generate_simple_self_signed(vec!["a.internal".into()]).unwrap();
    let b = rcgen::generate_simple_self_signed(vec!["b.internal".into()]).unwrap();
    let good: Certificate =
        serde_json::from_value(answer(&a.cert.pem(), &a.key_pair.serialize_pem())).unwrap();
    assert_eq!(good.serial(), "1d:4e:00:3f:a2");
    assert_eq!(good.root_store().len(), 1);
    let key = b.key_pair.serialize_pem();
    let err = serde_json::from_value::<Certificate>(answer(&a.cert.pem(), &key)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("does not match"), "{text}");
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains(&key[40..80]),
        "{text}"
    );
    let err = serde_json::from_value::<Certificate>(answer("not pem", &key)).unwrap_err();
    assert!(err.to_string().contains("not a PEM certificate"), "{err}");
}
