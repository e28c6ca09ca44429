//! The reqwest client: rustls, CA files, client certificates, timeouts and the redirect rule.

use std::path::Path;

use reqwest::redirect;

use crate::Error;
use crate::config::Config;

fn read(path: &Path, var: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path)
        .map_err(|e| Error::config(Some(var), format!("cannot read {}: {e}", path.display())))
}

fn add_ca(
    builder: reqwest::ClientBuilder,
    pem: &[u8],
    var: &str,
    name: &Path,
) -> Result<reqwest::ClientBuilder, Error> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
        Error::config(
            Some(var),
            format!("{} is not a PEM certificate: {e}", name.display()),
        )
    })?;
    Ok(certs
        .into_iter()
        .fold(builder, |b, c| b.add_root_certificate(c)))
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
    let tls = &config.tls;
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(config.timeout)
        .connect_timeout(config.connect_timeout)
        .redirect(redirect_policy())
        .min_tls_version(reqwest::tls::Version::TLS_1_2)
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
    if tls.ca_cert.is_some() || tls.ca_path.is_some() {
        // A given CA is the only trust, as for Vault's own client: the built-in and system
        // roots are not consulted, so a certificate from any other issuer is refused.
        builder = builder.tls_built_in_root_certs(false);
    }
    if let Some(file) = &tls.ca_cert {
        builder = add_ca(builder, &read(file, "VAULT_CACERT")?, "VAULT_CACERT", file)?;
    } else if let Some(dir) = &tls.ca_path {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            Error::config(
                Some("VAULT_CAPATH"),
                format!("cannot read {}: {e}", dir.display()),
            )
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                builder = add_ca(
                    builder,
                    &read(&path, "VAULT_CAPATH")?,
                    "VAULT_CAPATH",
                    &path,
                )?;
            }
        }
    }
    if let Some((cert, key)) = &tls.client_cert {
        let mut pem = read(cert, "VAULT_CLIENT_CERT")?;
        pem.push(b'\n');
        pem.extend(read(key, "VAULT_CLIENT_KEY")?);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
            Error::config(
                Some("VAULT_CLIENT_CERT"),
                format!("client certificate and key are not usable PEM: {e}"),
            )
        });
        zeroize::Zeroize::zeroize(&mut pem);
        builder = builder.identity(identity?);
    }
    if tls.skip_verify {
        tracing::warn!("vault: TLS certificate verification is disabled (VAULT_SKIP_VERIFY)");
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder
        .build()
        .map_err(|e| Error::config(None, format!("cannot build the HTTP client: {e}")))
}
