//! A TCP delay line in front of the real server: every chunk is forwarded `delay` after it
//! arrived, in order, in each direction — so each request/response pays one round trip of
//! `2 × delay`, whoever sends it. A new connection also pays the round trip of TCP's
//! handshake, which loopback would not: nothing the client sends on it reaches the server
//! before `2 × delay` after the connection was accepted, plus the one-way delay. TLS passes
//! through as bytes, so its handshake pays its own round trips.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// Starts the proxy on a free loopback port; returns its address.
pub async fn start(upstream: SocketAddr, delay: Duration) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let handshake_done = Instant::now() + 2 * delay;
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::join!(
                    pipe(cr, sw, delay, handshake_done),
                    pipe(sr, cw, delay, handshake_done)
                );
            });
        }
    });
    Ok(addr)
}

/// Forwards `from` to `to`, each chunk `delay` after it arrived, and not before
/// `not_before + delay`.
async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    delay: Duration,
    not_before: Instant,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((Instant::now().max(not_before) + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
