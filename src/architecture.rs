//! The module graph's rule, checked by a test: no top-level module reaches
//! back to one that depends on it. The test reads every `crate::…` path in
//! `src/` (in `use` lines and in code, test modules included), builds the
//! graph of top-level modules, and fails with the cycle it finds. The
//! layers it keeps, lowest first, are drawn in `docs/ARCHITECTURE.md`.

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    type Graph = BTreeMap<String, BTreeSet<String>>;

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("reading src/").flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// The top-level module a file belongs to (`src/slack/views.rs` →
    /// `slack`), or None for the crate root and `main.rs`.
    fn module_of(src: &Path, file: &Path) -> Option<String> {
        let rel = file.strip_prefix(src).ok()?;
        let first = rel.components().next()?.as_os_str().to_str()?;
        let name = first.strip_suffix(".rs").unwrap_or(first);
        (name != "lib" && name != "main").then(|| name.to_string())
    }

    /// Every module named right after `crate::` in `code`, comments left
    /// out; `crate::{a, b::c}` names both, across lines too.
    fn uses(code: &str) -> BTreeSet<String> {
        let code: String = code
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        let mut found = BTreeSet::new();
        let mut rest = code.as_str();
        while let Some(i) = rest.find("crate::") {
            let before = rest[..i].chars().last();
            rest = &rest[i + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                // Top-level names of the group only: `{a, b::{c, d}}` names a, b.
                let mut depth = 0;
                let mut start = true;
                for (k, ch) in group.char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => start = true,
                        c if start && !c.is_whitespace() => {
                            start = false;
                            let name = ident(&group[k..]);
                            if !name.is_empty() {
                                found.insert(name);
                            }
                        }
                        _ => {}
                    }
                }
            } else {
                let name = ident(rest);
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
        found
    }

    fn graph() -> Graph {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut modules = BTreeSet::new();
        for f in &files {
            if let Some(m) = module_of(&src, f) {
                modules.insert(m);
            }
        }
        let mut g = Graph::new();
        for f in &files {
            let Some(from) = module_of(&src, f) else {
                continue;
            };
            let code = std::fs::read_to_string(f).expect("reading a source file");
            let deps = g.entry(from.clone()).or_default();
            for to in uses(&code) {
                if to != from && modules.contains(&to) {
                    deps.insert(to);
                }
            }
        }
        g
    }

    /// A cycle, as the modules along it, if there is one.
    fn find_cycle(g: &Graph) -> Option<Vec<String>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        fn visit(
            g: &Graph,
            m: &str,
            marks: &mut BTreeMap<String, Mark>,
            path: &mut Vec<String>,
        ) -> Option<Vec<String>> {
            marks.insert(m.to_string(), Mark::Open);
            path.push(m.to_string());
            for d in g.get(m).into_iter().flatten() {
                match marks.get(d).copied().unwrap_or(Mark::New) {
                    Mark::Open => {
                        let at = path.iter().position(|p| p == d).unwrap_or(0);
                        let mut cycle = path[at..].to_vec();
                        cycle.push(d.clone());
                        return Some(cycle);
                    }
                    Mark::New => {
                        if let Some(c) = visit(g, d, marks, path) {
                            return Some(c);
                        }
                    }
                    Mark::Done => {}
                }
            }
            path.pop();
            marks.insert(m.to_string(), Mark::Done);
            None
        }
        let mut marks = BTreeMap::new();
        for m in g.keys() {
            if marks.get(m).copied().unwrap_or(Mark::New) == Mark::New {
                if let Some(c) = visit(g, m, &mut marks, &mut Vec::new()) {
                    return Some(c);
                }
            }
        }
        None
    }

    #[test]
    fn the_module_graph_has_no_cycle() {
        let g = graph();
        assert!(g.len() > 10, "the graph was read: {g:?}");
        if let Some(c) = find_cycle(&g) {
            panic!(
                "the top-level modules form a cycle: {}\n(each arrow is a `crate::` path in the first module's files)",
                c.join(" → ")
            );
        }
    }

    /// Features and the pure core never reach up into a transport or the
    /// wiring: they know neither Slack nor the app.
    #[test]
    fn features_and_the_core_stay_below_the_transport() {
        let g = graph();
        let above = [
            "app", "cli", "demo", "jobs", "slack", "ops", "reload", "report",
        ];
        for low in [
            "features", "context", "store", "config", "schedule", "domain", "tagging", "capture",
            "digest", "text", "clock",
        ] {
            let deps = g.get(low).cloned().unwrap_or_default();
            for up in above {
                assert!(!deps.contains(up), "`{low}` must not depend on `{up}`");
            }
        }
        let features =
            std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/features"))
                .expect("src/features")
                .flatten()
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect::<String>();
        assert!(
            !features.contains("slack_morphism"),
            "a feature must not see slack-morphism's types"
        );
    }

    /// The checker itself finds a cycle and reads grouped imports.
    #[test]
    fn the_checker_sees_cycles_and_groups() {
        assert_eq!(
            uses("use crate::{app, slack::{Bot, views}};\nlet x = crate::jobs::tick(); // crate::demo\nnotcrate::x\nuse crate::{\n    store,\n    text::clean,\n};"),
            ["app", "jobs", "slack", "store", "text"].iter().map(|s| s.to_string()).collect()
        );
        let mut g = Graph::new();
        g.entry("a".into()).or_default().insert("b".into());
        g.entry("b".into()).or_default().insert("c".into());
        assert_eq!(find_cycle(&g), None);
        g.entry("c".into()).or_default().insert("a".into());
        assert_eq!(
            find_cycle(&g),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
    }
}
