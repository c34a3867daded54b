//! `[[tag]]`: the taxonomy. Ids are slugs defined once; keywords and
//! synonyms both auto-tag. [`Taxonomy::check_known`] is how the rest of
//! the file may only name tags defined here.

use super::valid_slug;
use crate::config::error::SourceMap;
use crate::config::raw::RawTag;
use crate::config::{ConfigError, TagDef};
use std::collections::HashSet;
use toml::Spanned;

/// The validated tags, and the ids that other sections may name.
pub(super) struct Taxonomy {
    pub tags: Vec<TagDef>,
    /// Ids that are well formed and defined once.
    ids: HashSet<String>,
}

impl Taxonomy {
    /// Refuses a tag (in a check-in or a question) that no `[[tag]]` defines.
    pub fn check_known(
        &self,
        src: &SourceMap<'_>,
        t: &Spanned<String>,
        key: String,
        errs: &mut Vec<ConfigError>,
    ) {
        if !self.ids.contains(t.get_ref()) {
            errs.push(src.error(
                t.span(),
                key,
                format!(
                    "unknown tag `{}`: define it in a [[tag]] table first",
                    t.get_ref()
                ),
            ));
        }
    }
}

pub(super) fn validate(
    src: &SourceMap<'_>,
    raw: &[RawTag],
    errs: &mut Vec<ConfigError>,
) -> Taxonomy {
    let mut ids = HashSet::new();
    let mut tags = Vec::new();
    for t in raw {
        let id = t.id.get_ref();
        let key = format!("tag.{id}.id");
        if !valid_slug(id) {
            errs.push(src.error(
                t.id.span(),
                key,
                format!("tag id `{id}` must be lowercase letters, digits, `-`, `_` or `:`"),
            ));
        } else if !ids.insert(id.clone()) {
            errs.push(src.error(t.id.span(), key, format!("tag `{id}` is defined twice")));
        }
        let mut keywords = t.keywords.clone();
        keywords.extend(t.synonyms.iter().cloned());
        tags.push(TagDef {
            id: id.clone(),
            label: t.label.clone(),
            category: t.category.clone(),
            keywords,
            aliases: t.aliases.clone(),
        });
    }
    Taxonomy { tags, ids }
}
