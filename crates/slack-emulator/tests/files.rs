//! Slack's external file upload over real HTTP: files.getUploadURLExternal,
//! a POST of the bytes to the upload URL (raw or multipart), and
//! files.completeUploadExternal sharing the file to a channel or thread.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use slack_emulator::{Emulator, EmulatorConfig, RateLimits};
use slack_morphism::prelude::*;

const TOKEN: &str = "xoxb-emulator-token";

async fn call_status(emu: &Emulator, method: &str, body: Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/{method}", emu.api_url()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

async fn call(emu: &Emulator, method: &str, body: Value) -> Value {
    let (status, r) = call_status(emu, method, body).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

/// files.getUploadURLExternal as slack-morphism calls it: a GET with the
/// arguments in the query string.
async fn get_upload_url(emu: &Emulator, query: &[(&str, &str)]) -> Value {
    let url = url::Url::parse_with_params(
        &format!("{}/files.getUploadURLExternal", emu.api_url()),
        query,
    )
    .unwrap();
    reqwest::Client::new()
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// (upload_url, file_id) for a file of `length` bytes.
async fn begin(emu: &Emulator, filename: &str, length: usize) -> (String, String) {
    let r = get_upload_url(
        emu,
        &[("filename", filename), ("length", &length.to_string())],
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    (
        r["upload_url"].as_str().unwrap().to_string(),
        r["file_id"].as_str().unwrap().to_string(),
    )
}

async fn upload_raw(url: &str, bytes: &[u8]) -> (StatusCode, String) {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// A multipart/form-data body as `curl -F file=@NAME` sends it.
fn multipart(boundary: &str, fields: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, data) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

async fn post_multipart(url: &str, body: Vec<u8>, bearer: bool) -> reqwest::Response {
    let mut r = reqwest::Client::new().post(url).header(
        "content-type",
        "multipart/form-data; boundary=----emu4Kb0undary",
    );
    if bearer {
        r = r.bearer_auth(TOKEN);
    }
    r.body(body).send().await.unwrap()
}

/// A top-level message in #sales and a reply to it: (parent ts, reply ts).
async fn thread(emu: &Emulator) -> (String, String) {
    let parent = call(
        emu,
        "chat.postMessage",
        json!({"channel": SALES, "text": "digest"}),
    )
    .await;
    let parent_ts = parent["ts"].as_str().unwrap().to_string();
    let reply = call(
        emu,
        "chat.postMessage",
        json!({"channel": SALES, "text": "reply", "thread_ts": parent_ts}),
    )
    .await;
    (parent_ts, reply["ts"].as_str().unwrap().to_string())
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n not really a chart, but 48 bytes.";

#[tokio::test]
async fn raw_upload_shared_into_a_thread() {
    let emu = start().await;
    let (parent_ts, _) = thread(&emu).await;

    let r = get_upload_url(
        &emu,
        &[
            ("filename", "chart.png"),
            ("length", &PNG.len().to_string()),
            ("alt_txt", "Mentions by competitor, this week"),
        ],
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    let url = r["upload_url"].as_str().unwrap();
    let id = r["file_id"].as_str().unwrap();
    let prefix = format!("http://{}/upload/v1/", emu.addr());
    assert!(url.starts_with(&prefix), "{url}");
    assert!(url.len() > prefix.len() + 20 && !url[prefix.len()..].contains('/'));
    assert!(id.starts_with('F'), "{id}");
    let pending = emu.uploaded_file(id).unwrap();
    assert_eq!(pending.filename, "chart.png");
    assert_eq!(pending.length, PNG.len());
    assert_eq!(pending.bytes, None);
    assert!(!pending.completed);

    assert_eq!(
        upload_raw(url, PNG).await,
        (StatusCode::OK, format!("OK - {}", PNG.len()))
    );
    assert_eq!(emu.uploaded_file(id).unwrap().bytes.as_deref(), Some(PNG));
    // Nothing is shared before completion.
    assert_eq!(emu.messages_in(SALES).len(), 2);

    let r = call(
        &emu,
        "files.completeUploadExternal",
        json!({
            "files": [{"id": id, "title": "Weekly chart"}],
            "channel_id": SALES,
            "thread_ts": parent_ts,
            "initial_comment": "This week's mentions",
        }),
    )
    .await;
    assert_eq!(
        r,
        json!({"ok": true, "files": [{"id": id, "title": "Weekly chart"}]})
    );

    let msgs = emu.messages_in(SALES);
    assert_eq!(msgs.len(), 3);
    let share = msgs.last().unwrap();
    assert_eq!(share.thread_ts.as_deref(), Some(parent_ts.as_str()));
    assert_eq!(share.text, "This week's mentions");
    assert_eq!(share.bot_id.as_deref(), Some("B0BOT00001"));
    let files = share.files.as_ref().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["id"], id);
    assert_eq!(files[0]["name"], "chart.png");
    assert_eq!(files[0]["title"], "Weekly chart");
    assert_eq!(files[0]["mimetype"], "image/png");
    assert_eq!(files[0]["size"], PNG.len());
    assert_eq!(files[0]["alt_txt"], "Mentions by competitor, this week");
    // Other messages carry no files.
    assert!(msgs[0].files.is_none());

    let f = emu.uploaded_file(id).unwrap();
    assert!(f.completed);
    assert_eq!(f.title.as_deref(), Some("Weekly chart"));
    assert_eq!(
        f.alt_txt.as_deref(),
        Some("Mentions by competitor, this week")
    );
    assert_eq!(f.channel_id.as_deref(), Some(SALES));
    assert_eq!(f.channels, [SALES]);
    assert_eq!(f.thread_ts.as_deref(), Some(parent_ts.as_str()));
    assert_eq!(emu.uploaded_files(), [f]);

    // In the thread, not in the channel: the parent counts two replies.
    let h = call(&emu, "conversations.history", json!({"channel": SALES})).await;
    assert_eq!(h["messages"].as_array().unwrap().len(), 1, "{h}");
    assert_eq!(h["messages"][0]["reply_count"], 2);

    // The upload URL takes one file.
    assert_eq!(upload_raw(url, PNG).await.0, StatusCode::BAD_REQUEST);
    emu.assert_no_unexpected_args();
}

#[tokio::test]
async fn slack_morphism_uploads_and_reads_the_share_back() {
    let emu = start().await;
    let client = client(&emu);
    let token = bot_token(&emu);
    let s = client.open_session(&token);

    let got = s
        .get_upload_url_external(
            &SlackApiFilesGetUploadUrlExternalRequest::new("chart.png".into(), PNG.len())
                .with_alt_txt("A chart".into()),
        )
        .await
        .unwrap();
    s.files_upload_via_url(&SlackApiFilesUploadViaUrlRequest::new(
        got.upload_url.clone(),
        PNG.to_vec(),
        "image/png".into(),
    ))
    .await
    .unwrap();
    let done = s
        .files_complete_upload_external(
            &SlackApiFilesCompleteUploadExternalRequest::new(vec![SlackApiFilesComplete::new(
                got.file_id.clone(),
            )])
            .with_channel_id(SALES.into()),
        )
        .await
        .unwrap();
    assert_eq!(done.files.len(), 1);
    assert_eq!(done.files[0].id, got.file_id);
    // Without a title, Slack shows the filename.
    assert_eq!(done.files[0].title.as_deref(), Some("chart.png"));

    let history = s
        .conversations_history(
            &SlackApiConversationsHistoryRequest::new().with_channel(SALES.into()),
        )
        .await
        .unwrap();
    let files = history.messages[0].content.files.clone().unwrap();
    assert_eq!(files[0].id, got.file_id);
    assert_eq!(files[0].name.as_deref(), Some("chart.png"));
    assert_eq!(
        emu.uploaded_file(&got.file_id.0).unwrap().bytes.as_deref(),
        Some(PNG)
    );
    emu.assert_no_unexpected_args();
}

#[tokio::test]
async fn multipart_upload_and_multipart_complete_without_a_channel() {
    let emu = start().await;
    let data = b"week,mentions\r\n1,4\r\n--not-a-boundary\r\n";
    let (url, id) = begin(&emu, "mentions.csv", data.len()).await;

    // One file part, plus a plain field that is not the file.
    let body = multipart(
        "----emu4Kb0undary",
        &[
            ("note", None, b"ignored"),
            ("file", Some("mentions.csv"), data),
        ],
    );
    let r = post_multipart(&url, body, false).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), format!("OK - {}", data.len()));
    assert_eq!(
        emu.uploaded_file(&id).unwrap().bytes.as_deref(),
        Some(&data[..])
    );

    // files.completeUploadExternal as `curl -F files=[...]`: no channel, so
    // the file stays private and nothing is posted.
    let files = format!(r#"[{{"id":"{id}","title":"Mentions"}}]"#);
    let body = multipart("----emu4Kb0undary", &[("files", None, files.as_bytes())]);
    let api = format!("{}/files.completeUploadExternal", emu.api_url());
    let r: Value = post_multipart(&api, body, true).await.json().await.unwrap();
    assert_eq!(
        r,
        json!({"ok": true, "files": [{"id": id, "title": "Mentions"}]})
    );
    let f = emu.uploaded_file(&id).unwrap();
    assert!(f.completed);
    assert_eq!((f.channel_id, f.thread_ts), (None, None));
    assert!(f.channels.is_empty());
    assert!(emu.messages().is_empty());

    // Two file parts, or none, are refused.
    let (url, id) = begin(&emu, "two.csv", 1).await;
    let two = multipart(
        "----emu4Kb0undary",
        &[("a", Some("a.csv"), b"1"), ("b", Some("b.csv"), b"2")],
    );
    assert_eq!(
        post_multipart(&url, two, false).await.status(),
        StatusCode::BAD_REQUEST
    );
    let none = multipart("----emu4Kb0undary", &[]);
    assert_eq!(
        post_multipart(&url, none, false).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(emu.uploaded_file(&id).unwrap().bytes, None);
}

#[tokio::test]
async fn the_upload_must_match_the_declared_length() {
    let emu = start().await;
    let (url, id) = begin(&emu, "chart.png", PNG.len()).await;

    let short = &PNG[..PNG.len() - 1];
    let (status, text) = upload_raw(&url, short).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let mut long = PNG.to_vec();
    long.push(b'!');
    assert_eq!(upload_raw(&url, &long).await.0, StatusCode::BAD_REQUEST);
    // As a multipart part, too.
    let body = multipart("----emu4Kb0undary", &[("file", Some("chart.png"), short)]);
    assert_eq!(
        post_multipart(&url, body, false).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(emu.uploaded_file(&id).unwrap().bytes, None);

    // Without its bytes the file cannot be completed.
    let r = call(
        &emu,
        "files.completeUploadExternal",
        json!({"files": [{"id": id}], "channel_id": SALES}),
    )
    .await;
    assert_eq!(r["error"], "file_not_found");

    // The right length is then accepted, once.
    assert_eq!(upload_raw(&url, PNG).await.0, StatusCode::OK);
    assert_eq!(upload_raw(&url, PNG).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(emu.uploaded_file(&id).unwrap().bytes.as_deref(), Some(PNG));

    // An upload URL the emulator never handed out is a 404.
    let unknown = format!("http://{}/upload/v1/NoSuchUploadToken", emu.addr());
    assert_eq!(upload_raw(&unknown, PNG).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        upload_raw(&format!("{url}/extra"), PNG).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn unknown_unfinished_or_completed_ids_are_file_not_found() {
    let emu = start().await;
    let complete = |files: Value| {
        let emu = emu.clone();
        async move {
            call(
                &emu,
                "files.completeUploadExternal",
                json!({"files": files, "channel_id": SALES}),
            )
            .await
        }
    };

    assert_eq!(
        complete(json!([{"id": "F0NOSUCHID1"}])).await["error"],
        "file_not_found"
    );
    // Begun, but its bytes never arrived.
    let (_, pending) = begin(&emu, "a.png", 3).await;
    assert_eq!(
        complete(json!([{"id": pending}])).await["error"],
        "file_not_found"
    );
    // One good id and one pending one: nothing is completed.
    let (url, good) = begin(&emu, "b.png", 3).await;
    assert_eq!(upload_raw(&url, b"abc").await.0, StatusCode::OK);
    let r = complete(json!([{"id": good}, {"id": pending}])).await;
    assert_eq!(r["error"], "file_not_found");
    assert!(!emu.uploaded_file(&good).unwrap().completed);
    assert!(emu.messages_in(SALES).is_empty());

    // Completed once, then not again.
    assert_eq!(complete(json!([{"id": good}])).await["ok"], true);
    assert_eq!(
        complete(json!([{"id": good}])).await["error"],
        "file_not_found"
    );
    assert_eq!(emu.messages_in(SALES).len(), 1);

    // `files` itself malformed: Slack's invalid_arguments.
    for bad in [json!("F0NOSUCHID1"), json!([]), json!([{"title": "no id"}])] {
        let r = complete(bad.clone()).await;
        assert_eq!(r["error"], "invalid_arguments", "{bad}: {r}");
    }
    // `files` missing altogether.
    let r = call(
        &emu,
        "files.completeUploadExternal",
        json!({"channel_id": SALES}),
    )
    .await;
    assert_eq!(r["error"], "invalid_arguments");

    // The pending upload was never shared.
    let p = emu.uploaded_file(&pending).unwrap();
    assert!(!p.completed && p.channel_id.is_none());
}

#[tokio::test]
async fn bad_channels_share_nothing() {
    let emu = start().await;
    emu.add_channel("C0NOBOT001", "no-bot", &[ALICE]);
    let (url, id) = begin(&emu, "chart.png", PNG.len()).await;
    assert_eq!(upload_raw(&url, PNG).await.0, StatusCode::OK);

    for (channel, code) in [
        ("C0NOSUCH01", "channel_not_found"),
        ("C0NOBOT001", "not_in_channel"),
    ] {
        let r = call(
            &emu,
            "files.completeUploadExternal",
            json!({"files": [{"id": id}], "channel_id": channel}),
        )
        .await;
        assert_eq!(r["error"], code, "{channel}");
    }
    let r = call(
        &emu,
        "files.completeUploadExternal",
        json!({"files": [{"id": id}], "channels": format!("{SALES},C0NOSUCH01")}),
    )
    .await;
    assert_eq!(r["error"], "channel_not_found");
    assert!(!emu.uploaded_file(&id).unwrap().completed);
    assert!(emu.messages().is_empty());

    // Still completable once the arguments are right; `channels` may name a
    // user, whose DM with the bot gets the file.
    let r = call(
        &emu,
        "files.completeUploadExternal",
        json!({"files": [{"id": id}], "channels": format!("{SALES},{ALICE}")}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    let dm = emu.dm_channel(ALICE).unwrap();
    assert_eq!(
        emu.messages_in(SALES)[0].files.as_ref().unwrap()[0]["id"],
        id
    );
    assert_eq!(emu.messages_in(&dm)[0].files.as_ref().unwrap()[0]["id"], id);
    assert_eq!(
        emu.uploaded_file(&id).unwrap().channels,
        [SALES.to_string(), dm]
    );
}

#[tokio::test]
async fn thread_ts_must_be_a_parent_in_the_one_channel() {
    let emu = start().await;
    let (parent_ts, reply_ts) = thread(&emu).await;
    let (url, id) = begin(&emu, "chart.png", PNG.len()).await;
    assert_eq!(upload_raw(&url, PNG).await.0, StatusCode::OK);

    for (args, why) in [
        (
            json!({"channel_id": SALES, "thread_ts": reply_ts}),
            "a reply's ts",
        ),
        (
            json!({"channel_id": SALES, "thread_ts": "1.000001"}),
            "no such message",
        ),
        (json!({"thread_ts": parent_ts}), "no channel_id"),
        (
            json!({"channels": format!("{SALES},{ALICE}"), "thread_ts": parent_ts}),
            "two channels",
        ),
    ] {
        let mut body = args.clone();
        body["files"] = json!([{"id": id}]);
        let r = call(&emu, "files.completeUploadExternal", body).await;
        assert_eq!(r["error"], "invalid_channel", "{why}: {r}");
    }
    assert!(!emu.uploaded_file(&id).unwrap().completed);
    assert_eq!(emu.messages_in(SALES).len(), 2);

    // The parent's ts, with `channels` naming the one channel, works.
    let r = call(
        &emu,
        "files.completeUploadExternal",
        json!({"files": [{"id": id}], "channels": SALES, "thread_ts": parent_ts}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    let share = emu.messages_in(SALES).pop().unwrap();
    assert_eq!(share.thread_ts.as_deref(), Some(parent_ts.as_str()));
}

#[tokio::test]
async fn blocks_are_validated_unless_initial_comment_is_set() {
    let emu = start().await;
    let bad_blocks =
        json!([{"type": "section", "text": {"type": "mrkdwn", "text": "a".repeat(3001)}}]);
    let (url, id) = begin(&emu, "chart.png", PNG.len()).await;
    assert_eq!(upload_raw(&url, PNG).await.0, StatusCode::OK);

    let r = call(
        &emu,
        "files.completeUploadExternal",
        json!({"files": [{"id": id}], "channel_id": SALES, "blocks": bad_blocks}),
    )
    .await;
    assert_eq!(r["error"], "invalid_blocks", "{r}");
    assert!(!emu.uploaded_file(&id).unwrap().completed);

    // With initial_comment, blocks are ignored.
    let r = call(
        &emu,
        "files.completeUploadExternal",
        json!({"files": [{"id": id}], "channel_id": SALES, "blocks": bad_blocks,
               "initial_comment": "the chart"}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    let share = emu.messages_in(SALES).pop().unwrap();
    assert_eq!(share.text, "the chart");
    assert_eq!(share.blocks, json!([]));

    // Valid blocks, as a form field holding JSON, are the share's.
    let (url, id) = begin(&emu, "chart2.png", PNG.len()).await;
    assert_eq!(upload_raw(&url, PNG).await.0, StatusCode::OK);
    let r: Value = reqwest::Client::new()
        .post(format!("{}/files.completeUploadExternal", emu.api_url()))
        .bearer_auth(TOKEN)
        .form(&[
            ("files", format!(r#"[{{"id":"{id}"}}]"#)),
            ("channel_id", SALES.to_string()),
            (
                "blocks",
                r#"[{"type":"section","text":{"type":"mrkdwn","text":"*Chart*"}}]"#.into(),
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["ok"], true, "{r}");
    let share = emu.messages_in(SALES).pop().unwrap();
    assert_eq!(share.blocks[0]["text"]["text"], "*Chart*");
    assert_eq!(share.files.unwrap()[0]["id"], id);
}

#[tokio::test]
async fn get_upload_url_argument_errors() {
    let emu = start().await;
    let code = |r: Value| r["error"].as_str().unwrap_or("ok").to_string();
    let q = |length: &'static str| [("filename", "a.png"), ("length", length)];

    assert_eq!(
        code(get_upload_url(&emu, &q("0")).await),
        "missing_argument"
    );
    assert_eq!(
        code(get_upload_url(&emu, &[("filename", "a.png")]).await),
        "missing_argument"
    );
    assert_eq!(
        code(get_upload_url(&emu, &[("length", "3")]).await),
        "missing_argument"
    );
    for bad in ["abc", "1.5", "-3"] {
        let r = get_upload_url(&emu, &q(bad)).await;
        assert_eq!(code(r.clone()), "invalid_arguments", "{bad}: {r}");
    }
    // JSON numbers too.
    let r = call(
        &emu,
        "files.getUploadURLExternal",
        json!({"filename": "a.png", "length": 0}),
    )
    .await;
    assert_eq!(code(r), "missing_argument");
    let r = call(
        &emu,
        "files.getUploadURLExternal",
        json!({"filename": "a.png", "length": 3}),
    )
    .await;
    assert_eq!(code(r), "ok");

    let alt = "a".repeat(1001);
    let r = get_upload_url(
        &emu,
        &[("filename", "a.png"), ("length", "3"), ("alt_txt", &alt)],
    )
    .await;
    assert_eq!(code(r), "alt_txt_too_large");
    let alt = "é".repeat(1000);
    let r = get_upload_url(
        &emu,
        &[("filename", "a.png"), ("length", "3"), ("alt_txt", &alt)],
    )
    .await;
    assert_eq!(code(r), "ok");

    let big = (1024 * 1024 + 1).to_string();
    let r = get_upload_url(
        &emu,
        &[
            ("filename", "a.py"),
            ("length", &big),
            ("snippet_type", "python"),
        ],
    )
    .await;
    assert_eq!(code(r), "snippet_too_large");

    // Only the failed calls' files are missing: two were begun.
    assert_eq!(emu.uploaded_files().len(), 2);
    emu.assert_no_unexpected_args();
}

#[tokio::test]
async fn both_methods_are_tier_4() {
    let mut cfg = EmulatorConfig::for_tests();
    cfg.rate_limits = RateLimits::slack();
    let emu = Emulator::start(cfg).await.unwrap();
    // Tier 4 (100/min) holds a one-second burst of 2, per method.
    let get = json!({"filename": "a.png", "length": 3});
    let complete = json!({"files": [{"id": "F0NOSUCHID1"}]});
    for (status, get_error, complete_error) in [
        (StatusCode::OK, None, "file_not_found"),
        (StatusCode::OK, None, "file_not_found"),
        (
            StatusCode::TOO_MANY_REQUESTS,
            Some("ratelimited"),
            "ratelimited",
        ),
    ] {
        let (s, r) = call_status(&emu, "files.getUploadURLExternal", get.clone()).await;
        assert_eq!((s, r["error"].as_str()), (status, get_error), "{r}");
        let (s, r) = call_status(&emu, "files.completeUploadExternal", complete.clone()).await;
        assert_eq!(
            (s, r["error"].as_str()),
            (status, Some(complete_error)),
            "{r}"
        );
    }
}
