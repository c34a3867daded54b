//! Question pools and typed fields: what a check-in (or a free note) asks,
//! in which Block Kit shape, which typed field an answer fills, and which
//! of a pool each run asks (`rotate`). Checked in `validate/questions.rs`.

use std::collections::HashSet;

/// The typed fields marketing aggregates on, with their labels. Each one's
/// vocabulary is the `[[tag]]` entries whose `category` is the field's name;
/// `lead_quality` is a 1–5 rating and needs none.
pub const FIELD_KINDS: &[(&str, &str)] = &[
    ("competitor", "Competitor"),
    ("objection", "Objection"),
    ("funnel_stage", "Funnel stage"),
    ("persona", "Persona or title"),
    ("account", "Account or deal"),
    ("lead_source", "Lead source or campaign"),
    ("asset", "Marketing asset"),
    ("lead_quality", "Lead quality"),
];

/// The rating field (1–5, no vocabulary).
pub const LEAD_QUALITY: &str = "lead_quality";
/// Field names for an asset's verdict; the value is the asset's tag id.
pub const ASSET_WORKED: &str = "asset_worked";
pub const ASSET_FLOPPED: &str = "asset_flopped";

/// A select with more options than this becomes an external select served
/// on `block_suggestion` (Slack's limit for static selects is 100).
pub const MAX_STATIC_OPTIONS: usize = 100;
/// Most questions one prompt asks (each takes up to three blocks).
pub const MAX_ASKED: usize = 10;
/// Most questions a pool may hold.
pub const MAX_POOL: usize = 40;

pub fn field_label(kind: &str) -> Option<&'static str> {
    FIELD_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
}

/// The shape of a question in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionKind {
    /// Free text, multi-line unless `multiline = false`.
    Text,
    SingleSelect,
    MultiSelect,
    /// 1 (poor) to 5 (great).
    Rating,
    /// Which marketing asset, did it work or not, and why.
    Asset,
    /// An initiative's: worked, didn't or not used, and why (issue 13).
    Initiative,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Text => "text",
            QuestionKind::SingleSelect => "single_select",
            QuestionKind::MultiSelect => "multi_select",
            QuestionKind::Rating => "rating",
            QuestionKind::Asset => "asset",
            QuestionKind::Initiative => "initiative",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub id: String,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    pub multiline: bool,
    /// Tags implied by answering this question (applied as automatic tags).
    pub tags: Vec<String>,
    pub kind: QuestionKind,
    /// The typed field a select or rating fills (`competitor`, ...).
    pub field: Option<String>,
    /// A select's own options, when it has no typed field.
    pub options: Vec<String>,
    /// Asked every time, outside the k-of-n rotation.
    pub always: bool,
}

impl Question {
    /// A plain free-text question.
    pub fn text(id: &str, label: &str, required: bool) -> Self {
        Question {
            id: id.into(),
            label: label.into(),
            hint: None,
            required,
            multiline: true,
            tags: vec![],
            kind: QuestionKind::Text,
            field: None,
            options: vec![],
            always: false,
        }
    }

    /// Where the answer is stored: the typed field, else the question id.
    pub fn field_name(&self) -> &str {
        match self.kind {
            QuestionKind::Asset => "asset",
            QuestionKind::Initiative => super::initiative::INITIATIVE_RATING,
            _ => self.field.as_deref().unwrap_or(&self.id),
        }
    }
}

/// Picks which questions a run asks: every `always` question, then the
/// rest in turn, `ask` in all, so over successive runs each question comes
/// round equally often. `run_seq` counts the check-in's earlier runs.
pub fn rotate(questions: &[Question], ask: usize, run_seq: u64) -> Vec<String> {
    // Every prompt asks for the rep's own words: without an `always` text
    // question, the first text question is asked every time.
    let text_fixed = questions
        .iter()
        .any(|q| q.always && q.kind == QuestionKind::Text);
    let first_text = questions
        .iter()
        .find(|q| q.kind == QuestionKind::Text)
        .map(|q| q.id.as_str());
    let is_fixed = |q: &Question| q.always || (!text_fixed && Some(q.id.as_str()) == first_text);
    let fixed: Vec<&Question> = questions.iter().filter(|q| is_fixed(q)).collect();
    let pool: Vec<&Question> = questions.iter().filter(|q| !is_fixed(q)).collect();
    let slots = ask.saturating_sub(fixed.len()).min(pool.len());
    let mut chosen: HashSet<&str> = fixed.iter().map(|q| q.id.as_str()).collect();
    if slots > 0 {
        let start = (run_seq as usize).wrapping_mul(slots) % pool.len();
        for i in 0..slots {
            chosen.insert(pool[(start + i) % pool.len()].id.as_str());
        }
    }
    // Keep the config's order in the form.
    questions
        .iter()
        .filter(|q| chosen.contains(q.id.as_str()))
        .map(|q| q.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn pool(n: usize, always: usize) -> Vec<Question> {
        (0..n)
            .map(|i| {
                let mut q = Question::text(&format!("q{i}"), "Q", false);
                q.always = i < always;
                q
            })
            .collect()
    }

    #[test]
    fn rotation_is_fair_and_keeps_always_questions() {
        let qs = pool(7, 1);
        let mut seen: HashMap<String, usize> = HashMap::new();
        // 6 rotating questions, 2 slots a run: each comes round every 3 runs.
        for run in 0..30 {
            let ids = rotate(&qs, 3, run);
            assert_eq!(ids.len(), 3);
            assert_eq!(
                ids[0], "q0",
                "the always question is asked every run, first"
            );
            for id in ids {
                *seen.entry(id).or_default() += 1;
            }
        }
        assert_eq!(seen["q0"], 30);
        for i in 1..7 {
            assert_eq!(
                seen[&format!("q{i}")],
                10,
                "q{i} comes round as often as the rest"
            );
        }
    }

    #[test]
    fn uneven_pools_still_cover_every_question() {
        let mut qs = pool(6, 0);
        for q in qs.iter_mut().skip(1) {
            q.kind = QuestionKind::Rating;
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        // q0, the only text question, is asked every time; 5 others share 2 slots.
        for run in 0..10 {
            for id in rotate(&qs, 3, run) {
                *seen.entry(id).or_default() += 1;
            }
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(seen.remove("q0"), Some(10));
        assert!(seen.values().all(|&n| n == 4), "{seen:?}");
    }

    #[test]
    fn asking_more_than_the_pool_asks_everything() {
        let qs = pool(3, 0);
        assert_eq!(rotate(&qs, 10, 5), vec!["q0", "q1", "q2"]);
    }
}
