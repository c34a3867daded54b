//! The digest preview a marketer opens from App Home: this week's digest
//! so far, for those whose role allows it (refusals are audited).

use super::error::UserError;
use crate::context::Context;
use crate::digest::{self, Digest, Period};
use crate::roles::Permission;

/// Why there is no preview, as the person should hear it.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// Their role doesn't allow it: the refusal names the roles that do.
    #[error("{0}")]
    Refused(String),
    #[error("No digest is set up yet: a team lead adds a `[[digest]]` entry to the config.")]
    NoDigest,
    #[error("We couldn't build the digest just now; try again in a moment.")]
    NotBuilt(#[source] anyhow::Error),
}

impl UserError for PreviewError {
    fn internal(&self) -> Option<&anyhow::Error> {
        match self {
            PreviewError::NotBuilt(e) => Some(e),
            PreviewError::Refused(_) | PreviewError::NoDigest => None,
        }
    }

    fn icon(&self) -> &'static str {
        match self {
            PreviewError::Refused(_) | PreviewError::NoDigest => "",
            _ => ":warning:",
        }
    }
}

/// Whether `user` may preview the digest; a refusal is audited.
pub async fn may_preview(ctx: &Context, user: &str) -> Result<(), PreviewError> {
    let cfg = ctx.config();
    crate::audit::require(
        &ctx.store,
        &cfg,
        ctx.now_ms(),
        user,
        Permission::DigestPreview,
        "digest_preview",
        serde_json::json!({}),
    )
    .await
    .map_err(PreviewError::Refused)
}

/// The first configured digest's current period so far.
pub async fn preview(ctx: &Context) -> Result<Digest, PreviewError> {
    let cfg = ctx.config();
    let def = cfg.digests.first().ok_or(PreviewError::NoDigest)?;
    let period = Period::containing(def.period, ctx.now(), def.timezone);
    digest::gather(&ctx.store, &cfg, def, period)
        .await
        .map_err(|e| PreviewError::NotBuilt(e.context("building the digest preview")))
}
