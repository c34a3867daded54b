//! The command line (clap). Every command has `--help`.

use crate::app::{open_store, AppOptions, Application};
use crate::audit::Actor;
use crate::clock::SystemClock;
use crate::config::{self, Config, Secrets};
use crate::digest;
use crate::export::{self, ExportFormat};
use crate::store::InsightQuery;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "fieldnotes",
    version,
    about = "Field notes from sales to marketing, through Slack."
)]
pub struct Cli {
    /// Config file.
    #[arg(long, global = true, env = "FIELDNOTES_CONFIG", default_value = config::DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// Log lines as plain text, or as one JSON object per line (with each
    /// Slack delivery's request id) for a log collector.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "FIELDNOTES_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot: Socket Mode when SLACK_APP_TOKEN is set, HTTP with --http.
    Run {
        /// Serve Slack's Events API, interactivity and slash commands at POST /slack/events on this address.
        #[arg(long, value_name = "ADDR")]
        http: Option<SocketAddr>,
        /// Serve GET /healthz, /readyz and /metrics on this address (e.g.
        /// 127.0.0.1:9090), in any mode. With --http they are served there
        /// as well.
        #[arg(long, value_name = "ADDR", env = "FIELDNOTES_ADMIN_ADDR")]
        admin: Option<SocketAddr>,
    },
    /// Exit 0 if URL answers 2xx (a container HEALTHCHECK without curl).
    Healthcheck {
        #[arg(env = "FIELDNOTES_HEALTHCHECK_URL", default_value = crate::ops::DEFAULT_HEALTHCHECK_URL)]
        url: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
    /// Run a four-week simulation against the built-in Slack emulator (no tokens needed).
    #[cfg(feature = "demo")]
    Demo(crate::demo::DemoArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Validate the config and print what it will do.
    CheckConfig,
    /// Check-in commands.
    Checkin {
        #[command(subcommand)]
        command: CheckinCommand,
    },
    /// Build a digest and print it, write it to a file, or post it to its
    /// Slack recipients now.
    Digest {
        /// Which `[[digest]]` (default: the first in the config).
        name: Option<String>,
        /// The period: a week (2026-W48), a month (2026-11), any date in
        /// it (2026-11-25), or `current` for the period so far. Default:
        /// the last complete period, the one a scheduled send reports on.
        #[arg(long)]
        period: Option<String>,
        #[arg(long, value_enum, default_value = "markdown")]
        format: DigestFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Post it to the digest's channels and people now (needs
        /// SLACK_BOT_TOKEN). A period is posted once: asking again reports
        /// what was sent.
        #[arg(long)]
        post: bool,
    },
    /// Per check-in and occurrence: queued, sent, answered, reminded,
    /// skipped (and why), failed, participation; then delivery errors.
    Status {
        /// Only this check-in.
        #[arg(long)]
        checkin: Option<String>,
        /// How many recent occurrences to show.
        #[arg(long, default_value_t = 10)]
        last: i64,
    },
    /// Schedule commands.
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Re-apply the config's taxonomy (keywords, synonyms, aliases,
    /// hashtags, question tags) and sentiment to every stored insight.
    /// Tags reps picked are kept as they are.
    Retag {
        /// Show what would change without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Retention: purge notes deleted longer ago than
    /// `retention.deleted_notes`, notes older than `retention.notes`, and
    /// old Slack event ids (a running bot does this hourly). With --user,
    /// erase one person's data everywhere instead.
    Purge {
        /// Erase everything held about this Slack user (U…), in one
        /// transaction, and print the rows removed per table.
        #[arg(long, value_name = "USER_ID")]
        user: Option<String>,
    },
    /// Write every insight to stdout (or --out). With --user, everything
    /// held about one person, as one JSON document.
    Export {
        #[arg(long, value_enum, default_value = "ndjson", conflicts_with = "user")]
        format: ExportFormat,
        /// Output file (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Export one person's data (profile, pause, prompts, notes with
        /// fields and tags, their Slack events and audit rows) as JSON.
        #[arg(long, value_name = "USER_ID")]
        user: Option<String>,
    },
    /// Search every note: words, "quoted phrases" and filters
    /// (competitor:acme, stage:negotiation, tag:objection:price,
    /// rep:@name, source:reply, checkin:NAME, since:30d, until:DATE), the
    /// best 10 per page.
    Search {
        /// The query (several arguments are joined with spaces).
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// Which page of 10 (1 is the best).
        #[arg(long, default_value_t = 1)]
        page: u32,
        #[arg(long, value_enum, default_value = "text")]
        format: crate::export::SearchFormat,
    },
    /// Initiatives: list them, or read one's debrief (ratings week by
    /// week with a 95% Wilson interval, the verdict once enough ratings
    /// are in, quotes for and against, the reps' ideas).
    #[command(subcommand)]
    Initiative(InitiativeCommand),
    /// List the audit log: admin and marketer actions, role refusals,
    /// operator commands and retention purges.
    Audit {
        /// How far back: a duration (30d, 12h), a date (2026-11-01, UTC)
        /// or an RFC 3339 time.
        #[arg(long, default_value = "30d")]
        since: String,
        #[arg(long, value_enum, default_value = "text")]
        format: AuditFormat,
        /// At most this many rows (the newest).
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum InitiativeCommand {
    /// Every initiative, with its status and how many ratings it has.
    List,
    /// One initiative's debrief.
    Report {
        /// The initiative's id.
        id: String,
        #[arg(long, value_enum, default_value = "markdown")]
        format: ReportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Json,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum CheckinCommand {
    /// Queue a check-in for its whole audience now; a running bot sends it within seconds.
    Run {
        /// The check-in's name in the config.
        name: String,
        /// Ask this one-off question instead of the check-in's prompt.
        #[arg(long)]
        question: Option<String>,
        /// Send at this time instead of now: RFC 3339 (`2026-12-01T15:00:00-05:00`)
        /// or `YYYY-MM-DD HH:MM` in the check-in's timezone (UTC for local_time check-ins).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// List each person's next sends, in local time and UTC, with skips
    /// and pauses explained. Needs SLACK_BOT_TOKEN to resolve the audience.
    Preview {
        /// Only this check-in.
        #[arg(long)]
        checkin: Option<String>,
        /// Sends per person.
        #[arg(long, default_value_t = 3)]
        next: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DigestFormat {
    Markdown,
    Json,
    Html,
    Csv,
}

impl DigestFormat {
    fn format(self) -> digest::Format {
        match self {
            DigestFormat::Markdown => digest::Format::Markdown,
            DigestFormat::Json => digest::Format::Json,
            DigestFormat::Html => digest::Format::Html,
            DigestFormat::Csv => digest::Format::Csv,
        }
    }
}

impl Command {
    fn is_demo(&self) -> bool {
        #[cfg(feature = "demo")]
        if matches!(self, Command::Demo(_)) {
            return true;
        }
        false
    }
}

/// Entry point used by `main`.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own story; keep its logs to warnings unless asked.
    init_tracing(
        if cli.command.is_demo() {
            "warn"
        } else {
            "fieldnotes=info,warn"
        },
        cli.log_format,
    );
    let json = cli.log_format == LogFormat::Json;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if json => {
            // A log collector reads stderr as JSON lines: keep it one.
            tracing::error!(error = %format!("{e:#}"), "fieldnotes stopped with an error");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(default: &str, format: LogFormat) {
    let filter = crate::logging::log_filter(std::env::var("RUST_LOG").ok().as_deref(), default);
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        // Colour only on a terminal: log files and collectors get plain text.
        LogFormat::Text => fmt
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        // One object a line: time, level, target, the event's fields, and
        // its spans' fields (a Slack delivery's request id among them).
        LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}

fn load_config(path: &std::path::Path) -> Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!("invalid config:\n{e}"))
}

pub async fn run(cli: Cli) -> Result<()> {
    let secrets = Secrets::from_env();
    match cli.command {
        #[cfg(feature = "demo")]
        Command::Demo(args) => crate::demo::run(&cli.config, args).await.map(|_| ()),
        Command::Healthcheck { url, timeout } => {
            let body = crate::ops::probe(&url, std::time::Duration::from_secs(timeout)).await?;
            print!("{body}");
            Ok(())
        }
        Command::CheckConfig => {
            let cfg = load_config(&cli.config)?;
            print!("{}", crate::report::check_config(&cfg, chrono::Utc::now()));
            Ok(())
        }
        Command::Migrate => {
            let cfg = load_config(&cli.config)?;
            let store = open_store(&cfg, &secrets).await?;
            store.close().await;
            println!(
                "Migrations applied to {}.",
                crate::store::redact(&crate::app::database_url(&cfg, &secrets))
            );
            Ok(())
        }
        Command::Run { http, admin } => {
            let cfg = load_config(&cli.config)?;
            // Before touching the database or Slack: no real secret, no HTTP.
            if http.is_some() && secrets.signing_secrets.is_empty() {
                anyhow::bail!(
                    "HTTP mode needs SLACK_SIGNING_SECRET (comma-separated for rotation; empty parts are ignored) to verify Slack's requests"
                );
            }
            let mut app = Application::build(AppOptions {
                config: cfg,
                secrets,
                clock: Arc::new(SystemClock),
                http,
                run_jobs: true,
                watch_config: true,
            })
            .await?;
            if let Some(addr) = admin {
                app.serve_admin(addr).await?;
            }
            wait_for_signal().await;
            tracing::info!("shutting down");
            app.shutdown().await;
            Ok(())
        }
        Command::Checkin {
            command: CheckinCommand::Run { name, question, at },
        } => {
            let cfg = load_config(&cli.config)?;
            let now = chrono::Utc::now();
            let at = match at {
                None => None,
                Some(t) => Some(parse_at(&cfg, &name, &t, now)?),
            };
            let store = open_store(&cfg, &secrets).await?;
            let cfg = with_db_initiatives(cfg, &store, now).await;
            let key = crate::features::runs::queue_checkin(
                &store,
                &cfg,
                &name,
                question.as_deref(),
                now,
                at,
            )
            .await;
            crate::audit::record(
                &store,
                now.timestamp_millis(),
                &Actor::cli(),
                "checkin run",
                serde_json::json!({
                    "checkin": name,
                    "question": question,
                    "at": at.map(|t| t.to_rfc3339()),
                }),
                &match &key {
                    Ok(k) => format!("ok: run {k}"),
                    Err(_) => "failed (the error was printed to the operator)".to_string(),
                },
            )
            .await;
            store.close().await;
            let key = key?;
            match at {
                Some(at) => println!("Queued `{name}` for its audience at {} UTC (run {key}).", at.format("%Y-%m-%d %H:%M")),
                None => println!("Queued `{name}` for its audience (run {key}); a running bot sends it within seconds."),
            }
            Ok(())
        }
        Command::Status { checkin, last } => {
            let cfg = load_config(&cli.config)?;
            let store = open_store(&cfg, &secrets).await?;
            let text = crate::report::status(&store, &cfg, checkin.as_deref(), last.max(1)).await;
            store.close().await;
            print!("{}", text?);
            Ok(())
        }
        Command::Schedule {
            command: ScheduleCommand::Preview { checkin, next },
        } => {
            let cfg = load_config(&cli.config)?;
            if secrets.bot_token.is_none() {
                anyhow::bail!("schedule preview resolves each check-in's audience from Slack: set SLACK_BOT_TOKEN (and SLACK_API_URL for the emulator). `fieldnotes check-config` lists the next occurrences without it.");
            }
            let store = open_store(&cfg, &secrets).await?;
            let state =
                crate::slack::Bot::connect(cfg, store, secrets, Arc::new(SystemClock)).await?;
            let text = crate::report::preview(&state, checkin.as_deref(), next.max(1)).await;
            state.store.close().await;
            print!("{}", text?);
            Ok(())
        }
        Command::Digest {
            name,
            period,
            format,
            out,
            post,
        } => {
            let cfg = load_config(&cli.config)?;
            let def = pick_digest(&cfg, name.as_deref())?.clone();
            let period = match period.as_deref() {
                None => digest::Period::last_complete(def.period, chrono::Utc::now(), def.timezone),
                Some("current") => {
                    digest::Period::containing(def.period, chrono::Utc::now(), def.timezone)
                }
                Some(p) => digest::Period::parse(def.period, p).map_err(anyhow::Error::msg)?,
            };
            let store = open_store(&cfg, &secrets).await?;
            let cfg = with_db_initiatives(cfg, &store, chrono::Utc::now()).await;
            if post {
                if secrets.bot_token.is_none() {
                    store.close().await;
                    anyhow::bail!("--post sends the digest to Slack: set SLACK_BOT_TOKEN (and SLACK_API_URL for the emulator)");
                }
                let bot =
                    crate::slack::Bot::connect(cfg, store, secrets, Arc::new(SystemClock)).await?;
                let run = crate::slack::digest::post_now(&bot, &def, period).await;
                bot.store.close().await;
                let run = run?;
                println!("{}", crate::digest::run_line(&run));
                return if run.status == "failed" {
                    Err(anyhow::anyhow!("some of the digest was not posted"))
                } else {
                    Ok(())
                };
            }
            // With a bot token, reps' names not yet cached are looked up
            // through users.info (and cached); without, the cache alone.
            let d = if secrets.bot_token.is_some() {
                let bot =
                    crate::slack::Bot::connect(cfg, store, secrets, Arc::new(SystemClock)).await?;
                let d = crate::slack::digest::build(&bot, &def, period).await;
                bot.store.close().await;
                d
            } else {
                let d = digest::gather(&store, &cfg, &def, period).await;
                store.close().await;
                d
            };
            let text = digest::render(&d?, format.format());
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("Wrote {} ({} for {}).", path.display(), def.name, period);
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        Command::Retag { dry_run } => {
            let cfg = load_config(&cli.config)?;
            let store = open_store(&cfg, &secrets).await?;
            let r = crate::features::retag::retag(&store, &cfg, dry_run).await;
            store.close().await;
            let r = r?;
            println!(
                "{} {} of {} insights ({} tags added, {} removed, {} sentiments changed).",
                if dry_run { "Would retag" } else { "Retagged" },
                r.changed,
                r.seen,
                r.added,
                r.removed,
                r.sentiment_changed
            );
            Ok(())
        }
        Command::Purge { user: Some(user) } => {
            let cfg = load_config(&cli.config)?;
            purge_user(&cfg, &secrets, &user).await
        }
        Command::Purge { user: None } => {
            let cfg = load_config(&cli.config)?;
            let store = open_store(&cfg, &secrets).await?;
            let now = chrono::Utc::now().timestamp_millis();
            let r = crate::jobs::retention_purge(&store, cfg.retention, now).await;
            if let Ok(p) = &r {
                crate::jobs::audit_retention(&store, &Actor::cli(), cfg.retention, *p, now).await;
            }
            store.close().await;
            let p = r?;
            println!(
                "Purged {} deleted notes, {} notes older than {} and {} old Slack event ids.",
                p.deleted_notes,
                p.old_notes,
                cfg.retention
                    .notes
                    .map(config::human_duration)
                    .unwrap_or_else(|| "retention.notes (unset)".into()),
                p.events
            );
            Ok(())
        }
        Command::Export {
            user: Some(user),
            out,
            ..
        } => {
            let cfg = load_config(&cli.config)?;
            export_user(&cfg, &secrets, &user, out).await
        }
        Command::Search {
            query,
            page,
            format,
        } => {
            let cfg = load_config(&cli.config)?;
            let store = open_store(&cfg, &secrets).await?;
            let query = query.join(" ");
            let now = chrono::Utc::now();
            // Initiatives added in Slack are filters too.
            let cfg = with_db_initiatives(cfg, &store, now).await;
            let found = crate::features::search::run(
                &store,
                &cfg,
                &crate::features::search::SearchRequest {
                    query: &query,
                    page: page.max(1) - 1,
                    searcher: None,
                },
                now,
            )
            .await;
            crate::audit::record(
                &store,
                now.timestamp_millis(),
                &Actor::cli(),
                "search",
                serde_json::json!({ "query": crate::text::truncate(&query, 200), "page": page }),
                &match &found {
                    Ok(r) => format!("ok: {} notes", r.hits.len()),
                    Err(e) => crate::text::truncate(&e.to_string(), 200),
                },
            )
            .await;
            store.close().await;
            let found = found.map_err(|e| match e {
                crate::features::search::SearchError::Failed(e) => e,
                other => anyhow::anyhow!("{other}"),
            })?;
            let mut out = std::io::stdout().lock();
            crate::export::write_search(&found, format, &mut out)
        }
        Command::Initiative(cmd) => {
            let cfg = load_config(&cli.config)?;
            let store = open_store(&cfg, &secrets).await?;
            let now = chrono::Utc::now();
            let r = initiative_cli(&store, &cfg, cmd, now).await;
            store.close().await;
            r
        }
        Command::Audit {
            since,
            format,
            limit,
        } => {
            let cfg = load_config(&cli.config)?;
            let since = crate::audit::parse_since(&since, chrono::Utc::now())?;
            let store = open_store(&cfg, &secrets).await?;
            let rows = store
                .audit_since(since.timestamp_millis(), limit.max(1))
                .await;
            store.close().await;
            let rows = rows?;
            match format {
                AuditFormat::Text => print!("{}", crate::audit::to_text(&rows)),
                AuditFormat::Json => println!("{}", crate::audit::to_json(&rows)),
            }
            Ok(())
        }
        Command::Export {
            format,
            out,
            user: None,
        } => {
            let cfg = load_config(&cli.config)?;
            let store = open_store(&cfg, &secrets).await?;
            let insights = store.insights(&InsightQuery::default()).await?;
            let written = write_export(&insights, format, out.as_deref());
            crate::audit::record(
                &store,
                chrono::Utc::now().timestamp_millis(),
                &Actor::cli(),
                "export",
                serde_json::json!({
                    "format": format!("{format:?}").to_lowercase(),
                    "out": out.as_ref().map(|p| p.display().to_string()),
                }),
                &match &written {
                    Ok(()) => format!("ok: {} notes", insights.len()),
                    Err(_) => "failed (the error was printed to the operator)".to_string(),
                },
            )
            .await;
            store.close().await;
            written
        }
    }
}

/// Writes the notes export to `out`, or stdout.
fn write_export(
    insights: &[crate::domain::Insight],
    format: ExportFormat,
    out: Option<&std::path::Path>,
) -> Result<()> {
    match out {
        Some(p) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            );
            export::write(insights, format, &mut f)?;
            f.flush()?;
            eprintln!("Wrote {} insights to {}.", insights.len(), p.display());
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            export::write(insights, format, &mut lock)?;
        }
    }
    Ok(())
}

fn check_user_id(user: &str) -> Result<()> {
    if !crate::privacy::valid_user_id(user) {
        anyhow::bail!("`{user}` is not a Slack user ID (U… or W…, letters and digits)");
    }
    Ok(())
}

/// `fieldnotes export --user`: one person's data as one JSON document.
async fn export_user(
    cfg: &Config,
    secrets: &Secrets,
    user: &str,
    out: Option<PathBuf>,
) -> Result<()> {
    check_user_id(user)?;
    let store = open_store(cfg, secrets).await?;
    let now = chrono::Utc::now();
    let doc = crate::privacy::export_user(&store, user, now).await;
    let written = doc.and_then(|doc| {
        let text = serde_json::to_string_pretty(&doc)?;
        let notes = doc["notes"].as_array().map_or(0, Vec::len);
        match &out {
            Some(p) => {
                std::fs::write(p, format!("{text}\n"))
                    .with_context(|| format!("writing {}", p.display()))?;
                eprintln!(
                    "Wrote everything held about {user} ({notes} notes) to {}.",
                    p.display()
                );
            }
            None => println!("{text}"),
        }
        Ok(notes)
    });
    crate::audit::record(
        &store,
        now.timestamp_millis(),
        &Actor::cli(),
        "export_user",
        serde_json::json!({
            "user": user,
            "out": out.as_ref().map(|p| p.display().to_string()),
        }),
        &match &written {
            Ok(n) => format!("ok: {n} notes"),
            Err(_) => "failed (the error was printed to the operator)".to_string(),
        },
    )
    .await;
    store.close().await;
    written.map(|_| ())
}

/// `fieldnotes purge --user`: erases one person in one transaction (its
/// audit row, which does not name them, commits with it).
async fn purge_user(cfg: &Config, secrets: &Secrets, user: &str) -> Result<()> {
    check_user_id(user)?;
    let store = open_store(cfg, secrets).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let actor = Actor::cli();
    let r = store
        .purge_user(user, |p| {
            crate::audit::entry(
                now,
                &actor,
                "purge_user",
                serde_json::json!({ "user": crate::store::ERASED }),
                &crate::privacy::purge_outcome(p),
            )
        })
        .await;
    if r.is_err() {
        crate::audit::record(
            &store,
            now,
            &actor,
            "purge_user",
            serde_json::json!({ "user": crate::store::ERASED }),
            "failed (nothing erased; the error was printed to the operator)",
        )
        .await;
    }
    store.close().await;
    let p = r?;
    print!("{}", crate::privacy::purge_report(user, &p));
    println!(
        "If {user} is still in a check-in's audience, the next run prompts them again: take them out of the audience (or Slack) first."
    );
    Ok(())
}

/// `--at`: RFC 3339, or `YYYY-MM-DD HH:MM` in the check-in's zone.
fn parse_at(
    cfg: &Config,
    name: &str,
    t: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>> {
    let at = if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        d.with_timezone(&chrono::Utc)
    } else {
        let local =
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M").with_context(|| {
                format!("`{t}` is not a time like 2026-12-01 15:00 or 2026-12-01T15:00:00-05:00")
            })?;
        let tz = match cfg.checkin(name).map(|c| c.zone) {
            Some(config::Zone::Fixed(tz)) => tz,
            _ => crate::tz::UTC,
        };
        crate::schedule::crontab::wall_clock_instant(tz, local)
            .with_context(|| format!("`{t}` does not exist in {tz}"))?
    };
    if at < now {
        anyhow::bail!("`{t}` has passed; leave --at out to send now");
    }
    Ok(at)
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// The `[[digest]]` named, or the first.
fn pick_digest<'a>(cfg: &'a Config, name: Option<&str>) -> Result<&'a crate::config::DigestDef> {
    match name {
        Some(n) => cfg.digests.iter().find(|d| d.name == n).with_context(|| {
            let names: Vec<&str> = cfg.digests.iter().map(|d| d.name.as_str()).collect();
            format!(
                "no digest named `{n}` in {} (digests: {})",
                cfg.path.display(),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        }),
        None => cfg
            .digests
            .first()
            .with_context(|| format!("{} has no `[[digest]]` entry", cfg.path.display())),
    }
}

/// `fieldnotes initiative list|report`: the file's initiatives are synced
/// in first, so a debrief works before the bot has ever run.
async fn initiative_cli(
    store: &crate::store::Store,
    cfg: &Config,
    cmd: InitiativeCommand,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    use crate::digest::debrief::{gather, render};
    let today = now.with_timezone(&cfg.timezone).date_naive();
    let list = store
        .initiatives_for(&cfg.initiative_defs, now.timestamp_millis())
        .await?;
    match cmd {
        InitiativeCommand::List => {
            if list.is_empty() {
                println!(
                    "No initiatives: add [[initiative]] to {} or use `/fieldnotes initiative add`.",
                    cfg.path.display()
                );
            }
            for i in &list {
                let n = store.initiative_ratings(&i.id).await?.len();
                let status = i.status(today);
                println!(
                    "{}\t{}\t{}\t{status}\t{}..{}\t{n} ratings",
                    i.id,
                    i.name,
                    i.kind.as_str(),
                    i.start,
                    i.end.map(|e| e.to_string()).unwrap_or_default()
                );
            }
            Ok(())
        }
        InitiativeCommand::Report { id, format, out } => {
            let Some(i) = list.iter().find(|i| i.id == id) else {
                let ids: Vec<&str> = list.iter().map(|i| i.id.as_str()).collect();
                anyhow::bail!(
                    "no initiative `{id}` (there is: {})",
                    if ids.is_empty() {
                        "none".to_string()
                    } else {
                        ids.join(", ")
                    }
                );
            };
            let (d, _) = gather(store, cfg, i, today, None, i64::MAX).await?;
            let body = match format {
                ReportFormat::Markdown => render::markdown(&d),
                ReportFormat::Json => render::json(&d) + "\n",
                ReportFormat::Html => render::html(&d),
            };
            crate::audit::record(
                store,
                now.timestamp_millis(),
                &Actor::cli(),
                "initiative_report",
                serde_json::json!({"id": id, "format": format!("{format:?}").to_lowercase()}),
                "ok",
            )
            .await;
            match out {
                Some(p) => {
                    std::fs::write(&p, body).with_context(|| format!("writing {}", p.display()))
                }
                None => {
                    print!("{body}");
                    Ok(())
                }
            }
        }
    }
}

/// `cfg` with the database's initiatives (the file's synced in first, and
/// those added in Slack), as the running bot sees them: what the CLI's
/// check-in runs, digests and searches use. Unchanged if the database
/// can't say.
async fn with_db_initiatives(
    cfg: Config,
    store: &crate::store::Store,
    now: chrono::DateTime<chrono::Utc>,
) -> Config {
    match store
        .initiatives_for(&cfg.initiative_defs, now.timestamp_millis())
        .await
    {
        Ok(list) => {
            let today = now.with_timezone(&cfg.timezone).date_naive();
            cfg.with_initiatives(list, today)
        }
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "reading initiatives failed");
            cfg
        }
    }
}
