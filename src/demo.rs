//! placeholder while wiring
use std::path::Path;
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}
pub async fn run(_c: &Path, _a: DemoArgs) -> anyhow::Result<()> { anyhow::bail!("wip") }
