//! The reqwest client: rustls with HTTP/2 by ALPN, CA files, client certificates, timeouts and
//! the redirect rule.
//!
//! Trust roots are built once per process: the built-in and system roots on first use, a given
//! CA bundle once per distinct content (the file is read again for each client, so a rotated CA
//! file is seen, but it is parsed only when it changed).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::redirect;
use rustls::RootCertStore;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::Error;
use crate::config::Config;

/// The largest CA bundle or client certificate file read: a system bundle is about 200 KiB.
const MAX_PEM_BYTES: u64 = 4 * 1024 * 1024;

/// A PEM file named by `var`, through the library's one bounded reader (a FIFO or a device
/// such as `/dev/zero` is refused, never read).
fn read(path: &Path, var: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    crate::files::read_regular_bytes(path, MAX_PEM_BYTES)
        .map_err(|why| Error::config(Some(var), why))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())))
}

/// The built-in (webpki) and the system's roots, loaded on first use.
fn default_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    Arc::clone(ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::debug!(%error, "vault: a system CA certificate could not be loaded");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "vault: system CA certificates loaded");
        Arc::new(roots)
    }))
}

/// How many parsed CA bundles are kept: a process talks to one or two Vaults; a CA file
/// rotated now and then replaces the oldest entry. At most this many times [`MAX_PEM_BYTES`]
/// per file stay in memory.
const CACHED_BUNDLES: usize = 4;

/// The parsed CA bundles, by their contents (the names only label errors), oldest first.
type Cache = Mutex<VecDeque<(Vec<Vec<u8>>, Arc<RootCertStore>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// One CA bundle (each `(file, PEM bytes)`), parsed once per distinct content while it is one
/// of the last [`CACHED_BUNDLES`].
fn given_roots(files: Vec<(&Path, Vec<u8>)>, var: &str) -> Result<Arc<RootCertStore>, Error> {
    let (names, key): (Vec<&Path>, Vec<Vec<u8>>) = files.into_iter().unzip();
    let cached = cache().lock().ok().and_then(|c| {
        c.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, roots)| Arc::clone(roots))
    });
    if let Some(roots) = cached {
        return Ok(roots);
    }
    let mut roots = RootCertStore::empty();
    for (name, pem) in names.iter().zip(&key) {
        let not_pem = |why: String| {
            Error::config(
                Some(var),
                format!("{} is not a PEM certificate: {why}", name.display()),
            )
        };
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| not_pem(e.to_string()))?;
        if certs.is_empty() {
            return Err(not_pem("no CERTIFICATE block".to_owned()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| not_pem(e.to_string()))?;
        }
    }
    let roots = Arc::new(roots);
    if let Ok(mut cache) = cache().lock() {
        if cache.len() >= CACHED_BUNDLES {
            cache.pop_front();
        }
        cache.push_back((key, Arc::clone(&roots)));
    }
    Ok(roots)
}

/// The trust of this client: the given CA (file or directory) only, or the default roots.
fn roots(config: &Config) -> Result<Arc<RootCertStore>, Error> {
    let tls = &config.tls;
    if let Some(file) = &tls.ca_cert {
        return given_roots(
            vec![(file, read(file, "VAULT_CACERT")?.to_vec())],
            "VAULT_CACERT",
        );
    }
    let Some(dir) = &tls.ca_path else {
        return Ok(default_roots());
    };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::config(
            Some("VAULT_CAPATH"),
            format!("cannot read {}: {e}", dir.display()),
        )
    })?;
    let mut paths: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let files = paths
        .iter()
        .map(|p| Ok((p.as_path(), read(p, "VAULT_CAPATH")?.to_vec())))
        .collect::<Result<Vec<_>, Error>>()?;
    given_roots(files, "VAULT_CAPATH")
}

/// The client certificate chain and key (`VAULT_CLIENT_CERT`, `VAULT_CLIENT_KEY`).
fn identity(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
    let unusable = || {
        Error::config(
            Some("VAULT_CLIENT_CERT"),
            "client certificate and key are not usable PEM",
        )
    };
    let chain = CertificateDer::pem_slice_iter(&read(cert, "VAULT_CLIENT_CERT")?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| unusable())?;
    // The key's PEM text is wiped when it has been parsed.
    let pem = read(key, "VAULT_CLIENT_KEY")?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| unusable())?;
    if chain.is_empty() {
        return Err(unusable());
    }
    Ok((chain, key))
}

/// `VAULT_SKIP_VERIFY`: any certificate is accepted; signatures are still checked.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// TLS 1.2 and 1.3, the roots above, the client identity if any, and ALPN `h2` then
/// `http/1.1`: a server that speaks HTTP/2 (Vault and OpenBao over TLS do) serves every request
/// of a load on one connection, so a batch of parallel reads pays one handshake, not one each.
fn tls_config(config: &Config) -> Result<rustls::ClientConfig, Error> {
    let tls = &config.tls;
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .map_err(|e| Error::config(None, format!("cannot configure TLS: {e}")))?;
    // A broken CA file is reported even when verification is off.
    let roots = roots(config)?;
    let builder = if tls.skip_verify {
        tracing::warn!("vault: TLS certificate verification is disabled (VAULT_SKIP_VERIFY)");
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
    } else {
        builder.with_root_certificates(roots)
    };
    let mut tls_config = match &tls.client_cert {
        Some((cert, key)) => {
            let (chain, key) = identity(cert, key)?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                Error::config(
                    Some("VAULT_CLIENT_CERT"),
                    format!("client certificate and key are not usable: {e}"),
                )
            })?
        }
        None => builder.with_no_client_auth(),
    };
    tls_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tls_config)
}

/// At most one redirect, to the same host, port and scheme: the token is never sent elsewhere
/// and https never falls back to http.
fn redirect_policy() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.stop();
        };
        let same_origin = first.scheme() == attempt.url().scheme()
            && first.host_str() == attempt.url().host_str()
            && first.port_or_known_default() == attempt.url().port_or_known_default();
        if attempt.previous().len() > 1 || !same_origin {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

pub(crate) fn http_client(config: &Config) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(tls_config(config)?)
        .timeout(config.timeout)
        .connect_timeout(config.connect_timeout)
        .redirect(redirect_policy())
        // reqwest would read HTTP(S)_PROXY from the process env; only the config counts.
        .no_proxy();
    let proxies = &config.proxy;
    let bypass = proxies
        .no_proxy
        .as_deref()
        .and_then(reqwest::NoProxy::from_string);
    for (url, scheme, var) in [
        (&proxies.http, "http", "HTTP_PROXY"),
        (&proxies.https, "https", "HTTPS_PROXY"),
    ] {
        let Some(url) = url else { continue };
        let proxy = match scheme {
            "http" => reqwest::Proxy::http(url.trim()),
            _ => reqwest::Proxy::https(url.trim()),
        }
        // The URL is not quoted: it may carry credentials.
        .map_err(|_| Error::config(Some(var), format!("{var} is not a proxy URL")))?;
        builder = builder.proxy(proxy.no_proxy(bypass.clone()));
    }
    builder
        .build()
        .map_err(|e| Error::config(None, format!("cannot build the HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed CA certificate (public; its key was thrown away).
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBnzCCAUWgAwIBAgIUTbhAAdkElA5EsGwOPyx5mTq2rBgwCgYIKoZIzj0EAwIw
JDEiMCAGA1UEAwwZdmF1bHQtY29uZmlnIHVuaXQgdGVzdCBDQTAgFw0yNjEyMDIw
MTAyNDNaGA8yMTI2MTEwODAxMDI0M1owJDEiMCAGA1UEAwwZdmF1bHQtY29uZmln
IHVuaXQgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNi9FU10UYJn
zQuDMwABxN7v/zeFlrXqt0TqLHCfJZY9pQmgtuf5qMJJNwbWoNHQGjiz9lYQiBpG
wFeXQWwkQT6jUzBRMB0GA1UdDgQWBBTgZfAgCmnwYtl5M+7SGN0EgTvjPTAfBgNV
HSMEGDAWgBTgZfAgCmnwYtl5M+7SGN0EgTvjPTAPBgNVHRMBAf8EBTADAQH/MAoG
CCqGSM49BAMCA0gAMEUCIQD1XYgBWgDiTuLnfRJx/vIke59YA8bNcSopvLrfDl7F
dAIgCegWZfIGvOm4lYqi4cskiyOAijkUdkEofTLiZcCG6o0=
-----END CERTIFICATE-----
-----END CERTIFICATE-----
";

    #[test]
    fn roots_are_built_once_per_process_and_per_ca_content() {
        assert!(Arc::ptr_eq(&default_roots(), &default_roots()));
        let name = Path::new("ca.pem");
        let first = given_roots(vec![(name, CA.as_bytes().to_vec())], "VAULT_CACERT").unwrap();
        let again = given_roots(vec![(name, CA.as_bytes().to_vec())], "VAULT_CACERT").unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(first.len(), 1);
        // New content (a rotated file) is parsed anew.
        let bundle = format!("{CA}{CA}").into_bytes();
        let rotated = given_roots(vec![(name, bundle)], "VAULT_CACERT").unwrap();
        assert!(!Arc::ptr_eq(&first, &rotated));
    }

    #[test]
    fn the_cache_keeps_the_last_few_bundles_only() {
        let name = Path::new("ca.pem");
        // A file rotated many times: each content once (other tests add theirs too).
        for i in 1..=3 * CACHED_BUNDLES {
            let bundle = CA.repeat(i).into_bytes();
            given_roots(vec![(name, bundle)], "VAULT_CACERT").unwrap();
            assert!(cache().lock().unwrap().len() <= CACHED_BUNDLES);
        }
        let newest = CA.repeat(3 * CACHED_BUNDLES).into_bytes();
        let cached = cache().lock().unwrap().iter().any(|(k, _)| k[0] == newest);
        assert!(cached, "the newest bundle is kept");
    }

    #[test]
    fn a_file_without_a_certificate_is_a_config_problem_naming_it() {
        for pem in [
            &b"not a certificate"[..],
            b"-----BEGIN CERTIFICATE-----\n!!\n",
        ] {
            let err = given_roots(
                vec![(Path::new("/etc/ca.pem"), pem.to_vec())],
                "VAULT_CACERT",
            )
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("/etc/ca.pem is not a PEM certificate"),
                "{err}"
            );
        }
    }

    #[test]
    fn alpn_offers_http2_first() {
        let config = Config::default();
        let tls = tls_config(&config).unwrap();
        assert_eq!(tls.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
    }
}
