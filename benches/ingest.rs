//! Ingest benchmark (issue 9): signed Events API `message.im` deliveries
//! sent over real HTTP, at saturation, to the real bot, which must commit
//! each one to its durable inbox before it answers 200.
//!
//! ```sh
//! cargo bench --bench ingest -- [--db sqlite|postgres] [--seconds N] \
//!     [--concurrency C] [--runs R] [--users N] [--no-workers]
//! ```
//!
//! Each run, against a fresh database (a SQLite file in a tempdir, or a new
//! PostgreSQL database that is dropped afterwards):
//!
//! - **The bot** is the release `fieldnotes` binary in a child process,
//!   `fieldnotes run --http 127.0.0.1:PORT`, exactly as in production: the
//!   jobs loop (inbox workers, planner, dispatcher) runs too. Its Web API is
//!   the in-process Slack emulator with Slack's documented rate limits. With
//!   `--no-workers` the child is this benchmark's own binary re-executed,
//!   building the same `Application` but with `run_jobs: false` (there is no
//!   production flag for that), to show the front door alone.
//! - **The load** is C connections (keep-alive, HTTP/1.1, to 127.0.0.1
//!   only), each sending one request at a time until `--seconds` run out.
//!   Bodies are Slack's `event_callback` envelope around a `message.im`
//!   event, each with its own `event_id`, signed with Slack's v0 scheme by
//!   the emulator's `sign`. They are built and signed before the clock
//!   starts (the client stays cheap on a 2-core machine); a worker that runs
//!   past its pre-signed share signs the rest on the fly.
//! - **Stored** is decided in the database, not by the bot: once the load
//!   has stopped, the bot is SIGKILLed (no shutdown code runs), then every
//!   `event_id` that got a 200 is looked up in `inbox`, in chunks. `lost` is
//!   an acked id that is not there; any loss makes the benchmark exit 1.
//!   stored/s = acked-and-present / duration.
//!
//! Reports per run and then the median [min–max] over the runs: acked/s,
//! stored/s, p50/p99 ack latency (client side, 200s only), 503s
//! (backpressure), other statuses and connection errors, the bot's peak RSS
//! (`VmHWM` of the child, read before the kill), and a Markdown table row.
//! `BENCH_LOG=…` is passed to the bot as `RUST_LOG` (the default is the
//! bot's own, `fieldnotes=info,warn`); its log is printed on a failure, and
//! copied to `$BENCH_KEEP_LOGS/bot-RUN.log` when that is set.

mod common;

use common::{cpu_secs, pid_status_mb};
use slack_emulator::{Emulator, EmulatorConfig, RateLimits, User};
use sqlx::Connection;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Set in the environment of the `--no-workers` child.
const CHILD_ENV: &str = "FIELDNOTES_INGEST_BENCH_CHILD";
/// The child's listen address.
const CHILD_ADDR_ENV: &str = "FIELDNOTES_INGEST_BENCH_ADDR";
/// A pre-signed request older than this is signed again (Slack's window is
/// 300 s).
const RESIGN_AFTER_SECS: i64 = 240;

#[derive(Debug, Clone)]
struct Args {
    db: String,
    seconds: f64,
    concurrency: usize,
    runs: usize,
    users: usize,
    workers: bool,
    presign_rate: f64,
}

fn args() -> Args {
    let mut a = Args {
        db: "sqlite".into(),
        seconds: 10.0,
        concurrency: 128,
        runs: 5,
        users: 100,
        workers: true,
        presign_rate: 40_000.0,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let next = v.get(i + 1).cloned().unwrap_or_default();
        let mut takes = true;
        match v[i].as_str() {
            "--db" => {
                assert!(
                    next == "sqlite" || next == "postgres",
                    "--db sqlite|postgres"
                );
                a.db = next;
            }
            "--seconds" => a.seconds = next.parse().expect("--seconds N"),
            "--concurrency" => a.concurrency = next.parse().expect("--concurrency C"),
            "--runs" => a.runs = next.parse().expect("--runs N"),
            "--users" => a.users = next.parse().expect("--users N"),
            "--presign-rate" => a.presign_rate = next.parse().expect("--presign-rate PER_S"),
            "--no-workers" => {
                a.workers = false;
                takes = false;
            }
            _ => takes = false, // `--bench` and anything else cargo passes
        }
        i += if takes { 2 } else { 1 };
    }
    assert!(a.seconds > 0.0, "--seconds must be > 0");
    assert!(a.concurrency > 0, "--concurrency must be > 0");
    assert!(a.runs > 0, "--runs must be > 0");
    assert!(a.users > 0, "--users must be > 0");
    a
}

fn main() -> ExitCode {
    if std::env::var_os(CHILD_ENV).is_some() {
        return child_main();
    }
    let a = args();
    // One thread for the load generator and the emulator: the bot gets the
    // rest of the machine.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench(a))
}

// ---------------------------------------------------------------------------
// The `--no-workers` child: the bot as `fieldnotes run --http ADDR` builds it
// (same runtime, same logging, same `Application`), minus the jobs loop.

fn child_main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| "fieldnotes=info,warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let path = std::env::var("FIELDNOTES_CONFIG").expect("FIELDNOTES_CONFIG");
        let addr: SocketAddr = std::env::var(CHILD_ADDR_ENV)
            .expect("listen address")
            .parse()
            .expect("a socket address");
        let config = match fieldnotes::config::Config::load(Path::new(&path)) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("invalid config:\n{e}");
                return ExitCode::FAILURE;
            }
        };
        let app = fieldnotes::app::Application::build(fieldnotes::app::AppOptions {
            config,
            secrets: fieldnotes::config::Secrets::from_env(),
            clock: Arc::new(fieldnotes::clock::SystemClock),
            http: Some(addr),
            run_jobs: false,
            watch_config: true,
        })
        .await;
        let app = match app {
            Ok(app) => app,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::FAILURE;
            }
        };
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        app.shutdown().await;
        ExitCode::SUCCESS
    })
}

// ---------------------------------------------------------------------------
// Requests.

/// What Slack would send: the signed `event_callback` for a DM to the bot.
struct Gen {
    run_tag: u32,
    port: u16,
    secret: String,
    team_id: String,
    app_id: String,
    bot_user_id: String,
    /// (user id, DM channel id)
    dms: Arc<Vec<(String, String)>>,
    /// Message timestamps count up from here.
    base_secs: i64,
}

const TEXTS: &[&str] = &[
    "Acme came up again on pricing: they quoted 20% under us for the same seats",
    "Buyer at Globex asked whether we integrate with their SSO before the pilot",
    "Procurement wants a security review; the case study on onboarding helped a lot",
    "Champion left the account, new VP is lukewarm, probably slips to next quarter",
    "They loved the ROI calculator but said the webinar deck was too generic",
    "Initech is evaluating us against Acme, main objection is implementation time",
    "Heard from two CFOs this week that annual billing is a blocker for them",
    "Demo went well, the ops lead wants a trial with 10 users from the field team",
];

impl Gen {
    /// Slack's look like `Ev0PV52K21`: "Ev" and upper-case alphanumerics,
    /// in no order. Here a bijection of (run, g) on 50 bits, so they are
    /// unique and land all over the inbox's unique index, as real ones do.
    fn event_id(&self, g: u64) -> String {
        const MASK: u64 = (1 << 50) - 1;
        let mut x = (g | (u64::from(self.run_tag) << 40)) & MASK;
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) & MASK;
        x ^= x >> 23;
        x = x.wrapping_mul(0xD6E8_FEB8_6659_FD93) & MASK;
        x ^= x >> 29;
        const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut id = [b'0'; 12];
        id[0] = b'E';
        id[1] = b'v';
        for c in id[2..].iter_mut().rev() {
            *c = DIGITS[(x % 36) as usize];
            x /= 36;
        }
        String::from_utf8(id.to_vec()).expect("ASCII")
    }

    fn body(&self, g: u64, now_secs: i64) -> Vec<u8> {
        let (user, channel) = &self.dms[(g as usize) % self.dms.len()];
        let text = format!("{} (#{g})", TEXTS[(g as usize) % TEXTS.len()]);
        let ts = format!(
            "{}.{:06}",
            self.base_secs + (g / 1_000_000) as i64,
            g % 1_000_000
        );
        let r: u128 = rand::random();
        let client_msg_id = format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            (r >> 96) as u32,
            (r >> 80) as u16,
            (r >> 68) as u16 & 0xfff,
            (r >> 56) as u16 & 0xfff,
            (r as u64) & 0xffff_ffff_ffff
        );
        let v = serde_json::json!({
            "token": "ingestbenchverificationtkn",
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": null,
            "api_app_id": self.app_id,
            "event": {
                "user": user,
                "type": "message",
                "ts": ts,
                "client_msg_id": client_msg_id,
                "text": text,
                "team": self.team_id,
                "blocks": [{
                    "type": "rich_text",
                    "block_id": format!("{:05x}", g & 0xfffff),
                    "elements": [{
                        "type": "rich_text_section",
                        "elements": [{"type": "text", "text": text}]
                    }]
                }],
                "channel": channel,
                "event_ts": ts,
                "channel_type": "im"
            },
            "type": "event_callback",
            "event_id": self.event_id(g),
            "event_time": now_secs,
            "authorizations": [{
                "enterprise_id": null,
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "is_bot": true,
                "is_enterprise_install": false
            }],
            "is_ext_shared_channel": false,
            "event_context": format!("4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJ{g:010}")
        });
        serde_json::to_vec(&v).expect("serialising JSON")
    }

    /// The whole HTTP/1.1 request, as Slack's delivery sends it.
    fn request(&self, g: u64, now_secs: i64) -> Vec<u8> {
        let body = self.body(g, now_secs);
        let sig = slack_emulator::sign(&self.secret, now_secs, &body);
        let mut req = format!(
            "POST /slack/events HTTP/1.1\r\n\
             Host: 127.0.0.1:{}\r\n\
             User-Agent: Slackbot 1.0 (+https://api.slack.com/robots)\r\n\
             Accept: */*\r\n\
             Accept-Encoding: gzip,deflate\r\n\
             Content-Type: application/json\r\n\
             X-Slack-Signature: {sig}\r\n\
             X-Slack-Request-Timestamp: {now_secs}\r\n\
             Content-Length: {}\r\n\r\n",
            self.port,
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(&body);
        req
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// A minimal HTTP/1.1 client: one keep-alive connection, one request at a
// time, responses with Content-Length (what the bot's axum server sends).

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Status and Content-Length of a response head.
fn parse_head(head: &[u8]) -> io::Result<(u16, usize)> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
    let text = std::str::from_utf8(head).map_err(|_| bad("non-UTF-8 head"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("empty head"))?;
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut len = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok();
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                return Err(bad("chunked responses are not supported"));
            }
        }
    }
    Ok((status, len.unwrap_or(0)))
}

impl Conn {
    async fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    async fn round_trip(&mut self, req: &[u8]) -> io::Result<u16> {
        self.stream.write_all(req).await?;
        self.buf.clear();
        let mut head_end = None;
        loop {
            if self.buf.capacity() - self.buf.len() < 1024 {
                self.buf.reserve(4096);
            }
            let n = self.stream.read_buf(&mut self.buf).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            if head_end.is_none() {
                head_end = find(&self.buf, b"\r\n\r\n").map(|i| i + 4);
            }
            if let Some(h) = head_end {
                let (status, len) = parse_head(&self.buf[..h])?;
                if self.buf.len() >= h + len {
                    return Ok(status);
                }
            }
        }
    }
}

async fn get_status(addr: SocketAddr, path: &str) -> io::Result<u16> {
    let mut c = Conn::connect(addr).await?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    c.round_trip(req.as_bytes()).await
}

// ---------------------------------------------------------------------------
// Load.

#[derive(Default)]
struct WorkerOut {
    /// Global indexes of the deliveries that got a 200.
    acked: Vec<u64>,
    /// Their latencies, in microseconds.
    lat_us: Vec<u32>,
    s503: u64,
    other: BTreeMap<u16, u64>,
    errors: u64,
    signed_live: u64,
}

async fn worker(
    addr: SocketAddr,
    gen: Arc<Gen>,
    w: u64,
    stride: u64,
    presigned: Vec<Vec<u8>>,
    signed_at: i64,
    deadline: Instant,
) -> WorkerOut {
    let mut out = WorkerOut::default();
    let mut conn = match Conn::connect(addr).await {
        Ok(c) => Some(c),
        Err(_) => {
            out.errors += 1;
            None
        }
    };
    let mut i: u64 = 0;
    while Instant::now() < deadline {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::connect(addr).await {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    out.errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let g = w + i * stride;
        let req: Cow<[u8]> = match presigned.get(i as usize) {
            Some(r) if now_secs() - signed_at < RESIGN_AFTER_SECS => Cow::Borrowed(r),
            _ => {
                out.signed_live += 1;
                Cow::Owned(gen.request(g, now_secs()))
            }
        };
        let t = Instant::now();
        match c.round_trip(&req).await {
            Ok(200) => {
                out.lat_us
                    .push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                out.acked.push(g);
            }
            Ok(503) => out.s503 += 1,
            Ok(s) => *out.other.entry(s).or_default() += 1,
            Err(_) => {
                out.errors += 1;
                conn = None;
            }
        }
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------
// One run.

#[derive(Debug, Clone, Default)]
struct RunResult {
    acked: u64,
    stored: u64,
    lost: u64,
    elapsed: f64,
    p50_ms: f64,
    p99_ms: f64,
    s503: u64,
    other: u64,
    other_detail: BTreeMap<u16, u64>,
    errors: u64,
    rss_mb: f64,
    inbox_rows: i64,
    /// Rows the bot's inbox workers had turned into notes by the kill.
    handled: i64,
    signed_live: u64,
    /// Size of one delivery's JSON body.
    body_bytes: usize,
    /// chat.postMessage calls the bot made (its workers' confirmations).
    posts: usize,
    /// CPU seconds the bot and this process (load, emulator) used during the load.
    bot_cpu: f64,
    load_cpu: f64,
}

impl RunResult {
    fn acked_per_s(&self) -> f64 {
        self.acked as f64 / self.elapsed
    }
    fn stored_per_s(&self) -> f64 {
        self.stored as f64 / self.elapsed
    }
}

fn pg_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh database: its URL, and the (admin URL, name) to drop it by.
async fn fresh_database(db: &str, dir: &Path) -> (String, Option<(String, String)>) {
    if db == "postgres" {
        let admin = pg_admin_url();
        let name = format!("fieldnotes_ingest_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} (set TEST_POSTGRES_URL): {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin).expect("TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        (url.to_string(), Some((admin, name)))
    } else {
        // Not beside the config: the bot watches the config's directory.
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("data directory");
        (fieldnotes::store::sqlite_url(&data.join("ingest.db")), None)
    }
}

async fn drop_database(pg: Option<(String, String)>) {
    if let Some((admin, name)) = pg {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
            conn.close().await.ok();
        }
    }
}

const CONFIG: &str = r#"
[bot]
name = "Fieldnotes"
timezone = "America/New_York"

[[tag]]
id = "competitor:acme"
label = "Competitor: Acme"
category = "competitor"
keywords = ["acme"]

[[tag]]
id = "competitor:initech"
label = "Competitor: Initech"
category = "competitor"
keywords = ["initech"]

[[tag]]
id = "objection:pricing"
label = "Objection: pricing"
category = "objection"
keywords = ["pricing", "price", "billing"]

[[checkin]]
name = "pulse"
cadence = "0 3 1 1 *"
timezone = "America/New_York"
prompt = "What did you hear from buyers this week?"
audience = { channels = ["C0INGEST"] }
questions = [{ id = "heard", label = "What did a buyer say?" }]
"#;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn spawn_bot(a: &Args, emu: &Emulator, dir: &Path, database_url: &str, port: u16) -> Child {
    let addr = format!("127.0.0.1:{port}");
    let mut c = if a.workers {
        // BENCH_BOT_BIN: another build of the binary (to compare two builds).
        let bin = std::env::var("BENCH_BOT_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_fieldnotes").to_string());
        let mut c = Command::new(bin);
        c.args(["run", "--http", &addr]);
        c
    } else {
        Command::new(std::env::current_exe().expect("this benchmark's path"))
    };
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FIELDNOTES_CONFIG", dir.join("fieldnotes.toml"))
        .env("SLACK_BOT_TOKEN", &emu.config().bot_token)
        .env("SLACK_API_URL", emu.api_url())
        .env("SLACK_SIGNING_SECRET", &emu.config().signing_secret)
        .env("DATABASE_URL", database_url)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("bot.log")).expect("log file"));
    if !a.workers {
        c.env(CHILD_ENV, "1").env(CHILD_ADDR_ENV, &addr);
    }
    // A deployment knob tokio reads (the bot's runtime has one worker
    // thread per core by default).
    if let Ok(n) = std::env::var("TOKIO_WORKER_THREADS") {
        c.env("TOKIO_WORKER_THREADS", n);
    }
    if let Ok(filter) = std::env::var("BENCH_LOG") {
        c.env("RUST_LOG", filter);
    }
    c.spawn().expect("starting the bot")
}

fn log_tail(dir: &Path) -> String {
    let t = std::fs::read_to_string(dir.join("bot.log")).unwrap_or_default();
    let lines: Vec<&str> = t.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

async fn wait_ready(child: &mut Child, addr: SocketAddr, dir: &Path) {
    let t0 = Instant::now();
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("the bot exited ({st}) before serving:\n{}", log_tail(dir));
        }
        if let Ok(200) = get_status(addr, "/healthz").await {
            return;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the bot did not serve within 60 s:\n{}", log_tail(dir));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Which of `ids` are in the inbox, how many rows it has in all, and how
/// many of those the bot's workers had handled (`done`).
async fn stored_ids(database_url: &str, ids: &[String]) -> (HashSet<String>, i64, i64) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url)
        .await
        .expect("connecting to check the inbox");
    let mut found = HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT event_id FROM inbox WHERE event_id IN ({})",
            marks.join(",")
        );
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for id in q.fetch_all(&mut conn).await.expect("reading the inbox") {
            found.insert(id);
        }
    }
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
        .fetch_one(&mut conn)
        .await
        .expect("counting the inbox");
    let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE status = 'done'")
        .fetch_one(&mut conn)
        .await
        .expect("counting handled rows");
    conn.close().await.ok();
    (found, total, done)
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    sorted_us[i] as f64 / 1000.0
}

async fn one_run(
    a: &Args,
    emu: &Emulator,
    dms: &Arc<Vec<(String, String)>>,
    run: usize,
) -> RunResult {
    let dir = tempfile::tempdir().expect("tempdir");
    let (database_url, pg) = fresh_database(&a.db, dir.path()).await;
    std::fs::write(dir.path().join("fieldnotes.toml"), CONFIG).expect("config");
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let posts_before = emu.call_count("chat.postMessage");
    let mut child = spawn_bot(a, emu, dir.path(), &database_url, port);
    let pid = child.id();
    wait_ready(&mut child, addr, dir.path()).await;

    // Build and sign before the clock starts.
    let gen = Arc::new(Gen {
        run_tag: run as u32 + 1,
        port,
        secret: emu.config().signing_secret.clone(),
        team_id: emu.config().team_id.clone(),
        app_id: emu.config().app_id.clone(),
        bot_user_id: emu.config().bot_user_id.clone(),
        dms: dms.clone(),
        base_secs: now_secs() - 3600,
    });
    let body_bytes = gen.body(0, now_secs()).len();
    let c = a.concurrency as u64;
    let per_worker = ((a.presign_rate * a.seconds) / c as f64).ceil() as u64 + 1;
    let signed_at = now_secs();
    let presigned: Vec<Vec<Vec<u8>>> = (0..c)
        .map(|w| {
            (0..per_worker)
                .map(|i| gen.request(w + i * c, signed_at))
                .collect()
        })
        .collect();

    let (bot_cpu0, load_cpu0) = (cpu_secs(&pid.to_string()), cpu_secs("self"));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    let handles: Vec<_> = presigned
        .into_iter()
        .enumerate()
        .map(|(w, reqs)| {
            tokio::spawn(worker(
                addr,
                gen.clone(),
                w as u64,
                c,
                reqs,
                signed_at,
                deadline,
            ))
        })
        .collect();
    let mut outs = Vec::with_capacity(handles.len());
    for h in handles {
        outs.push(h.await.expect("load worker"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    // The load has stopped: the bot's peak, then kill it outright.
    let rss_mb = pid_status_mb(pid, "VmHWM:");
    let bot_cpu = cpu_secs(&pid.to_string()) - bot_cpu0;
    let load_cpu = cpu_secs("self") - load_cpu0;
    let _ = child.kill();
    let _ = child.wait();
    let posts = emu.call_count("chat.postMessage") - posts_before;

    let mut r = RunResult {
        body_bytes,
        posts,
        bot_cpu,
        load_cpu,
        elapsed,
        rss_mb,
        ..Default::default()
    };
    let mut lat: Vec<u32> = Vec::new();
    let mut acked: Vec<String> = Vec::new();
    for o in outs {
        r.s503 += o.s503;
        r.errors += o.errors;
        r.signed_live += o.signed_live;
        for (s, n) in o.other {
            *r.other_detail.entry(s).or_default() += n;
            r.other += n;
        }
        lat.extend(o.lat_us);
        acked.extend(o.acked.iter().map(|g| gen.event_id(*g)));
    }
    lat.sort_unstable();
    r.p50_ms = percentile_ms(&lat, 0.50);
    r.p99_ms = percentile_ms(&lat, 0.99);
    r.acked = acked.len() as u64;
    let (found, rows, done) = stored_ids(&database_url, &acked).await;
    r.inbox_rows = rows;
    r.handled = done;
    r.stored = acked.iter().filter(|id| found.contains(*id)).count() as u64;
    r.lost = r.acked - r.stored;
    if r.lost > 0 || r.acked == 0 {
        eprintln!("bot log (last lines):\n{}", log_tail(dir.path()));
    }
    if let Ok(keep) = std::env::var("BENCH_KEEP_LOGS") {
        let to = Path::new(&keep).join(format!("bot-{}.log", run + 1));
        let _ = std::fs::create_dir_all(keep);
        let _ = std::fs::copy(dir.path().join("bot.log"), to);
    }
    drop_database(pg).await;
    r
}

// ---------------------------------------------------------------------------
// Reporting.

fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n);
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}")
}

/// (median, min, max)
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let med = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (med, v[0], v[n - 1])
}

fn cell(rs: &[RunResult], f: impl Fn(&RunResult) -> f64, fmt: impl Fn(f64) -> String) -> String {
    let (med, lo, hi) = spread(rs.iter().map(f).collect());
    if rs.len() == 1 {
        fmt(med)
    } else {
        format!("{} [{}–{}]", fmt(med), fmt(lo), fmt(hi))
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cores} cores, {cpu}")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn bench(a: Args) -> ExitCode {
    // Slack's documented limits, except that opening the DMs up front is
    // not part of what is measured (in production they exist already).
    let mut limits = RateLimits::slack();
    limits.per_method_per_min.remove("conversations.open");
    let emu = Emulator::start(EmulatorConfig {
        rate_limits: limits,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    let users: Vec<String> = (1..=a.users).map(|i| format!("U0IN{i:06}")).collect();
    emu.add_users(
        users
            .iter()
            .enumerate()
            .map(|(i, id)| User::new(id, &format!("rep.{i:06}"), "America/New_York")),
    );
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    emu.add_channel("C0INGEST", "ingest", &refs);
    let http = reqwest::Client::new();
    let mut dms = Vec::with_capacity(users.len());
    for u in &users {
        let v: serde_json::Value = http
            .post(format!(
                "{}/conversations.open",
                emu.api_url().trim_end_matches('/')
            ))
            .bearer_auth(&emu.config().bot_token)
            .form(&[("users", u.as_str())])
            .send()
            .await
            .expect("conversations.open")
            .json()
            .await
            .expect("conversations.open JSON");
        let ch = v["channel"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("conversations.open: {v}"))
            .to_string();
        dms.push((u.clone(), ch));
    }
    let dms = Arc::new(dms);

    let db_name = if a.db == "postgres" {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let workers = if a.workers { "on" } else { "off" };
    println!(
        "ingest: {db_name}, inbox workers {workers}, concurrency {}, {} s × {} runs, {} users; {}; load {}",
        a.concurrency,
        a.seconds,
        a.runs,
        a.users,
        machine(),
        loadavg()
    );
    let mut results = Vec::new();
    for run in 0..a.runs {
        let r = one_run(&a, &emu, &dms, run).await;
        let other = if r.other_detail.is_empty() {
            "0".to_string()
        } else {
            format!("{:?}", r.other_detail)
        };
        println!(
            "run {}/{}: {:.2} s, bodies of {} bytes, acked {} ({}/s), stored {}/s, lost {}, p50 {:.2} ms, p99 {:.2} ms, 503s {}, other {}, conn errors {}, inbox rows {} (handled {}), signed live {}, bot posts {}, CPU bot {:.1} s ({:.1} µs/ack) load {:.1} s, peak RSS {:.1} MB, load {}",
            run + 1,
            a.runs,
            r.elapsed,
            r.body_bytes,
            thousands(r.acked as f64),
            thousands(r.acked_per_s()),
            thousands(r.stored_per_s()),
            r.lost,
            r.p50_ms,
            r.p99_ms,
            thousands(r.s503 as f64),
            other,
            r.errors,
            thousands(r.inbox_rows as f64),
            thousands(r.handled as f64),
            r.signed_live,
            r.posts,
            r.bot_cpu,
            r.bot_cpu * 1e6 / r.acked.max(1) as f64,
            r.load_cpu,
            r.rss_mb,
            loadavg()
        );
        results.push(r);
    }
    emu.shutdown();

    let lost: u64 = results.iter().map(|r| r.lost).sum();
    let count = |n: f64| thousands(n);
    let ms = |n: f64| format!("{n:.1} ms");
    let mb = |n: f64| format!("{n:.1} MB");
    println!();
    println!("| date | DB | workers | concurrency | acked/s | stored/s | p50 ack | p99 ack | 503s | other | peak RSS (bot) | lost |");
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {db_name} | {workers} | {} | {} | {} | {} | {} | {} | {} | {} | {lost} |",
        chrono::Utc::now().format("%Y-%m-%d"),
        a.concurrency,
        cell(&results, RunResult::acked_per_s, count),
        cell(&results, RunResult::stored_per_s, count),
        cell(&results, |r| r.p50_ms, ms),
        cell(&results, |r| r.p99_ms, ms),
        cell(&results, |r| r.s503 as f64, count),
        cell(&results, |r| (r.other + r.errors) as f64, count),
        cell(&results, |r| r.rss_mb, mb),
    );
    if lost > 0 {
        eprintln!("LOST: {lost} deliveries were acked with 200 but are not in the inbox");
        return ExitCode::FAILURE;
    }
    if results.iter().any(|r| r.acked == 0) {
        eprintln!("a run acked nothing");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
