//! A fault-injecting HTTP proxy for the reliability tests: it sits in front of the real
//! Vault-API server (`scripts/dev-vault`) and, per rule, forwards a request, answers it itself,
//! or breaks it the way networks and servers break — refused connections, resets mid-body,
//! stalls, error statuses, malformed, truncated or huge bodies, redirects to another host.
//!
//! One request per connection (`Connection: close` both ways), so every request of the client
//! opens a new connection and a rule can act on exactly one of them. The proxy runs on a
//! thread and runtime of its own, so sync and async tests use it alike.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The path after `/v1/`, without the query.
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response the proxy makes up.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Canned {
    /// A JSON answer.
    pub fn json(status: u16, body: serde_json::Value) -> Canned {
        Canned::raw(status, "application/json", body.to_string())
    }

    /// Any answer.
    pub fn raw(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Canned {
        Canned {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }
}

type Responder = Arc<dyn Fn(&Request) -> Canned + Send + Sync>;
type Patch = Arc<dyn Fn(&mut serde_json::Value) + Send + Sync>;

/// What the proxy does with a request.
#[derive(Clone)]
pub enum Action {
    /// Forward to the upstream server.
    Forward,
    /// Forward, then rewrite the JSON answer.
    ForwardPatched(Patch),
    /// Answer with a made-up response.
    Reply(Canned),
    /// Answer with a response built from the request.
    ReplyWith(Responder),
    /// Forward this one, then close the listening socket: later connections are refused until
    /// [`FaultProxy::accept_again`], or for the given time.
    RefuseAfter(Option<Duration>),
    /// Headers promising 4 KiB, 64 bytes of it, then a TCP reset.
    ResetMidBody,
    /// Headers promising 4 KiB, 64 bytes of it, then a clean close.
    Truncate,
    /// Read the request and never answer.
    Stall,
    /// A 200 whose JSON body of this many bytes has no length and ends at close.
    Huge(usize),
    /// A 307 to the same path on another address.
    RedirectTo(SocketAddr),
    /// Each match takes the next of these, round and round.
    Cycle(Arc<Vec<Action>>),
}

impl Action {
    /// A responder from a closure.
    pub fn reply_with(f: impl Fn(&Request) -> Canned + Send + Sync + 'static) -> Action {
        Action::ReplyWith(Arc::new(f))
    }

    /// A JSON patch from a closure.
    pub fn patched(f: impl Fn(&mut serde_json::Value) + Send + Sync + 'static) -> Action {
        Action::ForwardPatched(Arc::new(f))
    }
}

/// When a rule applies: method and path, after skipping some matches, for some number of them.
#[derive(Clone)]
pub struct Rule {
    method: Option<String>,
    path: String,
    skip: usize,
    times: Option<usize>,
    action: Action,
    matched: usize,
}

impl Rule {
    /// Requests whose path (after `/v1/`) starts with `path`, any method, every time.
    pub fn on(path: &str, action: Action) -> Rule {
        Rule {
            method: None,
            path: path.to_owned(),
            skip: 0,
            times: None,
            action,
            matched: 0,
        }
    }

    /// Only this method.
    pub fn method(mut self, method: &str) -> Rule {
        self.method = Some(method.to_owned());
        self
    }

    /// Let the first `n` matches through (to the next rule, else upstream).
    pub fn after(mut self, n: usize) -> Rule {
        self.skip = n;
        self
    }

    /// Apply to `n` matches only.
    pub fn times(mut self, n: usize) -> Rule {
        self.times = Some(n);
        self
    }

    fn take(&mut self, req: &Request) -> Option<Action> {
        if self.method.as_deref().is_some_and(|m| m != req.method)
            || !req.path.starts_with(&self.path)
        {
            return None;
        }
        self.matched += 1;
        let n = self.matched - 1;
        if n < self.skip || self.times.is_some_and(|t| n >= self.skip + t) {
            return None;
        }
        match &self.action {
            Action::Cycle(actions) if !actions.is_empty() => {
                Some(actions[(n - self.skip) % actions.len()].clone())
            }
            action => Some(action.clone()),
        }
    }
}

/// One line of the proxy's log.
#[derive(Clone, Debug)]
pub struct Seen {
    pub request: Request,
    /// The action's name: `forward`, `reply`, `reset`, ...
    pub action: &'static str,
    /// The index of the rule that applied (see [`FaultProxy::rule`]), if one did.
    pub rule: Option<usize>,
}

struct State {
    upstream: SocketAddr,
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<Seen>>,
    /// Bodies the upstream answered with (to look for tokens it issued).
    answers: Mutex<Vec<Vec<u8>>>,
    refusing: AtomicBool,
    /// Whether the listening socket is closed right now.
    closed: AtomicBool,
    wake: tokio::sync::Notify,
}

/// The proxy; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FaultProxy {
    /// A proxy in front of `upstream` (`http://127.0.0.1:port`).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("upstream is http://ip:port");
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let state = Arc::new(State {
            upstream,
            rules: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            answers: Mutex::new(Vec::new()),
            refusing: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                tokio::select! {
                    () = serve(std_listener, addr, shared) => {}
                    _ = stopped => {}
                }
            });
        });
        FaultProxy {
            addr,
            state,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:port` of the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds a rule; the first rule that applies wins, else the request is forwarded.
    /// Returns the rule's index, for [`FaultProxy::served_by`].
    pub fn rule(&self, rule: Rule) -> usize {
        let mut rules = self.state.rules.lock().unwrap();
        rules.push(rule);
        rules.len() - 1
    }

    /// How many requests rule `index` answered.
    pub fn served_by(&self, index: usize) -> usize {
        self.log().iter().filter(|s| s.rule == Some(index)).count()
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.state.rules.lock().unwrap().clear();
        self.accept_again();
    }

    /// Closes the listening socket: new connections are refused.
    pub fn refuse(&self) {
        self.handle().refuse();
    }

    /// Listens again after [`Action::RefuseAfter`] or [`FaultProxy::refuse`].
    pub fn accept_again(&self) {
        self.handle().accept_again();
    }

    /// A handle to refuse and accept from another thread.
    pub fn handle(&self) -> ProxyHandle {
        ProxyHandle(Arc::clone(&self.state))
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Seen> {
        self.state.log.lock().unwrap().clone()
    }

    /// Every `client_token` the upstream issued through this proxy.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state
            .answers
            .lock()
            .unwrap()
            .iter()
            .filter_map(|body| serde_json::from_slice::<serde_json::Value>(body).ok())
            .filter_map(|v| v["auth"]["client_token"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Opens and closes the proxy's port from anywhere.
#[derive(Clone)]
pub struct ProxyHandle(Arc<State>);

impl ProxyHandle {
    /// Closes the listening socket: new connections are refused. Returns once it is closed.
    pub fn refuse(&self) {
        self.0.refusing.store(true, Ordering::SeqCst);
        self.0.wake.notify_one();
        for _ in 0..1000 {
            if self.0.closed.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("the proxy did not close its port");
    }

    /// Listens again.
    pub fn accept_again(&self) {
        self.0.refusing.store(false, Ordering::SeqCst);
        self.0.wake.notify_one();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(first: std::net::TcpListener, addr: SocketAddr, state: Arc<State>) {
    let mut listener = Some(TcpListener::from_std(first).unwrap());
    loop {
        if state.refusing.load(Ordering::SeqCst) {
            listener = None;
            state.closed.store(true, Ordering::SeqCst);
            state.wake.notified().await;
            continue;
        }
        let current = match &listener {
            Some(l) => l,
            None => {
                // The port was ours a moment ago; rebinding it can race a closing socket.
                match TcpListener::bind(addr).await {
                    Ok(l) => {
                        state.closed.store(false, Ordering::SeqCst);
                        listener.insert(l)
                    }
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                }
            }
        };
        tokio::select! {
            accepted = current.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(handle(stream, Arc::clone(&state)));
                }
            }
            () = state.wake.notified() => {}
        }
    }
}

async fn handle(mut client: TcpStream, state: Arc<State>) {
    let Some((request, raw)) = read_request(&mut client).await else {
        return;
    };
    let (rule, action) = {
        let mut rules = state.rules.lock().unwrap();
        rules
            .iter_mut()
            .enumerate()
            .find_map(|(i, r)| Some((Some(i), r.take(&request)?)))
    }
    .unwrap_or((None, Action::Forward));
    let name = match &action {
        Action::Forward | Action::ForwardPatched(_) | Action::Cycle(_) => "forward",
        Action::Reply(_) | Action::ReplyWith(_) => "reply",
        Action::RefuseAfter(_) => "refuse-after",
        Action::ResetMidBody => "reset",
        Action::Truncate => "truncate",
        Action::Stall => "stall",
        Action::Huge(_) => "huge",
        Action::RedirectTo(_) => "redirect",
    };
    state.log.lock().unwrap().push(Seen {
        request: request.clone(),
        action: name,
        rule,
    });
    let _ = act(&mut client, &request, &raw, action, &state).await;
}

async fn act(
    client: &mut TcpStream,
    request: &Request,
    raw: &[u8],
    action: Action,
    state: &Arc<State>,
) -> std::io::Result<()> {
    match action {
        Action::Forward | Action::Cycle(_) => {
            let (head, body) = forward(state.upstream, raw).await?;
            state.answers.lock().unwrap().push(body.clone());
            write_response(client, &head, &body).await
        }
        Action::ForwardPatched(patch) => {
            let (head, body) = forward(state.upstream, raw).await?;
            state.answers.lock().unwrap().push(body.clone());
            let mut value: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            patch(&mut value);
            write_response(client, &head, value.to_string().as_bytes()).await
        }
        Action::Reply(canned) => write_canned(client, &canned).await,
        Action::ReplyWith(f) => write_canned(client, &f(request)).await,
        Action::RefuseAfter(how_long) => {
            let (head, body) = forward(state.upstream, raw).await?;
            state.answers.lock().unwrap().push(body.clone());
            state.refusing.store(true, Ordering::SeqCst);
            state.wake.notify_one();
            // The client's next request must find the port closed.
            while !state.closed.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            if let Some(d) = how_long {
                let state = Arc::clone(state);
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    state.refusing.store(false, Ordering::SeqCst);
                    state.wake.notify_one();
                });
            }
            write_response(client, &head, &body).await
        }
        Action::ResetMidBody | Action::Truncate => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\nconnection: close\r\n\r\n";
            client.write_all(head.as_bytes()).await?;
            client
                .write_all(&br#"{"data":{"db_password":"#.repeat(3)[..64])
                .await?;
            client.flush().await?;
            if matches!(action, Action::ResetMidBody) {
                // SO_LINGER 0: close() sends RST instead of FIN (and, with 0, does not block).
                #[allow(deprecated, reason = "a zero linger is the way to send a reset")]
                client.set_linger(Some(Duration::ZERO))?;
            } else {
                client.shutdown().await?;
            }
            Ok(())
        }
        Action::Stall => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            Ok(())
        }
        Action::Huge(size) => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
            client.write_all(head.as_bytes()).await?;
            client.write_all(br#"{"data":{"k":""#).await?;
            let chunk = vec![b'a'; 64 * 1024];
            let mut sent = 0;
            while sent < size {
                let n = chunk.len().min(size - sent);
                client.write_all(&chunk[..n]).await?;
                sent += n;
            }
            client.write_all(br#""}}"#).await?;
            client.shutdown().await
        }
        Action::RedirectTo(other) => {
            let mut canned = Canned::raw(307, "text/plain", "");
            canned.headers.push((
                "location".into(),
                format!("http://{other}/v1/{}", request.path),
            ));
            write_canned(client, &canned).await
        }
    }
}

/// Reads one request: head and a `content-length` body. `None` when the client went away.
async fn read_request(stream: &mut TcpStream) -> Option<(Request, Vec<u8>)> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&raw, b"\r\n\r\n") {
            break i + 4;
        }
        if raw.len() > 1 << 20 {
            return None;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?;
    let path = target
        .split('?')
        .next()?
        .trim_start_matches("/v1/")
        .to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while raw.len() < head_end + length {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let body = raw[head_end..head_end + length].to_vec();
    let request = Request {
        method,
        path,
        headers,
        body,
    };
    Some((request, raw[..head_end + length].to_vec()))
}

/// Sends `raw` upstream with `Connection: close`; the response's status line + headers (as
/// text) and its de-chunked body.
async fn forward(upstream: SocketAddr, raw: &[u8]) -> std::io::Result<(String, Vec<u8>)> {
    let head_end = find(raw, b"\r\n\r\n").map_or(raw.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("connection: close\r\n\r\n");
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(out.as_bytes()).await?;
    up.write_all(&raw[head_end..]).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), up.read_to_end(&mut answer))
        .await
        .map_err(|_| std::io::Error::other("upstream timed out"))??;
    let end = find(&answer, b"\r\n\r\n").map_or(answer.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let mut body = answer[end..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((head, body))
}

/// Writes a forwarded response again with its status and content type, a fresh length and
/// `Connection: close`.
async fn write_response(client: &mut TcpStream, head: &str, body: &[u8]) -> std::io::Result<()> {
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let content_type = head
        .split("\r\n")
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| "application/json".into());
    write_raw(client, status, &content_type, &[], body).await
}

async fn write_canned(client: &mut TcpStream, canned: &Canned) -> std::io::Result<()> {
    write_raw(
        client,
        canned.status,
        canned.content_type,
        &canned.headers,
        &canned.body,
    )
    .await
}

async fn write_raw(
    client: &mut TcpStream,
    status: u16,
    content_type: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    client.write_all(head.as_bytes()).await?;
    client.write_all(body).await?;
    client.shutdown().await
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = find(body, b"\r\n") {
        let size = std::str::from_utf8(&body[..i])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || body.len() < i + 2 + size {
            break;
        }
        out.extend_from_slice(&body[i + 2..i + 2 + size]);
        body = &body[(i + 4 + size).min(body.len())..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A listener that records every connection made to it and answers 200 `{}`: the "other
/// host" of a redirect, which must never see a token.
pub struct Recorder {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Recorder {
    /// Starts listening on a loopback port.
    pub fn start() -> Recorder {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                use std::io::{Read, Write};
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = vec![0u8; 65536];
                let n = stream.read(&mut buf).unwrap_or(0);
                shared.lock().unwrap().push(buf[..n].to_vec());
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                );
            }
        });
        Recorder { addr, seen }
    }

    /// The raw requests received.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.seen.lock().unwrap().clone()
    }
}
