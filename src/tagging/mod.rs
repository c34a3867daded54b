//! Pure auto-tagger over the config's taxonomy. One Aho-Corasick automaton
//! holds every keyword; matches count only on word boundaries, in any case,
//! across Unicode. `#hashtags` that name a tag (or its last segment) count too.

pub mod sentiment;

use crate::config::TagDef;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use std::collections::BTreeSet;

/// Tags text against a fixed taxonomy. Build once per config.
#[derive(Debug, Clone)]
pub struct Tagger {
    matcher: Option<AhoCorasick>,
    /// Pattern index -> tag id.
    pattern_tags: Vec<String>,
    /// Lowercased hashtag name -> tag id.
    hashtags: Vec<(String, String)>,
}

impl Tagger {
    pub fn new(tags: &[TagDef]) -> Self {
        let mut patterns = Vec::new();
        let mut pattern_tags = Vec::new();
        let mut hashtags = Vec::new();
        for t in tags {
            for k in t.keywords.iter().chain(&t.aliases) {
                let k = k.trim().to_lowercase();
                if !k.is_empty() {
                    patterns.push(k);
                    pattern_tags.push(t.id.clone());
                }
            }
            hashtags.push((t.id.to_lowercase(), t.id.clone()));
            if let Some(last) = t.id.rsplit(':').next() {
                hashtags.push((last.to_lowercase(), t.id.clone()));
            }
        }
        let matcher = (!patterns.is_empty()).then(|| {
            // A contiguous NFA, not the DFA the builder picks for a small
            // taxonomy: a tenth of the memory (the DFA held 150 kB for the
            // shipped config, resident for the bot's whole life) for a
            // matcher that runs once per note (BENCHMARKS.md, footprint).
            AhoCorasickBuilder::new()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .expect("keyword automaton builds")
        });
        Self {
            matcher,
            pattern_tags,
            hashtags,
        }
    }

    /// The tag ids whose keywords or hashtags appear in `text`, sorted.
    pub fn tag(&self, text: &str) -> Vec<String> {
        let lower = text.to_lowercase();
        let mut found = BTreeSet::new();
        if let Some(m) = &self.matcher {
            // Overlapping search, so "acme corp" and "acme" both get a chance
            // and a boundary failure on one does not hide the other.
            for mat in m.find_overlapping_iter(&lower) {
                if is_boundary(&lower, mat.start(), mat.end()) {
                    found.insert(self.pattern_tags[mat.pattern().as_usize()].clone());
                }
            }
        }
        for word in lower.split(|c: char| {
            c.is_whitespace()
                || (c != '#' && c != ':' && c != '-' && c != '_' && !c.is_alphanumeric())
        }) {
            if let Some(h) = word.strip_prefix('#') {
                let h = h.trim_end_matches(|c: char| !c.is_alphanumeric());
                for (name, id) in &self.hashtags {
                    if name == h {
                        found.insert(id.clone());
                    }
                }
            }
        }
        found.into_iter().collect()
    }
}

fn is_boundary(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    // A keyword edge that is itself a non-word char (e.g. "soc 2") needs no boundary.
    let first = text[start..end].chars().next();
    let last = text[start..end].chars().next_back();
    (!word(first) || !word(before)) && (!word(last) || !word(after))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(id: &str, kws: &[&str]) -> TagDef {
        TagDef {
            id: id.into(),
            label: id.into(),
            category: None,
            keywords: kws.iter().map(|s| s.to_string()).collect(),
            aliases: vec![],
        }
    }

    fn tagger() -> Tagger {
        Tagger::new(&[
            tag("competitor:acme", &["acme", "acme corp"]),
            tag("objection:price", &["price", "too expensive"]),
            tag("market:ai", &["ai"]),
            tag("persona:cfo", &["cfo", "directeur financier"]),
            tag("region:munchen", &["münchen"]),
        ])
    }

    #[test]
    fn matches_case_insensitively_on_word_boundaries() {
        let t = tagger();
        assert_eq!(
            t.tag("They said ACME was Too Expensive."),
            vec!["competitor:acme", "objection:price"]
        );
        assert!(
            t.tag("Acmes and prices").is_empty(),
            "plural forms are different words"
        );
        assert!(
            t.tag("We said it again").is_empty(),
            "`ai` inside `again`/`said` must not match"
        );
        assert_eq!(t.tag("their AI roadmap"), vec!["market:ai"]);
    }

    #[test]
    fn handles_unicode() {
        let t = tagger();
        assert_eq!(t.tag("Le Directeur Financier hésite"), vec!["persona:cfo"]);
        assert_eq!(t.tag("Kunde in MÜNCHEN"), vec!["region:munchen"]);
        assert!(t.tag("Münchener").is_empty());
    }

    #[test]
    fn hashtags_name_tags() {
        let t = tagger();
        assert_eq!(t.tag("lost it on #price, sigh"), vec!["objection:price"]);
        assert_eq!(t.tag("#competitor:acme again"), vec!["competitor:acme"]);
        assert!(t.tag("#unknown").is_empty());
    }

    #[test]
    fn aliases_tag_like_keywords() {
        let mut acme = tag("competitor:acme", &["acme"]);
        acme.aliases = vec!["AcmeCloud".into(), "Acme Ωmega".into()];
        let t = Tagger::new(&[acme]);
        assert_eq!(t.tag("they run acmecloud today"), vec!["competitor:acme"]);
        assert_eq!(t.tag("ACME ΩMEGA renewal"), vec!["competitor:acme"]);
        assert!(t.tag("acmecloudy").is_empty());
    }

    #[test]
    fn empty_taxonomy_tags_nothing() {
        assert!(Tagger::new(&[]).tag("acme").is_empty());
    }
}
