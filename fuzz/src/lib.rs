//! Shared pieces of the fuzz targets in `tests/targets.rs`: seed inputs in
//! Slack's shapes, and a mutator that turns fuzz bytes into edits of a seed,
//! so that most inputs are nearly valid and reach deep into the parsers
//! rather than stopping at the first byte.

/// The shipped config: the config loader's seed.
pub const SHIPPED_CONFIG: &str = include_str!("../../config/fieldnotes.toml");

/// Applies edits read from `ops` to `seed`: each edit is three bytes (what,
/// where, which byte), and inserts, replaces, deletes, duplicates a span or
/// swaps in a token that matters to the format (quotes, brackets, `=`,
/// digits, a huge number).
pub fn mutate(seed: &str, ops: &[u8]) -> Vec<u8> {
    const TOKENS: &[&[u8]] = &[
        b"\"",
        b"'",
        b"[",
        b"]",
        b"{",
        b"}",
        b"=",
        b",",
        b"\n",
        b"-1",
        b"0",
        b"99999999999999w",
        b"1e400",
        b"true",
        b"[[tag]]",
        b"\\u202e",
        b"\xff",
        b"\"\"\"",
        b"#",
        b".",
        b"null",
        b"{}",
        b"[]",
        b"\"U\"",
        b"18446744073709551616",
        b"2026-13-45",
        b"\t",
    ];
    let mut out = seed.as_bytes().to_vec();
    for op in ops.chunks(3) {
        let [kind, at, b] = match *op {
            [k, a, b] => [k, a, b],
            _ => return out,
        };
        if out.is_empty() {
            out.push(b);
            continue;
        }
        // Spread `at` over the whole input, not only its first 256 bytes.
        let pos = (at as usize * out.len()) / 256;
        match kind % 6 {
            0 => out.insert(pos, b),
            1 => out[pos] = b,
            2 => {
                out.remove(pos);
            }
            3 => {
                let tok = TOKENS[b as usize % TOKENS.len()];
                out.splice(pos..pos, tok.iter().copied());
            }
            4 => {
                let end = (pos + b as usize).min(out.len());
                let span = out[pos..end].to_vec();
                out.splice(pos..pos, span);
            }
            _ => {
                let end = (pos + (b as usize % 16)).min(out.len());
                out.drain(pos..end);
            }
        }
    }
    out
}

/// A slash command's form fields, as Slack posts them.
pub const COMMAND: &str = "token=t&team_id=T0FIELDNT&team_domain=acme&channel_id=C0SALES01&channel_name=sales&user_id=U0REP0001&user_name=rep&command=%2Ffieldnotes&text=pause+2w&api_app_id=A0FIELDNT&is_enterprise_install=false&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0%2F1%2Fx&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

/// A `message.im` event callback.
pub const EVENT: &str = r#"{"token":"t","team_id":"T0FIELDNT","api_app_id":"A0FIELDNT","event":{"type":"message","channel":"D0REP0001","channel_type":"im","user":"U0REP0001","text":"Acme undercut us on price again","ts":"1764600000.000100","event_ts":"1764600000.000100","team":"T0FIELDNT"},"type":"event_callback","event_id":"Ev0000000001","event_time":1764600000,"authorizations":[{"team_id":"T0FIELDNT","user_id":"U0BOT0001","is_bot":true}],"is_ext_shared_channel":false,"event_context":"4-x"}"#;

/// A block_actions payload (the form-encoded `payload` field's JSON).
pub const BLOCK_ACTIONS: &str = r#"{"type":"block_actions","team":{"id":"T0FIELDNT","domain":"acme"},"user":{"id":"U0REP0001","username":"rep","name":"rep","team_id":"T0FIELDNT"},"api_app_id":"A0FIELDNT","token":"t","container":{"type":"message","message_ts":"1764600000.000100","channel_id":"D0REP0001","is_ephemeral":false},"trigger_id":"1.2.3","channel":{"id":"D0REP0001","name":"directmessage"},"actions":[{"type":"button","action_id":"fieldnotes_open_form","block_id":"b","action_ts":"1764600001.000200","value":"42","text":{"type":"plain_text","text":"Add field notes"}}]}"#;

/// A view_submission payload.
pub const VIEW_SUBMISSION: &str = r#"{"type":"view_submission","team":{"id":"T0FIELDNT","domain":"acme"},"user":{"id":"U0REP0001","username":"rep","name":"rep","team_id":"T0FIELDNT"},"api_app_id":"A0FIELDNT","token":"t","trigger_id":"1.2.4","view":{"id":"V0000001","team_id":"T0FIELDNT","type":"modal","callback_id":"fieldnotes_note","private_metadata":"{\"prompt_id\":42}","hash":"1.x","title":{"type":"plain_text","text":"Field notes"},"blocks":[],"state":{"values":{"q:heard":{"v":{"type":"plain_text_input","value":"Acme again"}}}}}}"#;

/// Form-encodes an interaction payload as Slack posts it.
pub fn form_payload(json: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(json);
    serde_urlencoded::to_string([("payload", text.as_ref())])
        .unwrap_or_default()
        .into_bytes()
}
