//! Attachments: PDF, PNG, JPEG and plain text, recognised by their content (the
//! name and the type a browser claims are not trusted), capped in size, and
//! streamed through sealing into `attachment_chunks`, and back out, without the
//! file ever being held whole.
//!
//! Text is recognised from its first 8 KiB (valid UTF-8, no control characters
//! but tabs and line ends); a download is always served as an attachment with
//! `nosniff`, so a browser never renders what it gets.

use std::{
    io,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::{
    store::{new_id, now_ms, on_pool, Store},
    vault::{KeyOwner, Recipients, Vault},
    Error, Result,
};

/// Default cap on one file: 25 MB.
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1000 * 1000;
/// Default cap on files in one message.
pub const DEFAULT_MAX_PER_MESSAGE: usize = 10;
/// Ciphertext per stored row.
const STORED_CHUNK: u64 = 1024 * 1024;
/// How much of a file is looked at to tell its type.
const SNIFF_BYTES: u64 = 8 * 1024;
/// Longest file name kept, in characters.
const NAME_MAX_CHARS: usize = 200;

/// How large and how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttachmentLimits {
    pub max_bytes: u64,
    pub max_per_message: usize,
}

impl Default for AttachmentLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            max_per_message: DEFAULT_MAX_PER_MESSAGE,
        }
    }
}

/// The kinds of file accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachmentType {
    Pdf,
    Png,
    Jpeg,
    Text,
}

impl AttachmentType {
    pub const fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Text => "text/plain",
        }
    }

    pub fn from_mime(mime: &str) -> Option<Self> {
        [Self::Pdf, Self::Png, Self::Jpeg, Self::Text]
            .into_iter()
            .find(|t| t.mime() == mime)
    }

    /// What a file's first bytes say it is, if it is a kind accepted.
    pub fn sniff(prefix: &[u8]) -> Option<Self> {
        match infer::get(prefix).map(|t| t.mime_type()) {
            Some("application/pdf") => Some(Self::Pdf),
            Some("image/png") => Some(Self::Png),
            Some("image/jpeg") => Some(Self::Jpeg),
            Some(_) => None,
            None if looks_like_text(prefix) => Some(Self::Text),
            None => None,
        }
    }
}

fn looks_like_text(prefix: &[u8]) -> bool {
    let text = match std::str::from_utf8(prefix) {
        Ok(text) => text,
        // Cut in the middle of a character at the end of the sample: fine.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&prefix[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
}

/// An attachment as its reader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentInfo {
    pub id: String,
    pub name: String,
    pub content_type: AttachmentType,
    pub size: u64,
}

pub(crate) fn invalid(problem: impl Into<String>) -> Error {
    Error::Invalid {
        field: "attachments",
        problem: problem.into(),
    }
}

/// The last part of a path, without control characters.
pub fn clean_name(raw: &str) -> Result<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        return Err(invalid("each file needs a name"));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(invalid("file names must be at most 200 characters"));
    }
    Ok(name.to_owned())
}

/// Reads a file from `reader`, checks its type and size, and stores it sealed to
/// `recipients`, not yet part of any message. On any error nothing is kept.
pub(crate) async fn store_pending<R>(
    store: &Store,
    recipients: &Recipients,
    name: &str,
    mut reader: R,
    max_bytes: u64,
) -> Result<AttachmentInfo>
where
    R: AsyncRead + Unpin + Send,
{
    let name = clean_name(name)?;
    let mut prefix = Vec::with_capacity(SNIFF_BYTES as usize);
    (&mut reader)
        .take(SNIFF_BYTES)
        .read_to_end(&mut prefix)
        .await
        .map_err(|source| Error::Io {
            what: "reading an attachment".into(),
            source,
        })?;
    if prefix.is_empty() {
        return Err(invalid(format!("{name} is empty")));
    }
    let kind = AttachmentType::sniff(&prefix)
        .ok_or_else(|| invalid("only PDF, PNG, JPEG and plain text files can be attached"))?;
    let id = new_id();
    let name_sealed = recipients.seal(name.as_bytes())?;
    on_pool!(store, |pool| {
        sqlx::query(
        "INSERT INTO attachments (id, message_id, name_sealed, content_type, size_bytes, created_at) \
         VALUES ($1, NULL, $2, $3, 0, $4)"
    )
    .bind(&id)
    .bind(name_sealed.as_slice())
    .bind(kind.mime())
    .bind(now_ms())
    .execute(pool)
    .await
    .map(drop)
    })?;
    let whole = io::Cursor::new(prefix).chain(reader);
    match seal_into_chunks(store, recipients, &id, whole, max_bytes).await {
        Ok(size) => {
            on_pool!(store, |pool| sqlx::query(
                "UPDATE attachments SET size_bytes = $2 WHERE id = $1"
            )
            .bind(&id)
            .bind(size as i64)
            .execute(pool)
            .await
            .map(drop))?;
            Ok(AttachmentInfo {
                id,
                name,
                content_type: kind,
                size,
            })
        }
        Err(error) => {
            discard(store, std::slice::from_ref(&id)).await?;
            Err(error)
        }
    }
}

/// Seals `reader` into rows of `attachment_chunks`; returns the plaintext size.
async fn seal_into_chunks<R>(
    store: &Store,
    recipients: &Recipients,
    id: &str,
    reader: R,
    max_bytes: u64,
) -> Result<u64>
where
    R: AsyncRead + Unpin + Send,
{
    let too_large = Arc::new(AtomicBool::new(false));
    let capped = Capped {
        inner: reader,
        left: max_bytes,
        over: too_large.clone(),
    };
    let (mut sealed_in, mut sealed_out) = tokio::io::duplex(256 * 1024);
    let seal = async move {
        let result = recipients.seal_stream(capped, &mut sealed_in).await;
        let _ = sealed_in.shutdown().await;
        result
    };
    let save = async move {
        for seq in 0i64.. {
            let mut chunk = Vec::with_capacity(STORED_CHUNK as usize);
            (&mut sealed_out)
                .take(STORED_CHUNK)
                .read_to_end(&mut chunk)
                .await
                .map_err(|source| Error::Io {
                    what: "storing an attachment".into(),
                    source,
                })?;
            if chunk.is_empty() {
                break;
            }
            on_pool!(store, |pool| sqlx::query(
                "INSERT INTO attachment_chunks (attachment_id, seq, sealed) VALUES ($1, $2, $3)"
            )
            .bind(id)
            .bind(seq)
            .bind(chunk.as_slice())
            .execute(pool)
            .await
            .map(drop))?;
        }
        Ok::<_, Error>(())
    };
    let (sealed, saved) = tokio::join!(seal, save);
    if too_large.load(Ordering::Relaxed) {
        return Err(invalid(format!(
            "each file must be at most {} MB",
            max_bytes / 1_000_000
        )));
    }
    saved?;
    sealed
}

/// Streams the attachment `id`, opened as `owner`, into `writer`; returns the
/// plaintext size. See [`Vault::open_stream`] for an error midway.
pub async fn write_out<W>(
    store: &Store,
    vault: &Vault,
    id: &str,
    owner: &KeyOwner,
    writer: &mut W,
) -> Result<u64>
where
    W: AsyncWrite + Unpin + Send,
{
    let (mut sealed_in, sealed_out) = tokio::io::duplex(256 * 1024);
    let feed = async move {
        for seq in 0i64.. {
            let chunk: Option<Vec<u8>> = on_pool!(store, |pool| sqlx::query_scalar(
                "SELECT sealed FROM attachment_chunks WHERE attachment_id = $1 AND seq = $2"
            )
            .bind(id)
            .bind(seq)
            .fetch_optional(pool)
            .await)?;
            let Some(chunk) = chunk else { break };
            if sealed_in.write_all(&chunk).await.is_err() {
                // The reader stopped (the download was abandoned): so do we.
                break;
            }
        }
        let _ = sealed_in.shutdown().await;
        Ok::<_, Error>(())
    };
    let open = vault.open_stream(sealed_out, writer, owner);
    let (fed, opened) = tokio::join!(feed, open);
    fed?;
    opened
}

/// Removes attachments that never became part of a message.
pub(crate) async fn discard(store: &Store, ids: &[String]) -> Result<()> {
    for id in ids {
        on_pool!(store, |pool| sqlx::query(
            "DELETE FROM attachments WHERE id = $1 AND message_id IS NULL"
        )
        .bind(id)
        .execute(pool)
        .await
        .map(drop))?;
    }
    Ok(())
}

/// Removes what failed uploads left (the process stopped mid-message): stored
/// files older than an hour that belong to no message. Returns how many.
pub async fn remove_abandoned(store: &Store) -> Result<u64> {
    let before = now_ms() - 3_600_000;
    let removed = on_pool!(store, |pool| sqlx::query(
        "DELETE FROM attachments WHERE message_id IS NULL AND created_at < $1"
    )
    .bind(before)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(removed)
}

/// A reader that fails once more than `left` bytes came through it.
struct Capped<R> {
    inner: R,
    left: u64,
    over: Arc<AtomicBool>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Capped<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let n = (buf.filled().len() - before) as u64;
            if n > self.left {
                self.over.store(true, Ordering::Relaxed);
                return Poll::Ready(Err(io::Error::other("the file is too large")));
            }
            self.left -= n;
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_told_by_content_not_by_name() {
        assert_eq!(
            AttachmentType::sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
            Some(AttachmentType::Pdf)
        );
        assert_eq!(
            AttachmentType::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(AttachmentType::Png)
        );
        assert_eq!(
            AttachmentType::sniff(b"\xff\xd8\xff\xe0\0\x10JFIF\0"),
            Some(AttachmentType::Jpeg)
        );
        assert_eq!(
            AttachmentType::sniff("Blood pressure log\n120/80\tok\n".as_bytes()),
            Some(AttachmentType::Text)
        );
        // A character cut at the end of the sample is still text.
        assert_eq!(
            AttachmentType::sniff(&"é".as_bytes()[..1]),
            None,
            "a lone first byte is nothing"
        );
        assert_eq!(
            AttachmentType::sniff(&"aé".as_bytes()[..2]),
            Some(AttachmentType::Text)
        );
        // A page of HTML is not plain text: refused (any other text is served as
        // text/plain with nosniff, so a browser never renders it either).
        assert_eq!(AttachmentType::sniff(b"<script>alert(1)</script>"), None);
        // Executables, archives, binary noise: refused.
        assert_eq!(AttachmentType::sniff(b"MZ\x90\0\x03\0\0\0"), None);
        assert_eq!(AttachmentType::sniff(b"PK\x03\x04\x14\0"), None);
        assert_eq!(AttachmentType::sniff(b"\x7fELF\x02\x01\x01"), None);
        assert_eq!(AttachmentType::sniff(b"text\0with a NUL"), None);
        assert_eq!(AttachmentType::sniff(b""), None);
    }

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(
            clean_name("C:\\Users\\ana\\scan.pdf").as_deref().ok(),
            Some("scan.pdf")
        );
        assert_eq!(
            clean_name("../../etc/passwd").as_deref().ok(),
            Some("passwd")
        );
        assert_eq!(
            clean_name("lab\r\nX-Header: 1.txt").as_deref().ok(),
            Some("labX-Header: 1.txt")
        );
        assert!(clean_name("..").is_err());
        assert!(clean_name("dir/").is_err());
        assert!(clean_name(&"a".repeat(201)).is_err());
    }

    #[test]
    fn mime_names_round_trip() {
        for t in [
            AttachmentType::Pdf,
            AttachmentType::Png,
            AttachmentType::Jpeg,
            AttachmentType::Text,
        ] {
            assert_eq!(AttachmentType::from_mime(t.mime()), Some(t));
        }
        assert_eq!(AttachmentType::from_mime("text/html"), None);
    }
}
