//! Read-after-write and monotonic reads across an HA cluster.
//!
//! OpenBao standbys serve reads themselves since 2.5, with eventual consistency: behind a load
//! balancer, a read can reflect an older state than the last answer the client saw. Since 2.7,
//! a server with raft storage marks every answer with `X-Vault-Index` (base64 of
//! `{"cluster": "<id>", "value": "<raft index>"}`) and honours it on requests: a standby behind
//! the index answers 429 (`Retry-After: 1`), or, with `X-Vault-Inconsistent:
//! forward-active-node`, forwards the request to the active node.
//!
//! The transport keeps the newest index any answer carried and sends it with
//! `forward-active-node` on every later request except health checks (which must describe the
//! node asked). So every read reflects at least the state of every earlier answer — a write
//! (`migrate`), a newer KV version, a login — whichever node serves it, at no cost on a node
//! that is caught up. A server that sends no index (the in-memory dev mode, Vault, OpenBao
//! before 2.7) gets no header; live settings then guard against going back themselves.

use base64::Engine;
use reqwest::header::{HeaderMap, HeaderValue};

/// The request header naming the state a read must reflect.
pub(crate) const INDEX: &str = "X-Vault-Index";
/// The request header telling a lagging standby what to do.
pub(crate) const INCONSISTENT: &str = "X-Vault-Inconsistent";
/// Forward to the active node instead of answering 429.
const FORWARD: &str = "forward-active-node";
/// A header longer than this is not an OpenBao index (which is about 90 bytes).
const LONGEST: usize = 512;

/// One `X-Vault-Index`: the cluster and its raft index, and the header as received.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Index {
    cluster: String,
    value: u64,
    header: HeaderValue,
}

impl Index {
    /// The index a header carries; `None` for anything but OpenBao's format.
    fn parse(header: &HeaderValue) -> Option<Index> {
        let bytes = header.as_bytes();
        if bytes.len() > LONGEST {
            return None;
        }
        let json = base64::engine::general_purpose::STANDARD
            .decode(bytes)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(bytes))
            .ok()?;
        #[derive(serde::Deserialize)]
        struct Wire {
            cluster: String,
            value: String,
        }
        let wire: Wire = serde_json::from_slice(&json).ok()?;
        Some(Index {
            cluster: wire.cluster,
            value: wire.value.parse().ok()?,
            header: header.clone(),
        })
    }
}

/// The newest index seen, shared by every request of a client.
#[derive(Default)]
pub(crate) struct Consistency {
    newest: std::sync::Mutex<Option<Index>>,
}

impl Consistency {
    /// Keeps the index of an answer if it is newer than the one kept. An index of another
    /// cluster replaces it (the address now leads to a re-created cluster).
    pub(crate) fn observe(&self, headers: &HeaderMap) {
        let Some(seen) = headers.get(INDEX).and_then(Index::parse) else {
            return;
        };
        let mut newest = self.newest.lock().unwrap_or_else(|e| e.into_inner());
        let newer = newest
            .as_ref()
            .is_none_or(|kept| kept.cluster != seen.cluster || kept.value < seen.value);
        if newer {
            *newest = Some(seen);
        }
    }

    /// The headers a request carries: the newest index and `forward-active-node`, once the
    /// server has sent one.
    pub(crate) fn headers(&self) -> Option<[(&'static str, HeaderValue); 2]> {
        let newest = self.newest.lock().unwrap_or_else(|e| e.into_inner());
        let index = newest.as_ref()?.header.clone();
        Some([
            (INDEX, index),
            (INCONSISTENT, HeaderValue::from_static(FORWARD)),
        ])
    }

    /// Whether the server sends indexes, so that every read reflects at least the state of
    /// every earlier answer.
    pub(crate) fn known(&self) -> bool {
        self.newest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cluster: &str, value: &str) -> HeaderMap {
        let json = format!(r#"{{"cluster":"{cluster}","value":"{value}"}}"#);
        let encoded = base64::engine::general_purpose::STANDARD.encode(json);
        let mut map = HeaderMap::new();
        map.insert(INDEX, HeaderValue::from_str(&encoded).unwrap());
        map
    }

    fn kept(c: &Consistency) -> Option<(String, u64)> {
        let newest = c.newest.lock().unwrap();
        newest.as_ref().map(|i| (i.cluster.clone(), i.value))
    }

    #[test]
    fn keeps_the_newest_index_of_the_cluster() {
        let c = Consistency::default();
        assert!(c.headers().is_none() && !c.known());
        c.observe(&header("a", "37"));
        c.observe(&header("a", "12")); // a lagging standby's answer
        assert_eq!(kept(&c), Some(("a".into(), 37)));
        c.observe(&header("a", "40"));
        assert_eq!(kept(&c), Some(("a".into(), 40)));
        c.observe(&header("b", "3")); // a re-created cluster behind the same address
        assert_eq!(kept(&c), Some(("b".into(), 3)));
        let [(name, index), (other, forward)] = c.headers().unwrap();
        assert_eq!((name, other), (INDEX, INCONSISTENT));
        assert_eq!(index, header("b", "3")[INDEX]);
        assert_eq!(forward, FORWARD);
        assert!(c.known());
    }

    #[test]
    fn ignores_what_is_not_an_openbao_index() {
        let c = Consistency::default();
        for junk in [
            "",
            "not base64!",
            "e30=",                                                           // {}
            "eyJjbHVzdGVyIjoiYSIsInZhbHVlIjoiLTEifQ==",                       // value -1
            "eyJjbHVzdGVyIjoiYSIsInZhbHVlIjoiMTg0NDY3NDQwNzM3MDk1NTE2MTYifQ", // 2^64
        ] {
            let mut map = HeaderMap::new();
            map.insert(INDEX, HeaderValue::from_str(junk).unwrap());
            c.observe(&map);
        }
        let mut long = HeaderMap::new();
        long.insert(INDEX, HeaderValue::from_str(&"A".repeat(4096)).unwrap());
        c.observe(&long);
        c.observe(&HeaderMap::new());
        assert_eq!(kept(&c), None);
        // Without padding, as some proxies re-encode it.
        let mut unpadded = HeaderMap::new();
        unpadded.insert(
            INDEX,
            HeaderValue::from_static("eyJjbHVzdGVyIjoiYSIsInZhbHVlIjoiNyJ9"),
        );
        c.observe(&unpadded);
        assert_eq!(kept(&c), Some(("a".into(), 7)));
    }
}
