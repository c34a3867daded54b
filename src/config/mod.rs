//! Typed configuration: `config/fieldnotes.toml` for what team leads tune,
//! the environment for secrets. Unknown keys are errors, and every error
//! names the file, line and key, so a typo in a cadence is caught at start.
//!
//! The file is read here (`Config::load`), deserialized into the types of
//! `raw.rs`, and checked section by section in `validate/` into the model
//! of `model.rs`. `values.rs` parses durations and dates, `questions.rs`
//! holds question types and the k-of-n pick, `error.rs` locates errors and
//! `secrets.rs` reads the environment.

mod error;
pub mod initiative;
mod model;
pub mod questions;
mod raw;
pub(crate) mod secrets;
mod validate;
mod values;

pub use error::{ConfigError, ConfigErrors};
pub use initiative::{Initiative, InitiativeKind, InitiativeSettings, Rating};
pub use model::{
    Attribution, Audience, BotSettings, CatchUp, CheckIn, Config, DigestDef, OnHoliday, PeriodSpec,
    Retention, Roles, SectionKind, TagDef, Zone, EARLIEST_ZONE, MAX_REMINDERS,
};
pub use questions::{field_label, Question, QuestionKind, FIELD_KINDS};
pub use secrets::Secrets;
pub(crate) use validate::valid_user_id;
pub use values::{human_duration, parse_date, parse_duration, MAX_DURATION, MAX_DURATION_DAYS};

use error::SourceMap;
use raw::RawConfig;
use std::path::Path;

/// Default config path, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/fieldnotes.toml";

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let bytes = std::fs::read(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                key: "(file)".into(),
                message: format!("cannot read the config file: {e}"),
            }])
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let valid = std::str::from_utf8(&e.as_bytes()[..at]).unwrap_or_default();
            let src = SourceMap {
                file: path,
                text: valid,
            };
            ConfigErrors(vec![src.error(
                at..at,
                error::key_before(valid),
                format!("the file is not UTF-8 (an invalid byte at offset {at}); save it as UTF-8"),
            )])
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates config text; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        let src = SourceMap { file: path, text };
        let de = toml::Deserializer::parse(text)
            .map_err(|e| ConfigErrors(vec![src.toml_error(&e, None)]))?;
        // serde_path_to_error records where in the document a type error
        // happened (`tag[3].id`), so it names the key, not the value.
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            ConfigErrors(vec![src.toml_error(e.inner(), Some(&key))])
        })?;
        validate::validate(&src, raw)
    }
}

#[cfg(test)]
mod tests;
