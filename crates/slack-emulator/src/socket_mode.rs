//! Socket Mode: the WebSocket Slack pushes envelopes over.
//!
//! The bot calls apps.connections.open (with its `xapp-` token), connects to
//! the returned URL, receives `hello`, then envelopes it must ack within 3 s.
//! Slack allows 10 connections per app, spreads envelopes over them and asks
//! clients to reconnect with `disconnect` messages; all of that is emulated
//! here because the reconnect and redelivery paths are where bots break.

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
use tokio::sync::{mpsc, oneshot, Notify};

use crate::server::{Emulator, WeakEmulator};

/// Slack's limit of concurrent Socket Mode connections per app.
pub const MAX_CONNECTIONS: usize = 10;

enum Out {
    Text(String),
    Close,
}

struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<Out>,
}

/// Live connections and envelopes waiting for their ack.
#[derive(Default)]
pub(crate) struct SocketHub {
    conns: Mutex<Vec<Conn>>,
    next_id: AtomicU64,
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
    let id = hub.next_id.fetch_add(1, Ordering::Relaxed);
    let accepted = {
        let mut conns = hub.conns.lock().unwrap();
        if conns.len() >= MAX_CONNECTIONS {
            None
        } else {
            conns.push(Conn { id, tx });
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
        while let Some(m) = rx.recv().await {
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
    });
    while let Some(Ok(msg)) = stream.next().await {
        let text = match msg {
            WsMsg::Text(t) => t.to_string(),
            WsMsg::Close(_) => break,
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
    writer.abort();
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
}
