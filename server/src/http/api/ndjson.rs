//! Reading a request body as NDJSON lines without holding it whole: lines come
//! out in batches; a line longer than the limit is skipped as it streams (its
//! bytes are never kept) and reported as too long.

use axum::body::Body;
use futures_util::StreamExt;

/// One line: its 1-based number and bytes, or `None` when it was too long.
pub struct Line {
    pub number: u64,
    pub bytes: Option<Vec<u8>>,
}

/// Splits a body into lines, skipping blank ones.
pub struct Lines {
    stream: axum::body::BodyDataStream,
    max_line: usize,
    current: Vec<u8>,
    too_long: bool,
    number: u64,
    done: bool,
}

impl Lines {
    pub fn new(body: Body, max_line: usize) -> Self {
        Self {
            stream: body.into_data_stream(),
            max_line,
            current: Vec::new(),
            too_long: false,
            number: 0,
            done: false,
        }
    }

    fn take(&mut self, out: &mut Vec<Line>) {
        self.number += 1;
        let blank = self.current.iter().all(u8::is_ascii_whitespace);
        if self.too_long {
            out.push(Line {
                number: self.number,
                bytes: None,
            });
        } else if !blank {
            out.push(Line {
                number: self.number,
                bytes: Some(std::mem::take(&mut self.current)),
            });
        }
        self.current.clear();
        self.too_long = false;
    }

    /// The next lines, at least `batch` of them or up to `batch_bytes` bytes
    /// (fewer at the end); an empty batch once the body is over. An `Err` is
    /// a body that could not be read (the client went away, say).
    pub async fn next_batch(
        &mut self,
        batch: usize,
        batch_bytes: usize,
    ) -> Result<Vec<Line>, axum::Error> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while !self.done && out.len() < batch && bytes < batch_bytes {
            let Some(chunk) = self.stream.next().await else {
                self.done = true;
                if !self.current.is_empty() || self.too_long {
                    self.take(&mut out);
                }
                break;
            };
            let chunk = chunk?;
            let mut rest: &[u8] = &chunk;
            while let Some(at) = rest.iter().position(|&b| b == b'\n') {
                self.push(&rest[..at]);
                bytes += self.current.len();
                self.take(&mut out);
                rest = &rest[at + 1..];
            }
            self.push(rest);
        }
        Ok(out)
    }

    fn push(&mut self, part: &[u8]) {
        if self.too_long {
            return;
        }
        if self.current.len() + part.len() > self.max_line {
            self.too_long = true;
            self.current = Vec::new();
        } else {
            self.current.extend_from_slice(part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn all(body: &'static [u8], max: usize) -> Vec<(u64, Option<String>)> {
        let mut lines = Lines::new(Body::from(body), max);
        let mut out = Vec::new();
        loop {
            let batch = lines.next_batch(2, 1 << 20).await.expect("reads");
            if batch.is_empty() {
                return out;
            }
            out.extend(batch.into_iter().map(|l| {
                (
                    l.number,
                    l.bytes.map(|b| String::from_utf8(b).expect("utf-8")),
                )
            }));
        }
    }

    #[tokio::test]
    async fn lines_are_numbered_blank_ones_skipped_and_long_ones_reported() {
        let got = all(b"{\"a\":1}\n\n{\"b\":2}\r\n0123456789abc\n{\"c\":3}", 10).await;
        assert_eq!(
            got,
            vec![
                (1, Some("{\"a\":1}".into())),
                (3, Some("{\"b\":2}\r".into())),
                (4, None),
                (5, Some("{\"c\":3}".into())),
            ]
        );
    }
}
