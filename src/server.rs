//! The HTTP listener, built on hyper directly rather than `axum::serve`,
//! because that sets no timer (so no header read timeout) and accepts any
//! number of connections. Here:
//! - HTTP/1.1 only: no h2c upgrade or prior-knowledge HTTP/2 (Slack speaks
//!   HTTP/1.1 to request URLs, and a TLS-terminating proxy sits in front);
//! - the request head must arrive within [`HEADER_READ_TIMEOUT`], which
//!   also closes a keep-alive connection that sits idle that long;
//! - at most [`MAX_CONNECTIONS`] connections are open at once; past that a
//!   new one is closed as soon as it is accepted;
//! - shutdown stops accepting, lets requests in flight finish, and waits
//!   for every connection task.
//!
//! The per-request limits (a body read timeout, a size cap checked from the
//! headers before any of the body is read, and the in-flight cap) live with
//! the routes, in `slack::http` and `app::shed_load`.

use axum::Router;
use futures::FutureExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

/// Time allowed for a request line and headers to arrive.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections open at once.
pub const MAX_CONNECTIONS: usize = 1024;

/// Connections open at once from one address: one host can't take every
/// slot. (Slack delivers from many addresses.)
pub const MAX_PER_PEER: usize = 256;

/// Open connections per peer address; a [`PeerSlot`] gives its one back.
#[derive(Default)]
struct Peers(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

struct PeerSlot(Arc<Peers>, std::net::IpAddr);

impl Peers {
    fn take(self: &Arc<Self>, ip: std::net::IpAddr, max: usize) -> Option<PeerSlot> {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(PeerSlot(self.clone(), ip))
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut m = (self.0).0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.1);
            }
        }
    }
}

/// Largest request head hyper will buffer (Slack's are a few hundred bytes;
/// hyper takes nothing under 8 KiB).
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Serves `router` on `listener` until `stop` turns true.
pub async fn serve(listener: TcpListener, router: Router, stop: watch::Receiver<bool>) {
    serve_with(
        listener,
        router,
        stop,
        Limits {
            connections: MAX_CONNECTIONS,
            per_peer: MAX_PER_PEER,
            header_timeout: HEADER_READ_TIMEOUT,
        },
    )
    .await
}

/// A listener's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub connections: usize,
    pub per_peer: usize,
    pub header_timeout: Duration,
}

/// [`serve`] with explicit limits (tests use small ones).
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    mut stop: watch::Receiver<bool>,
    limits: Limits,
) {
    let slots = Arc::new(Semaphore::new(limits.connections));
    let peers = Arc::new(Peers::default());
    let conns = TaskTracker::new();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.wait_for(|s| *s).map(|r| r.is_ok()) => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            debug!(%peer, "connection limit reached; closing a new connection");
            drop(stream);
            continue;
        };
        let Some(peer_slot) = peers.take(peer.ip(), limits.per_peer) else {
            debug!(%peer, "per-address connection limit reached; closing a new connection");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let svc = hyper_util::service::TowerToHyperService::new(router.clone());
        let conn = builder.serve_connection(TokioIo::new(stream), svc);
        let conn = graceful.watch(conn);
        conns.spawn(async move {
            if let Err(e) = conn.await {
                debug!(%peer, error = %e, "connection ended with an error");
            }
            drop((slot, peer_slot));
        });
    }
    drop(listener);
    conns.close();
    // In-flight requests finish; idle keep-alive connections close now.
    graceful.shutdown().await;
    conns.wait().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    type Started = (
        std::net::SocketAddr,
        watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    );

    async fn start(max: usize, header_timeout: Duration) -> Started {
        start_with(Limits {
            connections: max,
            per_peer: max,
            header_timeout,
        })
        .await
    }

    async fn start_with(limits: Limits) -> Started {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route("/healthz", get(|| async { "alive" }));
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(serve_with(listener, router, rx, limits));
        (addr, tx, task)
    }

    /// Reads until the server closes (or 20 s pass, which fails the test).
    async fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
            .await
            .expect("the server closed the connection")
            .ok();
        out
    }

    /// GET /healthz on `s`: whether it was answered 200 within `within`.
    async fn try_get(s: &mut TcpStream, within: Duration) -> bool {
        if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .is_err()
        {
            return false;
        }
        let mut buf = [0u8; 256];
        matches!(
            tokio::time::timeout(within, s.read(&mut buf)).await,
            Ok(Ok(n)) if buf[..n].starts_with(b"HTTP/1.1 200")
        )
    }

    async fn get_ok(s: &mut TcpStream) {
        assert!(
            try_get(s, Duration::from_secs(20)).await,
            "a 200 for /healthz"
        );
    }

    /// A client that sends its head a byte at a time, or opens a
    /// connection and says nothing, is cut off.
    #[tokio::test]
    async fn a_slow_or_silent_client_is_cut_off() {
        let (addr, stop, task) = start(16, Duration::from_millis(300)).await;
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut slow = TcpStream::connect(addr).await.unwrap();
        let dribble = tokio::spawn(async move {
            for b in b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Pad: "
                .iter()
                .cycle()
            {
                if slow.write_all(&[*b]).await.is_err() {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                if slow.peer_addr().is_err() {
                    return true;
                }
                let mut probe = [0u8; 64];
                if let Ok(Ok(0)) =
                    tokio::time::timeout(Duration::from_millis(1), slow.read(&mut probe)).await
                {
                    return true;
                }
            }
            false
        });
        let _ = read_to_close(&mut silent).await;
        assert!(tokio::time::timeout(Duration::from_secs(20), dribble)
            .await
            .unwrap()
            .unwrap());
        // A prompt client is served all along.
        let mut ok = TcpStream::connect(addr).await.unwrap();
        get_ok(&mut ok).await;
        stop.send(true).unwrap();
        task.await.unwrap();
    }

    /// Past the cap a new connection is closed at once, and the ones
    /// inside it keep working.
    #[tokio::test]
    async fn connections_are_capped() {
        let (addr, stop, task) = start(2, Duration::from_secs(30)).await;
        let mut a = TcpStream::connect(addr).await.unwrap();
        let mut b = TcpStream::connect(addr).await.unwrap();
        get_ok(&mut a).await;
        get_ok(&mut b).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        let _ = c
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let got = read_to_close(&mut c).await;
        assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
        get_ok(&mut a).await;
        drop(b);
        // A freed slot is taken again.
        let mut d = None;
        for _ in 0..200 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            if try_get(&mut s, Duration::from_secs(5)).await {
                d = Some(s);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(d.is_some(), "a slot freed by a closed connection is reused");
        stop.send(true).unwrap();
        task.await.unwrap();
    }

    /// HTTP/2 with prior knowledge (h2c) gets no HTTP/2 answer.
    #[tokio::test]
    async fn h2c_is_not_spoken() {
        let (addr, stop, task) = start(4, Duration::from_secs(5)).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .unwrap();
        // An empty SETTINGS frame, as a client sends next.
        s.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
        let got = read_to_close(&mut s).await;
        // An HTTP/2 server answers with its SETTINGS frame (type 4).
        assert!(got.is_empty() || got.starts_with(b"HTTP/1.1 "), "{got:?}");
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await.unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        stop.send(true).unwrap();
        task.await.unwrap();
    }

    /// One address can't hold more than its share of the slots.
    #[tokio::test]
    async fn one_peer_is_capped() {
        let (addr, stop, task) = start_with(Limits {
            connections: 10,
            per_peer: 2,
            header_timeout: Duration::from_secs(30),
        })
        .await;
        let mut a = TcpStream::connect(addr).await.unwrap();
        let mut b = TcpStream::connect(addr).await.unwrap();
        get_ok(&mut a).await;
        get_ok(&mut b).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        let _ = c
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        assert!(read_to_close(&mut c).await.is_empty());
        get_ok(&mut a).await;
        stop.send(true).unwrap();
        task.await.unwrap();
    }
}
