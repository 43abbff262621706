//! `multipart/form-data` bodies of the upload forms (bank files, badge images, credentials to verify).

/// One part of a `multipart/form-data` body.
#[derive(Debug, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| at + from)
}

/// A `name="value"` parameter of a header line.
fn header_param(line: &str, key: &str) -> Option<String> {
    line.split(';').map(str::trim).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Parses a `multipart/form-data` body (RFC 7578): enough for the upload forms (text fields and
/// files, binary or text). `None` when the body does not follow the format.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = header_param(content_type, "boundary")?;
    if boundary.is_empty() || boundary.len() > 200 {
        return None;
    }
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let mut parts = Vec::new();
    let mut at = find(body, delimiter.as_bytes(), 0)? + delimiter.len();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(parts);
        }
        if body.get(at..at + 2) != Some(b"\r\n") {
            return None;
        }
        at += 2;
        let headers_end = find(body, b"\r\n\r\n", at)?;
        let headers = std::str::from_utf8(&body[at..headers_end]).ok()?;
        let disposition = headers.split("\r\n").find(|line| {
            line.to_ascii_lowercase()
                .starts_with("content-disposition:")
        })?;
        let name = header_param(disposition, "name")?;
        let filename = header_param(disposition, "filename");
        let data_start = headers_end + 4;
        let data_end = find(body, next_delimiter.as_bytes(), data_start)?;
        parts.push(Part {
            name,
            filename,
            data: body[data_start..data_end].to_vec(),
        });
        at = data_end + next_delimiter.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_are_split_into_fields_and_files() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\\\banks\\\\pg.toml\"\r\nContent-Type: application/octet-stream\r\n\r\nline1\r\nline2\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n\r\n--XyZ--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XyZ", body.as_bytes()).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].name, "csrf_token");
        assert_eq!(parts[0].data, b"abc");
        assert_eq!(parts[1].filename.as_deref(), Some("C:\\\\banks\\\\pg.toml"));
        assert_eq!(parts[1].data, b"line1\r\nline2");
        assert_eq!(parts[2].data, b"");
        assert!(parse_multipart("multipart/form-data", body.as_bytes()).is_none());
        assert!(parse_multipart("multipart/form-data; boundary=Q", body.as_bytes()).is_none());
        assert!(parse_multipart("multipart/form-data; boundary=XyZ", b"--XyZ\r\nbroken").is_none());
    }

    #[test]
    fn binary_parts_keep_their_bytes() {
        let mut body =
            b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
                .to_vec();
        body.extend_from_slice(b"\x89PNG\r\n--not-the-boundary\r\n\x00\xff");
        body.extend_from_slice(b"\r\n--B--\r\n");
        let parts = parse_multipart("multipart/form-data; boundary=B", &body).unwrap();
        assert_eq!(parts[0].data, b"\x89PNG\r\n--not-the-boundary\r\n\x00\xff");
    }
}
