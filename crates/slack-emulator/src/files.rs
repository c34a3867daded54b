//! Slack's external file upload, the only way to upload since `files.upload`
//! was retired:
//!
//! 1. `files.getUploadURLExternal` (`filename`, `length` in bytes > 0,
//!    optional `alt_txt` ≤ 1000 characters and `snippet_type`) answers a
//!    `file_id` and an `upload_url`, here `http://ADDR/upload/v1/{token}`;
//! 2. the bytes are POSTed to the upload URL, raw or as one multipart part,
//!    and must be exactly the declared `length` (HTTP 200 `OK - <n>`; an
//!    unknown URL is a 404, a wrong length or a second upload a 400);
//! 3. `files.completeUploadExternal` (`files=[{"id","title"?}]`, optional
//!    `channel_id`/`channels`, `thread_ts`, `initial_comment`, `blocks`)
//!    finishes it and, given a conversation, shares it there as a message
//!    with a `files` array (in the thread, with `thread_ts`).
//!
//! An upload never completed is never shared. Slack shares asynchronously;
//! here the share message exists when the call returns.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::blockkit;
use crate::config::EmulatorConfig;
use crate::multipart;
use crate::payloads;
use crate::server::{Emulator, WeakEmulator};
use crate::state::{ids, ApiCall, Message, State as WsState, UploadedFile};
use crate::web_api::{err, ok, Params, R};

/// Max characters of `alt_txt` (`alt_txt_too_large` past it).
pub(crate) const MAX_ALT_TXT: usize = 1000;
/// Max `length` of a snippet (`snippet_type` given): 1 MB.
pub(crate) const MAX_SNIPPET_BYTES: usize = 1024 * 1024;
/// Max `length` of a file: Slack's 1 GB per file.
pub(crate) const MAX_FILE_BYTES: usize = 1024 * 1024 * 1024;
/// Max conversations one files.completeUploadExternal shares to.
pub(crate) const MAX_SHARE_CHANNELS: usize = 100;

#[derive(Debug)]
struct Upload {
    file: UploadedFile,
    /// The last segment of the upload URL.
    token: String,
    /// The token that called files.getUploadURLExternal; only it may
    /// complete the upload.
    uploader: String,
}

/// Every upload begun, in order, indexed by file id and by upload token.
#[derive(Debug, Default)]
pub(crate) struct FileStore {
    uploads: Vec<Upload>,
    by_id: HashMap<String, usize>,
    by_token: HashMap<String, usize>,
}

impl FileStore {
    fn insert(&mut self, upload: Upload) {
        let i = self.uploads.len();
        self.by_id.insert(upload.file.id.clone(), i);
        self.by_token.insert(upload.token.clone(), i);
        self.uploads.push(upload);
    }

    fn by_id(&self, id: &str) -> Option<&Upload> {
        self.by_id.get(id).map(|&i| &self.uploads[i])
    }

    fn by_id_mut(&mut self, id: &str) -> Option<&mut Upload> {
        let i = *self.by_id.get(id)?;
        Some(&mut self.uploads[i])
    }

    fn by_token_mut(&mut self, token: &str) -> Option<&mut Upload> {
        let i = *self.by_token.get(token)?;
        Some(&mut self.uploads[i])
    }

    /// Every file, in the order its upload began.
    pub fn files(&self) -> impl Iterator<Item = &UploadedFile> {
        self.uploads.iter().map(|u| &u.file)
    }

    pub fn file(&self, id: &str) -> Option<&UploadedFile> {
        self.by_id(id).map(|u| &u.file)
    }
}

/// Slack's `invalid_arguments`, naming each problem.
fn invalid_arguments(messages: &[String]) -> Value {
    json!({
        "ok": false,
        "error": "invalid_arguments",
        "response_metadata": {"messages": messages
            .iter()
            .map(|m| format!("[ERROR] {m}"))
            .collect::<Vec<_>>()},
    })
}

/// `length`: a whole number of bytes. `0` is `missing_argument` (Slack's
/// reference: "typically only occurs when the length provided is 0");
/// anything not a whole number is `invalid_arguments`.
fn length_arg(p: &Params) -> Result<usize, Value> {
    let raw = p.str("length").ok_or_else(|| err("missing_argument"))?;
    match raw.parse::<u64>() {
        Ok(0) => Err(err("missing_argument")),
        Ok(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        Err(_) => Err(invalid_arguments(&[
            "must be a whole number of bytes [json-pointer:/length]".into(),
        ])),
    }
}

/// `files`: a JSON array (or a form field holding one) of `{"id", "title"?}`,
/// at least one. Returns (id, title) pairs, a repeated id once.
fn files_arg(p: &Params) -> Result<Vec<(String, Option<String>)>, Value> {
    let bad = |m: &str| invalid_arguments(&[format!("{m} [json-pointer:/files]")]);
    let list = match p.get("files") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => a,
            _ => return Err(bad("must be a JSON array of {\"id\", \"title\"} objects")),
        },
        _ => return Err(bad("must be a JSON array of {\"id\", \"title\"} objects")),
    };
    if list.is_empty() {
        return Err(bad("must provide at least 1 item"));
    }
    let mut out: Vec<(String, Option<String>)> = Vec::with_capacity(list.len());
    for (i, f) in list.iter().enumerate() {
        let Some(id) = f
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            return Err(invalid_arguments(&[format!(
                "missing required field: id [json-pointer:/files/{i}/id]"
            )]));
        };
        let title = match f.get("title") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()).filter(|s| !s.is_empty()),
            Some(_) => {
                return Err(invalid_arguments(&[format!(
                    "must be a string [json-pointer:/files/{i}/title]"
                )]))
            }
        };
        if !out.iter().any(|(x, _)| x == id) {
            out.push((id.to_string(), title));
        }
    }
    Ok(out)
}

/// A conversation to share to: a channel (or IM) id, or a user whose DM with
/// the bot is opened when the file is shared.
enum Target {
    Channel(String),
    User(String),
}

/// (mimetype, filetype, pretty_type) by the filename's extension.
fn kind(filename: &str) -> (&'static str, &'static str, &'static str) {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => ("image/png", "png", "PNG"),
        "jpg" | "jpeg" => ("image/jpeg", "jpg", "JPEG"),
        "gif" => ("image/gif", "gif", "GIF"),
        "svg" => ("image/svg+xml", "svg", "SVG"),
        "pdf" => ("application/pdf", "pdf", "PDF"),
        "csv" => ("text/csv", "csv", "CSV"),
        "json" => ("application/json", "json", "JSON"),
        "md" => ("text/plain", "markdown", "Markdown (raw)"),
        "txt" => ("text/plain", "text", "Plain Text"),
        _ => ("application/octet-stream", "binary", "Binary"),
    }
}

/// A file object as a file share message lists it.
fn file_object(cfg: &EmulatorConfig, f: &UploadedFile, created: i64, is_public: bool) -> Value {
    let (mimetype, filetype, pretty_type) = kind(&f.filename);
    let filetype = f.snippet_type.as_deref().unwrap_or(filetype);
    let mut permalink = url::Url::parse(&format!("https://{}.slack.com/files", cfg.team_domain))
        .expect("a valid base URL");
    permalink.path_segments_mut().expect("an http URL").extend([
        cfg.bot_user_id.as_str(),
        f.id.as_str(),
        f.filename.as_str(),
    ]);
    let mut o = json!({
        "id": f.id,
        "created": created,
        "timestamp": created,
        "name": f.filename,
        "title": f.title.as_deref().unwrap_or(&f.filename),
        "mimetype": mimetype,
        "filetype": filetype,
        "pretty_type": pretty_type,
        "user": cfg.bot_user_id,
        "user_team": cfg.team_id,
        "editable": false,
        "size": f.length,
        "mode": if f.snippet_type.is_some() { "snippet" } else { "hosted" },
        "is_external": false,
        "external_type": "",
        "is_public": is_public,
        "public_url_shared": false,
        "display_as_bot": false,
        "username": "",
        "permalink": permalink.as_str(),
    });
    if let Some(a) = &f.alt_txt {
        o["alt_txt"] = json!(a);
    }
    o
}

impl Emulator {
    /// files.getUploadURLExternal: records a pending upload and answers its
    /// upload URL and file id.
    pub(crate) fn get_upload_url_external(&self, st: &mut WsState, p: &Params, token: &str) -> R {
        let filename = p.str("filename").ok_or_else(|| err("missing_argument"))?;
        let length = length_arg(p)?;
        let alt_txt = p.str("alt_txt");
        if alt_txt
            .as_ref()
            .is_some_and(|a| a.chars().count() > MAX_ALT_TXT)
        {
            return Err(err("alt_txt_too_large"));
        }
        let snippet_type = p.str("snippet_type");
        if snippet_type.is_some() && length > MAX_SNIPPET_BYTES {
            return Err(err("snippet_too_large"));
        }
        if length > MAX_FILE_BYTES {
            return Err(err("file_upload_size_restricted"));
        }
        let id = ids::file_id();
        let upload_token = ids::upload_token();
        let upload_url = format!("http://{}/upload/v1/{upload_token}", self.inner.addr);
        st.files.insert(Upload {
            file: UploadedFile {
                id: id.clone(),
                filename,
                length,
                alt_txt,
                snippet_type,
                bytes: None,
                title: None,
                completed: false,
                channel_id: None,
                channels: vec![],
                thread_ts: None,
            },
            token: upload_token,
            uploader: token.to_string(),
        });
        ok(json!({"upload_url": upload_url, "file_id": id}))
    }

    /// files.completeUploadExternal: finishes uploads whose bytes arrived
    /// and shares them, in one message per conversation.
    ///
    /// Errors, checked in this order, before anything changes:
    /// - `files` malformed → `invalid_arguments`;
    /// - an id not begun, without its bytes, or already completed →
    ///   `file_not_found`; begun with another token → `access_denied`;
    /// - more than 100 conversations → `channels_limit_exceeded`;
    /// - an unknown conversation (or user) → `channel_not_found`; a channel
    ///   the bot is not in → `not_in_channel`;
    /// - `thread_ts` without exactly one conversation, or not the ts of a
    ///   top-level message there (a reply's ts, say) → `invalid_channel`
    ///   (the reference documents no thread error; this is its error for an
    ///   invalid conversation);
    /// - `blocks` (used only without `initial_comment`) breaking Block Kit's
    ///   message rules → `invalid_blocks`.
    pub(crate) fn complete_upload_external(&self, st: &mut WsState, p: &Params, token: &str) -> R {
        let cfg = &self.inner.config;
        let requested = files_arg(p)?;
        for (id, _) in &requested {
            let u = st
                .files
                .by_id(id)
                .filter(|u| u.file.bytes.is_some() && !u.file.completed)
                .ok_or_else(|| err("file_not_found"))?;
            if u.uploader != token {
                return Err(err("access_denied"));
            }
        }

        let mut named: Vec<(String, bool)> = p
            .str("channel_id")
            .map(|c| (c, false))
            .into_iter()
            .collect();
        named.extend(p.list("channels").into_iter().map(|c| (c, true)));
        if named.len() > MAX_SHARE_CHANNELS {
            return Err(err("channels_limit_exceeded"));
        }
        let mut targets: Vec<Target> = Vec::with_capacity(named.len());
        for (c, user_ok) in named {
            let target = if user_ok && (c.starts_with('U') || c.starts_with('W')) {
                match st.dm_of(&c) {
                    Some(dm) => Target::Channel(dm.id.clone()),
                    None if st.user(&c).is_some_and(|u| !u.deleted) => Target::User(c),
                    None => return Err(err("channel_not_found")),
                }
            } else {
                let ch = st.channel(&c).ok_or_else(|| err("channel_not_found"))?;
                if ch.im_user.is_none() && !ch.has_member(&cfg.bot_user_id) {
                    return Err(err("not_in_channel"));
                }
                Target::Channel(ch.id.clone())
            };
            let dup = targets.iter().any(|t| match (t, &target) {
                (Target::Channel(a), Target::Channel(b)) | (Target::User(a), Target::User(b)) => {
                    a == b
                }
                _ => false,
            });
            if !dup {
                targets.push(target);
            }
        }

        let thread_ts = p.str("thread_ts");
        if let Some(t) = &thread_ts {
            let parent = match targets.as_slice() {
                [Target::Channel(c)] => st.message(c, t),
                _ => None,
            };
            let is_parent = parent.is_some_and(|m| {
                m.ephemeral_for.is_none() && m.thread_ts.as_ref().is_none_or(|pt| *pt == m.ts)
            });
            if !is_parent {
                return Err(err("invalid_channel"));
            }
        }

        let comment = p.str("initial_comment");
        let blocks = match (comment.is_some(), p.get("blocks")) {
            (true, _) | (false, None) => None,
            (false, Some(Value::String(s))) if s.trim().is_empty() => None,
            (false, Some(b)) => {
                if let Err(errors) = blockkit::validate_message_blocks(b) {
                    return Err(json!({"ok": false, "error": "invalid_blocks", "errors": errors}));
                }
                let mut b = b.clone();
                payloads::assign_ids(&mut b);
                Some(b)
            }
        };

        // Valid: complete every file, then share.
        let channels: Vec<String> = targets
            .into_iter()
            .map(|t| match t {
                Target::Channel(c) => c,
                Target::User(u) => st.open_dm(&u, &cfg.bot_user_id).0,
            })
            .collect();
        let is_public = channels
            .iter()
            .any(|c| st.channel(c).is_some_and(|ch| ch.im_user.is_none()));
        let created = chrono::Utc::now().timestamp();
        let mut objects = Vec::with_capacity(requested.len());
        let mut answer = Vec::with_capacity(requested.len());
        for (id, title) in requested {
            let f = &mut st.files.by_id_mut(&id).expect("checked above").file;
            f.completed = true;
            f.title = Some(title.unwrap_or_else(|| f.filename.clone()));
            f.channel_id = channels.first().cloned();
            f.channels = channels.clone();
            f.thread_ts = thread_ts.clone().filter(|_| !channels.is_empty());
            objects.push(file_object(cfg, f, created, is_public));
            answer.push(json!({"id": f.id, "title": f.title}));
        }
        for c in channels {
            let ts = st.next_ts();
            st.messages.push(Message {
                channel: c,
                ts,
                user: Some(cfg.bot_user_id.clone()),
                bot_id: Some(cfg.bot_id.clone()),
                text: comment.clone().unwrap_or_default(),
                blocks: blocks.clone().unwrap_or(json!([])),
                thread_ts: thread_ts.clone(),
                edited: false,
                ephemeral_for: None,
                metadata: None,
                files: Some(objects.clone()),
            });
        }
        ok(json!({"files": answer}))
    }

    /// A POST to an upload URL: (HTTP status, text answer).
    fn receive_upload(&self, token: &str, content_type: &str, body: &[u8]) -> (StatusCode, String) {
        let mut st = self.st();
        let Some(u) = st.files.by_token_mut(token) else {
            return (StatusCode::NOT_FOUND, "no such upload".into());
        };
        if u.file.bytes.is_some() {
            return (
                StatusCode::BAD_REQUEST,
                "this upload URL has already received its file".into(),
            );
        }
        let data = if multipart::is_multipart(content_type) {
            match file_part(content_type, body) {
                Ok(d) => d,
                Err(e) => return (StatusCode::BAD_REQUEST, e.into()),
            }
        } else {
            body.to_vec()
        };
        if data.len() != u.file.length {
            return (
                StatusCode::BAD_REQUEST,
                format!(
                    "the file has {} bytes; files.getUploadURLExternal declared length {}",
                    data.len(),
                    u.file.length
                ),
            );
        }
        let n = data.len();
        u.file.bytes = Some(data);
        (StatusCode::OK, format!("OK - {n}"))
    }
}

/// The file of a multipart upload: its one part with a filename (other,
/// plain fields are ignored), or its only part when none has a filename.
fn file_part(content_type: &str, body: &[u8]) -> Result<Vec<u8>, &'static str> {
    let parts = multipart::parse(content_type, body)?;
    let mut files = parts.iter().filter(|p| p.filename.is_some());
    match (files.next(), files.next(), parts.as_slice()) {
        (Some(f), None, _) => Ok(f.data.clone()),
        (None, None, [only]) => Ok(only.data.clone()),
        (Some(_), Some(_), _) => Err("more than one file part"),
        _ => Err("no file part"),
    }
}

/// `POST /upload/v1/{token}`: the upload URL files.getUploadURLExternal
/// hands out. Like Slack's, it needs no token (the URL is the credential).
pub(crate) async fn handle_upload(
    State(w): State<WeakEmulator>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(emu) = w.upgrade() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (status, text) = emu.receive_upload(&token, &content_type, &body);
    emu.st().record_call(ApiCall {
        method: "upload_url".into(),
        params: json!({"content_type": content_type, "body_bytes": body.len()}),
        token: None,
        status: status.as_u16(),
        response: json!(text),
        at: std::time::SystemTime::now(),
        // Not a Web API method: no reference to check against.
        unexpected_args: vec![],
    });
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: Value) -> Params {
        match v {
            Value::Object(o) => Params(o),
            _ => unreachable!(),
        }
    }

    #[test]
    fn length_must_be_a_positive_whole_number() {
        let code = |v: Value| match length_arg(&params(json!({ "length": v }))) {
            Ok(n) => n.to_string(),
            Err(e) => e["error"].as_str().unwrap().to_string(),
        };
        assert_eq!(code(json!("53072")), "53072");
        assert_eq!(code(json!(7)), "7");
        assert_eq!(code(json!("0")), "missing_argument");
        assert_eq!(code(json!(0)), "missing_argument");
        for bad in [
            json!("-1"),
            json!("1.5"),
            json!(2.5),
            json!("ten"),
            json!(true),
        ] {
            assert_eq!(code(bad.clone()), "invalid_arguments", "{bad}");
        }
    }

    #[test]
    fn files_is_a_json_array_of_ids() {
        let get = |v: Value| files_arg(&params(json!({ "files": v })));
        assert_eq!(
            get(json!(
                r#"[{"id":"F1","title":"t"},{"id":"F2"},{"id":"F1"}]"#
            ))
            .unwrap(),
            [
                ("F1".to_string(), Some("t".to_string())),
                ("F2".to_string(), None)
            ]
        );
        assert_eq!(
            get(json!([{"id": "F1", "title": ""}])).unwrap(),
            [("F1".to_string(), None)]
        );
        for bad in [
            json!("F1"),
            json!("[]"),
            json!([]),
            json!({"id": "F1"}),
            json!([{"title": "t"}]),
            json!([{"id": ""}]),
            json!([{"id": "F1", "title": 3}]),
        ] {
            assert_eq!(
                get(bad.clone()).unwrap_err()["error"],
                "invalid_arguments",
                "{bad}"
            );
        }
    }

    #[test]
    fn file_kinds_by_extension() {
        assert_eq!(kind("chart.PNG").0, "image/png");
        assert_eq!(kind("a.jpeg").1, "jpg");
        assert_eq!(kind("noext").1, "binary");
    }

    #[test]
    fn multipart_file_part() {
        let ct = "multipart/form-data; boundary=b";
        let one = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc\r\n--b--";
        assert_eq!(file_part(ct, one).unwrap(), b"abc");
        let field = b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nxyz\r\n--b--";
        assert_eq!(file_part(ct, field).unwrap(), b"xyz");
        let two = b"--b\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a\"\r\n\r\n1\r\n\
            --b\r\nContent-Disposition: form-data; name=\"b\"; filename=\"b\"\r\n\r\n2\r\n--b--";
        assert!(file_part(ct, two).is_err());
        assert!(file_part(ct, b"--b--").is_err());
    }
}
