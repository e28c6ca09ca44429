//! Talking to a server, with no knowledge of what the requests mean: the wire types Vault's
//! JSON answers decode into (`wire`), one `send` with headers, limits, retries and metrics
//! (`transport`), read-after-write across a cluster (`consistency`), the retry policy (`retry`) and the TLS client (`tls`). It depends on the
//! client's configuration only; the client (`crate::client`) depends on it.

pub(crate) mod consistency;
pub(crate) mod retry;
pub(crate) mod tls;
pub(crate) mod transport;
pub(crate) mod wire;
