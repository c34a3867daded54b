//! Search in Slack (issue 13): `/fieldnotes search <query>` answers with
//! an ephemeral page of the best 10 notes (snippet, who unless anonymous,
//! when, tags, a permalink), and a **More results** button whose click
//! replaces that message with the next page through the click's
//! `response_url`. The role is checked on every call, a bad filter is
//! named, and a search that outruns its budget says so instead of losing
//! the ack.

use super::Bot;
use crate::digest::render::blocks::esc;
use crate::features::search::{Results, SearchError, SearchRequest};
use serde_json::{json, Value};
use slack_morphism::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use tracing::warn;

/// The **More results** button.
pub const SEARCH_MORE: &str = "fieldnotes_search_more";
/// A search answers inside the ack, so within this.
const BUDGET: Duration = Duration::from_millis(2000);
/// And its audit row within this, so the reply is in well under 3 s.
const AUDIT_BUDGET: Duration = Duration::from_millis(500);

/// A page to fetch: the query and its 0-based page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Page {
    pub q: String,
    pub p: u32,
}

impl Page {
    /// A **More results** button's value, or `None` when it names nothing
    /// usable (a forged value).
    pub fn parse(v: &str) -> Option<Page> {
        let p: Page = serde_json::from_str(v).ok()?;
        (!p.q.trim().is_empty() && p.p < 1000).then_some(p)
    }
}

/// Whether `user` may search (checked on every call; a refusal is
/// audited with `args` and comes back as the text to show).
async fn may_search(bot: &Bot, user: &str, args: Value) -> Result<(), String> {
    crate::audit::require(
        &bot.store,
        &bot.config(),
        bot.now_ms(),
        user,
        crate::roles::Permission::Search,
        "search",
        args,
    )
    .await
}

/// Runs a search for `user` and renders it: (fallback text, blocks).
pub async fn search(bot: &Bot, user: &str, query: &str, page: u32) -> (String, Vec<Value>) {
    let query = query.trim();
    if query.is_empty() {
        return (
            "Search what? Try `/fieldnotes search competitor:acme since:30d pricing`: words, \"quoted phrases\" and filters (competitor:, stage:, tag:, rep:@name, since:30d, source:reply, initiative:ID).".into(),
            vec![],
        );
    }
    let cfg = bot.config();
    let args = json!({"query": crate::text::truncate(query, 200), "page": page + 1});
    if let Err(refusal) = may_search(bot, user, args).await {
        return (refusal, vec![]);
    }
    let req = SearchRequest {
        query,
        page,
        searcher: Some(user),
    };
    let found = tokio::time::timeout(
        BUDGET,
        crate::features::search::run(&bot.store, &cfg, &req, bot.now()),
    )
    .await;
    let outcome = match &found {
        Ok(Ok(r)) => format!("ok: {} notes", r.hits.len()),
        Ok(Err(e)) => crate::text::truncate(&e.to_string(), 200),
        Err(_) => "timed out".into(),
    };
    // Inside the ack too: a database that stalls loses the audit row (and
    // logs it), never the reply.
    let audited = tokio::time::timeout(
        AUDIT_BUDGET,
        crate::audit::record(
            &bot.store,
            bot.now_ms(),
            &crate::audit::Actor::Slack(user.to_string()),
            "search",
            json!({"query": crate::text::truncate(query, 200), "page": page + 1}),
            &outcome,
        ),
    )
    .await;
    if audited.is_err() {
        warn!(user, "recording a search in the audit log timed out");
    }
    match found {
        Ok(Ok(r)) => render(&r),
        Ok(Err(SearchError::Failed(e))) => {
            warn!(error = %format!("{e:#}"), "search failed");
            (
                "Search failed just now; try again in a moment.".into(),
                vec![],
            )
        }
        Ok(Err(e)) => (format!(":warning: {e}"), vec![]),
        Err(_) => (
            ":hourglass: That search took too long to answer here. Narrow it with a filter (since:30d, competitor:…), or run `fieldnotes search` on the host.".into(),
            vec![],
        ),
    }
}

fn when(rfc3339: &str) -> &str {
    &rfc3339[..10.min(rfc3339.len())]
}

/// A page of results as Block Kit: at most 1 + 10 × 2 + 1 blocks.
pub fn render(r: &Results) -> (String, Vec<Value>) {
    let first = r.page as usize * crate::features::search::PAGE as usize + 1;
    let head = if r.hits.is_empty() && r.page == 0 {
        format!("No notes match `{}`.", esc(&r.query))
    } else if r.hits.is_empty() {
        format!("No more notes match `{}`.", esc(&r.query))
    } else {
        format!(
            "Notes {}–{} for `{}`{}",
            first,
            first + r.hits.len() - 1,
            esc(&r.query),
            if r.anonymous {
                " (reps are anonymous here)"
            } else {
                ""
            }
        )
    };
    let mut blocks = vec![
        json!({"type": "context", "elements": [{"type": "mrkdwn", "text": crate::text::truncate(&head, 3000)}]}),
    ];
    for h in &r.hits {
        let who = h.rep.as_deref().map(esc).unwrap_or_else(|| "a rep".into());
        let link = match &h.permalink {
            Some(p) if !p.contains(['|', '>']) => format!(" · <{p}|open in Slack>"),
            _ => String::new(),
        };
        let text = format!(
            "*#{}* · {} · {who} · {}{link}\n>{}",
            h.id,
            when(&h.created_at),
            h.source,
            esc(&h.snippet).replace('\n', " ")
        );
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": crate::text::truncate(&text, 3000)}}));
        if !h.tags.is_empty() {
            let tags = h
                .tags
                .iter()
                .take(12)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": crate::text::truncate(&esc(&tags), 2000)}]}));
        }
    }
    if r.more {
        let value = serde_json::to_string(&Page {
            q: r.query.clone(),
            p: r.page + 1,
        })
        .unwrap_or_default();
        if value.len() <= 2000 {
            blocks.push(json!({"type": "actions", "elements": [{
                "type": "button", "action_id": SEARCH_MORE, "value": value,
                "text": {"type": "plain_text", "text": "More results"}}]}));
        }
    }
    (head.replace('*', ""), blocks)
}

/// Whether a `response_url` is one Slack would send: on hooks.slack.com,
/// or on the Slack API host the bot is configured with (the emulator). A
/// forged payload cannot make the bot post anywhere else.
pub fn trusted_response_url(url: &str, api_url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    if u.scheme() == "https" && u.host_str() == Some("hooks.slack.com") {
        return true;
    }
    let Ok(api) = url::Url::parse(api_url) else {
        return false;
    };
    u.scheme() == api.scheme()
        && u.host_str() == api.host_str()
        && u.port_or_known_default() == api.port_or_known_default()
        && u.host_str() != Some("slack.com")
}

/// **More results**: the next page replaces the message, after the ack.
pub async fn more(bot: &Arc<Bot>, user: &str, page: Page, response_url: String) {
    let (st, user) = (bot.clone(), user.to_string());
    let work = async move {
        let (text, blocks) = search(&st, &user, &page.q, page.p).await;
        let blocks: Vec<SlackBlock> =
            serde_json::from_value(Value::Array(blocks)).unwrap_or_default();
        let req = SlackApiPostWebhookMessageRequest::new(
            SlackMessageContent::new()
                .with_text(text)
                .with_blocks(blocks),
        )
        .with_replace_original(true);
        let Ok(url) = url::Url::parse(&response_url) else {
            return;
        };
        if let Err(e) = st
            .slack
            .hyper()
            .respond_to_event(&SlackResponseUrl::new(url), &req)
            .await
        {
            warn!(error = %e, "showing the next page of search results failed");
        }
    };
    bot.background.run("next search page", work).await;
}

/// App Home's **Search notes** button (marketers' week section).
pub const HOME_SEARCH: &str = "fieldnotes_home_search";
/// callback_id of the search modal; its query box's block id.
pub const SEARCH_MODAL: &str = "fieldnotes_search";
pub const QUERY_BLOCK: &str = "search_q";

/// The search modal: the query box (with `query`), then `results` (a
/// rendered page) when there are any. At most 2 + 22 blocks.
pub fn modal(query: &str, results: Option<&(String, Vec<Value>)>) -> SlackView {
    let mut input = json!({"type": "plain_text_input", "action_id": "q", "max_length": crate::search::MAX_QUERY,
        "placeholder": {"type": "plain_text", "text": "competitor:acme since:30d pricing"}});
    if !query.is_empty() {
        input["initial_value"] = json!(crate::text::truncate(query, crate::search::MAX_QUERY));
    }
    let mut blocks = vec![
        json!({"type": "input", "block_id": QUERY_BLOCK, "label": {"type": "plain_text", "text": "Search every note"},
            "hint": {"type": "plain_text", "text": "Words, \"phrases\" and filters: competitor:, stage:, tag:, rep:@name, since:30d, source:reply, initiative:ID"},
            "element": input}),
    ];
    if let Some((text, b)) = results {
        if b.is_empty() {
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": crate::text::truncate(text, 3000)}}));
        } else {
            blocks.extend(b.iter().cloned());
        }
    }
    serde_json::from_value(json!({
        "type": "modal",
        "callback_id": SEARCH_MODAL,
        "title": {"type": "plain_text", "text": "Search notes"},
        "submit": {"type": "plain_text", "text": "Search"},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": blocks,
    }))
    .unwrap_or_else(|_| SlackView::Modal(SlackModalView::new("Search notes".into(), vec![])))
}

/// Opens the search modal for a marketer; anyone else sees why not.
pub async fn open(bot: &Bot, user: &str, trigger: &str) -> anyhow::Result<()> {
    if let Err(refusal) = may_search(bot, user, json!({"from": "home"})).await {
        return super::access::show_refusal(bot, trigger, &refusal).await;
    }
    bot.slack
        .open_view(trigger, modal("", None))
        .await
        .map_err(|e| anyhow::anyhow!("opening search: {e}"))?;
    Ok(())
}

/// The search modal submitted: the first page, in place.
pub async fn submitted(bot: &Bot, user: &str, query: &str) -> SlackInteractionResponse {
    let page = search(bot, user, query, 0).await;
    SlackInteractionResponse::ViewSubmission(SlackViewSubmissionResponse::Update(
        SlackViewSubmissionUpdateResponse::new(modal(query, Some(&page))),
    ))
}

/// **More results** inside the modal: the next page, in place.
pub async fn more_in_view(bot: &Arc<Bot>, user: &str, page: Page, view_id: String) {
    let (st, user) = (bot.clone(), user.to_string());
    let work = async move {
        let results = search(&st, &user, &page.q, page.p).await;
        if let Err(e) = st
            .slack
            .update_view(&view_id, modal(&page.q, Some(&results)))
            .await
        {
            warn!(error = %e, "showing the next page of search results failed");
        }
    };
    bot.background.run("next search page", work).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_slacks_response_urls_are_trusted() {
        let api = "http://127.0.0.1:4000/api/";
        assert!(trusted_response_url(
            "https://hooks.slack.com/actions/T1/2/x",
            "https://slack.com/api/"
        ));
        assert!(trusted_response_url(
            "http://127.0.0.1:4000/response/abc",
            api
        ));
        assert!(!trusted_response_url(
            "http://127.0.0.1:4001/response/abc",
            api
        ));
        assert!(!trusted_response_url("http://169.254.169.254/latest", api));
        assert!(!trusted_response_url(
            "https://evil.example/hooks.slack.com",
            "https://slack.com/api/"
        ));
        assert!(!trusted_response_url(
            "https://slack.com/api/chat.delete",
            "https://slack.com/api/"
        ));
        assert!(!trusted_response_url("not a url", api));
    }

    #[test]
    fn forged_page_values_are_refused() {
        assert_eq!(
            Page::parse(r#"{"q":"acme","p":1}"#),
            Some(Page {
                q: "acme".into(),
                p: 1
            })
        );
        assert_eq!(Page::parse(r#"{"q":" ","p":1}"#), None);
        assert_eq!(Page::parse(r#"{"q":"x","p":100000}"#), None);
        assert_eq!(Page::parse("12"), None);
    }
}
