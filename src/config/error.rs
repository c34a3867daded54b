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

    /// Turns a TOML/serde error into a [`ConfigError`], recovering the key
    /// from the span or the message.
    pub fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let msg = e.message().trim().to_string();
        let (line, key) = match e.span() {
            Some(span) => {
                let line = self.line_of(span.start);
                let snippet = self.text.get(span.clone()).unwrap_or("").trim();
                let key = backticked(&msg)
                    .filter(|_| {
                        msg.starts_with("unknown field") || msg.starts_with("missing field")
                    })
                    .or_else(|| {
                        let k = snippet.split('=').next().unwrap_or("").trim();
                        (!k.is_empty() && !k.contains('\n') && k.len() < 80).then(|| k.to_string())
                    })
                    .unwrap_or_else(|| key_at_line(self.text, line));
                (line, key)
            }
            None => (0, backticked(&msg).unwrap_or_else(|| "(document)".into())),
        };
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            key,
            message: msg,
        }
    }
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
