//! Socket Mode: the WebSocket Slack pushes envelopes over.
//!
//! The bot calls apps.connections.open (with its `xapp-` token), connects to
//! the returned URL, receives `hello`, then envelopes it must ack within 3 s.
//! Slack allows 10 connections per app, spreads envelopes over them and asks
//! clients to reconnect with `disconnect` messages; all of that is emulated
//! here because the reconnect and redelivery paths are where bots break.
//!
//! Faults, for tests of a client's reconnects: a graceful close
//! (`drop_socket_connections`), a TCP connection dropped without a close
//! frame (`cut_socket_connections`), and a server that goes silent
//! (`silence_socket_connections`): it stops reading (so it answers no ping
//! and hears no ack) and stops writing, but keeps the TCP connection open,
//! as a hung server or a half-open connection does. Envelopes sent on a
//! connection that then failed are unacked, and redelivered like any other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::ws::{Message as WsMsg, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch, Notify};

use crate::server::{Emulator, WeakEmulator};

/// Slack's limit of concurrent Socket Mode connections per app.
pub const MAX_CONNECTIONS: usize = 10;

enum Out {
    Text(String),
    Close,
}

/// A fault injected into one connection (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    /// Stop reading and writing; keep the TCP connection open.
    Silent,
    /// Drop the TCP connection without a close frame.
    Cut,
}

struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<Out>,
    fault: watch::Sender<Fault>,
}

/// Live connections and envelopes waiting for their ack.
#[derive(Default)]
pub(crate) struct SocketHub {
    conns: Mutex<Vec<Conn>>,
    /// Silenced connections: out of the rotation, their sockets held open
    /// until cut (or the emulator goes).
    silent: Mutex<Vec<Conn>>,
    next_id: AtomicU64,
    /// Connections accepted so far (a reconnect makes one more).
    opened: AtomicUsize,
    round_robin: AtomicUsize,
    pending: Mutex<HashMap<String, oneshot::Sender<Option<Value>>>>,
    changed: Notify,
}

fn debug_info() -> Value {
    json!({"host": "emulator", "build_number": 1, "approximate_connection_time": 18060})
}

impl SocketHub {
    pub fn count(&self) -> usize {
        self.conns.lock().unwrap().len()
    }

    pub fn disconnect_all(&self, reason: &str) {
        let msg = json!({"type": "disconnect", "reason": reason, "debug_info": debug_info()});
        for c in self.conns.lock().unwrap().iter() {
            let _ = c.tx.send(Out::Text(msg.to_string()));
        }
    }

    pub fn close_all(&self) {
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.tx.send(Out::Close);
        }
        self.cut_all();
    }

    /// Drops every connection's TCP stream without a close frame, the
    /// silenced ones too.
    pub fn cut_all(&self) {
        let live: Vec<Conn> = self.conns.lock().unwrap().drain(..).collect();
        let silent: Vec<Conn> = self.silent.lock().unwrap().drain(..).collect();
        for c in live.iter().chain(&silent) {
            c.fault.send_replace(Fault::Cut);
        }
        self.changed.notify_waiters();
    }

    /// Silences every live connection: it leaves the rotation, and its
    /// tasks stop reading and writing but hold the socket open.
    pub fn silence_all(&self) {
        let live: Vec<Conn> = self.conns.lock().unwrap().drain(..).collect();
        for c in &live {
            c.fault.send_replace(Fault::Silent);
        }
        self.silent.lock().unwrap().extend(live);
        self.changed.notify_waiters();
    }

    /// Sends an envelope on one live connection (round-robin) and waits for
    /// its ack. `None`: no connection, or no ack within `timeout`.
    /// `Some(payload)`: acked, with the ack's optional `payload`.
    pub async fn send_and_wait(
        &self,
        envelope_id: &str,
        text: String,
        timeout: Duration,
    ) -> Option<Option<Value>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap()
            .insert(envelope_id.to_string(), tx);
        // Wait for a connection if none is up (Slack queues while reconnecting).
        let sent = loop {
            let notified = self.changed.notified();
            {
                let conns = self.conns.lock().unwrap();
                if !conns.is_empty() {
                    let i = self.round_robin.fetch_add(1, Ordering::Relaxed) % conns.len();
                    break conns[i].tx.send(Out::Text(text.clone())).is_ok();
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break false;
            }
        };
        let result = if sent {
            tokio::time::timeout_at(deadline, rx)
                .await
                .ok()
                .and_then(Result::ok)
        } else {
            None
        };
        self.pending.lock().unwrap().remove(envelope_id);
        result
    }

    fn ack(&self, envelope_id: &str, payload: Option<Value>) {
        if let Some(tx) = self.pending.lock().unwrap().remove(envelope_id) {
            let _ = tx.send(payload);
        }
    }
}

/// Resolves once a fault is injected into the connection. A connection
/// whose hub entry is gone (closed, or the emulator going) has no fault.
async fn faulted(rx: &mut watch::Receiver<Fault>) {
    loop {
        match rx.changed().await {
            Ok(()) if *rx.borrow() != Fault::None => return,
            Ok(()) => {}
            Err(_) => std::future::pending::<()>().await,
        }
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct Ticket {
    ticket: Option<String>,
}

pub(crate) async fn handle_upgrade(
    State(w): State<WeakEmulator>,
    Query(t): Query<Ticket>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(emu) = w.upgrade() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let valid = t.ticket.and_then(|t| emu.st().tickets.remove(&t)).is_some();
    if !valid {
        return (StatusCode::UNAUTHORIZED, "invalid ticket").into_response();
    }
    ws.on_upgrade(move |socket| run(emu.weak(), socket))
}

async fn run(w: WeakEmulator, socket: WebSocket) {
    let Some(emu) = w.upgrade() else { return };
    let (mut sink, mut stream) = socket.split();
    let hub = &emu.inner.sockets;
    let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
    let (fault, mut fault_rx) = watch::channel(Fault::None);
    let mut writer_fault = fault_rx.clone();
    let id = hub.next_id.fetch_add(1, Ordering::Relaxed);
    let accepted = {
        let mut conns = hub.conns.lock().unwrap();
        if conns.len() >= MAX_CONNECTIONS {
            None
        } else {
            conns.push(Conn { id, tx, fault });
            hub.opened.fetch_add(1, Ordering::Relaxed);
            Some(conns.len())
        }
    };
    let Some(n) = accepted else {
        let msg =
            json!({"type":"disconnect","reason":"too_many_websockets","debug_info":debug_info()});
        let _ = sink.send(WsMsg::Text(msg.to_string().into())).await;
        let _ = sink.close().await;
        return;
    };
    let hello = json!({
        "type": "hello",
        "num_connections": n,
        "debug_info": debug_info(),
        "connection_info": {"app_id": emu.inner.config.app_id},
    });
    let _ = sink.send(WsMsg::Text(hello.to_string().into())).await;
    hub.changed.notify_waiters();
    drop(emu);

    let writer = tokio::spawn(async move {
        loop {
            let m = tokio::select! {
                m = rx.recv() => m,
                _ = faulted(&mut writer_fault) => None,
            };
            let Some(m) = m else { break };
            let r = match m {
                Out::Text(t) => sink.send(WsMsg::Text(t.into())).await,
                Out::Close => {
                    let _ = sink.close().await;
                    break;
                }
            };
            if r.is_err() {
                break;
            }
        }
        // Silenced: write nothing more, but keep this half of the socket
        // until the connection is cut (or the emulator goes).
        while *writer_fault.borrow() == Fault::Silent {
            if writer_fault.changed().await.is_err() {
                break;
            }
        }
        drop(sink);
    });
    loop {
        let msg = tokio::select! {
            m = stream.next() => m,
            _ = faulted(&mut fault_rx) => None,
        };
        let Some(Ok(msg)) = msg else { break };
        let text = match msg {
            WsMsg::Text(t) => t.to_string(),
            WsMsg::Close(_) => break,
            // Pings are answered by the WebSocket layer as they are read.
            _ => continue,
        };
        let Some(emu) = w.upgrade() else { break };
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            if let Some(eid) = v["envelope_id"].as_str() {
                let payload = v.get("payload").filter(|p| !p.is_null()).cloned();
                emu.inner.sockets.ack(eid, payload);
            }
        }
    }
    // Silenced: read nothing more (no pong, no ack) and hold the socket.
    while *fault_rx.borrow() == Fault::Silent {
        if fault_rx.changed().await.is_err() {
            break;
        }
    }
    if *fault_rx.borrow() == Fault::Cut {
        // Both halves go at once: the peer sees the TCP connection end
        // without a close frame.
        drop(stream);
        let _ = writer.await;
    } else {
        writer.abort();
    }
    if let Some(emu) = w.upgrade() {
        emu.inner
            .sockets
            .conns
            .lock()
            .unwrap()
            .retain(|c| c.id != id);
        emu.inner.sockets.changed.notify_waiters();
    }
}

impl Emulator {
    /// Closes every socket from the server side (as when Slack restarts).
    pub fn drop_socket_connections(&self) {
        self.inner.sockets.close_all();
    }

    /// Drops every socket's TCP connection without a WebSocket close frame
    /// (a network failure, a crashed server).
    pub fn cut_socket_connections(&self) {
        self.inner.sockets.cut_all();
    }

    /// Makes every live socket go silent: the server stops reading (it
    /// answers no ping and hears no ack) and stops sending, but the TCP
    /// connection stays open. The connections leave the rotation, so new
    /// envelopes wait for the client to reconnect; those already sent on
    /// them are unacked and redelivered after the ack timeout.
    pub fn silence_socket_connections(&self) {
        self.inner.sockets.silence_all();
    }

    /// How many Socket Mode connections the emulator has accepted so far
    /// (each reconnect adds one).
    pub fn socket_connections_opened(&self) -> usize {
        self.inner.sockets.opened.load(Ordering::Relaxed)
    }
}
