//! TLS hardening against the real Vault-API server behind a TLS front (rustls, certificates
//! from a CA generated per test run): verification is on by default, `VAULT_SKIP_VERIFY`
//! turns it off only on an explicit true, `VAULT_CACERT` / `VAULT_CAPATH` add a CA, and the
//! certificate must name the host.

use crate::fixtures::dev_vault;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use dev_vault::DevVault;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use serde_json::json;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use vault_config::error::ProblemKind;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

const VALUE: &str = "tls-test-password";

#[derive(Debug, VaultConfig)]
#[config(vault(path = "tls-test"), env_prefix = "TL_")]
struct Settings {
    #[config(secret)]
    db_password: SecretString,
}

struct Ca {
    key: KeyPair,
    cert: rcgen::Certificate,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        Ca { key, cert }
    }

    /// A server certificate for `names` and its key.
    fn issue(&self, names: &[&str]) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (
            cert.der().clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }

    /// The CA certificate as a PEM file in a directory of its own.
    fn pem_file(&self, tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vc-tls-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ca.pem");
        std::fs::write(&file, self.cert.pem()).unwrap();
        file
    }
}

/// A TLS front for the dev server: terminates TLS with `cert`, forwards the bytes.
fn tls_front(
    upstream: &str,
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> SocketAddr {
    let upstream: SocketAddr = upstream.trim_start_matches("http://").parse().unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    relay(upstream, Some(acceptor), Arc::default())
}

/// A TCP relay to `upstream` on a thread of its own, terminating TLS first with `tls`;
/// counts the connections it accepted in `accepted`.
fn relay(
    upstream: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let tls = tls.clone();
                tokio::spawn(async move {
                    let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    match tls {
                        // A client that rejects the certificate ends the handshake: nothing
                        // to do.
                        Some(tls) => {
                            if let Ok(mut down) = tls.accept(tcp).await {
                                let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                            }
                        }
                        None => {
                            let mut down = tcp;
                            let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                        }
                    }
                });
            }
        });
    });
    addr
}

struct Setup {
    dv: DevVault,
    ca: Ca,
    front: SocketAddr,
}

fn setup(names: &[&str]) -> Option<Setup> {
    let dv = DevVault::get()?;
    dv.write("secret/tls-test", json!({ "db_password": VALUE }));
    let ca = Ca::new("vault-config test CA");
    let (cert, key) = ca.issue(names);
    let front = tls_front(&dv.addr, cert, key);
    Some(Setup { dv, ca, front })
}

impl Setup {
    fn load(&self, extra: &[(&str, String)]) -> Result<Settings, vault_config::Error> {
        let mut env = vec![
            ("VAULT_ADDR".to_owned(), format!("https://{}", self.front)),
            ("VAULT_TOKEN".to_owned(), self.dv.root.clone()),
            ("VAULT_MAX_RETRIES".to_owned(), "0".to_owned()),
        ];
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        Settings::loader().env_vars(env).load()
    }
}

/// A verification failure: unavailable, naming the certificate problem, no token.
fn assert_rejected(outcome: Result<Settings, vault_config::Error>, root: &str, why: &str) {
    let err = outcome.expect_err("an unverified server must be refused");
    let text = err.to_string();
    assert!(
        err.problems()
            .iter()
            .all(|p| p.kind == ProblemKind::Unavailable),
        "{text}"
    );
    assert!(text.contains(why), "expected `{why}` in:\n{text}");
    assert!(!text.contains(root) && !format!("{err:?}").contains(root));
}

#[test]
fn verification_is_on_by_default() {
    let Some(s) = setup(&["127.0.0.1", "localhost"]) else {
        return;
    };
    assert_rejected(
        s.load(&[]),
        &s.dv.root,
        // Reached, not trusted: the message names the setting that fixes it.
        "presented a certificate this client does not trust (UnknownIssuer): set `VAULT_CACERT` to the CA certificate that signed it (or `VAULT_CAPATH` to a directory of them)",
    );
}

#[test]
fn a_ca_file_or_directory_makes_the_server_trusted() {
    let Some(s) = setup(&["127.0.0.1", "localhost"]) else {
        return;
    };
    let file = s.ca.pem_file("trusted");
    let loaded = s
        .load(&[("VAULT_CACERT", file.display().to_string())])
        .unwrap();
    assert_eq!(loaded.db_password.expose_secret(), VALUE);
    let dir = file.parent().unwrap().display().to_string();
    let loaded = s.load(&[("VAULT_CAPATH", dir)]).unwrap();
    assert_eq!(loaded.db_password.expose_secret(), VALUE);

    // Another CA's certificate does not vouch for this server.
    let other = Ca::new("someone else").pem_file("other");
    assert_rejected(
        s.load(&[("VAULT_CACERT", other.display().to_string())]),
        &s.dv.root,
        "does not trust (UnknownIssuer)",
    );
}

#[test]
fn the_certificate_must_name_the_host() {
    let Some(s) = setup(&["vault.internal"]) else {
        return;
    };
    let file = s.ca.pem_file("wrong-name");
    assert_rejected(
        s.load(&[("VAULT_CACERT", file.display().to_string())]),
        &s.dv.root,
        "does not trust (certificate not valid for name \"127.0.0.1\"; certificate is only valid for DnsName(\"vault.internal\")): set `VAULT_ADDR` to a name the certificate is valid for",
    );
}

#[test]
fn skip_verify_only_on_an_explicit_true() {
    let Some(s) = setup(&["127.0.0.1"]) else {
        return;
    };
    // Go's strconv.ParseBool, as the Vault CLI reads it.
    for yes in ["true", "1", "t", "T", "TRUE", "True"] {
        let loaded = s
            .load(&[("VAULT_SKIP_VERIFY", yes.to_owned())])
            .unwrap_or_else(|e| panic!("VAULT_SKIP_VERIFY={yes}: {e}"));
        assert_eq!(loaded.db_password.expose_secret(), VALUE);
    }
    for no in ["", "false", "0", "f", "FALSE"] {
        assert_rejected(
            s.load(&[("VAULT_SKIP_VERIFY", no.to_owned())]),
            &s.dv.root,
            "does not trust",
        );
    }
    for invalid in ["yes", "on", "enabled", "2"] {
        let err = s
            .load(&[("VAULT_SKIP_VERIFY", invalid.to_owned())])
            .expect_err("an invalid value is an error, not a guess");
        assert!(
            err.problems()
                .iter()
                .any(|p| p.kind == ProblemKind::Config
                    && p.env.as_deref() == Some("VAULT_SKIP_VERIFY")),
            "{err}"
        );
    }
}

/// A plain TCP relay to `upstream` that counts the connections it accepted.
fn counting_relay(upstream: &str) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let upstream: SocketAddr = upstream
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    (relay(upstream, None, Arc::clone(&accepted)), accepted)
}

#[derive(Debug, VaultConfig)]
#[config(vault(mount = "secret"), env_prefix = "H2_")]
struct Wide {
    #[config(secret, vault(path = "h2-test/a"))]
    a: SecretString,
    #[config(secret, vault(path = "h2-test/b"))]
    b: SecretString,
    #[config(secret, vault(path = "h2-test/c"))]
    c: SecretString,
    #[config(secret, vault(path = "h2-test/d"))]
    d: SecretString,
    #[config(secret, vault(path = "h2-test/e"))]
    e: SecretString,
    #[config(secret, vault(path = "h2-test/f"))]
    f: SecretString,
    #[config(secret, vault(path = "h2-test/g"))]
    g: SecretString,
    #[config(secret, vault(path = "h2-test/h"))]
    h: SecretString,
}

/// OpenBao offers HTTP/2 over TLS: login, KV detection, the parallel batch of 8 paths and the
/// token's revocation all go over one connection, so the load pays one TCP and one TLS
/// handshake. Over plain HTTP (HTTP/1.1) the parallel batch needs parallel connections.
#[test]
fn a_load_over_tls_is_one_http2_connection() {
    let Some(dv) = DevVault::get() else {
        return;
    };
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for name in names {
        dv.write(
            &format!("secret/h2-test/{name}"),
            json!({ name: format!("value-{name}") }),
        );
    }
    let load = |addr: String| {
        let mut env = dv.approle_env();
        env.retain(|(k, _)| k != "VAULT_ADDR");
        env.push(("VAULT_ADDR".to_owned(), addr));
        env.push(("VAULT_CACERT".to_owned(), dv.cacert.clone()));
        Wide::loader().env_vars(env).load().unwrap()
    };
    let (relay, accepted) = counting_relay(&dv.tls_addr);
    let wide = load(format!("https://{relay}"));
    let values = [
        &wide.a, &wide.b, &wide.c, &wide.d, &wide.e, &wide.f, &wide.g, &wide.h,
    ];
    for (name, value) in names.iter().zip(values) {
        assert_eq!(value.expose_secret(), format!("value-{name}"));
    }
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one connection for the whole load over TLS"
    );

    let (relay, accepted) = counting_relay(&dv.addr);
    let wide = load(format!("http://{relay}"));
    assert_eq!(wide.d.expose_secret(), "value-d");
    assert!(
        accepted.load(std::sync::atomic::Ordering::SeqCst) > 1,
        "HTTP/1.1 batches on parallel connections"
    );
}
