//! `fieldnotes demo`: the real bot, over Socket Mode, against the in-process
//! Slack emulator, on a fresh SQLite file, with an injected clock that runs
//! four weeks of check-ins in seconds. Scripted reps click the prompt's
//! button, fill the modal and submit, or send `/fieldnotes note`, just as a
//! person would in Slack. Ends by writing the last weekly digest.

pub mod script;

use crate::app::{AppOptions, Application};
use crate::clock::{ManualClock, SharedClock};
use crate::config::{Config, Initiative, InitiativeKind, Secrets};
use crate::digest::{self, IsoWeek};
use crate::jobs::Jobs;
use crate::slack::views::{OPEN_FORM_ACTION, QUESTION_PREFIX, TAGS_BLOCK};
use crate::tz::Tz;
use anyhow::{Context, Result};
use chrono::{DateTime, Duration as CDuration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde_json::Value;
use slack_emulator::{Emulator, EmulatorConfig, FieldAnswer, User};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Folder for the demo database and the digest.
    #[arg(long, default_value = "demo-out")]
    pub out: PathBuf,
    /// Weeks to simulate.
    #[arg(long, default_value_t = 4)]
    pub weeks: u32,
    /// Scripted salespeople.
    #[arg(long, default_value_t = 24)]
    pub reps: usize,
    /// Random seed for the reps' behaviour.
    #[arg(long, default_value_t = 48)]
    pub seed: u64,
}

/// What the demo did.
/// Time compression of the demo's Slack limits (see `run`).
pub const DEMO_RATE_SCALE: f64 = 20.0;

#[derive(Debug, Clone)]
pub struct DemoReport {
    pub digest_path: PathBuf,
    /// The same digest as a self-contained HTML report.
    pub html_path: PathBuf,
    pub week: String,
    pub prompts_sent: usize,
    /// Reminders to reps who had not answered yet.
    pub reminders_sent: usize,
    /// Prompts not sent because the rep shared a note before their local
    /// send time.
    pub answered_early: usize,
    pub modal_answers: usize,
    /// Prompts answered with a plain reply in the DM.
    pub reply_answers: usize,
    pub quick_notes: usize,
    /// Messages saved with the "Save as field insight" shortcut.
    pub shortcut_notes: usize,
    pub insights: usize,
    /// How the scheduled post of the last week's digest ended (`done`).
    pub digest_status: String,
    /// Top-level digest messages in the marketing channel.
    pub digest_messages: usize,
    /// What the scripted marketer did on the digest (acted on, thanked,
    /// asked about a note), and follow-ups the reps answered.
    pub loop_actions: usize,
    pub follow_ups: usize,
    /// Final debriefs of initiatives posted to the digest's channels.
    pub debriefs: usize,
    /// Items the last week's digest reads as rising, and as new.
    pub rising: usize,
    pub new: usize,
}

/// A rep's answer, due at a simulated time.
struct PendingAnswer {
    due: DateTime<Utc>,
    rep: usize,
    channel: String,
    ts: String,
}

const STEP_MINUTES: i64 = 30;
/// Ticks per simulated step at most (one usually suffices; a burst of
/// prompts takes a few paced batches).
const MAX_TICKS: usize = 10_000;

pub async fn run(config_path: &Path, args: DemoArgs) -> Result<DemoReport> {
    let wall = Instant::now();
    let mut cfg = Config::load(config_path).map_err(|e| anyhow::anyhow!("invalid config:\n{e}"))?;
    anyhow::ensure!(
        args.reps >= 1 && args.weeks >= 1,
        "--reps and --weeks must be at least 1"
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let db = args.out.join("fieldnotes-demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    cfg.sqlite_path = db.clone();

    // The workspace: reps in several timezones, plus a bot and a deactivated
    // account in the sales channel that must never be prompted.
    let mut rng = StdRng::seed_from_u64(args.seed);
    let reps = script::roster(args.reps, &mut rng);
    // Four weeks run in seconds, so Slack's per-minute limits are scaled by
    // the same factor on both sides: the emulator enforces Slack's limits
    // ×DEMO_RATE_SCALE and the bot paces itself to exactly that.
    let emu = Emulator::start(EmulatorConfig {
        rate_limits: slack_emulator::RateLimits::scaled(DEMO_RATE_SCALE),
        ..EmulatorConfig::default()
    })
    .await?;
    for r in &reps {
        emu.add_user(User::new(&r.id, &r.name, r.tz));
    }
    let mut other_bot = User::new("U0OTHERBOT", "standup.bot", "UTC");
    other_bot.is_bot = true;
    emu.add_user(other_bot);
    let mut gone = User::new("U0LEFTCO01", "former.rep", "America/New_York");
    gone.deleted = true;
    emu.add_user(gone);
    for id in cfg.roles.marketers.iter().chain(&cfg.roles.leads) {
        emu.add_user(User::new(
            id,
            &format!("marketing.{}", id.to_lowercase()),
            "America/New_York",
        ));
    }
    let mut members: Vec<&str> = reps.iter().map(|r| r.id.as_str()).collect();
    members.extend(["U0OTHERBOT", "U0LEFTCO01"]);
    let channels: HashSet<&String> = cfg
        .checkins
        .iter()
        .flat_map(|c| c.audience.channels.iter())
        .collect();
    for ch in channels {
        emu.add_channel(ch, "sales-team", &members);
    }
    // Each digest's channels, with the bot in them (Slack shares the
    // digest's chart only where the bot is a member) and the marketers.
    for d in &cfg.digests {
        for ch in &d.channels {
            let mut people: Vec<&str> = vec![emu.config().bot_user_id.as_str()];
            people.extend(cfg.roles.marketers.iter().map(String::as_str));
            emu.add_channel(ch, "marketing", &people);
        }
        for u in &d.users {
            if !emu.users().iter().any(|x| &x.id == u) {
                emu.add_user(User::new(
                    u,
                    &format!("user.{}", u.to_lowercase()),
                    "America/New_York",
                ));
            }
        }
    }
    // Explicitly listed users must exist too.
    for c in &cfg.checkins {
        for u in &c.audience.users {
            if !emu.users().iter().any(|x| &x.id == u) {
                emu.add_user(User::new(
                    u,
                    &format!("user.{}", u.to_lowercase()),
                    "America/New_York",
                ));
            }
        }
    }

    // Simulated time: from Monday 00:00 `weeks` weeks before this week.
    let tz: Tz = cfg.timezone;
    let this_week = IsoWeek::containing(Utc::now(), tz);
    let mut first = this_week;
    for _ in 0..args.weeks {
        first = first.previous();
    }
    let midnight = |w: IsoWeek| {
        tz.from_local_datetime(&w.monday().and_hms_opt(0, 0, 0).expect("midnight"))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .context("week start")
    };
    let start = midnight(first)?;
    let end = midnight(this_week)?;
    let clock = ManualClock::new(start);
    let shared: SharedClock = Arc::new(clock.clone());

    // An initiative runs across the simulated weeks: the check-ins ask
    // about it in turn, notes that name it are linked, and it ends with
    // the last week, so its final debrief goes out with the last digest.
    if cfg.initiative(DEMO_INITIATIVE).is_none() {
        cfg.initiative_defs.push(Initiative {
            id: DEMO_INITIATIVE.into(),
            name: "ROI calculator".into(),
            kind: InitiativeKind::Asset,
            start: first.monday(),
            end: Some(this_week.monday() - CDuration::days(1)),
            checkins: cfg.checkins.iter().map(|c| c.name.clone()).collect(),
            keywords: vec!["roi calculator".into(), "roi calc".into()],
            from_config: true,
            ended_at: None,
        });
        cfg = cfg.with_initiatives(cfg.initiative_defs.clone(), first.monday());
    }
    let secrets = Secrets {
        bot_token: Some(SecretString::from(emu.config().bot_token.clone())),
        app_token: Some(SecretString::from(emu.config().app_token.clone())),
        signing_secrets: vec![],
        database_url: None,
        slack_api_url: emu.api_url(),
    };
    let app = Application::build(AppOptions {
        config: cfg.clone(),
        secrets,
        clock: shared,
        http: None,
        run_jobs: false,
        watch_config: false,
    })
    .await?;
    emu.wait_for_socket_connection(Duration::from_secs(10))
        .await?;
    let state = app.state().clone();
    state.slack.limits().set_scale(DEMO_RATE_SCALE);
    let jobs = Jobs::new(&state);

    println!(
        "Simulating {} weeks ({} to {}) for {} reps in {} timezones against the Slack emulator at {}",
        args.weeks,
        start.with_timezone(&tz).format("%a %Y-%m-%d"),
        (end - CDuration::milliseconds(1)).with_timezone(&tz).format("%a %Y-%m-%d"),
        reps.len(),
        reps.iter().map(|r| r.tz).collect::<HashSet<_>>().len(),
        emu.api_url()
    );

    let mut seen_messages = 0usize;
    let mut pending: Vec<PendingAnswer> = Vec::new();
    let (mut prompts_sent, mut modal_answers, mut quick_notes) = (0usize, 0usize, 0usize);
    let (mut reply_answers, mut shortcut_notes) = (0usize, 0usize);
    let mut reminders_sent = 0usize;
    let mut loops = LoopsClosed::default();
    let mut t = start;
    while t <= end {
        clock.set(t);
        // The real loop's step, until nothing due by now is left: a failed
        // step is logged and tried again on the next, never the end of the run.
        jobs.run_until_idle(&state, MAX_TICKS).await;

        // In the last week, a marketer answers last week's digest: acts on
        // one quote, thanks another rep, asks a third a follow-up, which
        // the rep answers in the relay's thread.
        let last_week = (end - t).num_days() < 7;
        if last_week && loops.actions == 0 {
            match close_loops(&emu, &cfg, &state, &jobs, &reps).await {
                Ok(l) => loops = l,
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "the scripted marketer failed"),
            }
        }

        // New prompts in reps' DMs: decide who answers, and when.
        let msgs = emu.messages();
        for m in &msgs[seen_messages..] {
            if m.bot_id.is_none() || !m.blocks.to_string().contains(OPEN_FORM_ACTION) {
                continue;
            }
            if m.text.contains(" reminder: ") {
                // Reps already decided when they saw the prompt.
                reminders_sent += 1;
                continue;
            }
            prompts_sent += 1;
            let Some(rep) = reps
                .iter()
                .position(|r| emu.dm_channel(&r.id).as_deref() == Some(m.channel.as_str()))
            else {
                continue;
            };
            if rng.random_bool(reps[rep].diligence) {
                let delay = CDuration::minutes(rng.random_range(5..(26 * 60)));
                pending.push(PendingAnswer {
                    due: t + delay,
                    rep,
                    channel: m.channel.clone(),
                    ts: m.ts.clone(),
                });
            }
        }
        seen_messages = msgs.len();

        // Weeks left after this one: the script's reps change their tune
        // in the last.
        let left = args
            .weeks
            .saturating_sub(1 + ((t - start).num_days() / 7) as u32);
        let (due, later): (Vec<_>, Vec<_>) = pending.into_iter().partition(|p| p.due <= t);
        pending = later;
        for p in due {
            // A person can fumble a form too (on a loaded machine the 3 s
            // trigger_id can expire): that answer is lost, the demo goes on.
            // Some reps just reply in the DM (or the prompt's thread).
            if rng.random_bool(0.3) {
                let text = script::heard(&mut rng, left);
                let thread = rng.random_bool(0.5).then_some(p.ts.as_str());
                match emu
                    .user_message(&reps[p.rep].id, &p.channel, &text, thread)
                    .await
                {
                    Ok(_) => reply_answers += 1,
                    Err(e) => tracing::warn!(error = %format!("{e:#}"), "a scripted reply failed"),
                }
                continue;
            }
            match answer_prompt(&emu, &cfg, &reps[p.rep], &p.channel, &p.ts, left, &mut rng).await {
                Ok(()) => modal_answers += 1,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), rep = %reps[p.rep].id, "a scripted answer failed")
                }
            }
        }

        // Now and then a rep saves a note between check-ins, in work hours.
        for (i, r) in reps.iter().enumerate() {
            let local = t.with_timezone(&r.tz.parse::<Tz>().expect("roster timezone"));
            let hour = local.format("%H").to_string().parse::<u32>().unwrap_or(0);
            let workday = !matches!(local.format("%a").to_string().as_str(), "Sat" | "Sun");
            let per_step = r.chattiness / (8.0 * 60.0 / STEP_MINUTES as f64);
            if workday && (9..17).contains(&hour) && rng.random_bool(per_step) {
                let text = script::quick_note(&mut rng, left);
                emu.slash_command(
                    &reps[i].id,
                    "/fieldnotes",
                    &format!("note {text}"),
                    "C0SALESTEAM",
                )
                .await?;
                quick_notes += 1;
            }
            // ...or posts what they heard in the team channel, and a
            // teammate saves it with the message shortcut.
            if workday && (9..17).contains(&hour) && rng.random_bool(per_step / 3.0) {
                let text = script::heard(&mut rng, left);
                emu.user_message(&r.id, "C0SALESTEAM", &text, None).await?;
                let saver = &reps[(i + 1) % reps.len()].id;
                let ts = emu
                    .messages_in("C0SALESTEAM")
                    .last()
                    .map(|m| m.ts.clone())
                    .unwrap_or_default();
                match emu
                    .message_shortcut(
                        saver,
                        crate::slack::notes::SAVE_MESSAGE_SHORTCUT,
                        "C0SALESTEAM",
                        &ts,
                    )
                    .await
                {
                    Ok(_) => {
                        shortcut_notes += 1;
                        // The note is saved; the pre-filled form is closed unchanged.
                        if let Some(v) = emu.open_modal_for(saver) {
                            emu.close_view(saver, &v.id).await.ok();
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "a scripted shortcut failed")
                    }
                }
            }
        }
        // Replies delivered this step are handled at this step's time.
        jobs.run_until_idle(&state, MAX_TICKS).await;
        t += CDuration::minutes(STEP_MINUTES);
    }
    // Let the follow-ups after each ack ("thanks" updates, confirmations)
    // land before reading the results.
    state.background.idle().await;

    // The digest goes out on its cadence (Monday 09:00 for the shipped
    // config): run the clock on to the first send after the simulated
    // weeks, so the last week's digest is posted to its channel the way a
    // deployed bot would post it.
    let def = cfg
        .digests
        .first()
        .context("the demo needs a [[digest]] in the config")?
        .clone();
    let last =
        digest::Period::containing(def.period, end - CDuration::milliseconds(1), def.timezone);
    if let Some(next) = def.cadence.next_after(def.timezone, end) {
        clock.set(next.at + CDuration::minutes(1));
        jobs.run_until_idle(&state, MAX_TICKS).await;
    }
    let run = state.store.digest_run(&def.name, &last.to_string()).await?;
    let d = crate::digest::gather(&state.store, &cfg, &def, last).await?;
    let digest_path = args.out.join(format!("digest-{last}.md"));
    std::fs::write(&digest_path, digest::to_markdown(&d))
        .with_context(|| format!("writing {}", digest_path.display()))?;
    let html_path = args.out.join(format!("digest-{last}.html"));
    std::fs::write(&html_path, digest::render(&d, digest::Format::Html))
        .with_context(|| format!("writing {}", html_path.display()))?;
    let insights = state.store.insights(&Default::default()).await?.len();
    let debriefs: Vec<String> = def
        .channels
        .iter()
        .flat_map(|c| emu.messages_in(c))
        .filter(|m| m.text.starts_with("Final debrief: "))
        .map(|m| m.text.clone())
        .collect();
    let answered_early = state
        .store
        .prompt_status_summary()
        .await?
        .iter()
        .filter(|(status, _, _)| status == "skipped")
        .map(|(_, n, _)| *n as usize)
        .sum();

    println!("\nperiod    prompts  answered  notes  reps");
    for p in last
        .baseline(args.weeks.saturating_sub(1))
        .into_iter()
        .chain([last])
    {
        let dw = crate::digest::gather(&state.store, &cfg, &def, p).await?;
        let pa = &dw.participation;
        println!(
            "{:<9} {:>7}  {:>8}  {:>5}  {:>4}",
            dw.period.key,
            pa.prompts_sent.now,
            pa.prompts_answered.now,
            pa.notes.now,
            pa.reps_sharing.now
        );
    }
    let posted: Vec<String> = def.recipients().map(|r| r.to_string()).collect();
    let digest_messages = posted
        .iter()
        .map(|c| {
            emu.messages_in(c)
                .iter()
                .filter(|m| m.thread_ts.is_none())
                .count()
        })
        .sum();
    let count = |dir: digest::Direction| d.trends.iter().filter(|t| t.direction == dir).count();
    let trends: Vec<String> = d
        .trends
        .iter()
        .map(|t| {
            format!(
                "{} {} ({})",
                digest::render::direction_word(t.direction),
                t.label,
                t.summary
            )
        })
        .collect();
    println!(
        "\n{prompts_sent} prompts and {reminders_sent} reminders sent, {modal_answers} answered through the form and {reply_answers} by a DM reply, {quick_notes} quick notes by /fieldnotes, {shortcut_notes} messages saved by shortcut; {insights} insights stored in {}.",
        db.display()
    );
    println!(
        "Slack emulator: {} Web API calls, {} answered 429.",
        emu.calls().len(),
        emu.rate_limited_count()
    );
    println!(
        "Digest {} for {}: {} to {} in the emulator; what changed: {}.",
        def.name,
        last,
        run.as_ref()
            .map(crate::digest::run_line)
            .unwrap_or_else(|| "not run".into()),
        posted.join(", "),
        if trends.is_empty() {
            "nothing beyond chance".to_string()
        } else {
            trends.join("; ")
        }
    );
    println!(
        "Closing the loop: the marketer acted on, thanked and asked about {} notes; {} follow-up answered by the rep.",
        loops.actions, loops.follow_ups
    );
    for d in &debriefs {
        println!("{d}");
    }
    println!("Wrote the digest to {}", digest_path.display());
    println!("Wrote the HTML report to {}", html_path.display());
    println!("Done in {:.1}s.", wall.elapsed().as_secs_f64());
    app.shutdown().await;
    // Real Slack is strict: an argument its reference doesn't list for a
    // method is a bug in the bot, so the demo fails on it.
    let unexpected = emu.unexpected_args();
    emu.shutdown();
    if !unexpected.is_empty() {
        anyhow::bail!(
            "the bot sent Web API arguments Slack's reference does not list: {unexpected:?}"
        );
    }
    Ok(DemoReport {
        digest_path,
        html_path,
        week: last.to_string(),
        prompts_sent,
        reminders_sent,
        answered_early,
        modal_answers,
        reply_answers,
        quick_notes,
        shortcut_notes,
        insights,
        digest_status: run.map(|r| r.status).unwrap_or_else(|| "not run".into()),
        digest_messages,
        loop_actions: loops.actions,
        follow_ups: loops.follow_ups,
        debriefs: debriefs.len(),
        rising: count(digest::Direction::Rising),
        new: count(digest::Direction::New),
    })
}

/// The demo's initiative.
pub const DEMO_INITIATIVE: &str = "roi-calc";

/// What the scripted marketer did.
#[derive(Debug, Clone, Copy, Default)]
struct LoopsClosed {
    actions: usize,
    follow_ups: usize,
}

/// The scripted marketer on the digest in its channel: **Acting on it**
/// (with what marketing will do), **Thanks** and **Ask a follow-up**, each
/// on a quote of a different rep of the roster; then that rep answers the
/// question in the relay DM's thread.
async fn close_loops(
    emu: &Emulator,
    cfg: &Config,
    state: &Arc<crate::slack::Bot>,
    jobs: &Jobs,
    reps: &[script::Rep],
) -> Result<LoopsClosed> {
    use crate::digest::render::blocks::{LOOP_ACTING, LOOP_ASK, LOOP_THANKS};
    let mut out = LoopsClosed::default();
    let (Some(marketer), Some(channel)) = (
        cfg.roles.marketers.first(),
        cfg.digests.first().and_then(|d| d.channels.first()),
    ) else {
        return Ok(out);
    };
    // Single-note buttons, by message, whose note is a roster rep's.
    let mut used_reps: HashSet<String> = HashSet::new();
    let mut asked: Option<String> = None;
    for action in [LOOP_ACTING, LOOP_THANKS, LOOP_ASK] {
        let mut found = None;
        'msgs: for m in emu.messages_in(channel) {
            for b in m.blocks.as_array().into_iter().flatten() {
                for e in b["elements"].as_array().into_iter().flatten() {
                    let Some(v) = e["value"].as_str().filter(|_| e["action_id"] == action) else {
                        continue;
                    };
                    let Some(id) = v
                        .split_once('|')
                        .and_then(|(_, ids)| ids.parse::<i64>().ok())
                    else {
                        continue;
                    };
                    let Some(n) = state.store.insight(id).await? else {
                        continue;
                    };
                    if reps.iter().any(|r| r.id == n.user_id) && !used_reps.contains(&n.user_id) {
                        found = Some((m.ts.clone(), v.to_string(), n.user_id));
                        break 'msgs;
                    }
                }
            }
        }
        let Some((ts, value, rep)) = found else {
            continue;
        };
        emu.click_button_valued(marketer, channel, &ts, action, &value)
            .await?;
        let text = match action {
            LOOP_ACTING => Some(script::MARKETER_ACTING),
            LOOP_ASK => Some(script::MARKETER_ASK),
            _ => None,
        };
        if let (Some(text), Some(modal)) = (text, emu.open_modal_for(marketer)) {
            let values = emu.fill_modal_values(
                &modal.view,
                &HashMap::from([("loop_text".to_string(), FieldAnswer::Text(text.into()))]),
            );
            emu.submit_view(marketer, &modal.id, values).await?;
        }
        if action == LOOP_ASK {
            asked = Some(rep.clone());
        }
        used_reps.insert(rep);
        out.actions += 1;
    }
    jobs.run_until_idle(state, MAX_TICKS).await;
    if let Some(rep) = asked {
        let dm = emu.dm_channel(&rep).context("the rep's DM")?;
        let relay = emu
            .messages_in(&dm)
            .into_iter()
            .rfind(|m| {
                m.thread_ts.is_none()
                    && m.blocks
                        .to_string()
                        .contains(crate::features::loops::REPLY_FORM)
            })
            .context("the relayed question")?;
        emu.user_message(&rep, &dm, script::REP_FOLLOW_UP, Some(&relay.ts))
            .await?;
        jobs.run_until_idle(state, MAX_TICKS).await;
        out.follow_ups += 1;
    }
    Ok(out)
}

/// Clicks "Add field notes", fills the modal like this rep would, submits.
async fn answer_prompt(
    emu: &Emulator,
    cfg: &Config,
    rep: &script::Rep,
    channel: &str,
    ts: &str,
    left: u32,
    rng: &mut StdRng,
) -> Result<()> {
    emu.click_button(&rep.id, channel, ts, OPEN_FORM_ACTION)
        .await?;
    let view = emu
        .open_modal_for(&rep.id)
        .context("the bot did not open the note modal")?;
    let mut answers: HashMap<String, FieldAnswer> = HashMap::new();
    for block in view.view["blocks"].as_array().into_iter().flatten() {
        let Some(id) = block["block_id"].as_str() else {
            continue;
        };
        if let Some(q) = id.strip_prefix(QUESTION_PREFIX) {
            // The initiative's question: rated by most who see it, with a
            // reason now and then.
            if let Some(rest) = q.strip_prefix("initiative:") {
                if let Some(base) = rest.strip_suffix(":why") {
                    let rated = answers.get(&format!("{QUESTION_PREFIX}initiative:{base}"));
                    if let Some(FieldAnswer::Select(r)) = rated {
                        if rng.random_bool(0.7) {
                            let why = script::initiative_why(rng, r);
                            answers.insert(id.to_string(), FieldAnswer::Text(why));
                        }
                    }
                } else if rng.random_bool(0.9) {
                    let r = script::initiative_rating(rng, left);
                    answers.insert(id.to_string(), FieldAnswer::Select(r.into()));
                }
                continue;
            }
            let optional = block["optional"].as_bool().unwrap_or(false);
            if optional && !rng.random_bool(rep.thoroughness) {
                continue;
            }
            // An asset's verdict and reason only follow an asset picked.
            if let Some((base, _)) = q.split_once(':') {
                if !answers.contains_key(&format!("{QUESTION_PREFIX}{base}")) {
                    continue;
                }
            }
            let el = &block["element"];
            let options: Vec<String> = el["options"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o["value"].as_str().map(String::from))
                .collect();
            let answer = match el["type"].as_str().unwrap_or_default() {
                "plain_text_input" => FieldAnswer::Text(match q {
                    "stalled" => script::stalled(rng, left),
                    "assets" => script::assets(rng, left),
                    q if q.ends_with(":why") => script::assets(rng, left),
                    _ => script::heard(rng, left),
                }),
                // A rating leans on how the rep feels about this week's leads.
                "radio_buttons" | "static_select" if !options.is_empty() => {
                    FieldAnswer::Select(options[rng.random_range(0..options.len())].clone())
                }
                "multi_static_select" if !options.is_empty() => {
                    let n = rng.random_range(1..=2.min(options.len()));
                    let start = rng.random_range(0..options.len());
                    FieldAnswer::Multi(
                        (0..n)
                            .map(|k| options[(start + k) % options.len()].clone())
                            .collect(),
                    )
                }
                _ => continue,
            };
            answers.insert(id.to_string(), answer);
        } else if id == TAGS_BLOCK && rng.random_bool(0.6) {
            // Reps pick a tag or two that fit what they wrote.
            let written: String = answers
                .values()
                .filter_map(|a| match a {
                    FieldAnswer::Text(t) => Some(t.to_lowercase()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(" ");
            let picks: Vec<String> = cfg
                .tags
                .iter()
                .filter(|t| t.keywords.iter().any(|k| written.contains(k.as_str())))
                .take(2)
                .map(|t| t.id.clone())
                .collect();
            if !picks.is_empty() {
                answers.insert(id.to_string(), FieldAnswer::Multi(picks));
            }
        }
    }
    let values = emu.fill_modal_values(&view.view, &answers);
    let d = emu.submit_view(&rep.id, &view.id, values).await?;
    if let Some(Value::Object(r)) = &d.response {
        if r.get("response_action").and_then(Value::as_str) == Some("errors") {
            anyhow::bail!("the bot refused {}'s note: {:?}", rep.name, r.get("errors"));
        }
    }
    Ok(())
}
