//! The log filter every entry point uses.

/// The log filter: `RUST_LOG`, else `default`. The file watcher's own
/// crate (`notify`) is held at `warn` unless `RUST_LOG` names it: at trace
/// it logs every inotify event, and a log file beside what it watches
/// would feed itself.
pub fn log_filter(rust_log: Option<&str>, default: &str) -> tracing_subscriber::EnvFilter {
    let spec = rust_log.filter(|s| !s.trim().is_empty()).unwrap_or(default);
    let mut filter = tracing_subscriber::EnvFilter::try_new(spec)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    if !spec.contains("notify") {
        if let Ok(d) = "notify=warn".parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}
