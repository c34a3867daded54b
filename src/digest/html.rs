//! HTML report (being written).
use super::model::Digest;

pub fn render(d: &Digest) -> String {
    super::render::markdown::render(d)
}
