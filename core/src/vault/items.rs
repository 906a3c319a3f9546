//! Items: messages, attachments and EOBs, sealed in age format to every owner who
//! must read them (the recipient identity and the sending mailbox, or the member
//! and the plan) and opened with one owner's unwrapped key.
//!
//! Order matters for speed: age tries the reader's key against each recipient
//! stanza in turn, and every try is an X25519 operation, so a reader whose stanza
//! is second pays about twice. List the usual reader first.
//!
//! Small items go through memory ([`Vault::seal`], [`Vault::open`]); attachments go
//! through in 64 KiB chunks ([`Vault::seal_stream`], [`Vault::open_stream`]) and
//! are never held whole.

use std::{
    io::{self, Read},
    pin::Pin,
    sync::atomic::{AtomicBool, Ordering},
    task::{Context, Poll},
};

use futures_util::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};
use zeroize::Zeroizing;

use super::{KeyOwner, ReaderKey, Vault};
use crate::{Error, Result};

/// Above this size an in-memory seal or open runs on the blocking pool, so a large
/// item does not stall other requests on the same worker thread.
const INLINE_LIMIT: usize = 64 * 1024;

/// The public keys one item is sealed to, looked up once. Hold one to seal many
/// items to the same owners (a bulk EOB upload to one member and one plan).
#[derive(Clone, Debug)]
pub struct Recipients {
    keys: Vec<age::x25519::Recipient>,
}

impl Recipients {
    fn encryptor(&self) -> Result<age::Encryptor> {
        age::Encryptor::with_recipients(self.keys.iter().map(|k| k as &dyn age::Recipient))
            .map_err(|_| Error::Crypto("the item could not be sealed"))
    }

    /// Seals `plaintext` in memory.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        // age adds a header (about 100 bytes a recipient) and a 16-byte tag a chunk.
        let chunks = plaintext.len() / (64 * 1024) + 1;
        let mut out =
            Vec::with_capacity(plaintext.len() + 16 * chunks + 64 + 120 * self.keys.len());
        let mut writer = self.encryptor()?.wrap_output(&mut out).map_err(seal_io)?;
        io::Write::write_all(&mut writer, plaintext).map_err(seal_io)?;
        writer.finish().map_err(seal_io)?;
        Ok(out)
    }

    /// Seals everything `reader` yields into `writer`, a chunk at a time; returns
    /// the number of plaintext bytes. An error leaves `writer` with an incomplete
    /// item that will not open: discard it.
    pub async fn seal_stream<R, W>(&self, reader: R, writer: &mut W) -> Result<u64>
    where
        R: tokio::io::AsyncRead + Unpin,
        W: tokio::io::AsyncWrite + Unpin,
    {
        let encryptor = self.encryptor()?;
        let failed = AtomicBool::new(false);
        let source = Watched::new(reader.compat(), &failed);
        let sink = Watched::new(writer.compat_write(), &failed);
        let result = async {
            let mut sealed = encryptor.wrap_async_output(sink).await?;
            let n = futures_util::io::copy(source, &mut sealed).await?;
            sealed.close().await?;
            Ok::<_, io::Error>(n)
        }
        .await;
        result.map_err(|e| stream_error(e, &failed, "sealing an attachment"))
    }
}

impl ReaderKey {
    /// Opens an item sealed to this key, into memory that is zeroed when dropped.
    pub fn open(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let decryptor = age::Decryptor::new_buffered(ciphertext).map_err(decrypt_error)?;
        let mut reader = decryptor
            .decrypt(std::iter::once(&self.identity as &dyn age::Identity))
            .map_err(decrypt_error)?;
        // The plaintext is shorter than the ciphertext: reserving that much up front
        // means the buffer never moves, so no unzeroed copy is left behind.
        let mut plain = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
        reader
            .read_to_end(&mut plain)
            .map_err(|_| Error::Crypto("the item is damaged or was altered"))?;
        Ok(plain)
    }

    /// Opens a sealed attachment from `reader` into `writer`, a chunk at a time;
    /// returns the number of plaintext bytes. Each 64 KiB chunk is authenticated
    /// before it is written, but an error may come after some chunks were written
    /// (a damaged or cut-off end): then discard what `writer` received.
    pub async fn open_stream<R, W>(&self, reader: R, writer: &mut W) -> Result<u64>
    where
        R: tokio::io::AsyncRead + Unpin,
        W: tokio::io::AsyncWrite + Unpin,
    {
        let failed = AtomicBool::new(false);
        let source = BufReader::new(Watched::new(reader.compat(), &failed));
        let mut sink = Watched::new(writer.compat_write(), &failed);
        let decryptor = match age::Decryptor::new_async_buffered(source).await {
            Ok(d) => d,
            Err(age::DecryptError::Io(e)) => {
                return Err(stream_error(e, &failed, "opening an attachment"))
            }
            Err(e) => return Err(decrypt_error(e)),
        };
        let plain = decryptor
            .decrypt_async(std::iter::once(&self.identity as &dyn age::Identity))
            .map_err(decrypt_error)?;
        let result = async {
            let n = futures_util::io::copy(plain, &mut sink).await?;
            sink.flush().await?;
            Ok::<_, io::Error>(n)
        }
        .await;
        result.map_err(|e| stream_error(e, &failed, "opening an attachment"))
    }
}

impl Vault {
    /// The public keys of `owners`, in the order given (duplicates dropped), making
    /// key pairs on first use. Refuses an empty list and erased owners.
    pub async fn recipients(&self, owners: &[KeyOwner]) -> Result<Recipients> {
        if owners.is_empty() {
            return Err(Error::Invalid {
                field: "recipients",
                problem: "an item must be sealed to at least one owner".into(),
            });
        }
        let mut keys = Vec::with_capacity(owners.len());
        for (i, owner) in owners.iter().enumerate() {
            if owners[..i].contains(owner) {
                continue;
            }
            keys.push(self.public_key(owner).await?);
        }
        Ok(Recipients { keys })
    }

    /// Seals `plaintext` to `owners` (see [`Vault::recipients`]) in age format.
    pub async fn seal(&self, plaintext: &[u8], owners: &[KeyOwner]) -> Result<Vec<u8>> {
        let recipients = self.recipients(owners).await?;
        if plaintext.len() <= INLINE_LIMIT {
            return recipients.seal(plaintext);
        }
        // The caller's buffer cannot move to another thread: copy it into memory
        // that is zeroed after use.
        let copy = Zeroizing::new(plaintext.to_vec());
        blocking(move || recipients.seal(&copy)).await
    }

    /// Opens an item as `owner`: unwraps the owner's key, then decrypts.
    /// [`Error::Erased`] when the owner's key was erased; [`Error::Crypto`] when the
    /// item is not sealed to them or is damaged.
    pub async fn open(&self, ciphertext: &[u8], owner: &KeyOwner) -> Result<Zeroizing<Vec<u8>>> {
        let key = self.reader_key(owner).await?;
        open_with(&key, ciphertext).await
    }

    /// `owner`'s key, to open several items of one view with one lookup and one
    /// unwrap; `None` when the key was erased (every item then shows as erased).
    pub async fn reader_key_unless_erased(&self, owner: &KeyOwner) -> Result<Option<ReaderKey>> {
        match self.reader_key(owner).await {
            Ok(key) => Ok(Some(key)),
            Err(Error::Erased) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Seals an attachment from `reader` into `writer` without holding it whole.
    pub async fn seal_stream<R, W>(
        &self,
        reader: R,
        writer: &mut W,
        owners: &[KeyOwner],
    ) -> Result<u64>
    where
        R: tokio::io::AsyncRead + Unpin,
        W: tokio::io::AsyncWrite + Unpin,
    {
        self.recipients(owners)
            .await?
            .seal_stream(reader, writer)
            .await
    }

    /// Opens a sealed attachment from `reader` into `writer` as `owner`, without
    /// holding it whole (see [`ReaderKey::open_stream`] for errors midway).
    pub async fn open_stream<R, W>(
        &self,
        reader: R,
        writer: &mut W,
        owner: &KeyOwner,
    ) -> Result<u64>
    where
        R: tokio::io::AsyncRead + Unpin,
        W: tokio::io::AsyncWrite + Unpin,
    {
        self.reader_key(owner)
            .await?
            .open_stream(reader, writer)
            .await
    }
}

/// Opens an item with `key`: inline when small, on the blocking pool when large.
pub async fn open_with(key: &ReaderKey, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if ciphertext.len() <= INLINE_LIMIT {
        return key.open(ciphertext);
    }
    let (key, copy) = (key.clone(), ciphertext.to_vec());
    blocking(move || key.open(&copy)).await
}

/// Opens an item with a key from [`Vault::reader_key_unless_erased`] as text;
/// `None` when the key was erased.
pub async fn open_text(key: Option<&ReaderKey>, ciphertext: &[u8]) -> Result<Option<String>> {
    match key {
        Some(key) => {
            let plain = open_with(key, ciphertext).await?;
            Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
        }
        None => Ok(None),
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| Error::Crypto("a sealing or opening task stopped unexpectedly"))?
}

fn seal_io(_: io::Error) -> Error {
    Error::Crypto("the item could not be sealed")
}

fn decrypt_error(e: age::DecryptError) -> Error {
    match e {
        age::DecryptError::NoMatchingKeys => {
            Error::Crypto("this item is not sealed to this reader")
        }
        _ => Error::Crypto("the item is damaged or was altered"),
    }
}

/// Tells a failing reader or writer of the caller's (reported as I/O) from an item
/// that does not decrypt (reported as a crypto failure).
fn stream_error(e: io::Error, caller_failed: &AtomicBool, what: &str) -> Error {
    if caller_failed.load(Ordering::Relaxed) {
        Error::Io {
            what: what.to_owned(),
            source: e,
        }
    } else {
        Error::Crypto("the attachment is damaged, cut off or was altered")
    }
}

/// A reader or writer of the caller's that notes whether it ever failed.
struct Watched<'a, T> {
    inner: T,
    failed: &'a AtomicBool,
}

impl<'a, T> Watched<'a, T> {
    fn new(inner: T, failed: &'a AtomicBool) -> Self {
        Self { inner, failed }
    }

    fn note<V>(&self, poll: Poll<io::Result<V>>) -> Poll<io::Result<V>> {
        if let Poll::Ready(Err(_)) = &poll {
            self.failed.store(true, Ordering::Relaxed);
        }
        poll
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<'_, T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.note(poll)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<'_, T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.note(poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.note(poll)
    }

    /// Only flushes: the writer is the caller's, to close when they are done with it.
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.note(poll)
    }
}
