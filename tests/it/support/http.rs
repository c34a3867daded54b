//! Plain HTTP from the test to a bot's endpoints (`/healthz`, `/readyz`,
//! `/metrics`): one GET, and a poll until a status comes.

use super::wait::Deadline;
use std::time::Duration;

/// GET `url`: (status, body).
pub async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// Polls `url` until it answers `status`; returns the body.
pub async fn wait_for_status(url: &str, status: u16, within: Duration) -> String {
    let d = Deadline::after(within).every(Duration::from_millis(50));
    loop {
        let (s, body) = get(url).await;
        if s == status {
            return body;
        }
        d.wait(|| format!("{url} still answers {s} {body:?}, not {status}"))
            .await;
    }
}
