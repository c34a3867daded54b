//! Hot reload: the config file is watched (the file itself, re-armed when
//! an editor saves by replacing it) and re-read on SIGHUP. A valid edit takes
//! effect at once; an invalid one is logged with file, line and key, and
//! the config in force stays.

use crate::config::Config;
use crate::context::Context;
use anyhow::{Context as _, Result};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

/// Re-reads the config file; true if the new one is now in force.
pub fn reload(state: &Context, why: &str) -> bool {
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

/// Why a reload happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    File,
    Hangup,
}

impl Trigger {
    fn why(self) -> &'static str {
        match self {
            Trigger::File => "file changed",
            Trigger::Hangup => "SIGHUP",
        }
    }
}

/// A watch on the config file itself, not its directory: writes to other
/// files beside it (a log file, say) raise no event at all, so a trace log
/// kept next to the config cannot feed itself. An editor that saves by
/// replacing the file moves the old inode away; the watch is then re-armed
/// on the path after each change.
pub struct ConfigWatch {
    path: PathBuf,
    watcher: RecommendedWatcher,
    rx: mpsc::Receiver<()>,
}

impl ConfigWatch {
    pub fn new(path: &Path) -> Result<ConfigWatch> {
        // The path as given, not resolved: with a symlinked config (a
        // Kubernetes ConfigMap's `..data` swap) the watch must follow the
        // link to each new target; inotify resolves it when (re)arming.
        let path = path.to_path_buf();
        // Capacity 1: a burst of events is one pending reload.
        let (tx, rx) = mpsc::channel::<()>(1);
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(ev) = res else { return };
            // Opening or reading the file (as a reload does) is not a change.
            if !matches!(ev.kind, EventKind::Access(_) | EventKind::Other) {
                let _ = tx.try_send(());
            }
        })
        .context("starting the config file watcher")?;
        let mut w = ConfigWatch { path, watcher, rx };
        w.arm()
            .with_context(|| format!("watching {}", w.path.display()))?;
        Ok(w)
    }

    fn arm(&mut self) -> notify::Result<()> {
        let _ = self.watcher.unwatch(&self.path);
        self.watcher.watch(&self.path, RecursiveMode::NonRecursive)
    }

    /// Waits for the next change to the file; None once the watcher is gone.
    pub async fn changed(&mut self) -> Option<()> {
        self.rx.recv().await?;
        // An editor's save is several events; settle first.
        tokio::time::sleep(Duration::from_millis(150)).await;
        while self.rx.try_recv().is_ok() {}
        // Follow the path to its (possibly new) inode. A save by rename may
        // leave the path briefly missing: try for a second.
        let mut armed = false;
        for _ in 0..20 {
            if self.arm().is_ok() {
                armed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !armed {
            warn!(
                path = %self.path.display(),
                "the config file is gone; edits are not watched until a restart (SIGHUP still reloads)"
            );
        }
        while self.rx.try_recv().is_ok() {}
        Some(())
    }
}

/// Starts watching the config file and listening for SIGHUP.
pub fn spawn(state: Arc<Context>, mut stop: watch::Receiver<bool>) -> Result<JoinHandle<()>> {
    let mut watch = ConfigWatch::new(&state.config().path)?;
    let (tx, mut hup_rx) = mpsc::channel::<()>(1);

    #[cfg(unix)]
    {
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("listening for SIGHUP")?;
        let mut stop = stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    s = hup.recv() => {
                        if s.is_none() { return; }
                        let _ = tx.try_send(());
                    }
                    _ = stop.changed() => return,
                }
            }
        });
    }
    #[cfg(not(unix))]
    drop(tx);

    Ok(tokio::spawn(async move {
        loop {
            let trigger = tokio::select! {
                c = watch.changed() => match c {
                    Some(()) => Trigger::File,
                    None => return,
                },
                Some(()) = hup_rx.recv() => Trigger::Hangup,
                _ = stop.changed() => return,
            };
            reload(&state, trigger.why());
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes beside the config raise nothing; a write to it, and a save by
    /// replacing it (twice, so the re-armed watch is tested too), do.
    #[tokio::test]
    async fn only_the_config_file_is_watched() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("fieldnotes.toml");
        std::fs::write(&cfg, "a = 1\n").unwrap();
        let mut w = ConfigWatch::new(&cfg).unwrap();
        let log = dir.path().join("fieldnotes.log");
        for i in 0..200 {
            std::fs::write(&log, format!("line {i}\n")).unwrap();
        }
        // The positive signal first: a real edit is seen...
        std::fs::write(&cfg, "a = 2\n").unwrap();
        tokio::time::timeout(Duration::from_secs(10), w.changed())
            .await
            .expect("an edit of the config is noticed")
            .unwrap();
        // ...and the 200 log writes before it left nothing queued behind it.
        assert!(w.rx.try_recv().is_err(), "log writes raised events");
        for round in 0..2 {
            let tmp = dir.path().join("fieldnotes.toml.tmp");
            std::fs::write(&tmp, format!("a = {}\n", 3 + round)).unwrap();
            std::fs::rename(&tmp, &cfg).unwrap();
            tokio::time::timeout(Duration::from_secs(10), w.changed())
                .await
                .unwrap_or_else(|_| panic!("save by rename {round} is noticed"))
                .unwrap();
        }
        // Reading the file (as a reload does) is not a change.
        let _ = std::fs::read_to_string(&cfg).unwrap();
        std::fs::write(&log, "after").unwrap();
        std::fs::write(&cfg, "a = 9\n").unwrap();
        tokio::time::timeout(Duration::from_secs(10), w.changed())
            .await
            .expect("a later edit is noticed")
            .unwrap();
        assert!(w.rx.try_recv().is_err());
    }

    /// At `RUST_LOG=trace` the watcher's own crate stays quiet: its trace
    /// line per inotify event is what turned one log write into another.
    #[test]
    fn trace_logging_leaves_the_watcher_out() {
        use std::io::Write;
        use std::sync::Mutex;
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        for rust_log in [Some("trace"), None] {
            let buf = Buf::default();
            let out = buf.clone();
            let sub = tracing_subscriber::fmt()
                .with_env_filter(crate::logging::log_filter(rust_log, "trace"))
                .with_writer(move || out.clone())
                .finish();
            tracing::subscriber::with_default(sub, || {
                tracing::trace!(target: "notify::inotify", "inotify event: Event {{ .. }}");
                tracing::trace!(target: "fieldnotes::reload", "ours");
                tracing::warn!(target: "notify::inotify", "a watcher warning");
            });
            let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
            assert!(text.contains("ours"), "{text}");
            assert!(text.contains("a watcher warning"), "{text}");
            assert!(!text.contains("inotify event"), "{text}");
        }
        // Asking for the watcher by name still works.
        let f = crate::logging::log_filter(Some("notify=trace"), "info");
        assert!(f.to_string().contains("notify=trace"));
    }
}
