//! The client's own copies of secrets are zeroized before their memory is freed: the request
//! body and token header handed to reqwest, the response body as it is collected, and what is
//! decoded from it (a KV read, a login's token, an unwrapped secret id). The scanning
//! allocator (`scanning_alloc`) counts freed blocks still holding the canary.
//!
//! Not covered, and said in RELIABILITY.md: the buffers of the HTTP stack itself (hyper's
//! read and write buffers, rustls' records) are freed without zeroizing.

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use vault_config_core::VaultPath;
use zeroize::Zeroizing;

use crate::http::transport::{Call, Reply, append_zeroizing};
use crate::http::wire::{Envelope, UnwrappedSecretId};
use crate::scanning_alloc::{CANARY, canary, leftovers};
use crate::{Auth, KvVersion, VaultClient};

/// A reply collected from `text` in small chunks, as from the network.
fn received(text: &str) -> Reply {
    let mut body = Zeroizing::new(Vec::new());
    for chunk in text.as_bytes().chunks(7) {
        append_zeroizing(&mut body, chunk);
    }
    Reply::received(200, body)
}

// One test: the allocator is global and counts every thread's frees.
#[test]
fn the_clients_copies_of_secrets_are_zeroized() {
    assert!(
        leftovers(|| drop(canary())) > 0,
        "the detector sees nothing"
    );

    let client = VaultClient::builder()
        .address("http://127.0.0.1:9")
        .auth(Auth::Token("unused".into()))
        .build()
        .unwrap();
    let request = leftovers(|| {
        let token = SecretString::from(canary());
        let secret_id = SecretString::from(canary());
        // As the AppRole login and the wrapping lookup build theirs.
        let call = Call::post(
            "auth/approle/login",
            Some(&token),
            json!({ "secret_id": secret_id.expose_secret() }),
        );
        let built = client
            .inner
            .transport
            .request(&call)
            .unwrap()
            .build()
            .unwrap();
        let body = built.body().and_then(|b| b.as_bytes()).unwrap();
        assert!(body.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()));
        assert_eq!(built.headers()["X-Vault-Token"], CANARY);
        drop(built);
    });
    assert_eq!(request, 0, "the request body or token header");

    let kv_read = Zeroizing::new(format!(
        r#"{{"data":{{"data":{{"password":"{CANARY}"}},"metadata":{{"version":3}}}}}}"#
    ));
    let read = leftovers(move || {
        let reply = received(&kv_read);
        let data =
            crate::client::kv::decode_read(&reply, &VaultPath::new("secret", "app"), KvVersion::V2)
                .unwrap();
        assert_eq!(data.get("password").unwrap(), CANARY);
        drop((data, reply, kv_read));
    });
    assert_eq!(read, 0, "a KV read's body or data");

    let login = Zeroizing::new(format!(
        r#"{{"auth":{{"client_token":"{CANARY}","lease_duration":60,"renewable":true}}}}"#
    ));
    let token = leftovers(move || {
        let reply = received(&login);
        let envelope: Envelope<serde_json::Value> = reply.json("auth/approle/login").unwrap();
        assert_eq!(envelope.auth.unwrap().client_token.expose_secret(), CANARY);
        drop((reply, login));
    });
    assert_eq!(token, 0, "a login's body or token");

    let unwrap = Zeroizing::new(format!(r#"{{"data":{{"secret_id":"{CANARY}"}}}}"#));
    let unwrapped = leftovers(move || {
        let reply = received(&unwrap);
        let envelope: Envelope<UnwrappedSecretId> = reply.json("sys/wrapping/unwrap").unwrap();
        assert_eq!(envelope.data.unwrap().secret_id.expose_secret(), CANARY);
        drop((reply, unwrap));
    });
    assert_eq!(unwrapped, 0, "an unwrap's body or secret id");
}
