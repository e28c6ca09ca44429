//! Certificates from Vault's PKI engine as live fields (`#[config(pki = "pki/issue/<role>")]`),
//! served by rustls without a restart.
//!
//! A [`Certificate`] field is issued at load, in the same batch as the other paths, and live
//! settings issue a new one at about two thirds of its validity (or `renew_before` its end),
//! check that its key matches it, and publish it like any other change; while issuing fails
//! they keep the last good certificate (health and
//! `vault_config_certificate_expiry_timestamp_seconds` show the time left).
//!
//! [`Live::server_cert_resolver`] and [`Live::client_cert_resolver`] hand rustls the current
//! certificate of such a field at every handshake: a server built on them serves each new
//! certificate to new connections, with no restart and no dropped connection (connections
//! already open keep the certificate they started with).
//!
//! rustls is the client's own TLS stack, so this costs no dependency and needs no feature.

use std::fmt;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::ResolvesClientCert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use vault_config_core::VaultConfig;

use crate::live::Live;

/// A certificate issued by a PKI role: its chain, its private key (a secret: zeroized, never
/// printed), the issuing CA chain, its end and its serial, and the rustls key made of them.
///
/// Deserialized from the issue answer's `data` (`certificate`, `private_key`, `ca_chain` or
/// `issuing_ca`, `serial_number`, `expiration`); a key that does not match the certificate,
/// or PEM that does not parse, is an error of the field, never a half-made certificate.
#[derive(Clone)]
pub struct Certificate {
    key: Arc<CertifiedKey>,
    certificate_pem: String,
    private_key_pem: SecretString,
    ca_chain_pem: Vec<String>,
    ca_chain: Vec<CertificateDer<'static>>,
    serial: String,
    not_after: u64,
}

/// The issue answer's `data`, as Vault writes it.
#[derive(Deserialize)]
struct Issued {
    certificate: String,
    private_key: SecretString,
    #[serde(default)]
    ca_chain: Vec<String>,
    #[serde(default)]
    issuing_ca: Option<String>,
    serial_number: String,
    expiration: u64,
}

impl<'de> Deserialize<'de> for Certificate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let issued = Issued::deserialize(deserializer)?;
        Certificate::from_issued(issued).map_err(serde::de::Error::custom)
    }
}

impl Certificate {
    fn from_issued(issued: Issued) -> Result<Self, String> {
        let leaf = CertificateDer::from_pem_slice(issued.certificate.as_bytes())
            .map_err(|_| "`certificate` is not a PEM certificate".to_owned())?;
        let ca_chain_pem: Vec<String> = if issued.ca_chain.is_empty() {
            issued.issuing_ca.into_iter().collect()
        } else {
            issued.ca_chain
        };
        let mut ca_chain = Vec::new();
        for pem in &ca_chain_pem {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                ca_chain.push(cert.map_err(|_| "`ca_chain` is not PEM certificates".to_owned())?);
            }
        }
        // Never the key's text in a message: only what kind of failure it was.
        let key = PrivateKeyDer::from_pem_slice(issued.private_key.expose_secret().as_bytes())
            .map_err(|_| "`private_key` is not a PEM private key".to_owned())?;
        let signing = rustls::crypto::ring::default_provider()
            .key_provider
            .load_private_key(key)
            .map_err(|_| "`private_key` is not a key rustls can sign with".to_owned())?;
        let mut chain = vec![leaf];
        chain.extend(ca_chain.iter().cloned());
        let key = CertifiedKey::new(chain, signing);
        match key.keys_match() {
            Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(_) => return Err("the private key does not match the certificate".to_owned()),
        }
        Ok(Certificate {
            key: Arc::new(key),
            certificate_pem: issued.certificate,
            private_key_pem: issued.private_key,
            ca_chain_pem,
            ca_chain,
            serial: issued.serial_number,
            not_after: issued.expiration,
        })
    }

    /// The key and chain rustls serves: the certificate, then the issuing CA chain.
    pub fn certified_key(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.key)
    }

    /// The certificate, PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The private key, PEM (a secret: expose it only to the TLS stack).
    pub fn private_key_pem(&self) -> &SecretString {
        &self.private_key_pem
    }

    /// The issuing CA chain, PEM, the issuing CA first.
    pub fn ca_chain_pem(&self) -> &[String] {
        &self.ca_chain_pem
    }

    /// The issuing CA chain as trust anchors, for verifying peers whose certificates the same
    /// CA issued (mTLS between services of one role).
    pub fn root_store(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(self.ca_chain.iter().cloned());
        roots
    }

    /// The serial, as Vault writes it (`3f:a2:..`).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The serial's last two octets (`…3f:a2`), as explain, health and logs show it.
    pub fn short_serial(&self) -> String {
        vault_config_core::short_serial(&self.serial)
    }

    /// The end of its validity (`notAfter`), Unix seconds.
    pub fn not_after(&self) -> u64 {
        self.not_after
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("serial", &self.short_serial())
            .field("not_after", &self.not_after)
            .field("private_key", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// Which certificate field of the settings a resolver serves.
type Field<T> = Arc<dyn Fn(&T) -> &Certificate + Send + Sync>;

/// A rustls [`ResolvesServerCert`] serving the current certificate of a live field at each
/// handshake; made by [`Live::server_cert_resolver`]. It holds the live settings, which keep
/// being renewed while it is in use.
pub struct ServerCertResolver<T> {
    live: Live<T>,
    field: Field<T>,
}

/// A rustls [`ResolvesClientCert`] presenting the current certificate of a live field (mTLS
/// to other services); made by [`Live::client_cert_resolver`].
pub struct ClientCertResolver<T> {
    live: Live<T>,
    field: Field<T>,
}

impl<T: VaultConfig + Send + Sync> ServerCertResolver<T> {
    fn current(&self) -> Arc<CertifiedKey> {
        (self.field)(&self.live.read()).certified_key()
    }
}

impl<T> fmt::Debug for ServerCertResolver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCertResolver").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for ClientCertResolver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertResolver").finish_non_exhaustive()
    }
}

impl<T: VaultConfig + Send + Sync> ResolvesServerCert for ServerCertResolver<T> {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl<T: VaultConfig + Send + Sync> ResolvesClientCert for ClientCertResolver<T> {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some((self.field)(&self.live.read()).certified_key())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl<T: VaultConfig + Send + Sync + 'static> Live<T> {
    /// A rustls server certificate resolver that always serves the current certificate of
    /// the field `field` picks: `ServerConfig::builder().with_no_client_auth()
    /// .with_cert_resolver(Arc::new(live.server_cert_resolver(|s| &s.tls)))`.
    pub fn server_cert_resolver(
        &self,
        field: impl Fn(&T) -> &Certificate + Send + Sync + 'static,
    ) -> ServerCertResolver<T> {
        ServerCertResolver {
            live: self.clone(),
            field: Arc::new(field),
        }
    }

    /// A rustls client certificate resolver presenting the current certificate of the field
    /// `field` picks, for mTLS: `ClientConfig::builder().with_root_certificates(roots)
    /// .with_client_cert_resolver(Arc::new(live.client_cert_resolver(|s| &s.tls)))`.
    pub fn client_cert_resolver(
        &self,
        field: impl Fn(&T) -> &Certificate + Send + Sync + 'static,
    ) -> ClientCertResolver<T> {
        ClientCertResolver {
            live: self.clone(),
            field: Arc::new(field),
        }
    }
}
