//! Ack latency under load (issue 14): the real bot, as its own process,
//! while it fans a check-in out to 10,000 people and builds a digest over
//! 1,000,000 notes, takes a mixed stream of Slack requests at a fixed rate
//! from the Slack emulator (in this process) over real HTTP or Socket Mode.
//!
//! ```sh
//! cargo bench --bench load -- [--db sqlite|postgres] [--transport http|socket]
//!     [--runs 5] [--secs 60] [--rate 200] [--people 10000] [--notes 1000000]
//!     [--bin PATH] [--fanout-only] [--clicks-per-min 90] [--mix slack|equal]
//! ```
//!
//! Setup, once per database and week (kept between invocations under
//! `target/load-seed/`, or as a PostgreSQL database named after it): the
//! real migrations and `--notes` notes from 1,000 reps over the 52 weeks
//! ending with the digest's week (`common::seed`, as the digest benchmark).
//!
//! Each run, on a fresh copy of that database (a file copy, or `CREATE
//! DATABASE … TEMPLATE`) and a fresh emulator enforcing Slack's limits:
//! 1. the bot starts (`fieldnotes run --http` or Socket Mode), and a
//!    check-in is sent to 200 "load" reps, so each has a prompt with its
//!    "Add field notes" button (not timed); half of them will click and
//!    submit forms ("Add field notes", or "Edit" once answered), the other
//!    half send DMs and slash commands;
//! 2. at t0 a check-in is queued for the 10,000-person channel and the
//!    weekly digest of the seeded week is made due, as the schedule would;
//! 3. for `--secs` seconds, `--rate` requests per second, open loop, in
//!    turn: a click on a prompt's button (the bot opens the form with
//!    `views.open` inside its ack), a submit of a form opened that way, a
//!    signed `message.im` event (a plain DM reply) and a `/fieldnotes note
//!    …` slash command, each built by the emulator in Slack's payload shape.
//!    Slack allows `views.open` about 100 times a minute per workspace
//!    (Tier 4), so clicks and submits come `--clicks-per-min` (90) times a
//!    minute each and the rest alternate between the other two; `--mix
//!    equal` takes the four in turn (and shows what Slack's limit does).
//!
//! Ack latency is the emulator's, from sending a request to its ack (the
//! HTTP response, or the Socket Mode envelope's ack). Reported per kind
//! and per run: p50, p99 and max; requests not acked within Slack's 3 s;
//! `views.open` calls Slack would refuse (`expired_trigger_id` and the
//! rest); the bot's peak RSS (`VmHWM`) and CPU time; how far the fan-out
//! got and when the digest was posted. Then the median [min–max] over the
//! runs, and Markdown rows for BENCHMARKS.md. Nothing here asserts a time.
//!
//! `--fanout-only` sends nothing and queues no digest: the bot's footprint
//! while it holds and sends to the audience alone. `--bin` runs another
//! build of the bot (the stripped release binary, say). `BENCH_LOG=info`
//! turns on the bot's logs (written to the run's directory either way).

mod common;

use common::{cpu_secs, pid_status_mb, seed};
use fieldnotes::config::Config;
use fieldnotes::digest::Period;
use fieldnotes::store::Store;
use slack_emulator::{Emulator, EmulatorConfig, FieldAnswer, User};
use sqlx::{AnyConnection, Connection, Executor};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const LOAD_REPS: usize = 200;
const SEED_REPS: usize = 1_000;
const FANOUT_CHANNEL: &str = "C0FANOUT01";
const LOAD_CHANNEL: &str = "C0LOADREPS";
const DIGEST_CHANNEL: &str = "C0MARKETNG";

#[derive(Debug, Clone)]
struct Args {
    db: String,
    transport: String,
    runs: usize,
    secs: u64,
    rate: u32,
    people: usize,
    notes: usize,
    bin: PathBuf,
    fanout_only: bool,
    clicks_per_min: u32,
    equal_mix: bool,
}

fn args() -> Args {
    let mut a = Args {
        db: "sqlite".into(),
        transport: "http".into(),
        runs: 5,
        secs: 60,
        rate: 200,
        people: 10_000,
        notes: 1_000_000,
        bin: PathBuf::from(env!("CARGO_BIN_EXE_fieldnotes")),
        fanout_only: false,
        clicks_per_min: 90,
        equal_mix: false,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let next = v.get(i + 1).cloned().unwrap_or_default();
        let mut took = true;
        match v[i].as_str() {
            "--db" => a.db = next,
            "--transport" => a.transport = next,
            "--runs" => a.runs = next.parse().expect("--runs N"),
            "--secs" => a.secs = next.parse().expect("--secs S"),
            "--rate" => a.rate = next.parse().expect("--rate PER_SEC"),
            "--people" => a.people = next.parse().expect("--people N"),
            "--notes" => a.notes = next.parse().expect("--notes N"),
            "--bin" => a.bin = PathBuf::from(next),
            "--clicks-per-min" => a.clicks_per_min = next.parse().expect("--clicks-per-min N"),
            "--mix" => {
                assert!(next == "equal" || next == "slack", "--mix slack|equal");
                a.equal_mix = next == "equal";
            }
            "--fanout-only" => {
                a.fanout_only = true;
                took = false;
            }
            _ => took = false, // `--bench` and anything else cargo passes
        }
        i += if took { 2 } else { 1 };
    }
    assert!(
        a.db == "sqlite" || a.db == "postgres",
        "--db sqlite|postgres"
    );
    assert!(
        a.transport == "http" || a.transport == "socket",
        "--transport http|socket"
    );
    assert!(a.runs > 0 && a.secs > 0 && a.rate > 0 && a.people > 0);
    a
}

impl Args {
    /// The kind of the `i`th request. Slack allows `views.open` about 100
    /// times a minute per workspace (Tier 4), so by default a click that
    /// opens a form comes `--clicks-per-min` times a minute (90), its
    /// submit half a click period later, and the rest alternate between
    /// `message.im` and the slash command. `--mix equal` takes the four in
    /// turn, which Slack itself would refuse at this rate.
    fn kind_of(&self, i: u64) -> Kind {
        if self.equal_mix {
            return Kind::ALL[(i % 4) as usize];
        }
        let every = (u64::from(self.rate) * 60 / u64::from(self.clicks_per_min.max(1))).max(4);
        match i % every {
            0 => Kind::Click,
            r if r == every / 2 => Kind::Submit,
            _ if i.is_multiple_of(2) => Kind::MessageIm,
            _ => Kind::Slash,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Click,
    Submit,
    MessageIm,
    Slash,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Click, Kind::Submit, Kind::MessageIm, Kind::Slash];
    fn label(self) -> &'static str {
        match self {
            Kind::Click => "click → views.open",
            Kind::Submit => "form submit",
            Kind::MessageIm => "message.im",
            Kind::Slash => "/fieldnotes note",
        }
    }
}

/// One request's outcome.
#[derive(Debug, Clone)]
struct Sample {
    kind: Kind,
    ms: f64,
    acked: bool,
    /// When it was sent, in seconds from t0.
    at: f64,
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
struct RunResult {
    /// Per kind: (p50, p99, max) in ms, and the count.
    kinds: Vec<KindStats>,
    all: Stats,
    not_acked: usize,
    errors: usize,
    skipped: usize,
    views_open: usize,
    views_open_refused: usize,
    expired_triggers: usize,
    peak_rss: f64,
    rss_end: f64,
    cpu: f64,
    threads: u64,
    fanout_sent: i64,
    fanout_rows: i64,
    digest_done_s: Option<f64>,
    limited_429: u64,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// p50, p99, max (ms) and the count.
type Stats = (f64, f64, f64, usize);

/// Per kind: its p50, p99, max (ms) and count.
type KindStats = (Kind, f64, f64, f64, usize);

fn summarize(samples: &[Sample]) -> (Stats, Vec<KindStats>) {
    let stats = |xs: Vec<f64>| {
        let mut xs = xs;
        xs.sort_by(f64::total_cmp);
        (
            pct(&xs, 50.0),
            pct(&xs, 99.0),
            xs.last().copied().unwrap_or(f64::NAN),
            xs.len(),
        )
    };
    let all = stats(samples.iter().map(|s| s.ms).collect());
    let kinds = Kind::ALL
        .iter()
        .map(|k| {
            let (p50, p99, max, n) = stats(
                samples
                    .iter()
                    .filter(|s| s.kind == *k)
                    .map(|s| s.ms)
                    .collect(),
            );
            (*k, p50, p99, max, n)
        })
        .collect();
    (all, kinds)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    sqlx::any::install_default_drivers();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped =
        Config::load(&root.join("config/fieldnotes.toml")).unwrap_or_else(|e| panic!("{e}"));
    let def = shipped.digests.first().expect("a digest").clone();
    let period = Period::last_complete(def.period, chrono::Utc::now(), def.timezone);
    let seed_name = format!(
        "{}_{}_{}",
        a.notes,
        SEED_REPS,
        period.to_string().replace('-', "_").to_lowercase()
    );
    eprintln!(
        "load: {} req/s for {} s, {} runs, {} over {}; fan-out to {}; digest {} over {} notes; bot {}",
        a.rate,
        a.secs,
        a.runs,
        a.db,
        a.transport,
        a.people,
        period,
        a.notes,
        a.bin.display()
    );
    let seeded = ensure_seed(&a, &shipped, &def, period, &seed_name, root).await;

    let mut results = Vec::new();
    for run in 1..=a.runs {
        let r = one_run(&a, run, &seeded, &def.name, &period.to_string()).await;
        eprintln!(
            "run {run}: all p50 {:.1} ms p99 {:.1} ms max {:.0} ms (n {}); {}; not acked {}, errors {}, skipped {}; views.open {} ({} refused, {} expired); peak RSS {:.1} MB, end {:.1} MB, {} threads, CPU {:.1} s; fan-out {} of {} sent; digest {}; 429s {}",
            r.all.0,
            r.all.1,
            r.all.2,
            r.all.3,
            r.kinds
                .iter()
                .map(|(k, p50, p99, max, n)| format!(
                    "{}: {p50:.1}/{p99:.1}/{max:.0} ms (n {n})",
                    k.label()
                ))
                .collect::<Vec<_>>()
                .join(", "),
            r.not_acked,
            r.errors,
            r.skipped,
            r.views_open,
            r.views_open_refused,
            r.expired_triggers,
            r.peak_rss,
            r.rss_end,
            r.threads,
            r.cpu,
            r.fanout_sent,
            r.fanout_rows,
            r.digest_done_s
                .map(|s| format!("posted at {s:.1} s"))
                .unwrap_or_else(|| "not posted in the window".into()),
            r.limited_429
        );
        results.push(r);
    }
    report(&a, &results);
}

/// Median [min–max] of one figure over the runs.
fn mmm(xs: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let mut v: Vec<f64> = xs.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn fmt_mmm((m, lo, hi): (f64, f64, f64), digits: usize) -> String {
    format!("{m:.digits$} [{lo:.digits$}–{hi:.digits$}]")
}

fn report(a: &Args, rs: &[RunResult]) {
    let db = if a.db == "postgres" {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let transport = if a.transport == "socket" {
        "Socket Mode"
    } else {
        "HTTP"
    };
    println!();
    println!(
        "{db}, {transport}, {} runs of {} s at {}/s (median [min–max] over the runs)",
        rs.len(),
        a.secs,
        a.rate
    );
    if !a.fanout_only {
        println!("| kind | requests per run | p50 ack (ms) | p99 ack (ms) | max (ms) |");
        println!("|---|---:|---:|---:|---:|");
        for (i, k) in Kind::ALL.iter().enumerate() {
            println!(
                "| {} | {:.0} | {} | {} | {} |",
                k.label(),
                mmm(rs.iter().map(|r| r.kinds[i].4 as f64)).0,
                fmt_mmm(mmm(rs.iter().map(|r| r.kinds[i].1)), 1),
                fmt_mmm(mmm(rs.iter().map(|r| r.kinds[i].2)), 1),
                fmt_mmm(mmm(rs.iter().map(|r| r.kinds[i].3)), 0),
            );
        }
        println!(
            "| **all** | {:.0} | {} | {} | {} |",
            mmm(rs.iter().map(|r| r.all.3 as f64)).0,
            fmt_mmm(mmm(rs.iter().map(|r| r.all.0)), 1),
            fmt_mmm(mmm(rs.iter().map(|r| r.all.1)), 1),
            fmt_mmm(mmm(rs.iter().map(|r| r.all.2)), 0),
        );
    }
    let sum = |f: fn(&RunResult) -> usize| rs.iter().map(f).sum::<usize>();
    println!();
    println!("| DB | transport | not acked in 3 s (all runs) | errors | views.open refused | expired trigger_id | peak RSS (MB) | CPU (s) | threads | fan-out sent in the window | digest posted at (s) | 429s |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {db} | {transport} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} of {} | {} | {:.0} |",
        sum(|r| r.not_acked),
        sum(|r| r.errors),
        sum(|r| r.views_open_refused),
        sum(|r| r.expired_triggers),
        fmt_mmm(mmm(rs.iter().map(|r| r.peak_rss)), 1),
        fmt_mmm(mmm(rs.iter().map(|r| r.cpu)), 1),
        mmm(rs.iter().map(|r| r.threads as f64)).0,
        mmm(rs.iter().map(|r| r.fanout_sent as f64)).0,
        a.people,
        rs.iter()
            .map(|r| r
                .digest_done_s
                .map(|s| format!("{s:.1}"))
                .unwrap_or("–".into()))
            .collect::<Vec<_>>()
            .join(", "),
        mmm(rs.iter().map(|r| r.limited_429 as f64)).0,
    );
}

/// Where the seeded database is kept.
enum Seeded {
    Sqlite(PathBuf),
    Postgres(String),
}

async fn ensure_seed(
    a: &Args,
    cfg: &Config,
    def: &fieldnotes::config::DigestDef,
    period: Period,
    name: &str,
    root: &Path,
) -> Seeded {
    let (_, end) = period.bounds_ms(def.timezone);
    let spec = seed::Spec {
        notes: a.notes,
        reps: SEED_REPS,
        weeks: 52,
    };
    let start = end - 52 * 7 * 86_400_000;
    if a.db == "sqlite" {
        let dir = root.join("target/load-seed");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("sqlite_{name}.db"));
        if path.exists() {
            eprintln!("seed: reusing {}", path.display());
            return Seeded::Sqlite(path);
        }
        let tmp = dir.join(format!("sqlite_{name}.db.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let url = fieldnotes::store::sqlite_url(&tmp);
        let t = Instant::now();
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        store.close().await;
        seed::seed(&url, cfg, spec, start, end).await;
        // One file: fold the WAL back in before it is copied.
        let mut c = AnyConnection::connect(&url).await.unwrap();
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
        c.close().await.unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        eprintln!(
            "seed: {} notes in {:.0} s",
            a.notes,
            t.elapsed().as_secs_f64()
        );
        Seeded::Sqlite(path)
    } else {
        let db = format!("fieldnotes_load_seed_{name}");
        let mut admin = AnyConnection::connect(PG_ADMIN)
            .await
            .expect("PostgreSQL is running");
        let exists: Option<i32> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT 1 FROM pg_database WHERE datname = '{db}'"
        )))
        .fetch_optional(&mut admin)
        .await
        .unwrap();
        admin.close().await.ok();
        if exists.is_some() {
            eprintln!("seed: reusing database {db}");
            return Seeded::Postgres(db);
        }
        let tmp = format!("{db}_tmp");
        pg_admin(&[
            format!("DROP DATABASE IF EXISTS {tmp} WITH (FORCE)"),
            format!("CREATE DATABASE {tmp}"),
        ])
        .await
        .unwrap();
        let url = format!("postgres://postgres@127.0.0.1:5432/{tmp}");
        let t = Instant::now();
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        store.close().await;
        seed::seed(&url, cfg, spec, start, end).await;
        // Only a finished seed gets the name that is reused.
        pg_admin(&[format!("ALTER DATABASE {tmp} RENAME TO {db}")])
            .await
            .unwrap();
        eprintln!(
            "seed: {} notes in {:.0} s",
            a.notes,
            t.elapsed().as_secs_f64()
        );
        Seeded::Postgres(db)
    }
}

/// The bot's config: the shipped one (its taxonomy, roles, digest), with
/// the bench's check-ins and channels.
fn bot_config(rate_per_min: u32) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("config/fieldnotes.toml")).unwrap();
    let mut v: toml::Table = toml::from_str(&text).unwrap();
    let bot = v.get_mut("bot").and_then(|b| b.as_table_mut()).unwrap();
    bot.insert("tick".into(), "500ms".into());
    bot.insert(
        "workspace_messages_per_minute".into(),
        i64::from(rate_per_min).into(),
    );
    // Every day is a work day: a run on a Saturday sends as on a Tuesday.
    let cal = v
        .get_mut("calendar")
        .and_then(|c| c.as_table_mut())
        .unwrap();
    cal.insert(
        "workdays".into(),
        toml::Value::Array(
            ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
                .iter()
                .map(|d| toml::Value::from(*d))
                .collect(),
        ),
    );
    let checkins = v.get_mut("checkin").and_then(|c| c.as_array_mut()).unwrap();
    let mut pulse = checkins[0].as_table().unwrap().clone();
    // Queued by hand (as `fieldnotes checkin run` does); the cadence never
    // comes round during a run.
    pulse.insert("cadence".into(), "0 3 1 1 *".into());
    pulse.insert("local_time".into(), false.into());
    pulse.insert("timezone".into(), "America/New_York".into());
    pulse.remove("reminders");
    let mut audience = toml::Table::new();
    audience.insert(
        "channels".into(),
        toml::Value::Array(vec![FANOUT_CHANNEL.into()]),
    );
    pulse.insert("audience".into(), toml::Value::Table(audience.clone()));
    let mut load = pulse.clone();
    load.insert("name".into(), "load".into());
    audience.insert(
        "channels".into(),
        toml::Value::Array(vec![LOAD_CHANNEL.into()]),
    );
    load.insert("audience".into(), toml::Value::Table(audience));
    *checkins = vec![toml::Value::Table(pulse), toml::Value::Table(load)];
    toml::to_string(&v).unwrap()
}

/// Runs `statements` in turn on PostgreSQL's admin database.
async fn pg_admin(statements: &[String]) -> sqlx::Result<()> {
    let mut admin = AnyConnection::connect(PG_ADMIN).await?;
    for sql in statements {
        admin.execute(sqlx::AssertSqlSafe(sql.as_str())).await?;
    }
    admin.close().await
}

/// A child process that is killed when dropped.
struct Bot(Child);

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn one_run(a: &Args, run: usize, seeded: &Seeded, digest: &str, period: &str) -> RunResult {
    let dir = tempfile::tempdir().unwrap();
    // A fresh copy of the seeded database.
    let (url, pg_run) = match seeded {
        Seeded::Sqlite(path) => {
            let db = dir.path().join("run.db");
            std::fs::copy(path, &db).unwrap();
            (fieldnotes::store::sqlite_url(&db), None)
        }
        Seeded::Postgres(seed_db) => {
            let name = format!("fieldnotes_load_run_{}", std::process::id());
            pg_admin(&[
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                format!("CREATE DATABASE {name} TEMPLATE {seed_db}"),
            ])
            .await
            .unwrap();
            (
                format!("postgres://postgres@127.0.0.1:5432/{name}"),
                Some(name),
            )
        }
    };

    // A fresh emulator (Slack allows apps.connections.open about once a
    // minute) with Slack's documented limits.
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let ecfg = emu.config().clone();
    let zones = ["America/New_York", "Europe/London", "America/Los_Angeles"];
    let fanout: Vec<String> = (1..=a.people).map(|i| format!("U0F{i:07}")).collect();
    let load: Vec<String> = (1..=LOAD_REPS).map(|i| format!("U0L{i:07}")).collect();
    emu.add_users(
        fanout
            .iter()
            .chain(load.iter())
            .enumerate()
            .map(|(i, id)| User::new(id, &format!("rep.{id}"), zones[i % zones.len()]))
            .chain((0..SEED_REPS).map(|i| {
                let id = seed::rep_id(i);
                User::new(&id, &format!("seeded.{i}"), "America/Chicago")
            })),
    );
    let refs: Vec<&str> = fanout.iter().map(String::as_str).collect();
    emu.add_channel(FANOUT_CHANNEL, "field-team", &refs);
    let mut refs: Vec<&str> = load.iter().map(String::as_str).collect();
    refs.push(&ecfg.bot_user_id);
    emu.add_channel(LOAD_CHANNEL, "load-reps", &refs);
    emu.add_channel(DIGEST_CHANNEL, "marketing", &[&ecfg.bot_user_id]);

    let config_path = dir.path().join("fieldnotes.toml");
    std::fs::write(
        &config_path,
        bot_config(ecfg.rate_limits.post_message_workspace_per_min),
    )
    .unwrap();
    let http_port = free_port();
    let admin_port = free_port();
    let mut cmd = Command::new(&a.bin);
    cmd.current_dir(dir.path())
        .arg("--config")
        .arg(&config_path)
        .arg("run")
        .arg("--admin")
        .arg(format!("127.0.0.1:{admin_port}"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(std::env::vars().filter(|(k, _)| k.starts_with("MALLOC_")))
        .env("SLACK_API_URL", emu.api_url())
        .env("SLACK_BOT_TOKEN", &ecfg.bot_token)
        .env("DATABASE_URL", &url)
        .env(
            "RUST_LOG",
            std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::from(
            std::fs::File::create(dir.path().join("bot.log")).unwrap(),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("bot.err")).unwrap(),
        ));
    if a.transport == "socket" {
        cmd.env("SLACK_APP_TOKEN", &ecfg.app_token);
        emu.deliver_via_socket_mode();
    } else {
        cmd.arg("--http").arg(format!("127.0.0.1:{http_port}"));
        cmd.env("SLACK_SIGNING_SECRET", &ecfg.signing_secret);
        emu.deliver_via_http(&format!("http://127.0.0.1:{http_port}/slack/events"));
    }
    let started = Instant::now();
    let mut child = Bot(cmd.spawn().expect("the bot starts"));
    let pid = child.0.id();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let ready_url = format!("http://127.0.0.1:{admin_port}/readyz");
    loop {
        if let Ok(r) = http.get(&ready_url).send().await {
            if r.status().is_success() {
                break;
            }
        }
        let exited = child.0.try_wait().ok().flatten().is_some();
        if exited || started.elapsed() > Duration::from_secs(60) {
            let log = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap_or_default();
            panic!(
                "the bot exited or was not ready in 60 s:\n{}\n{}",
                log("bot.log"),
                log("bot.err")
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready_ms = started.elapsed().as_secs_f64() * 1000.0;

    // Untimed: every load rep gets a prompt to click.
    let store = Store::connect(&url).await.unwrap();
    let cfg = Config::load(&config_path).unwrap_or_else(|e| panic!("{e}"));
    // The profiles this caches (one paged users.list for the workspace, at
    // Tier 2) are what a daily check-in finds cached, so the fan-out at t0
    // starts sending after its channel's pages, as it would in production.
    let mut targets: HashMap<String, (String, String)> = HashMap::new();
    {
        fieldnotes::features::runs::queue_checkin(
            &store,
            &cfg,
            "load",
            None,
            chrono::Utc::now(),
            None,
        )
        .await
        .unwrap();
        let t = Instant::now();
        while targets.len() < load.len() {
            assert!(
                t.elapsed() < Duration::from_secs(180),
                "prompts reached {} of {} load reps in 180 s",
                targets.len(),
                load.len()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
            for u in &load {
                if targets.contains_key(u) {
                    continue;
                }
                let Some(dm) = emu.dm_channel(u) else {
                    continue;
                };
                if let Some(m) = emu.messages_in(&dm).into_iter().find(|m| {
                    m.bot_id.is_some()
                        && m.blocks
                            .to_string()
                            .contains(fieldnotes::slack::views::OPEN_FORM_ACTION)
                }) {
                    targets.insert(u.clone(), (dm, m.ts.clone()));
                }
            }
        }
    }
    eprintln!(
        "run {run}: bot {pid} ready in {ready_ms:.0} ms; {} load reps have a prompt; RSS {:.1} MB",
        targets.len(),
        pid_status_mb(pid, "VmRSS:")
    );

    // t0: the fan-out and the digest start, and so does the load.
    let calls_before = emu.calls().len();
    let limited_before = emu.rate_limited_count();
    let cpu0 = cpu_secs(&pid.to_string());
    let t0 = SystemTime::now();
    eprintln!(
        "run {run}: t0 {}",
        chrono::Utc::now().format("%H:%M:%S%.3f")
    );
    let run_key = fieldnotes::features::runs::queue_checkin(
        &store,
        &cfg,
        "weekly-pulse",
        None,
        chrono::Utc::now(),
        None,
    )
    .await
    .unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    if !a.fanout_only {
        store
            .create_digest_run(digest, period, now_ms, now_ms)
            .await
            .unwrap();
    }

    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let errors = Arc::new(Mutex::new(0usize));
    let why: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let skipped = Arc::new(Mutex::new(0usize));
    // Half the load reps click and submit forms; the other half send DMs
    // and slash commands (which answer their prompts, whose messages then
    // lose the "Add field notes" button).
    let (form_reps, message_reps) = load.split_at(load.len() / 2);
    let message_reps = message_reps.to_vec();
    let idle: Arc<Mutex<VecDeque<String>>> =
        Arc::new(Mutex::new(form_reps.iter().cloned().collect()));
    let open_forms: Arc<Mutex<VecDeque<(String, slack_emulator::OpenView)>>> = Arc::default();
    let targets = Arc::new(targets);
    let peak_sampled = Arc::new(Mutex::new(0f64));
    // RSS every 100 ms (VmHWM is read too; this shows the shape).
    let sampler = {
        let peak = peak_sampled.clone();
        tokio::spawn(async move {
            loop {
                let r = pid_status_mb(pid, "VmRSS:");
                {
                    let mut p = peak.lock().unwrap();
                    *p = p.max(r);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let window = Duration::from_secs(a.secs);
    let mut tasks = tokio::task::JoinSet::new();
    if !a.fanout_only {
        let total = a.rate as u64 * a.secs;
        let every = Duration::from_secs_f64(1.0 / a.rate as f64);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for i in 0..total {
            tick.tick().await;
            let kind = a.kind_of(i);
            let emu = emu.clone();
            let samples = samples.clone();
            let errors = errors.clone();
            let why = why.clone();
            let skipped = skipped.clone();
            let idle = idle.clone();
            let open_forms = open_forms.clone();
            let targets = targets.clone();
            let rep = message_reps[(i as usize / 2) % message_reps.len()].clone();
            tasks.spawn(async move {
                let at = t0.elapsed().unwrap_or_default().as_secs_f64();
                let d = match kind {
                    Kind::Click => {
                        let Some(user) = idle.lock().unwrap().pop_front() else {
                            *skipped.lock().unwrap() += 1;
                            return;
                        };
                        let (dm, ts) = targets[&user].clone();
                        // "Add field notes" while the prompt is open; once
                        // answered, its message offers "Edit" instead.
                        let open = emu.messages_in(&dm).iter().any(|m| {
                            m.ts == ts
                                && m.blocks
                                    .to_string()
                                    .contains(fieldnotes::slack::views::OPEN_FORM_ACTION)
                        });
                        let action = if open {
                            fieldnotes::slack::views::OPEN_FORM_ACTION
                        } else {
                            fieldnotes::slack::views::EDIT_NOTE
                        };
                        let d = emu.click_button(&user, &dm, &ts, action).await;
                        match emu.open_modal_for(&user) {
                            Some(v) => open_forms.lock().unwrap().push_back((user, v)),
                            None => idle.lock().unwrap().push_back(user),
                        }
                        d
                    }
                    Kind::Submit => {
                        let Some((user, v)) = open_forms.lock().unwrap().pop_front() else {
                            *skipped.lock().unwrap() += 1;
                            return;
                        };
                        let answers = HashMap::from([(
                            "q:heard".to_string(),
                            FieldAnswer::Text(format!(
                                "{user} heard that Acme is cheaper but slow to roll out (load {i})"
                            )),
                        )]);
                        let values = emu.fill_modal_values(&v.view, &answers);
                        let d = emu.submit_view(&user, &v.id, values).await;
                        idle.lock().unwrap().push_back(user);
                        d
                    }
                    Kind::MessageIm => {
                        let (dm, _) = targets[&rep].clone();
                        emu.user_message(
                            &rep,
                            &dm,
                            &format!("Procurement at Globex wants a bigger discount; Acme came up again ({i})"),
                            None,
                        )
                        .await
                    }
                    Kind::Slash => {
                        emu.slash_command(
                            &rep,
                            "/fieldnotes",
                            &format!("note The CFO asked how we compare to Acme on price ({i})"),
                            LOAD_CHANNEL,
                        )
                        .await
                    }
                };
                // What went wrong, with the ids and numbers left out.
                let tally = |what: String| {
                    let key: String = what
                        .chars()
                        .filter(|c| !c.is_ascii_digit())
                        .take(120)
                        .collect();
                    *why.lock().unwrap().entry(format!("{}: {key}", kind.label())).or_default() += 1;
                    *errors.lock().unwrap() += 1;
                };
                match d {
                    Ok(d) => {
                        let ok = d.acked && d.status.is_none_or(|s| s == 200);
                        if !ok {
                            tally(format!(
                                "acked {} status {:?} {}",
                                d.acked,
                                d.status,
                                d.response.map(|r| r.to_string()).unwrap_or_default()
                            ));
                        }
                        samples.lock().unwrap().push(Sample {
                            kind,
                            ms: d.elapsed.as_secs_f64() * 1000.0,
                            acked: d.acked,
                            at,
                        });
                    }
                    Err(e) => tally(format!("{e:#}")),
                }
            });
            // Reap finished requests as we go.
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
    } else {
        tokio::time::sleep(window).await;
    }
    let cpu = cpu_secs(&pid.to_string()) - cpu0;
    let hwm = pid_status_mb(pid, "VmHWM:");
    let rss_end = pid_status_mb(pid, "VmRSS:");
    let threads = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Threads:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    sampler.abort();

    // The fan-out's progress, and the digest.
    let (fanout_sent, fanout_rows) = {
        let mut c = AnyConnection::connect(&url).await.unwrap();
        let q = |status: Option<&str>| {
            let cond = status
                .map(|s| format!(" AND p.status = '{s}'"))
                .unwrap_or_default();
            format!(
                "SELECT COUNT(*) FROM prompts p JOIN checkin_runs r ON r.id = p.run_id WHERE r.occurrence = '{run_key}'{cond}"
            )
        };
        let sent: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(q(Some("sent"))))
            .fetch_one(&mut c)
            .await
            .unwrap_or(-1);
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(q(None)))
            .fetch_one(&mut c)
            .await
            .unwrap_or(-1);
        c.close().await.ok();
        (sent, rows)
    };
    let digest_done_s = store
        .digest_run(digest, period)
        .await
        .ok()
        .flatten()
        .and_then(|r| r.finished_at)
        .map(|f| (f - now_ms) as f64 / 1000.0);
    store.close().await;

    let calls = emu.calls();
    let opens: Vec<_> = calls[calls_before..]
        .iter()
        .filter(|c| c.method == "views.open")
        .collect();
    let refused = opens
        .iter()
        .filter(|c| c.response.get("ok") != Some(&serde_json::Value::Bool(true)))
        .count();
    let expired = opens
        .iter()
        .filter(|c| c.response.get("error").and_then(|e| e.as_str()) == Some("expired_trigger_id"))
        .count();
    let samples = samples.lock().unwrap().clone();
    let (all, kinds) = summarize(&samples);
    let not_acked = samples.iter().filter(|s| !s.acked).count();
    // When the slow ones were sent: a burst at one moment, or spread out.
    let mut slow: std::collections::BTreeMap<u64, (usize, f64)> = Default::default();
    for s in samples.iter().filter(|s| s.ms > 50.0) {
        let e = slow.entry(s.at as u64).or_default();
        e.0 += 1;
        e.1 = e.1.max(s.ms);
    }
    if !slow.is_empty() {
        eprintln!(
            "run {run}: acks over 50 ms, by the second they were sent in (count, max ms): {}",
            slow.iter()
                .map(|(k, (n, m))| format!("{k}s: {n} ({m:.0})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    drop(child);
    emu.shutdown();
    if let Some(name) = pg_run {
        let _ = pg_admin(&[format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")]).await;
    }
    if std::env::var("BENCH_KEEP").is_ok() {
        let kept = dir.keep();
        eprintln!("run {run}: kept {}", kept.display());
    }
    let errors = *errors.lock().unwrap();
    for (w, n) in why.lock().unwrap().iter() {
        eprintln!("run {run}: {n} × {w}");
    }
    let skipped = *skipped.lock().unwrap();
    let peak = *peak_sampled.lock().unwrap();
    RunResult {
        kinds,
        all,
        not_acked,
        errors,
        skipped,
        views_open: opens.len(),
        views_open_refused: refused,
        expired_triggers: expired,
        peak_rss: hwm.max(peak),
        rss_end,
        cpu,
        threads,
        fanout_sent,
        fanout_rows,
        digest_done_s,
        limited_429: emu.rate_limited_count() - limited_before,
    }
}
