//! `multipart/form-data` bodies (RFC 7578), read whole from memory.
//!
//! Slack takes Web API arguments as multipart form data (`curl -F`), and its
//! upload URLs take a file as one multipart part as well as raw bytes. The
//! emulator holds every body in memory already, so a small strict parser is
//! all it needs: no streaming, and nothing to add to the dependency tree.

/// One part of a multipart body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Part {
    /// `name` of the part's `Content-Disposition: form-data`.
    pub name: Option<String>,
    /// `filename` of the part's `Content-Disposition`, for a file part.
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// Whether a `Content-Type` header value is `multipart/form-data`.
pub(crate) fn is_multipart(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// The `boundary` parameter of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| unquote(v.trim()).to_string())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// `name` and `filename` of a `Content-Disposition: form-data; ...` value.
fn disposition(value: &str) -> Result<(Option<String>, Option<String>), &'static str> {
    let mut params = value.split(';');
    let kind = params.next().unwrap_or("").trim();
    if !kind.eq_ignore_ascii_case("form-data") {
        return Err("a part's Content-Disposition is not form-data");
    }
    let (mut name, mut filename) = (None, None);
    for p in params {
        if let Some((k, v)) = p.split_once('=') {
            let v = unquote(v.trim()).to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "name" => name = Some(v),
                "filename" => filename = Some(v),
                _ => {}
            }
        }
    }
    Ok((name, filename))
}

/// Splits a `multipart/form-data` body into its parts. Errors name what is
/// malformed: no boundary, no opening or closing delimiter, a part without
/// headers or without a form-data `Content-Disposition`.
pub(crate) fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, &'static str> {
    let boundary = boundary(content_type).ok_or("no boundary in the Content-Type")?;
    let delim = format!("--{boundary}").into_bytes();
    let next_delim = [b"\r\n".as_slice(), &delim].concat();
    // The first delimiter opens the body or follows a preamble's CRLF.
    let mut pos = if body.starts_with(&delim) {
        delim.len()
    } else {
        find(body, &next_delim, 0).ok_or("no opening boundary")? + next_delim.len()
    };
    let mut parts = Vec::new();
    loop {
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding may follow a delimiter before its CRLF.
        while body.get(pos).is_some_and(|b| *b == b' ' || *b == b'\t') {
            pos += 1;
        }
        if !body[pos..].starts_with(b"\r\n") {
            return Err("a boundary is not followed by CRLF");
        }
        pos += 2;
        let (head, content_start) = if body[pos..].starts_with(b"\r\n") {
            (&body[pos..pos], pos + 2)
        } else {
            let end = find(body, b"\r\n\r\n", pos).ok_or("a part's headers never end")?;
            (&body[pos..end], end + 4)
        };
        let head = std::str::from_utf8(head).map_err(|_| "a part's headers are not UTF-8")?;
        let (mut name, mut filename, mut content_type, mut seen) = (None, None, None, false);
        for line in head.split("\r\n") {
            let (k, v) = line.split_once(':').ok_or("a part's header has no colon")?;
            match k.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    (name, filename) = disposition(v.trim())?;
                    seen = true;
                }
                "content-type" => content_type = Some(v.trim().to_string()),
                _ => {}
            }
        }
        if !seen {
            return Err("a part has no Content-Disposition");
        }
        let end = find(body, &next_delim, content_start).ok_or("no closing boundary")?;
        parts.push(Part {
            name,
            filename,
            content_type,
            data: body[content_start..end].to_vec(),
        });
        pos = end + next_delim.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    #[test]
    fn recognises_the_content_type() {
        assert!(is_multipart("multipart/form-data; boundary=a"));
        assert!(is_multipart("Multipart/Form-Data;boundary=a"));
        assert!(!is_multipart("application/x-www-form-urlencoded"));
        assert!(!is_multipart("multipart/mixed; boundary=a"));
        assert_eq!(
            boundary("multipart/form-data; boundary=\"a b\"").unwrap(),
            "a b"
        );
        assert_eq!(
            boundary("multipart/form-data; charset=utf-8").as_deref(),
            None
        );
    }

    #[test]
    fn splits_fields_and_files() {
        let body = b"preamble\r\n--XyZ\r\n\
            Content-Disposition: form-data; name=\"files\"\r\n\r\n\
            [{\"id\":\"F1\"}]\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\
            Content-Type: image/png\r\n\r\n\
            \x89PNG\r\n--Xy\r\n\
            --XyZ--\r\nepilogue";
        let parts = parse(CT, body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name.as_deref(), Some("files"));
        assert_eq!(parts[0].filename, None);
        assert_eq!(parts[0].data, b"[{\"id\":\"F1\"}]");
        assert_eq!(parts[1].filename.as_deref(), Some("a.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        // A CRLF and a near-boundary inside the content are content.
        assert_eq!(parts[1].data, b"\x89PNG\r\n--Xy");
    }

    #[test]
    fn empty_content_and_no_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n--XyZ--";
        let parts = parse(CT, body).unwrap();
        assert_eq!(parts[0].data, b"");
        assert_eq!(parse(CT, b"--XyZ--\r\n").unwrap(), vec![]);
    }

    #[test]
    fn refuses_malformed_bodies() {
        assert!(parse("multipart/form-data", b"--XyZ--").is_err());
        assert!(parse(CT, b"no boundary here").is_err());
        let unclosed = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue";
        assert!(parse(CT, unclosed).is_err());
        let no_disposition = b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--";
        assert!(parse(CT, no_disposition).is_err());
        let attachment = b"--XyZ\r\nContent-Disposition: attachment\r\n\r\nx\r\n--XyZ--";
        assert!(parse(CT, attachment).is_err());
    }
}
