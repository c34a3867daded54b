//! The demo's scripted sales team: who they are, where they sit, how often
//! they answer, and what they say. Seeded, so every run tells the same story.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;

/// One scripted salesperson.
#[derive(Debug, Clone)]
pub struct Rep {
    pub id: String,
    pub name: String,
    pub tz: &'static str,
    /// Chance of answering a check-in.
    pub diligence: f64,
    /// Chance of filling the optional questions too.
    pub thoroughness: f64,
    /// Chance per working day of a `/fieldnotes note`.
    pub chattiness: f64,
}

const NAMES: &[&str] = &[
    "maya.patel",
    "jordan.lee",
    "sofia.garcia",
    "liam.oconnor",
    "ava.nguyen",
    "noah.schmidt",
    "priya.raman",
    "ethan.brooks",
    "chloe.martin",
    "lucas.rossi",
    "zara.khan",
    "owen.walsh",
    "isla.fraser",
    "arjun.mehta",
    "emma.dubois",
    "mateo.silva",
    "hannah.kim",
    "ravi.iyer",
    "grace.taylor",
    "ben.carter",
    "nina.kowalski",
    "sam.okafor",
    "leah.cohen",
    "tom.harris",
    "amelia.wright",
    "kiran.das",
    "julia.weber",
    "marcus.reid",
];

const ZONES: &[&str] = &[
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Sydney",
];

pub fn roster(n: usize, rng: &mut StdRng) -> Vec<Rep> {
    (0..n)
        .map(|i| Rep {
            id: format!("U0REP{:04}", i + 1),
            name: NAMES[i % NAMES.len()].to_string()
                + &if i >= NAMES.len() {
                    format!("{}", i / NAMES.len() + 1)
                } else {
                    String::new()
                },
            tz: ZONES[i % ZONES.len()],
            diligence: rng.random_range(0.45..0.97),
            thoroughness: rng.random_range(0.2..0.9),
            chattiness: rng.random_range(0.0..0.12),
        })
        .collect()
}

const ACCOUNTS: &[&str] = &[
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Wingtip",
    "Litware",
    "Adatum",
    "Proseware",
    "Lamna",
    "Woodgrove",
];
const PERSONAS: &[&str] = &[
    "CFO",
    "CIO",
    "VP Ops",
    "IT director",
    "COO",
    "finance team",
    "ops lead",
    "CISO",
];

fn pick<'a>(rng: &mut StdRng, xs: &'a [&'a str]) -> &'a str {
    xs.choose(rng).copied().unwrap_or_default()
}

/// The competitor of the moment. Globex is rare until the last simulated
/// week (`left == 0`), when it comes up in most calls: a real rise for the
/// digest's test to find, not a wobble.
fn competitor(rng: &mut StdRng, left: u32) -> &'static str {
    let globex = if left == 0 { 0.9 } else { 0.06 };
    let r: f64 = rng.random();
    if r < globex {
        "Globex"
    } else if r < globex + 0.45 {
        "Acme"
    } else {
        "Initech"
    }
}

/// The answer to "What did a buyer say that surprised you?". `left` is
/// how many simulated weeks remain after this one: in the last, reps
/// start suggesting content (a new theme for the digest).
pub fn heard(rng: &mut StdRng, left: u32) -> String {
    let acct = pick(rng, ACCOUNTS);
    let who = pick(rng, PERSONAS);
    let comp = competitor(rng, left);
    // The last week: Globex's new bundle is in most calls.
    if left == 0 && rng.random_bool(0.5) {
        let globex = [
            format!("Globex is giving {acct} its analytics add-on free for a year if they sign this month."),
            format!("The {who} at {acct} says Globex undercut our quote by 25% with a three-year deal."),
            format!("Globex demoed its new AI assistant to {acct}; the {who} asked why we don't have one."),
        ];
        return globex.choose(rng).cloned().unwrap_or_default();
    }
    if left == 0 && rng.random_bool(0.7) {
        let ideas = [
            format!("We should publish a head-to-head page against {comp}: the {who} at {acct} asked for one."),
            format!("Idea: a short video on the Salesforce sync would help, {acct} keeps asking how it works."),
            format!("We should run a webinar for {who}s on rollout time; {acct} worries {comp} is faster to deploy."),
        ];
        return ideas.choose(rng).cloned().unwrap_or_default();
    }
    let templates: Vec<String> = vec![
        format!("The {who} at {acct} asked how we compare to {comp}. They think {comp} is cheaper but 'clunky to roll out'."),
        format!("{comp} came up again on the {acct} call. The buyer said {comp} is bundling analytics for free this quarter."),
        format!("Procurement at {acct} wants a {}% discount before signing; the {who} says our price is too expensive next to {comp}.", rng.random_range(10..30)),
        format!("{acct} is consolidating vendors after layoffs and wants one tool instead of three. Good for us if we can show the integration story."),
        format!("Surprise: the {who} at {acct} cared more about the Salesforce sync than about price. Integration is the real buying criterion."),
        format!("{acct}'s {who} said AI features are now a must-have on every RFP; {comp} demoed an assistant and they loved it."),
        format!("Great lead from the webinar: {acct} is qualified, has budget and a strong fit. The {who} is our champion."),
        format!("Bad lead again from the paid campaign: {acct} is a tire kicker with no budget, just collecting quotes against {comp}."),
        format!("First call with {acct}: the {who} wants a pilot in January and asked for a security review pack up front."),
    ];
    templates.choose(rng).cloned().unwrap_or_default()
}

/// The answer to "Where is a deal stalling, and why?".
pub fn stalled(rng: &mut StdRng, left: u32) -> String {
    let acct = pick(rng, ACCOUNTS);
    let comp = competitor(rng, left);
    let templates: Vec<String> = vec![
        format!("{acct} is stuck in security review: they need SOC 2 Type II and a GDPR DPA before legal will read the contract."),
        format!("Pilot at {acct} stalled because their IT team can't get the HubSpot integration working."),
        format!("{acct} pushed to next quarter after a budget freeze and a reorg."),
        format!("Procurement redlines on the liability cap at {acct}; waiting on our legal for a week now."),
        format!("{acct} went quiet after {comp} offered a free migration."),
    ];
    templates.choose(rng).cloned().unwrap_or_default()
}

/// The answer to "Which marketing asset helped or flopped?".
pub fn assets(rng: &mut StdRng, left: u32) -> String {
    let comp = competitor(rng, left);
    let templates: Vec<String> = vec![
        "The ROI calculator worked: the CFO pasted it straight into their board deck.".to_string(),
        "The new case study flopped, too generic; the buyer wanted numbers from their own industry.".to_string(),
        "The webinar recording helped the ops lead sell it internally.".to_string(),
        format!("Nobody read the one-pager; they asked for a head-to-head comparison with {comp} instead."),
        "The customer story from the logistics account landed really well with the VP Ops.".to_string(),
    ];
    templates.choose(rng).cloned().unwrap_or_default()
}

/// A quick `/fieldnotes note` between check-ins.
pub fn quick_note(rng: &mut StdRng, left: u32) -> String {
    let acct = pick(rng, ACCOUNTS);
    let comp = competitor(rng, left);
    if left == 0 {
        return if rng.random_bool(0.5) {
            format!("Heads up: {comp} is offering {acct} a free migration and a year of analytics. #competitor")
        } else {
            format!("We should send {acct} a one-pager on migrating off {comp}; they asked twice.")
        };
    }
    let templates: Vec<String> = vec![
        format!("Heads up: {comp} is offering free migration to {acct}. #competitor"),
        format!("{acct} asked for the ROI calculator after the demo, second time this week."),
        format!("Lost {acct} on price to {comp}. The CFO never joined a call."),
        format!(
            "{acct} said our pricing page is confusing; they couldn't tell what the pilot costs."
        ),
    ];
    templates.choose(rng).cloned().unwrap_or_default()
}

/// How a rep rates the demo's initiative (the ROI calculator): sceptical
/// at first, won over as the weeks go by (`left`: weeks after this one).
pub fn initiative_rating(rng: &mut StdRng, left: u32) -> &'static str {
    let worked = match left {
        0 => 0.8,
        1 => 0.7,
        2 => 0.5,
        _ => 0.35,
    };
    let x: f64 = rng.random();
    if x < 0.15 {
        "not_used"
    } else if x < 0.15 + 0.85 * worked {
        "worked"
    } else {
        "didnt"
    }
}

/// Why, in the rep's words.
pub fn initiative_why(rng: &mut StdRng, rating: &str) -> String {
    let said: &[&str] = match rating {
        "worked" => &[
            "The CFO plugged in their numbers and asked for the contract.",
            "Payback under a year got procurement off my back.",
            "Champion forwarded it to finance without me asking.",
            "It turned the price talk into an ROI talk.",
        ],
        "didnt" => &[
            "Their finance team didn't trust our default assumptions.",
            "Too many inputs; the buyer gave up halfway.",
            "It shows savings in year three, they care about this quarter.",
        ],
        _ => &[
            "No deal at that stage this week.",
            "Haven't had the chance yet.",
        ],
    };
    said.choose(rng).copied().unwrap_or_default().to_string()
}

/// What a scripted marketer writes when acting on a note, and asks.
pub const MARKETER_ACTING: &str =
    "Adding a pricing FAQ and the ROI calculator to the first-call deck this week.";
pub const MARKETER_ASK: &str = "Which competitor was it, and who on their side raised it?";
/// The rep's answer to the follow-up, in the relay's thread.
pub const REP_FOLLOW_UP: &str =
    "It was Acme; their CFO raised it in the second call, pricing was the whole objection.";
