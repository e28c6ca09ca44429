"""Helpers of scripts/dev-vault (run with the cache venv's python, which has `cryptography`).

  dev_vault.py certs STATE          CA, server certificate (127.0.0.1, localhost), client cert
  dev_vault.py wait ADDR STATE      until sys/seal-status answers
  dev_vault.py setup STATE          init, unseal, mounts, auth methods, policies, demo data
  dev_vault.py unseal STATE         unseal with the stored key (after pause/resume)
  dev_vault.py stub PORT            a Kubernetes TokenReview stub (runs until killed)

Everything is written under STATE; the connection details go to STATE/env as DEV_VAULT_*.
"""

import base64
import datetime
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request

# The identity the TokenReview stub vouches for.
K8S_NAMESPACE, K8S_SA, K8S_UID = "default", "app", "7d5f2c4e-0000-4000-8000-vaultconfig"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def call(addr, method, path, body=None, token=None, namespace=None, ok=(200, 204), timeout=10):
    req = urllib.request.Request(
        f"{addr}/v1/{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
    )
    req.add_header("X-Vault-Request", "true")
    if token:
        req.add_header("X-Vault-Token", token)
    if namespace:
        req.add_header("X-Vault-Namespace", namespace)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except OSError as e:  # refused, reset, timed out
        raise SystemExit(f"dev-vault: {method} {path} failed: {e}")
    if status not in ok:
        raise SystemExit(f"dev-vault: {method} {path} answered {status}: {raw[:300]!r}")
    return json.loads(raw) if raw.strip() else {}


def certs(state):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    import ipaddress

    tls = os.path.join(state, "tls")
    os.makedirs(tls, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write_key(key, file):
        with open(os.path.join(tls, file), "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))

    def write_cert(cert, file):
        with open(os.path.join(tls, file), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("vault-config dev CA"))
          .issuer_name(name("vault-config dev CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    write_cert(ca, "ca.pem")

    def leaf(cn, file, server):
        key = ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca.subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(hours=1))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if server:
            b = b.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        else:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        write_cert(b.sign(ca_key, hashes.SHA256()), f"{file}.pem")
        write_key(key, f"{file}-key.pem")

    leaf("localhost", "server", True)
    leaf("vault-config-demo", "client", False)


def wait(addr, state):
    """Until the server answers; fails at once when its process has ended."""
    deadline = time.time() + 60
    with open(os.path.join(state, "pid")) as f:
        pid = int(f.read().strip())
    while True:
        try:
            urllib.request.urlopen(f"{addr}/v1/sys/seal-status", timeout=1).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            try:
                os.kill(pid, 0)
            except OSError:
                raise SystemExit(f"dev-vault: the server exited; see {state}/server.log")
            if time.time() > deadline:
                raise SystemExit(f"dev-vault: the server did not answer within 60 s; see {state}/server.log")
            time.sleep(0.1)


def read_env(state):
    with open(os.path.join(state, "env")) as f:
        return dict(line.replace("export ", "", 1).strip().split("=", 1)
                    for line in f if line.strip())


def wait_active(addr):
    """Unsealed is not yet active: raft elects the node first. `sys/health` answers 200 only
    on an active, unsealed node."""
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{addr}/v1/sys/health", timeout=2).read()
            return
        except (urllib.error.HTTPError, OSError):
            if time.time() > deadline:
                raise SystemExit("dev-vault: the server did not become active")
            time.sleep(0.2)


def init_when_ready(addr):
    """`sys/init` as soon as raft can take it: right after start, a raft node may answer
    "failed to unlock initialization lock: cannot find peer" (a 5xx) or refuse the connection;
    both are retried for up to 60 s. A request that timed out is never sent again: the server
    may have done it, and a second `sys/init` would only answer "already initialized" with the
    keys of the first lost. So it waits as long as a busy machine needs (120 s)."""
    deadline = time.time() + 60
    while True:
        try:
            return call(addr, "PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1},
                        timeout=120)
        except SystemExit as e:
            if " answered 4" in str(e) or "timed out" in str(e):
                raise
            if time.time() > deadline:
                raise SystemExit(f"{e} (still after 60 s)")
            time.sleep(0.5)


def unseal(state):
    env = read_env(state)
    with open(os.path.join(state, "unseal-key")) as f:
        key = f.read().strip()
    call(env["DEV_VAULT_ADDR"], "PUT", "sys/unseal", {"key": key})
    wait_active(env["DEV_VAULT_ADDR"])


def jwt_es256(key, claims):
    """A compact JWS signed with ES256 (raw r||s signature, as JOSE wants)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    head = b64url(json.dumps({"alg": "ES256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    der = key.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{head}.{body}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


# The tests' policy: read and list of every KV path; what renewal and revocation of its own
# token need comes with the `default` policy. Narrow policies are made by the tests themselves.
DEV_POLICY = """
path "secret/data/*" { capabilities = ["read", "list"] }
path "secret/metadata/*" { capabilities = ["read", "list"] }
path "kv/*" { capabilities = ["read", "list"] }
path "team-a/secret/data/*" { capabilities = ["read", "list"] }
path "team-a/secret/metadata/*" { capabilities = ["read", "list"] }
path "database/creds/*" { capabilities = ["read"] }
path "database/static-creds/*" { capabilities = ["read"] }
path "pki/issue/*" { capabilities = ["update"] }
path "transit/decrypt/*" { capabilities = ["update"] }
"""


def setup(state):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    with open(os.path.join(state, "ports")) as f:
        http_port, tls_port, stub_port, _cluster = f.read().split()
    addr = f"http://127.0.0.1:{http_port}"
    init = init_when_ready(addr)
    root = init["root_token"]
    with open(os.path.join(state, "unseal-key"), "w") as f:
        f.write(init["keys"][0])
    call(addr, "PUT", "sys/unseal", {"key": init["keys"][0]})
    wait_active(addr)

    def r(method, path, body=None, namespace=None):
        return call(addr, method, path, body, root, namespace)

    r("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}})
    r("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "1"}})
    r("PUT", "sys/policies/acl/dev-tests", {"policy": DEV_POLICY})
    token_opts = {"token_policies": ["dev-tests"], "token_ttl": "1h", "token_max_ttl": "4h"}

    # AppRole.
    r("POST", "sys/auth/approle", {"type": "approle"})
    r("POST", "auth/approle/role/vault-config-demo", token_opts)
    role_id = r("GET", "auth/approle/role/vault-config-demo/role-id")["data"]["role_id"]
    secret_id = r("POST", "auth/approle/role/vault-config-demo/secret-id", {})["data"]["secret_id"]
    # A role whose tokens live 6 s (renewable up to 1 h), for renewal tests.
    r("POST", "auth/approle/role/short-lived",
      {**token_opts, "token_ttl": "6s", "token_max_ttl": "1h"})
    short_role_id = r("GET", "auth/approle/role/short-lived/role-id")["data"]["role_id"]
    short_secret_id = r("POST", "auth/approle/role/short-lived/secret-id", {})["data"]["secret_id"]

    # userpass.
    password = secrets.token_urlsafe(18)
    r("POST", "sys/auth/userpass", {"type": "userpass"})
    r("POST", "auth/userpass/users/demo", {"password": password, **token_opts})

    # TLS certificate auth: the client certificate from `certs`.
    tls = os.path.join(state, "tls")
    with open(os.path.join(tls, "client.pem")) as f:
        client_pem = f.read()
    r("POST", "sys/auth/cert", {"type": "cert"})
    r("POST", "auth/cert/certs/demo", {"certificate": client_pem, **token_opts})

    # JWT with a key pair made for this server; one token valid for a day.
    key = ec.generate_private_key(ec.SECP256R1())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    r("POST", "sys/auth/jwt", {"type": "jwt"})
    r("POST", "auth/jwt/config", {"jwt_validation_pubkeys": [pub]})
    r("POST", "auth/jwt/role/demo", {"role_type": "jwt", "bound_audiences": ["vault-config"],
                                     "user_claim": "sub", **token_opts})
    now = int(time.time())
    jwt = jwt_es256(key, {"sub": "demo-service", "aud": "vault-config", "iat": now,
                          "nbf": now - 60, "exp": now + 86400})
    with open(os.path.join(state, "jwt"), "w") as f:
        f.write(jwt)

    # Kubernetes against the TokenReview stub; the login JWT is parsed, not verified.
    with open(os.path.join(tls, "ca.pem")) as f:
        ca_pem = f.read()
    r("POST", "sys/auth/kubernetes", {"type": "kubernetes"})
    r("POST", "auth/kubernetes/config", {
        "kubernetes_host": f"http://127.0.0.1:{stub_port}", "kubernetes_ca_cert": ca_pem,
        "disable_local_ca_jwt": True, "token_reviewer_jwt": "reviewer"})
    r("POST", "auth/kubernetes/role/demo", {
        "bound_service_account_names": [K8S_SA], "bound_service_account_namespaces": [K8S_NAMESPACE],
        **token_opts})
    k8s = jwt_es256(key, {
        "iss": "kubernetes/serviceaccount", "sub": f"system:serviceaccount:{K8S_NAMESPACE}:{K8S_SA}",
        "kubernetes.io/serviceaccount/namespace": K8S_NAMESPACE,
        "kubernetes.io/serviceaccount/service-account.name": K8S_SA,
        "kubernetes.io/serviceaccount/service-account.uid": K8S_UID})
    with open(os.path.join(state, "k8s-token"), "w") as f:
        f.write(k8s)

    # A namespace with its own KV v2 mount, AppRole mount and policy.
    ns = "team-a"
    r("POST", f"sys/namespaces/{ns}", {})
    r("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}}, ns)
    r("PUT", "sys/policies/acl/dev-tests", {"policy": DEV_POLICY}, ns)
    r("POST", "sys/auth/approle", {"type": "approle"}, ns)
    r("POST", "auth/approle/role/ns-demo", token_opts, ns)
    ns_role_id = r("GET", "auth/approle/role/ns-demo/role-id", namespace=ns)["data"]["role_id"]
    ns_secret_id = r("POST", "auth/approle/role/ns-demo/secret-id", {}, ns)["data"]["secret_id"]

    # The database secrets engine over the PostgreSQL cluster of scripts/dev-vault.
    with open(os.path.join(state, "pg-port")) as f:
        pg_port = f.read().strip()
    with open(os.path.join(state, "pg", "password")) as f:
        pg_password = f.read().strip()
    r("POST", "sys/mounts/database", {"type": "database"})
    r("POST", "database/config/pg", {
        "plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
        "connection_url": f"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{pg_port}/postgres?sslmode=disable",
        "username": "postgres", "password": pg_password})
    create = ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]
    r("POST", "database/roles/app", {"db_name": "pg", "default_ttl": "3s", "max_ttl": "6s",
                                     "creation_statements": create})
    r("POST", "database/roles/app-renew", {"db_name": "pg", "default_ttl": "2s", "max_ttl": "1h",
                                           "creation_statements": create})
    r("POST", "database/roles/app-long", {"db_name": "pg", "default_ttl": "1h", "max_ttl": "4h",
                                          "creation_statements": create})
    r("POST", "database/static-roles/app-static", {"db_name": "pg", "username": "static_app",
                                                   "rotation_period": "5s"})

    # The PKI engine: a root CA and a role `internal` for short-lived service certificates,
    # neither stored nor leased (the README's PKI section says why), at most 1 h.
    r("POST", "sys/mounts/pki", {"type": "pki", "config": {"max_lease_ttl": "87600h"}})
    r("POST", "pki/root/generate/internal", {"common_name": "vault-config dev CA",
                                             "ttl": "87600h", "key_type": "ec", "key_bits": 256})
    r("POST", "pki/roles/internal", {
        "allowed_domains": ["internal", "localhost"], "allow_subdomains": True,
        "allow_bare_domains": True, "allow_localhost": True, "allow_ip_sans": True,
        "ttl": "20s", "max_ttl": "1h", "key_type": "ec", "key_bits": 256,
        "no_store": True, "generate_lease": False})

    # The transit engine and the key `shop` of examples/encrypted: restored from its backup,
    # so that the ciphertexts checked in there decrypt on every dev server (a dev key: it
    # guards nothing but the example's demo values).
    r("POST", "sys/mounts/transit", {"type": "transit"})
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dev-transit-shop.backup")) as f:
        r("POST", "transit/restore/shop", {"backup": f.read().strip()})

    # Demo secrets for the quickstart examples.
    r("POST", "secret/data/vault-config-demo/default/database",
      {"data": {"url": "postgres://demo:demo@localhost/app"}})
    r("POST", "secret/data/vault-config-demo/default/api", {"data": {"key": "demo-api-key"}})

    values = {
        "ADDR": addr,
        "TLS_ADDR": f"https://127.0.0.1:{tls_port}",
        "CACERT": os.path.join(tls, "ca.pem"),
        "CLIENT_CERT": os.path.join(tls, "client.pem"),
        "CLIENT_KEY": os.path.join(tls, "client-key.pem"),
        "TOKEN": root,
        "ROLE_ID": role_id,
        "SECRET_ID": secret_id,
        "SHORT_ROLE_ID": short_role_id,
        "SHORT_SECRET_ID": short_secret_id,
        "USERNAME": "demo",
        "PASSWORD": password,
        "JWT_PATH": os.path.join(state, "jwt"),
        "JWT_ROLE": "demo",
        "K8S_TOKEN_PATH": os.path.join(state, "k8s-token"),
        "K8S_ROLE": "demo",
        "NAMESPACE": ns,
        "NS_ROLE_ID": ns_role_id,
        "NS_SECRET_ID": ns_secret_id,
        "PG_PORT": pg_port,
        "PG_PASSWORD": pg_password,
    }
    with open(os.path.join(state, "env"), "w") as f:
        for k, v in values.items():
            f.write(f"export DEV_VAULT_{k}={v}\n")


def stub(port):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Review(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({
                "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                "status": {"authenticated": True, "user": {
                    "username": f"system:serviceaccount:{K8S_NAMESPACE}:{K8S_SA}", "uid": K8S_UID,
                    "groups": ["system:serviceaccounts"]}}}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", int(port)), Review).serve_forever()


def main():
    verb, arg = sys.argv[1], sys.argv[2]
    {"certs": certs, "setup": setup, "unseal": unseal, "stub": stub}.get(verb, lambda _: None)(arg)
    if verb == "wait":
        wait(arg, sys.argv[3])


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # one line, never a traceback
        raise SystemExit(f"dev-vault: {sys.argv[1]} failed: {type(e).__name__}: {e}")
