//! Config errors that point a team lead at the exact file, line and key.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line; 0 when the problem is not tied to a line (e.g. unreadable file).
    pub line: usize,
    /// Dotted key path, e.g. `checkin.weekly-pulse.cadence`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}: key `{}`: {}",
                self.file.display(),
                self.line,
                self.key,
                self.message
            )
        } else {
            write!(
                f,
                "{}: key `{}`: {}",
                self.file.display(),
                self.key,
                self.message
            )
        }
    }
}

impl std::error::Error for ConfigError {}

/// All problems found in one pass, so a lead can fix them together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Maps byte offsets in the source text to 1-based line numbers.
pub(crate) struct SourceMap<'a> {
    pub file: &'a Path,
    pub text: &'a str,
}

impl SourceMap<'_> {
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    pub fn error(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        msg: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            line: self.line_of(span.start),
            key: key.into(),
            message: msg.into(),
        }
    }

    /// Turns a TOML/serde error into a [`ConfigError`]. `path` is where in
    /// the document a type error happened (from serde_path_to_error); the
    /// key is that path, plus the field for an unknown or missing one.
    /// Without a path (a syntax error) the key is recovered from the line.
    pub fn toml_error(&self, e: &toml::de::Error, path: Option<&str>) -> ConfigError {
        let msg = e.message().trim().to_string();
        let field = backticked(&msg)
            .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"));
        // `Spanned<T>` shows up as an inner private field: not a key.
        let path = path
            .map(|p| p.split(".$__").next().unwrap_or(p))
            .filter(|p| !p.is_empty() && *p != "?" && *p != ".");
        let line = e.span().map(|s| self.line_of(s.start));
        let key = match (path, field) {
            (Some(p), Some(f)) if !p.ends_with(&f) => format!("{p}.{f}"),
            (Some(p), _) => p.to_string(),
            (None, Some(f)) => f,
            (None, None) => match line {
                Some(l) => key_at_line(self.text, l),
                None => "(document)".into(),
            },
        };
        ConfigError {
            file: self.file.to_path_buf(),
            line: line.unwrap_or_else(|| self.deepest_line()),
            key,
            message: msg,
        }
    }

    /// For an error without a span (the parser's nesting limit), the line
    /// where brackets nest deepest.
    fn deepest_line(&self) -> usize {
        let (mut depth, mut best, mut at) = (0usize, 0usize, 0usize);
        for (i, b) in self.text.bytes().enumerate() {
            match b {
                b'[' | b'{' => {
                    depth += 1;
                    if depth > best {
                        (best, at) = (depth, i);
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if best == 0 {
            0
        } else {
            self.line_of(at)
        }
    }
}

/// The key being written at the end of `text` (its last line's key).
pub(crate) fn key_before(text: &str) -> String {
    let line = text.lines().count().max(1);
    key_at_line(text, line)
}

fn backticked(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(msg[start..start + len].to_string())
}

fn key_at_line(text: &str, line: usize) -> String {
    text.lines()
        .nth(line.saturating_sub(1))
        .map(|l| l.split('=').next().unwrap_or("").trim().to_string())
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| "(document)".into())
}
