//! Test fixtures: the bot's TOML config built from named bases plus builder
//! methods (`ConfigFixture::shared().bot("lease", "\"4s\"").toml()`), and
//! the Slack workspace every in-process test app starts with.

use slack_emulator::{Emulator, User};

/// One `[[tag]]`.
#[derive(Clone, Debug)]
pub struct Tag {
    id: String,
    label: String,
    category: Option<String>,
    keywords: Vec<String>,
    aliases: Vec<String>,
}

/// A tag with this id and label and nothing else yet.
pub fn tag(id: &str, label: &str) -> Tag {
    Tag {
        id: id.into(),
        label: label.into(),
        category: None,
        keywords: vec![],
        aliases: vec![],
    }
}

impl Tag {
    pub fn category(mut self, c: &str) -> Self {
        self.category = Some(c.into());
        self
    }

    pub fn keywords(mut self, k: &[&str]) -> Self {
        self.keywords = strings(k);
        self
    }

    pub fn aliases(mut self, a: &[&str]) -> Self {
        self.aliases = strings(a);
        self
    }

    fn render(&self, out: &mut String) {
        out.push_str(&format!(
            "\n[[tag]]\nid = {}\nlabel = {}\n",
            quote(&self.id),
            quote(&self.label)
        ));
        if let Some(c) = &self.category {
            out.push_str(&format!("category = {}\n", quote(c)));
        }
        if !self.keywords.is_empty() {
            out.push_str(&format!("keywords = {}\n", list(&self.keywords)));
        }
        if !self.aliases.is_empty() {
            out.push_str(&format!("aliases = {}\n", list(&self.aliases)));
        }
    }
}

/// The one `[[checkin]]` a fixture has (every test config has one,
/// named `pulse`).
#[derive(Clone, Debug)]
pub struct CheckinFixture {
    cadence: String,
    window: Option<String>,
    catch_up: Option<String>,
    reminders: Vec<String>,
    prompt: String,
    /// The inline table, as TOML.
    audience: String,
    ask: Option<u32>,
    /// Each question's inline table, as TOML.
    questions: Vec<String>,
}

impl CheckinFixture {
    fn render(&self, out: &mut String) {
        out.push_str(&format!(
            "\n[[checkin]]\nname = \"pulse\"\ncadence = {}\ntimezone = \"America/New_York\"\n",
            quote(&self.cadence)
        ));
        if let Some(w) = &self.window {
            out.push_str(&format!("window = {}\n", quote(w)));
        }
        if let Some(c) = &self.catch_up {
            out.push_str(&format!("catch_up = {}\n", quote(c)));
        }
        if !self.reminders.is_empty() {
            out.push_str(&format!("reminders = {}\n", list(&self.reminders)));
        }
        out.push_str(&format!(
            "prompt = {}\naudience = {}\n",
            quote(&self.prompt),
            self.audience
        ));
        if let Some(k) = self.ask {
            out.push_str(&format!("ask = {k}\n"));
        }
        if let [one] = &self.questions[..] {
            out.push_str(&format!("questions = [{one}]\n"));
        } else {
            out.push_str("questions = [\n");
            for q in &self.questions {
                out.push_str(&format!("  {q},\n"));
            }
            out.push_str("]\n");
        }
    }
}

/// A config file's text, from a named base and changes to it.
#[derive(Clone, Debug)]
pub struct ConfigFixture {
    /// `[bot]` keys with their values as TOML, in order.
    bot: Vec<(String, String)>,
    admins: Option<Vec<String>>,
    marketers: Option<Vec<String>>,
    leads: Option<Vec<String>>,
    tags: Vec<Tag>,
    checkin: CheckinFixture,
    retention_notes: Option<String>,
}

/// The question most fixtures ask.
pub const HEARD: &str = r#"{ id = "heard", label = "What did a buyer say?" }"#;
/// The shared base's second question, which tags what it hears.
pub const STALLED: &str = r#"{ id = "stalled", label = "Where is a deal stalling?", required = false, tags = ["stage:negotiation"] }"#;
/// The shared base's audience: the sales channel and one more rep, minus
/// one excluded rep.
pub const SALES_AUDIENCE: &str =
    r#"{ channels = ["C0SALES01"], users = ["U0REPXTRA"], exclude = ["U0REPSKIP"] }"#;

impl ConfigFixture {
    /// The shared base most in-process tests run on: a 100 ms tick, one
    /// marketer, three tags (a competitor, an objection, a funnel stage)
    /// and `pulse` on Fridays at 16:00 New York for [`SALES_AUDIENCE`],
    /// asking [`HEARD`] and [`STALLED`].
    pub fn shared() -> Self {
        ConfigFixture {
            bot: vec![("tick".into(), "\"100ms\"".into())],
            admins: None,
            marketers: Some(strings(&["U0MKT0001"])),
            leads: None,
            tags: vec![
                tag("competitor:acme", "Competitor: Acme")
                    .category("competitor")
                    .keywords(&["acme"]),
                tag("objection:price", "Objection: price")
                    .category("objection")
                    .keywords(&["too expensive", "pricing"]),
                tag("stage:negotiation", "Funnel: negotiation").keywords(&["procurement"]),
            ],
            checkin: CheckinFixture {
                cadence: "0 16 * * FRI".into(),
                window: None,
                catch_up: None,
                reminders: vec![],
                prompt: "What did you hear from buyers this week?".into(),
                audience: SALES_AUDIENCE.into(),
                ask: None,
                questions: vec![HEARD.into(), STALLED.into()],
            },
            retention_notes: None,
        }
    }

    /// The check-in tests' base: the shared one with a lead too, only the
    /// Acme tag (no category), and `pulse` open for 3 h with reminders
    /// after 1 h and 2 h, asking [`HEARD`] only.
    pub fn checkins() -> Self {
        let mut c = Self::shared()
            .leads(&["U0LEAD001"])
            .window("3h")
            .reminders(&["1h", "2h"])
            .questions(&[HEARD]);
        c.tags = vec![tag("competitor:acme", "Competitor: Acme").keywords(&["acme"])];
        c
    }

    /// The real-process tests' base: a one-off check-in (its cadence is
    /// 03:00 on 1 January) for everyone in `C0FANOUT`, posting at most
    /// `rate_per_min`, with leases of `lease`; no roles and no tags.
    pub fn fanout(rate_per_min: u32, lease: &str) -> Self {
        ConfigFixture {
            bot: vec![
                ("tick".into(), "\"100ms\"".into()),
                ("lease".into(), quote(lease)),
                (
                    "workspace_messages_per_minute".into(),
                    rate_per_min.to_string(),
                ),
            ],
            admins: None,
            marketers: None,
            leads: None,
            tags: vec![],
            checkin: CheckinFixture {
                cadence: "0 3 1 1 *".into(),
                window: None,
                catch_up: None,
                reminders: vec![],
                prompt: "What did you hear from buyers this week?".into(),
                audience: r#"{ channels = ["C0FANOUT"] }"#.into(),
                ask: None,
                questions: vec![HEARD.into()],
            },
            retention_notes: None,
        }
    }

    /// Sets a `[bot]` key (`value` as TOML: `"\"4s\""`, `"6000"`), in
    /// place if it is there already.
    pub fn bot(mut self, key: &str, value: &str) -> Self {
        match self.bot.iter_mut().find(|(k, _)| k == key) {
            Some(kv) => kv.1 = value.into(),
            None => self.bot.push((key.into(), value.into())),
        }
        self
    }

    /// A workspace that allows 6,000 messages a minute: every stored
    /// reply gets a confirmation, and a burst of them stays short.
    pub fn fast_confirmations(self) -> Self {
        self.bot("workspace_messages_per_minute", "6000")
    }

    pub fn admins(mut self, ids: &[&str]) -> Self {
        self.admins = Some(strings(ids));
        self
    }

    pub fn marketers(mut self, ids: &[&str]) -> Self {
        self.marketers = Some(strings(ids));
        self
    }

    pub fn leads(mut self, ids: &[&str]) -> Self {
        self.leads = Some(strings(ids));
        self
    }

    /// Adds a tag after the others.
    pub fn tag(mut self, t: Tag) -> Self {
        self.tags.push(t);
        self
    }

    /// Adds a tag just before the one with id `before`.
    pub fn tag_before(mut self, before: &str, t: Tag) -> Self {
        let i = self
            .tags
            .iter()
            .position(|x| x.id == before)
            .unwrap_or_else(|| panic!("no tag {before} in the fixture"));
        self.tags.insert(i, t);
        self
    }

    pub fn cadence(mut self, c: &str) -> Self {
        self.checkin.cadence = c.into();
        self
    }

    pub fn window(mut self, w: &str) -> Self {
        self.checkin.window = Some(w.into());
        self
    }

    pub fn catch_up(mut self, c: &str) -> Self {
        self.checkin.catch_up = Some(c.into());
        self
    }

    pub fn reminders(mut self, r: &[&str]) -> Self {
        self.checkin.reminders = strings(r);
        self
    }

    pub fn prompt(mut self, p: &str) -> Self {
        self.checkin.prompt = p.into();
        self
    }

    /// The audience's inline table, as TOML.
    pub fn audience(mut self, a: &str) -> Self {
        self.checkin.audience = a.into();
        self
    }

    /// Asks `k` of the questions per run.
    pub fn ask(mut self, k: u32) -> Self {
        self.checkin.ask = Some(k);
        self
    }

    /// The questions, each an inline table as TOML.
    pub fn questions(mut self, q: &[&str]) -> Self {
        self.checkin.questions = strings(q);
        self
    }

    /// `[retention] notes`.
    pub fn retention_notes(mut self, d: &str) -> Self {
        self.retention_notes = Some(d.into());
        self
    }

    /// The config file's text.
    pub fn toml(&self) -> String {
        let mut out = String::from("\n[bot]\n");
        for (k, v) in &self.bot {
            out.push_str(&format!("{k} = {v}\n"));
        }
        // The team's timezone, unless a test set its own; inside `[bot]`.
        if !self.bot.iter().any(|(k, _)| k == "timezone") {
            out.push_str("timezone = \"America/New_York\"\n");
        }
        let roles = [
            ("admins", &self.admins),
            ("marketers", &self.marketers),
            ("leads", &self.leads),
        ];
        if roles.iter().any(|(_, r)| r.is_some()) {
            out.push_str("\n[roles]\n");
            for (name, ids) in roles {
                if let Some(ids) = ids {
                    out.push_str(&format!("{name} = {}\n", list(ids)));
                }
            }
        }
        out.push_str(concat!(
            "\n[[digest]]\n",
            "name = \"weekly\"\n",
            "cadence = \"0 9 * * MON\"\n",
            "timezone = \"America/New_York\"\n",
            "channels = [\"C0MARKETNG\"]\n",
        ));
        for t in &self.tags {
            t.render(&mut out);
        }
        self.checkin.render(&mut out);
        if let Some(n) = &self.retention_notes {
            out.push_str(&format!("\n[retention]\nnotes = {}\n", quote(n)));
        }
        out
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

fn list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| quote(s)).collect();
    format!("[{}]", items.join(", "))
}

/// The reps the test workspace has, with their timezones.
pub const REPS: &[(&str, &str)] = &[
    ("U0REP0001", "America/New_York"),
    ("U0REP0002", "Europe/London"),
    ("U0REP0003", "Asia/Kolkata"),
    ("U0REPXTRA", "Australia/Sydney"),
];

/// The workspace of every in-process test app: the [`REPS`], a bot, a
/// deactivated account, an excluded rep, a marketer and a lead, and
/// `C0SALES01` with three reps and the odd ones in it.
pub fn seed_workspace(emu: &Emulator) {
    for (id, tz) in REPS {
        emu.add_user(User::new(id, &id.to_lowercase(), tz));
    }
    let mut bot = User::new("U0OTHERBOT", "standup.bot", "UTC");
    bot.is_bot = true;
    emu.add_user(bot);
    let mut gone = User::new("U0REPGONE", "left.company", "UTC");
    gone.deleted = true;
    emu.add_user(gone);
    emu.add_user(User::new("U0REPSKIP", "excluded.rep", "UTC"));
    emu.add_user(User::new("U0MKT0001", "marketer", "America/New_York"));
    emu.add_user(User::new("U0LEAD001", "lead", "Europe/London"));
    emu.add_channel(
        "C0SALES01",
        "sales",
        &[
            "U0REP0001",
            "U0REP0002",
            "U0REP0003",
            "U0OTHERBOT",
            "U0REPGONE",
            "U0REPSKIP",
        ],
    );
}
