//! `[roles]`: admins, marketers and leads as Slack user IDs (everyone else
//! is a rep), each ID well formed and listed once per list. What each role
//! may do is the permission table in `src/roles.rs`.

use super::valid_user_id;
use crate::config::error::SourceMap;
use crate::config::raw::RawRoles;
use crate::config::{ConfigError, Roles};
use std::collections::HashMap;
use toml::Spanned;

/// Checks every ID's shape and refuses one listed twice in a list. A
/// person in two lists (a marketer who is also a lead) is fine.
pub(super) fn validate(src: &SourceMap<'_>, raw: &RawRoles, errs: &mut Vec<ConfigError>) -> Roles {
    let mut list = |ids: &[Spanned<String>], name: &str| -> Vec<String> {
        let key = format!("roles.{name}");
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut out = Vec::new();
        for id in ids {
            let s = id.get_ref().as_str();
            if !valid_user_id(s) {
                errs.push(src.error(
                    id.span(),
                    &key,
                    format!("`{s}` is not a Slack user ID (U… or W…)"),
                ));
            } else if let Some(first) = seen.get(s) {
                errs.push(src.error(
                    id.span(),
                    &key,
                    format!("`{s}` is listed twice (first at line {first}): list each person once"),
                ));
            } else {
                seen.insert(s, src.line_of(id.span().start));
                out.push(s.to_string());
            }
        }
        out
    };
    Roles {
        admins: list(&raw.admins, "admins"),
        marketers: list(&raw.marketers, "marketers"),
        leads: list(&raw.leads, "leads"),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigErrors};
    use std::path::Path;

    const BASE: &str = r#"
[roles]
admins = ["U0ADMIN01"]
marketers = ["U0MKT0001", "W0MKT0002"]
leads = ["U0LEAD001", "U0MKT0001"]

[bot]
timezone = "Europe/London"
"#;

    fn parse(text: &str) -> Result<Config, ConfigErrors> {
        Config::parse(Path::new("team.toml"), text)
    }

    #[test]
    fn roles_parse_and_a_person_may_hold_two() {
        let c = parse(BASE).unwrap();
        assert_eq!(c.roles.admins, vec!["U0ADMIN01"]);
        assert_eq!(c.roles.marketers, vec!["U0MKT0001", "W0MKT0002"]);
        assert_eq!(c.roles.leads, vec!["U0LEAD001", "U0MKT0001"]);
    }

    #[test]
    fn bad_and_duplicate_ids_name_file_line_and_key() {
        let text = BASE
            .replace(
                r#"admins = ["U0ADMIN01"]"#,
                r#"admins = ["C0CHANNEL", "U0ADMIN01"]"#,
            )
            .replace(
                r#"leads = ["U0LEAD001", "U0MKT0001"]"#,
                "leads = [\n  \"U0LEAD001\",\n  \"U0LEAD001\",\n]",
            );
        let errs = parse(&text).expect_err("rejected").0;
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(
            (errs[0].file.as_path(), errs[0].line, errs[0].key.as_str()),
            (Path::new("team.toml"), 3, "roles.admins")
        );
        assert!(errs[0]
            .message
            .contains("`C0CHANNEL` is not a Slack user ID"));
        assert_eq!((errs[1].line, errs[1].key.as_str()), (7, "roles.leads"));
        assert!(
            errs[1].message.contains("listed twice (first at line 6)"),
            "{}",
            errs[1].message
        );
        assert!(errs[1]
            .to_string()
            .starts_with("team.toml:7: key `roles.leads`:"));
    }

    #[test]
    fn unknown_role_is_rejected() {
        let errs = parse(&BASE.replace("admins =", "owners =")).expect_err("rejected");
        assert!(errs.to_string().contains("owners"), "{errs}");
    }
}
