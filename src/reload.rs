//! Hot reload: the config file is watched (its directory, since editors
//! save by replacing the file) and re-read on SIGHUP. A valid edit takes
//! effect at once; an invalid one is logged with file, line and key, and
//! the config in force stays.

use crate::app::AppState;
use crate::config::Config;
use anyhow::{Context, Result};
use notify::{EventKind, RecursiveMode, Watcher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

/// Re-reads the config file; true if the new one is now in force.
pub fn reload(state: &AppState, why: &str) -> bool {
    let old = state.config();
    match Config::load(&old.path) {
        Ok(cfg) => {
            if cfg.sqlite_path != old.sqlite_path {
                warn!("storage.sqlite_path changed: that takes a restart");
            }
            state.replace_config(cfg);
            info!(path = %old.path.display(), why, "config reloaded");
            true
        }
        Err(errs) => {
            for e in &errs.0 {
                error!(
                    file = %e.file.display(),
                    line = e.line,
                    key = %e.key,
                    "config edit rejected: {e}; the previous config stays in force"
                );
            }
            false
        }
    }
}

/// Starts watching the config file and listening for SIGHUP.
pub fn spawn(state: Arc<AppState>, mut stop: watch::Receiver<bool>) -> Result<JoinHandle<()>> {
    let path = state.config().path.clone();
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    let dir = path
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| ".".into());
    let name = path.file_name().map(|n| n.to_os_string());
    let (tx, mut rx) = mpsc::unbounded_channel::<&'static str>();
    let file_tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        let ours = ev.paths.iter().any(|p| p.file_name() == name.as_deref());
        let kind = matches!(
            ev.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Any
        );
        if ours && kind {
            let _ = file_tx.send("file changed");
        }
    })
    .context("starting the config file watcher")?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("watching {}", dir.display()))?;

    #[cfg(unix)]
    {
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("listening for SIGHUP")?;
        let tx = tx.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    s = hup.recv() => {
                        if s.is_none() || tx.send("SIGHUP").is_err() { return; }
                    }
                    _ = stop.changed() => return,
                }
            }
        });
    }

    Ok(tokio::spawn(async move {
        let _watcher = watcher;
        loop {
            tokio::select! {
                why = rx.recv() => {
                    let Some(why) = why else { return };
                    // An editor's save is several events; settle first.
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    while rx.try_recv().is_ok() {}
                    reload(&state, why);
                }
                _ = stop.changed() => return,
            }
        }
    }))
}
