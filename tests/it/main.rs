//! The behaviour tests, one binary (each test binary links reqwest, tokio, rustls and
//! wiremock again): one module per area, sharing `tests/fixtures`. Tests that need the real
//! server use the OpenBao of `scripts/dev-vault`; they fail, not skip, under `scripts/test`.

#[path = "../fixtures/mod.rs"]
mod fixtures;

mod auth_real;
mod cli;
mod derive_pass;
mod errors;
mod examples;
mod explain;
mod files;
#[cfg(feature = "clap")]
mod flags;
mod folder;
#[cfg(feature = "clap")]
mod json_schema;
mod layers;
mod leases_real;
mod lifecycle_real;
mod live;
mod live_real;
mod live_renewal;
mod live_sim;
mod loads_real;
mod metrics;
mod pki_real;
mod pki_sim;
mod policies;
mod properties;
mod readme;
mod runtime;
mod scripts;
mod secrets;
mod secrets_dir;
mod snapshot;
mod tls;
mod transit_real;
mod vault_calls;
mod vault_env;
mod vault_real;
