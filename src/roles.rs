//! Who may do what: the roles of `[roles]` (admins, marketers, leads;
//! everyone else is a rep) and the one table that maps each gated
//! [`Permission`] to the roles that hold it. Pure: no I/O. Slack handlers
//! ask `config.roles.can(user, Permission::Ask)` and, when refused, show
//! [`Roles::refusal`], which names the roles that would do.
//!
//! The command line (`fieldnotes export`, `purge`, `audit`) is run by
//! operators on the host, so it is not gated by Slack roles; it is audited.

use crate::config::Roles;
use std::fmt;

/// A role from `[roles]`. A person may hold several (say, marketer and
/// lead); their permissions add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Admin,
    Marketer,
    Lead,
    /// Everyone not listed under `[roles]`.
    Rep,
}

impl Role {
    /// The plural used in messages and docs ("marketers").
    pub fn plural(self) -> &'static str {
        match self {
            Role::Admin => "admins",
            Role::Marketer => "marketers",
            Role::Lead => "leads",
            Role::Rep => "reps",
        }
    }
}

/// Something only some roles may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `/fieldnotes ask`: a one-off question to a check-in's audience.
    Ask,
    /// App Home's **Preview digest** (and this week's counts beside it).
    DigestPreview,
    /// Exporting everyone's notes from Slack. (`fieldnotes export` on the
    /// host is not gated.)
    Export,
    /// Searching everyone's notes (the search feature uses this).
    Search,
    /// Creating and managing initiatives (the initiatives feature uses this).
    Initiatives,
    /// Acting on a rep's note from the digest (Acting on it, Thanks, Ask a
    /// follow-up): the loop feature uses this.
    CloseLoop,
    /// Deleting a person's data from Slack. (`fieldnotes purge` on the host
    /// is not gated.)
    Purge,
    /// Reading the audit log from Slack. (`fieldnotes audit` on the host is
    /// not gated.)
    Audit,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Permission::Ask,
        Permission::DigestPreview,
        Permission::Export,
        Permission::Search,
        Permission::Initiatives,
        Permission::CloseLoop,
        Permission::Purge,
        Permission::Audit,
    ];

    /// The roles that hold this permission: the whole table.
    pub fn roles(self) -> &'static [Role] {
        const MARKETING: &[Role] = &[Role::Marketer, Role::Lead, Role::Admin];
        const ADMINS: &[Role] = &[Role::Admin];
        match self {
            Permission::Ask
            | Permission::DigestPreview
            | Permission::Export
            | Permission::Search
            | Permission::Initiatives
            | Permission::CloseLoop => MARKETING,
            Permission::Purge | Permission::Audit => ADMINS,
        }
    }

    /// How the action is named to the person refused.
    pub fn action(self) -> &'static str {
        match self {
            Permission::Ask => "`ask`",
            Permission::DigestPreview => "the digest preview",
            Permission::Export => "export",
            Permission::Search => "search",
            Permission::Initiatives => "initiatives",
            Permission::CloseLoop => "the digest's loop buttons",
            Permission::Purge => "purge",
            Permission::Audit => "the audit log",
        }
    }

    /// "marketers, leads or admins".
    pub fn who(self) -> String {
        let names: Vec<&str> = self.roles().iter().map(|r| r.plural()).collect();
        match names.as_slice() {
            [] => "nobody".into(),
            [one] => (*one).into(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Permission::Ask => "ask",
            Permission::DigestPreview => "digest_preview",
            Permission::Export => "export",
            Permission::Search => "search",
            Permission::Initiatives => "initiatives",
            Permission::CloseLoop => "close_loop",
            Permission::Purge => "purge",
            Permission::Audit => "audit",
        };
        f.write_str(s)
    }
}

impl Roles {
    /// Every role `user` holds; `[Rep]` when none is listed.
    pub fn of(&self, user: &str) -> Vec<Role> {
        let listed = |l: &[String]| l.iter().any(|u| u == user);
        let mut out = Vec::new();
        if listed(&self.admins) {
            out.push(Role::Admin);
        }
        if listed(&self.marketers) {
            out.push(Role::Marketer);
        }
        if listed(&self.leads) {
            out.push(Role::Lead);
        }
        if out.is_empty() {
            out.push(Role::Rep);
        }
        out
    }

    /// Whether `user` may do what `p` gates.
    pub fn can(&self, user: &str, p: Permission) -> bool {
        !user.is_empty() && self.of(user).iter().any(|r| p.roles().contains(r))
    }

    /// What a refused person is told: who may, and how to become one.
    /// `config_file` is the config path as the admin knows it.
    pub fn refusal(p: Permission, config_file: &str) -> String {
        format!(
            ":no_entry: Only {} can use {}; ask an admin to add you under `[roles]` in `{config_file}`. Nothing was changed.",
            p.who(),
            p.action()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles() -> Roles {
        Roles {
            admins: vec!["UADMIN".into()],
            marketers: vec!["UMKT".into(), "UBOTH".into()],
            leads: vec!["ULEAD".into(), "UBOTH".into()],
        }
    }

    /// The permission table, spelled out: (permission, admin, marketer, lead, rep).
    const TABLE: &[(Permission, bool, bool, bool, bool)] = &[
        (Permission::Ask, true, true, true, false),
        (Permission::DigestPreview, true, true, true, false),
        (Permission::Export, true, true, true, false),
        (Permission::Search, true, true, true, false),
        (Permission::Initiatives, true, true, true, false),
        (Permission::CloseLoop, true, true, true, false),
        (Permission::Purge, true, false, false, false),
        (Permission::Audit, true, false, false, false),
    ];

    #[test]
    fn the_table_is_as_documented() {
        assert_eq!(
            TABLE.len(),
            Permission::ALL.len(),
            "every permission listed"
        );
        let r = roles();
        for &(p, admin, marketer, lead, rep) in TABLE {
            assert_eq!(r.can("UADMIN", p), admin, "admin {p}");
            assert_eq!(r.can("UMKT", p), marketer, "marketer {p}");
            assert_eq!(r.can("ULEAD", p), lead, "lead {p}");
            assert_eq!(r.can("UREP", p), rep, "rep {p}");
        }
    }

    #[test]
    fn admins_can_do_everything_and_reps_nothing_gated() {
        let r = roles();
        for p in Permission::ALL {
            assert!(r.can("UADMIN", p), "{p}");
            assert!(!r.can("USOMEONE", p), "{p}");
            assert!(!r.can("", p), "an empty user id is nobody: {p}");
        }
    }

    #[test]
    fn roles_add_up() {
        let r = roles();
        assert_eq!(r.of("UBOTH"), vec![Role::Marketer, Role::Lead]);
        assert_eq!(r.of("UREP"), vec![Role::Rep]);
        assert!(r.can("UBOTH", Permission::Ask));
        assert!(!r.can("UBOTH", Permission::Purge));
    }

    #[test]
    fn refusals_name_the_roles_and_the_config() {
        let m = Roles::refusal(Permission::Ask, "config/fieldnotes.toml");
        assert!(
            m.contains("Only marketers, leads or admins can use `ask`; ask an admin to add you under `[roles]` in `config/fieldnotes.toml`"),
            "{m}"
        );
        let m = Roles::refusal(Permission::Purge, "fieldnotes.toml");
        assert!(m.contains("Only admins can use purge"), "{m}");
        assert!(Roles::refusal(Permission::DigestPreview, "f").contains("the digest preview"));
    }
}
