//! PNG chunks: checking an uploaded badge, baking a credential into an `iTXt` chunk with the
//! keyword `openbadgecredential` (Open Badges 3.0 §5.3, "Baking") and reading it back.

use super::{ImageError, BAKED_KEYWORD, MAX_IMAGE_BYTES, MAX_SIDE};

pub const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// One chunk: its type and data (the length and CRC are checked while reading).
#[derive(Debug)]
struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
    /// Byte range of the whole chunk (length, type, data, CRC) in the file.
    start: usize,
    end: usize,
}

fn crc(kind: &[u8], data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    crc.sum()
}

/// Every chunk of a PNG file, checked: signature, lengths, CRCs, `IHDR` first, `IEND` last with
/// nothing after it.
fn chunks(png: &[u8]) -> Result<Vec<Chunk<'_>>, ImageError> {
    let bad = |why: String| ImageError::BadPng(why);
    let mut at = SIGNATURE.len();
    if png.get(..at) != Some(SIGNATURE) {
        return Err(bad("the file does not start with the PNG signature".into()));
    }
    let mut chunks = Vec::new();
    loop {
        let header = png
            .get(at..at + 8)
            .ok_or_else(|| bad("the file ends before the IEND chunk".into()))?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = [header[4], header[5], header[6], header[7]];
        let data_start = at + 8;
        let data = png
            .get(data_start..data_start + length)
            .ok_or_else(|| bad("a chunk is longer than the file".into()))?;
        let stored = png
            .get(data_start + length..data_start + length + 4)
            .ok_or_else(|| bad("the file ends inside a chunk".into()))?;
        if u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]) != crc(&kind, data) {
            return Err(bad(format!(
                "the CRC of chunk {} is wrong (the file is damaged)",
                String::from_utf8_lossy(&kind)
            )));
        }
        let end = data_start + length + 4;
        if chunks.is_empty() && &kind != b"IHDR" {
            return Err(bad("the first chunk is not IHDR".into()));
        }
        chunks.push(Chunk {
            kind,
            data,
            start: at,
            end,
        });
        at = end;
        if &kind == b"IEND" {
            if at != png.len() {
                return Err(bad("there is data after the IEND chunk".into()));
            }
            return Ok(chunks);
        }
    }
}

/// Width and height from `IHDR`.
pub fn dimensions(png: &[u8]) -> Result<(u32, u32), ImageError> {
    let all = chunks(png)?;
    let ihdr = all[0].data;
    if ihdr.len() != 13 {
        return Err(ImageError::BadPng("IHDR is not 13 bytes long".into()));
    }
    let width = u32::from_be_bytes([ihdr[0], ihdr[1], ihdr[2], ihdr[3]]);
    let height = u32::from_be_bytes([ihdr[4], ihdr[5], ihdr[6], ihdr[7]]);
    Ok((width, height))
}

/// Checks an uploaded badge PNG: size, structure, CRCs, dimensions, and no credential inside.
pub fn check_upload(png: &[u8]) -> Result<(), ImageError> {
    if png.len() > MAX_IMAGE_BYTES {
        return Err(ImageError::TooLarge(png.len()));
    }
    let (width, height) = dimensions(png)?;
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(ImageError::BadPng(format!(
            "the image is {width}×{height} pixels; each side must be 1 to {MAX_SIDE}"
        )));
    }
    if baked_text(png)?.is_some() {
        return Err(ImageError::BadPng(
            "this PNG already carries a baked credential; upload the plain badge image".into(),
        ));
    }
    Ok(())
}

/// The `iTXt` chunk data: keyword, NUL, compression flag 0, method 0, empty language tag, NUL,
/// empty translated keyword, NUL, then the UTF-8 text.
fn itxt(keyword: &str, text: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(keyword.len() + 5 + text.len());
    data.extend_from_slice(keyword.as_bytes());
    data.extend_from_slice(&[0, 0, 0, 0, 0]);
    data.extend_from_slice(text.as_bytes());
    data
}

/// The text of an `iTXt` chunk when its keyword is `keyword` (uncompressed only: the baking
/// section stores the credential uncompressed).
fn itxt_text<'a>(data: &'a [u8], keyword: &str) -> Result<Option<&'a str>, ImageError> {
    let Some(rest) = data
        .strip_prefix(keyword.as_bytes())
        .and_then(|r| r.strip_prefix(b"\0"))
    else {
        return Ok(None);
    };
    let bad = |why: &str| ImageError::BadPng(format!("the {keyword} chunk is malformed: {why}"));
    let (&flag, rest) = rest.split_first().ok_or_else(|| bad("it ends early"))?;
    if flag != 0 {
        return Err(bad(
            "it is compressed; baked credentials are stored uncompressed",
        ));
    }
    let rest = rest.get(1..).ok_or_else(|| bad("it ends early"))?;
    let language_end = rest
        .iter()
        .position(|b| *b == 0)
        .ok_or_else(|| bad("no language tag"))?;
    let rest = &rest[language_end + 1..];
    let translated_end = rest
        .iter()
        .position(|b| *b == 0)
        .ok_or_else(|| bad("no translated keyword"))?;
    std::str::from_utf8(&rest[translated_end + 1..])
        .map(Some)
        .map_err(|_| bad("the text is not UTF-8"))
}

/// The baked credential text, if the PNG carries one (more than one is an error: the spec allows
/// exactly one).
pub fn baked_text(png: &[u8]) -> Result<Option<String>, ImageError> {
    let mut found = None;
    for chunk in chunks(png)?.iter().filter(|c| &c.kind == b"iTXt") {
        if let Some(text) = itxt_text(chunk.data, BAKED_KEYWORD)? {
            if found.is_some() {
                return Err(ImageError::BadPng(format!(
                    "the PNG has more than one {BAKED_KEYWORD} chunk"
                )));
            }
            found = Some(text.to_owned());
        }
    }
    Ok(found)
}

/// The PNG with `credential` baked in: an `iTXt` chunk inserted right before `IEND`, replacing a
/// credential chunk the image may already carry.
pub fn bake(png: &[u8], credential: &str) -> Result<Vec<u8>, ImageError> {
    let all = chunks(png)?;
    let mut out = Vec::with_capacity(png.len() + credential.len() + 64);
    out.extend_from_slice(SIGNATURE);
    for chunk in &all {
        let is_credential = &chunk.kind == b"iTXt"
            && chunk
                .data
                .strip_prefix(BAKED_KEYWORD.as_bytes())
                .is_some_and(|rest| rest.first() == Some(&0));
        if is_credential {
            continue;
        }
        if &chunk.kind == b"IEND" {
            let data = itxt(BAKED_KEYWORD, credential);
            let length = u32::try_from(data.len())
                .map_err(|_| ImageError::BadPng("the credential is too large".into()))?;
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(b"iTXt");
            out.extend_from_slice(&data);
            out.extend_from_slice(&crc(b"iTXt", &data).to_be_bytes());
        }
        out.extend_from_slice(&png[chunk.start..chunk.end]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 grey PNG made by hand (IHDR, IDAT, IEND).
    pub(crate) fn tiny_png() -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&crc(kind, data).to_be_bytes());
        }
        let mut out = SIGNATURE.to_vec();
        chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
        // zlib stream of the one scanline [filter 0, grey 0x80]
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, &[0, 0x80]).unwrap();
        chunk(&mut out, b"IDAT", &z.finish().unwrap());
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn baking_inserts_one_itxt_chunk_before_iend_and_reads_back() {
        let png = tiny_png();
        check_upload(&png).unwrap();
        let json = r#"{"id":"urn:uuid:1","name":"Zoë ]]> <x>"}"#;
        let baked = bake(&png, json).unwrap();
        assert_eq!(baked_text(&baked).unwrap().as_deref(), Some(json));
        let kinds: Vec<_> = chunks(&baked).unwrap().iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [*b"IHDR", *b"IDAT", *b"iTXt", *b"IEND"]);
        // The chunk is exactly: keyword, NUL, flag 0, method 0, NUL, NUL, text.
        let itxt = &chunks(&baked).unwrap()[2];
        assert_eq!(
            itxt.data,
            [b"openbadgecredential\0\0\0\0\0".as_slice(), json.as_bytes()].concat()
        );
        // Baking again replaces the credential instead of adding a second one.
        let again = bake(&baked, "{}").unwrap();
        assert_eq!(baked_text(&again).unwrap().as_deref(), Some("{}"));
        assert_eq!(chunks(&again).unwrap().len(), 4);
        assert!(check_upload(&baked).is_err());
    }

    #[test]
    fn damaged_files_are_refused() {
        let png = tiny_png();
        assert_eq!(baked_text(&png).unwrap(), None);
        let mut flipped = png.clone();
        flipped[20] ^= 1;
        assert!(matches!(chunks(&flipped), Err(ImageError::BadPng(m)) if m.contains("CRC")));
        assert!(chunks(&png[..png.len() - 3]).is_err());
        assert!(chunks(b"GIF89a").is_err());
        let mut trailing = png.clone();
        trailing.push(0);
        assert!(chunks(&trailing).is_err());
    }
}
