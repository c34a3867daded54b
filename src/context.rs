//! What every feature and job is handed: the store, the clock, this
//! worker's id, the tracked background set, and one snapshot of the config
//! with the tagger built from it. The snapshot is swapped whole (one
//! `RwLock<Arc<Snapshot>>`), so a reader never pairs a new tagger with an
//! old config. A leaf: it knows nothing of Slack, jobs or the app.

use crate::clock::SharedClock;
use crate::config::{Config, Initiative};
use crate::store::Store;
use crate::tagging::Tagger;
use crate::tasks::Background;
use chrono::NaiveDate;
use std::sync::{Arc, RwLock};

/// Follow-up tasks (after the ack) that run at once, at most.
pub const BACKGROUND_TASKS: usize = 64;
/// Follow-up tasks that may wait for a turn when all of those are busy.
pub const BACKGROUND_BACKLOG: usize = 2_048;

/// A validated config and the tagger built from its taxonomy.
pub struct Snapshot {
    pub config: Arc<Config>,
    pub tagger: Arc<Tagger>,
}

impl Snapshot {
    pub fn new(config: Config) -> Snapshot {
        Snapshot {
            tagger: Arc::new(Tagger::new(&config.tags)),
            config: Arc::new(config),
        }
    }
}

/// The file's config, and the initiatives read from the database with the
/// day they were applied on.
type Base = (Arc<Config>, Option<(Vec<Initiative>, NaiveDate)>);

pub struct Context {
    snapshot: RwLock<Arc<Snapshot>>,
    /// The file's config, and the initiatives last read from the database
    /// with the day they were applied on: what the snapshot is built from.
    base: RwLock<Base>,
    pub store: Store,
    pub clock: SharedClock,
    /// Identifies this process in row leases.
    pub worker_id: String,
    /// The one bounded, tracked set for work after the ack; shutdown waits
    /// for it before the pool closes.
    pub background: Background,
}

impl Context {
    pub fn new(config: Config, store: Store, clock: SharedClock) -> Context {
        let worker_id = format!(
            "{}-{}-{:x}",
            hostname(),
            std::process::id(),
            rand::random::<u32>()
        );
        Context {
            base: RwLock::new((Arc::new(config.clone()), None)),
            snapshot: RwLock::new(Arc::new(Snapshot::new(config))),
            store,
            clock,
            worker_id,
            background: Background::new(BACKGROUND_TASKS, BACKGROUND_BACKLOG),
        }
    }

    /// The config and its tagger, as one consistent pair.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        // A poisoned lock still holds a whole snapshot (the swap is one
        // assignment), so read through it rather than panic.
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn config(&self) -> Arc<Config> {
        self.snapshot().config.clone()
    }

    pub fn tagger(&self) -> Arc<Tagger> {
        self.snapshot().tagger.clone()
    }

    /// Swaps in a new, already validated config and its tagger at once
    /// (with the initiatives last read from the database; the next
    /// `refresh_initiatives` syncs the file's into it).
    pub fn replace_config(&self, cfg: Config) {
        let mut base = self.base.write().unwrap_or_else(|e| e.into_inner());
        base.0 = Arc::new(cfg);
        self.rebuild(&base);
    }

    fn rebuild(&self, base: &Base) {
        let cfg = match &base.1 {
            Some((list, today)) => base.0.with_initiatives(list.clone(), *today),
            None => (*base.0).clone(),
        };
        let next = Arc::new(Snapshot::new(cfg));
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = next;
    }

    /// The team's day today.
    pub fn today(&self) -> NaiveDate {
        self.now()
            .with_timezone(&self.config().timezone)
            .date_naive()
    }

    /// Syncs the file's initiatives into the database, reads the effective
    /// set back and, when it (or the day) changed, swaps in a snapshot
    /// whose questions and tags follow it. Called at start, on every
    /// planner tick (so replicas agree within a tick) and after a change
    /// in Slack.
    pub async fn refresh_initiatives(&self) -> anyhow::Result<()> {
        let file = self
            .base
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone();
        let list = self
            .store
            .initiatives_for(&file.initiative_defs, self.now_ms())
            .await?;
        let today = self.today();
        let mut base = self.base.write().unwrap_or_else(|e| e.into_inner());
        let next = Some((list, today));
        if base.1 != next && Arc::ptr_eq(&base.0, &file) {
            base.1 = next;
            self.rebuild(&base);
        }
        Ok(())
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "fieldnotes".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    /// A reader sees the config and tagger of one version, never a mix.
    #[tokio::test]
    async fn config_and_tagger_swap_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&crate::store::sqlite_url(&dir.path().join("t.db")))
            .await
            .unwrap();
        let toml = |kw: &str| {
            format!(
                "[bot]\ntimezone = \"UTC\"\n[[tag]]\nid = \"competitor:acme\"\nlabel = \"Acme\"\ncategory = \"competitor\"\nkeywords = [\"{kw}\"]\n"
            )
        };
        let load = |s: &str| {
            let p = dir.path().join("c.toml");
            std::fs::write(&p, s).unwrap();
            Config::load(&p).unwrap()
        };
        let clock: SharedClock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let ctx = Context::new(load(&toml("acme")), store, clock);
        let before = ctx.snapshot();
        ctx.replace_config(load(&toml("globex")));
        let after = ctx.snapshot();
        // The old snapshot is still whole for whoever holds it.
        assert_eq!(before.tagger.tag("acme said hi"), vec!["competitor:acme"]);
        assert!(after.tagger.tag("acme said hi").is_empty());
        assert_eq!(after.tagger.tag("globex said hi"), vec!["competitor:acme"]);
        assert!(!Arc::ptr_eq(&before.config, &after.config));
    }
}
