//! Writing many rows at once: multi-row INSERTs of fixed sizes (64, 32, …, 1
//! rows), so only a few statement texts exist and each is prepared once per
//! connection, and transactions that take the write lock before they read.

use std::future::Future;

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// The multi-row INSERT sizes, largest first; a batch is cut greedily into them.
pub(crate) const CHUNK_SIZES: [usize; 7] = [64, 32, 16, 8, 4, 2, 1];

/// How parameters are written. SQLite gets anonymous `?`: sqlx looks up the name
/// of every numbered parameter, which SQLite finds by a linear scan, so `$n`
/// made binding a 768-parameter INSERT quadratic (a fifth of all CPU time).
#[derive(Clone, Copy)]
pub(crate) enum Placeholders {
    Anonymous,
    Numbered,
}

/// `($1, $2), ($3, $4)` (or `(?, ?), (?, ?)`) for `rows` rows of `width` parameters.
pub(crate) fn values(rows: usize, width: usize, placeholders: Placeholders) -> String {
    (0..rows)
        .map(|r| {
            let params: Vec<String> = (1..=width)
                .map(|c| match placeholders {
                    Placeholders::Anonymous => "?".to_owned(),
                    Placeholders::Numbered => format!("${}", r * width + c),
                })
                .collect();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One statement text per chunk size (same order as `CHUNK_SIZES`):
/// `prefix` followed by the VALUES rows of `width` parameters.
pub(crate) fn statements(prefix: &str, width: usize, placeholders: Placeholders) -> Vec<String> {
    CHUNK_SIZES
        .iter()
        .map(|&n| format!("{prefix} VALUES {}", values(n, width, placeholders)))
        .collect()
}

/// Cuts `items` into chunks of the sizes in `CHUNK_SIZES`, with the index of each size.
pub(crate) fn chunks<T>(mut items: &[T]) -> impl Iterator<Item = (usize, &[T])> {
    std::iter::from_fn(move || {
        let index = CHUNK_SIZES.iter().position(|&n| n <= items.len())?;
        let (chunk, rest) = items.split_at(CHUNK_SIZES[index]);
        items = rest;
        Some((index, chunk))
    })
}

/// Starts a transaction that writes. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so reading rows and then writing cannot fail with a
/// stale snapshot when another connection wrote in between.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl Future<Output = sqlx::Result<Transaction<'static, Self::Db>>> + Send;
}

impl BeginWrite for SqlitePool {
    type Db = Sqlite;
    fn begin_write(
        &self,
    ) -> impl Future<Output = sqlx::Result<Transaction<'static, Sqlite>>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Db = Postgres;
    fn begin_write(
        &self,
    ) -> impl Future<Output = sqlx::Result<Transaction<'static, Postgres>>> + Send {
        self.begin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_into_the_fixed_insert_sizes() {
        let items: Vec<u32> = (0..203).collect();
        let sizes: Vec<usize> = chunks(&items).map(|(_, c)| c.len()).collect();
        assert_eq!(sizes, [64, 64, 64, 8, 2, 1]);
        let flat: Vec<u32> = chunks(&items).flat_map(|(_, c)| c.to_vec()).collect();
        assert_eq!(flat, items);
        assert_eq!(chunks::<u8>(&[]).count(), 0);
        for (index, chunk) in chunks(&items) {
            assert_eq!(CHUNK_SIZES[index], chunk.len());
        }
    }

    #[test]
    fn insert_statements_place_their_parameters_in_order() {
        assert_eq!(values(2, 2, Placeholders::Numbered), "($1, $2), ($3, $4)");
        assert_eq!(values(2, 2, Placeholders::Anonymous), "(?, ?), (?, ?)");
        let numbered = statements("INSERT INTO t (a, b)", 2, Placeholders::Numbered);
        assert!(numbered[0].ends_with("$127, $128)"));
        assert_eq!(numbered[6], "INSERT INTO t (a, b) VALUES ($1, $2)");
        let anonymous = statements("INSERT INTO t (a, b)", 2, Placeholders::Anonymous);
        assert_eq!(anonymous[0].matches('?').count(), 128);
    }
}
