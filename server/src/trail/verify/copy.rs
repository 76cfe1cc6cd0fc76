//! Reading a stretch of the chain with `COPY ... TO STDOUT (FORMAT binary)`. Each event arrives
//! as one tuple whose leading fields are, byte for byte, its version 2 canonical encoding
//! (`chain::v2`), followed by `prev_hash` and `hash`; the verifier hashes that slice as it
//! arrives and decodes only what it reports (position, id) or what a version 1 event needs.

use std::ops::ControlFlow;

use uuid::Uuid;

use crate::audit::chain::{
    v2::{self, from_pg_micros, FIELD_COUNT},
    AuditRow,
};

/// Every column a verification tuple carries: the canonical fields, then the two hashes.
const COLUMN_COUNT: usize = FIELD_COUNT + 2;
const PREV_HASH: usize = FIELD_COUNT;
const HASH: usize = FIELD_COUNT + 1;

/// The start of every binary COPY stream.
const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// The statement streaming `from..=to` in chain order.
pub fn statement(from: i64, to: i64) -> String {
    format!(
        "COPY (SELECT {}, prev_hash, hash FROM audit_events WHERE chain_seq BETWEEN {from} AND {to} \
         ORDER BY chain_seq) TO STDOUT (FORMAT binary)",
        v2::FIELDS
    )
}

/// One event as Postgres sent it.
pub struct Tuple<'a> {
    fields: [Option<&'a [u8]>; COLUMN_COUNT],
    /// The bytes a version 2 hash covers.
    pub canonical: &'a [u8],
}

fn be<const N: usize>(field: Option<&[u8]>) -> Option<[u8; N]> {
    field.and_then(|b| b.try_into().ok())
}

impl<'a> Tuple<'a> {
    pub fn hash_version(&self) -> Option<i16> {
        be(self.fields[0]).map(i16::from_be_bytes)
    }

    pub fn chain_seq(&self) -> Option<i64> {
        be(self.fields[1]).map(i64::from_be_bytes)
    }

    pub fn id(&self) -> Option<Uuid> {
        be(self.fields[2]).map(Uuid::from_bytes)
    }

    pub fn prev_hash(&self) -> &'a [u8] {
        self.fields[PREV_HASH].unwrap_or_default()
    }

    pub fn hash(&self) -> &'a [u8] {
        self.fields[HASH].unwrap_or_default()
    }

    /// The whole event, for encodings other than version 2 (`None`: a field is malformed).
    pub fn to_row(&self) -> Option<AuditRow> {
        let f = &self.fields;
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
        let time = |b: &[u8]| be(Some(b)).map(i64::from_be_bytes).and_then(from_pg_micros);
        let uuid = |b: &[u8]| be(Some(b)).map(Uuid::from_bytes);
        let int4 = |b: &[u8]| be(Some(b)).map(i32::from_be_bytes);
        let details = match f[20] {
            Some([1, json @ ..]) => serde_json::from_slice(json).ok()?,
            _ => return None,
        };
        Some(AuditRow {
            hash_version: self.hash_version()?,
            chain_seq: self.chain_seq()?,
            id: self.id()?,
            occurred_at: f[3].and_then(time)?,
            action: f[4].and_then(text)?,
            outcome: f[5].and_then(text)?,
            principal_id: nullable(f[6], uuid)?,
            principal: nullable(f[7], text)?,
            principal_kind: nullable(f[8], text)?,
            profile: nullable(f[9], text)?,
            role_arn: nullable(f[10], text)?,
            session_name: nullable(f[11], text)?,
            source_identity: nullable(f[12], text)?,
            access_key_id: nullable(f[13], text)?,
            expiration: nullable(f[14], time)?,
            duration_seconds: nullable(f[15], int4)?,
            reason: nullable(f[16], text)?,
            client_addr: nullable(f[17], text)?,
            user_agent: nullable(f[18], text)?,
            request_id: nullable(f[19], text)?,
            details,
            prev_hash: self.prev_hash().to_vec(),
            hash: self.hash().to_vec(),
        })
    }
}

/// A nullable field parsed: `Some(None)` for NULL, `None` when present but malformed.
fn nullable<T>(field: Option<&[u8]>, parse: impl FnOnce(&[u8]) -> Option<T>) -> Option<Option<T>> {
    match field {
        None => Some(None),
        Some(bytes) => parse(bytes).map(Some),
    }
}

/// Why a COPY stream could not be read.
#[derive(Debug, thiserror::Error)]
#[error("unexpected binary COPY data: {0}")]
pub struct Malformed(&'static str);

// Lives on the stack for one tuple at a time; boxing it would allocate once per event.
#[allow(clippy::large_enum_variant)]
enum Parsed<'a> {
    Tuple(Tuple<'a>, usize),
    Trailer(usize),
    Incomplete,
}

fn parse(buf: &[u8]) -> Result<Parsed<'_>, Malformed> {
    let Some(count) = buf.get(..2) else {
        return Ok(Parsed::Incomplete);
    };
    let count = i16::from_be_bytes([count[0], count[1]]);
    if count == -1 {
        return Ok(Parsed::Trailer(2));
    }
    if count as usize != COLUMN_COUNT {
        return Err(Malformed("wrong number of columns"));
    }
    let mut fields = [None; COLUMN_COUNT];
    let mut at = 2;
    let mut canonical_end = 0;
    for (i, field) in fields.iter_mut().enumerate() {
        if i == PREV_HASH {
            canonical_end = at;
        }
        let Some(len) = buf.get(at..at + 4) else {
            return Ok(Parsed::Incomplete);
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        at += 4;
        if len < 0 {
            continue;
        }
        let Some(bytes) = buf.get(at..at + len as usize) else {
            return Ok(Parsed::Incomplete);
        };
        *field = Some(bytes);
        at += len as usize;
    }
    Ok(Parsed::Tuple(
        Tuple {
            fields,
            canonical: &buf[2..canonical_end],
        },
        at,
    ))
}

/// Splits the chunks of a binary COPY stream into tuples, whatever the chunk boundaries.
#[derive(Default)]
pub struct CopyReader {
    pending: Vec<u8>,
    header_read: bool,
    finished: bool,
}

impl CopyReader {
    /// Feeds one chunk; `on_tuple` sees every tuple it completes and may stop the reading.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut on_tuple: impl FnMut(&Tuple<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, Malformed> {
        if self.pending.is_empty() {
            let used = self.consume(chunk, &mut on_tuple)?;
            if let ControlFlow::Continue(used) = used {
                self.pending.extend_from_slice(&chunk[used..]);
                return Ok(ControlFlow::Continue(()));
            }
            return Ok(ControlFlow::Break(()));
        }
        self.pending.extend_from_slice(chunk);
        let pending = std::mem::take(&mut self.pending);
        let used = self.consume(&pending, &mut on_tuple)?;
        match used {
            ControlFlow::Continue(used) => {
                self.pending = pending;
                self.pending.drain(..used);
                Ok(ControlFlow::Continue(()))
            }
            ControlFlow::Break(()) => Ok(ControlFlow::Break(())),
        }
    }

    /// Whether the trailer arrived.
    pub fn finished(&self) -> bool {
        self.finished
    }

    fn consume(
        &mut self,
        buf: &[u8],
        on_tuple: &mut impl FnMut(&Tuple<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<(), usize>, Malformed> {
        let mut at = 0;
        if !self.header_read {
            let Some(fixed) = buf.get(..19) else {
                return Ok(ControlFlow::Continue(0));
            };
            if &fixed[..11] != SIGNATURE {
                return Err(Malformed("no PGCOPY signature"));
            }
            let ext = u32::from_be_bytes([fixed[15], fixed[16], fixed[17], fixed[18]]) as usize;
            if buf.len() < 19 + ext {
                return Ok(ControlFlow::Continue(0));
            }
            at = 19 + ext;
            self.header_read = true;
        }
        while !self.finished {
            match parse(&buf[at..])? {
                Parsed::Incomplete => break,
                Parsed::Trailer(used) => {
                    self.finished = true;
                    at += used;
                }
                Parsed::Tuple(tuple, used) => {
                    at += used;
                    if on_tuple(&tuple).is_break() {
                        return Ok(ControlFlow::Break(()));
                    }
                }
            }
        }
        Ok(ControlFlow::Continue(at))
    }
}

/// A binary COPY stream of `rows`, as Postgres would send it (each with its own
/// `hash_version`).
#[cfg(test)]
pub(crate) fn stream(rows: &[AuditRow]) -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    out.extend_from_slice(&[0; 8]);
    for r in rows {
        out.extend_from_slice(&(COLUMN_COUNT as i16).to_be_bytes());
        let mut fields = v2::encode(r);
        // The first field is the stored version, which `v2::encode` always writes as 2.
        fields[4..6].copy_from_slice(&r.hash_version.to_be_bytes());
        out.extend_from_slice(&fields);
        for h in [&r.prev_hash, &r.hash] {
            out.extend_from_slice(&(h.len() as i32).to_be_bytes());
            out.extend_from_slice(h);
        }
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}

/// `n` sealed login events, chained from genesis at positions 1..=n.
#[cfg(test)]
pub(crate) fn sealed_chain(n: i64) -> Vec<AuditRow> {
    use crate::audit::{chain::GENESIS, AuditEvent, Outcome};
    let mut prev = GENESIS.to_vec();
    (1..=n)
        .map(|seq| {
            let at = time::macros::datetime!(2026-11-28 10:00:00.5 UTC);
            let meta = crate::request_meta::RequestMeta::internal();
            let e = AuditEvent::new("login", Outcome::Success, &meta, at).detail("n", seq);
            let r = AuditRow::seal(&e, seq, &prev);
            prev.clone_from(&r.hash);
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::chain::link;

    fn read(bytes: &[u8], chunk: usize) -> (Vec<(i64, bool)>, bool) {
        let mut reader = CopyReader::default();
        let mut seen = Vec::new();
        for part in bytes.chunks(chunk) {
            let flow = reader
                .feed(part, |t| {
                    let ok = link(t.prev_hash(), t.canonical).as_slice() == t.hash();
                    seen.push((t.chain_seq().unwrap(), ok));
                    ControlFlow::Continue(())
                })
                .unwrap();
            assert!(flow.is_continue());
        }
        (seen, reader.finished())
    }

    #[test]
    fn tuples_are_found_and_hash_as_sealed_whatever_the_chunk_size() {
        let bytes = stream(&sealed_chain(5));
        for chunk in [1, 7, 64, bytes.len()] {
            let (seen, finished) = read(&bytes, chunk);
            assert_eq!(
                seen,
                (1..=5).map(|s| (s, true)).collect::<Vec<_>>(),
                "{chunk}"
            );
            assert!(finished);
        }
    }

    #[test]
    fn a_tuple_decodes_back_to_the_row_it_came_from() {
        let rows = sealed_chain(1);
        let bytes = stream(&rows);
        let mut reader = CopyReader::default();
        let mut decoded = None;
        let flow = reader
            .feed(&bytes, |t| {
                decoded = t.to_row();
                ControlFlow::Break(())
            })
            .unwrap();
        assert!(flow.is_break());
        assert_eq!(decoded.as_ref(), Some(&rows[0]));
    }

    #[test]
    fn a_stream_without_the_signature_is_refused() {
        let mut bytes = stream(&sealed_chain(1));
        bytes[0] = b'X';
        assert!(CopyReader::default()
            .feed(&bytes, |_| ControlFlow::Continue(()))
            .is_err());
    }
}
