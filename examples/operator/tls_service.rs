//! An HTTPS service whose certificate comes from Vault's PKI engine and is replaced without a
//! restart: `#[config(pki = "pki/issue/internal")]` issues it at start, live settings issue a
//! new one at about two thirds of its validity, and the rustls resolver of the live field
//! serves the current one at every new handshake (hyper over tokio-rustls).
//!
//! `TLS_SERVICE_ADDR` (default `127.0.0.1:8443`); the certificate's terms from `API_TLS_COMMON_NAME`,
//! `API_TLS_ALT_NAMES`, `API_TLS_TTL` (over the attribute's); Vault from the `VAULT_*` vars.
//!
//! With `TLS_SERVICE_PROBE_FOR=70s` it also runs a client for that long: a new TLS connection every
//! 200 ms, verified against the issuing CA chain (every handshake a full one), plus one
//! connection opened at the start and used again at the end; then it prints the figures and
//! exits (non-zero when a handshake failed).

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::client::Resumption;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use vault_config::live::Live;
use vault_config::pki::Certificate;
use vault_config::{LiveConfig, VaultConfig};

/// The service's settings.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "API_")]
pub struct Settings {
    /// This service's serving certificate.
    #[config(pki = "pki/issue/internal", common_name = "api.internal", alt_names = ["api.internal", "localhost"], ttl = "24h")]
    pub tls: Certificate,
}

/// One request: which certificate served it (the serial's end).
async fn hello(live: Live<Settings>) -> Result<Response<String>, Infallible> {
    let serial = live.current().tls.short_serial();
    Ok(Response::new(format!("hello over certificate {serial}\n")))
}

/// Serves HTTPS on `listener` until the process ends.
async fn serve(listener: TcpListener, live: Live<Settings>) {
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(live.server_cert_resolver(|s| &s.tls)));
    let acceptor = TlsAcceptor::from(Arc::new(config));
    while let Ok((tcp, _)) = listener.accept().await {
        let (acceptor, live) = (acceptor.clone(), live.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service =
                hyper::service::service_fn(move |_: Request<Incoming>| hello(live.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// A verified TLS connection to the service as `localhost`: the serving certificate's DER.
async fn connect(
    addr: std::net::SocketAddr,
    config: &Arc<ClientConfig>,
) -> Result<(Vec<u8>, tokio_rustls::client::TlsStream<TcpStream>), String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(Arc::clone(config))
        .connect(
            ServerName::try_from("localhost").map_err(|e| e.to_string())?,
            tcp,
        )
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

/// `GET /` over `tls` (kept open): the body's last line.
async fn get(tls: &mut tokio_rustls::client::TlsStream<TcpStream>) -> Result<String, String> {
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 1024];
    let n = tls.read(&mut buf).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines()
        .last()
        .filter(|l| l.starts_with("hello"))
        .map(str::to_owned)
        .ok_or_else(|| format!("unexpected answer: {text:?}"))
}

/// The probe: new connections every 200 ms for `run_for`; the figures; whether all worked.
async fn probe(addr: std::net::SocketAddr, roots: RootCertStore, run_for: Duration) -> bool {
    let mut config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = Resumption::disabled();
    let config = Arc::new(config);
    let (_, mut long_lived) = match connect(addr, &config).await {
        Ok(first) => first,
        Err(e) => {
            eprintln!("first handshake failed: {e}");
            return false;
        }
    };
    let started = Instant::now();
    let (mut handshakes, mut failed, mut served) = (0u32, 0u32, BTreeSet::new());
    while started.elapsed() < run_for {
        handshakes += 1;
        match connect(addr, &config).await {
            Ok((leaf, mut tls)) => match get(&mut tls).await {
                Ok(_) => {
                    served.insert(leaf);
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("request at {:?}: {e}", started.elapsed());
                }
            },
            Err(e) => {
                failed += 1;
                eprintln!("handshake at {:?}: {e}", started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let long_lived = get(&mut long_lived).await;
    println!(
        "{handshakes} handshakes in {run_for:?}, {failed} failed, {} certificates served; the connection opened first: {}",
        served.len(),
        long_lived.as_deref().unwrap_or("FAILED")
    );
    failed == 0 && long_lived.is_ok()
}

#[tokio::main]
async fn main() -> ExitCode {
    let addr = std::env::var("TLS_SERVICE_ADDR").unwrap_or_else(|_| "127.0.0.1:8443".into());
    let probe_for = std::env::var("TLS_SERVICE_PROBE_FOR")
        .ok()
        .and_then(|t| vault_config::duration::parse(&t));
    // On this runtime: the renewal task runs beside the server.
    let live = match Settings::watch_async().await {
        Ok(live) => live,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot bind {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bound = listener
        .local_addr()
        .expect("a bound listener has an address");
    println!("{}", live.explain_async().await);
    println!("serving https://{bound}/");
    let roots = live.current().tls.root_store();
    tokio::spawn(serve(listener, live.clone()));
    let ok = match probe_for {
        Some(run_for) => {
            let ok = probe(bound, roots, run_for).await;
            let health = live.health();
            if let Some(cert) = health.leases.first() {
                println!(
                    "certificate generation {}, serial {}, last error {:?}",
                    cert.generation,
                    cert.serial.as_deref().unwrap_or("-"),
                    cert.last_error
                );
            }
            ok
        }
        None => {
            let _ = tokio::signal::ctrl_c().await;
            true
        }
    };
    live.shutdown_async().await;
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
