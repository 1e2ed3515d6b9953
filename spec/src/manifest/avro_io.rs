//! Avro binary encoding, the object container file framing, and schema-driven decoding
//! helpers shared by manifests and manifest lists.
//!
//! Writing encodes records directly into bytes following the schemas built in
//! [`super::avro_schema`], so the header carries exactly the JSON Java writes (field
//! ids, `logicalType: map`, `adjust-to-utc`). Reading parses the writer schema from the
//! file header with `apache-avro` and decodes records by walking that schema, straight
//! into Floe's types without an intermediate generic value.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use apache_avro::Schema as AvroSchema;
use apache_avro::schema::{InnerDecimalSchema, Name, ResolvedSchema, UuidSchema};
use apache_avro::{Codec, DeflateSettings, ZstandardSettings};

use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"Obj\x01";

/// Values parsed from header text (Avro writer schemas, the Iceberg schema JSON of
/// manifests), by that text: every manifest of a table carries the same few texts, and
/// parsing them (name validation, JSON) costs more than decoding a small manifest's
/// entries. Bounded: once it holds [`ParsedCache::CAPACITY`] texts it starts over.
#[derive(Debug)]
pub(crate) struct ParsedCache<T> {
    entries: Mutex<HashMap<Box<str>, Arc<T>>>,
}

impl<T> ParsedCache<T> {
    /// The most texts kept.
    const CAPACITY: usize = 64;

    pub(crate) fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value parsed from `text`, parsing it with `parse` on first use (errors are
    /// not cached).
    pub(crate) fn get_or_parse(
        &self,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T>,
    ) -> Result<Arc<T>> {
        if let Some(hit) = self.entries.lock().ok().and_then(|m| m.get(text).cloned()) {
            return Ok(hit);
        }
        let parsed = Arc::new(parse(text)?);
        if let Ok(mut m) = self.entries.lock() {
            if m.len() >= Self::CAPACITY {
                m.clear();
            }
            m.insert(text.into(), Arc::clone(&parsed));
        }
        Ok(parsed)
    }
}

/// The process-wide cache of parsed Avro writer schemas.
fn avro_schemas() -> &'static ParsedCache<AvroSchema> {
    static CACHE: OnceLock<ParsedCache<AvroSchema>> = OnceLock::new();
    CACHE.get_or_init(ParsedCache::new)
}
/// Blocks are flushed once they hold this many bytes of encoded records.
const BLOCK_TARGET_BYTES: usize = 64 * 1024;

/// The compression codec of an Avro file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AvroCodec {
    /// No compression (`null`).
    Null,
    /// `deflate` (what `write.avro.compression-codec=gzip`, the default, writes).
    #[default]
    Deflate,
    /// `snappy` with the CRC-32 trailer of the Avro spec.
    Snappy,
    /// `zstandard`.
    Zstd,
}

impl AvroCodec {
    /// Reads the table property `write.avro.compression-codec` (`uncompressed`, `gzip`,
    /// `snappy`, `zstd`; Avro names such as `deflate` and `null` are accepted too).
    pub fn from_property(value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "uncompressed" | "none" | "null" => Ok(Self::Null),
            "gzip" | "deflate" => Ok(Self::Deflate),
            "snappy" => Ok(Self::Snappy),
            "zstd" | "zstandard" => Ok(Self::Zstd),
            other => Err(Error::unsupported(format!(
                "unsupported Avro compression codec `{other}`"
            ))),
        }
    }

    fn to_avro(self) -> Codec {
        match self {
            Self::Null => Codec::Null,
            Self::Deflate => Codec::Deflate(DeflateSettings::default()),
            Self::Snappy => Codec::Snappy,
            Self::Zstd => Codec::Zstandard(ZstandardSettings::default()),
        }
    }

    fn avro_name(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Deflate => "deflate",
            Self::Snappy => "snappy",
            Self::Zstd => "zstandard",
        }
    }
}

// ---------------------------------------------------------------------------------------
// Encoding

/// Appends a zig-zag varint `long`.
pub(crate) fn put_long(buf: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.push((z as u8) | 0x80);
        z >>= 7;
    }
    buf.push(z as u8);
}

/// Appends an `int`.
pub(crate) fn put_int(buf: &mut Vec<u8>, v: i32) {
    put_long(buf, i64::from(v));
}

/// Appends `bytes` (length then content).
pub(crate) fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_long(buf, b.len() as i64);
    buf.extend_from_slice(b);
}

/// Appends a `string`.
pub(crate) fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_bytes(buf, s.as_bytes());
}

/// Appends a `boolean`.
pub(crate) fn put_bool(buf: &mut Vec<u8>, b: bool) {
    buf.push(u8::from(b));
}

/// Appends the branch of a `["null", T]` union: 0 for null, 1 for a value.
pub(crate) fn put_union_branch(buf: &mut Vec<u8>, present: bool) {
    put_long(buf, i64::from(present));
}

/// Appends an optional `long` as a `["null","long"]` union.
pub(crate) fn put_opt_long(buf: &mut Vec<u8>, v: Option<i64>) {
    put_union_branch(buf, v.is_some());
    if let Some(v) = v {
        put_long(buf, v);
    }
}

/// Appends an optional `int` as a `["null","int"]` union.
pub(crate) fn put_opt_int(buf: &mut Vec<u8>, v: Option<i32>) {
    put_union_branch(buf, v.is_some());
    if let Some(v) = v {
        put_int(buf, v);
    }
}

/// Appends an optional `string` as a `["null","string"]` union.
pub(crate) fn put_opt_str(buf: &mut Vec<u8>, v: Option<&str>) {
    put_union_branch(buf, v.is_some());
    if let Some(v) = v {
        put_str(buf, v);
    }
}

/// Appends optional `bytes` as a `["null","bytes"]` union.
pub(crate) fn put_opt_bytes(buf: &mut Vec<u8>, v: Option<&[u8]>) {
    put_union_branch(buf, v.is_some());
    if let Some(v) = v {
        put_bytes(buf, v);
    }
}

/// Appends an array with one block of `items`, each written by `put`.
pub(crate) fn put_array<T>(buf: &mut Vec<u8>, items: &[T], mut put: impl FnMut(&mut Vec<u8>, &T)) {
    if !items.is_empty() {
        put_long(buf, items.len() as i64);
        for item in items {
            put(buf, item);
        }
    }
    put_long(buf, 0);
}

/// Writes an Avro object container file: header, then blocks of records.
pub(crate) struct ContainerWriter {
    out: Vec<u8>,
    block: Vec<u8>,
    count: i64,
    codec: AvroCodec,
    marker: [u8; 16],
    /// `deflate`: one compressor and output buffer, reused for every block.
    deflater: Option<(flate2::Compress, Vec<u8>)>,
}

impl ContainerWriter {
    /// Starts a file with the writer schema JSON and user metadata.
    pub(crate) fn new(schema_json: &str, metadata: &[(&str, String)], codec: AvroCodec) -> Self {
        let marker = *uuid::Uuid::new_v4().as_bytes();
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(MAGIC);
        put_long(&mut out, metadata.len() as i64 + 2);
        put_str(&mut out, "avro.schema");
        put_bytes(&mut out, schema_json.as_bytes());
        put_str(&mut out, "avro.codec");
        put_bytes(&mut out, codec.avro_name().as_bytes());
        for (k, v) in metadata {
            put_str(&mut out, k);
            put_bytes(&mut out, v.as_bytes());
        }
        put_long(&mut out, 0);
        out.extend_from_slice(&marker);
        Self {
            out,
            block: Vec::with_capacity(BLOCK_TARGET_BYTES),
            count: 0,
            codec,
            marker,
            deflater: None,
        }
    }

    /// The buffer to encode the next record into; call [`Self::end_record`] after.
    pub(crate) fn record_buf(&mut self) -> &mut Vec<u8> {
        &mut self.block
    }

    /// Marks the end of one record, flushing the block once it is large enough.
    pub(crate) fn end_record(&mut self) -> Result<()> {
        self.count += 1;
        if self.block.len() >= BLOCK_TARGET_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        let data: &[u8] = match self.codec {
            AvroCodec::Null => &self.block,
            AvroCodec::Deflate => {
                let (c, buf) = self.deflater.get_or_insert_with(|| {
                    (
                        flate2::Compress::new(flate2::Compression::default(), false),
                        Vec::new(),
                    )
                });
                deflate(c, &self.block, buf)?;
                buf
            }
            AvroCodec::Snappy | AvroCodec::Zstd => {
                self.codec.to_avro().compress(&mut self.block)?;
                &self.block
            }
        };
        put_long(&mut self.out, self.count);
        put_long(&mut self.out, data.len() as i64);
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(&self.marker);
        self.block.clear();
        self.count = 0;
        Ok(())
    }

    /// Flushes the last block and returns the file's bytes.
    pub(crate) fn finish(mut self) -> Result<Vec<u8>> {
        self.flush()?;
        Ok(self.out)
    }
}

/// Compresses one block as raw deflate (Avro's `deflate` codec, default level) into
/// `out`, replacing its content; `c` is reset first, so one compressor serves every
/// block of a file.
fn deflate(c: &mut flate2::Compress, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
    c.reset();
    out.clear();
    out.reserve(input.len() / 2 + 64);
    loop {
        let consumed = usize::try_from(c.total_in()).unwrap_or(usize::MAX);
        let rest = input.get(consumed..).unwrap_or_default();
        let produced = c.total_out();
        let status = c
            .compress_vec(rest, out, flate2::FlushCompress::Finish)
            .map_err(|e| {
                Error::new(crate::ErrorKind::Unexpected, "deflate compression failed")
                    .with_source(e)
            })?;
        if status == flate2::Status::StreamEnd {
            return Ok(());
        }
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(1024));
        } else if c.total_in() as usize == consumed && c.total_out() == produced {
            return Err(Error::new(
                crate::ErrorKind::Unexpected,
                "deflate compression made no progress",
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Decoding

/// A read position in Avro binary data.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

fn truncated() -> Error {
    Error::invalid("truncated Avro data")
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    #[inline]
    pub(crate) fn long(&mut self) -> Result<i64> {
        // Fast path: a one-byte varint (small ids, counts, lengths, union branches).
        if let Some(&b) = self.data.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(i64::from(b >> 1) ^ -i64::from(b & 1));
        }
        self.long_multi()
    }

    /// A varint of two or more bytes: up to eight bytes decoded from one 64-bit load
    /// (the 7-bit groups packed together in three mask-and-shift steps), longer or
    /// near the end of the data byte by byte.
    fn long_multi(&mut self) -> Result<i64> {
        let word = self
            .pos
            .checked_add(8)
            .and_then(|end| self.data.get(self.pos..end))
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes);
        if let Some(word) = word {
            let stops = !word & 0x8080_8080_8080_8080;
            if stops != 0 {
                let len = (stops.trailing_zeros() / 8 + 1) as usize;
                let mask = u64::MAX >> (64 - 8 * len);
                let mut x = word & mask & 0x7f7f_7f7f_7f7f_7f7f;
                x = ((x & 0x7f00_7f00_7f00_7f00) >> 1) | (x & 0x007f_007f_007f_007f);
                x = ((x & 0x3fff_0000_3fff_0000) >> 2) | (x & 0x0000_3fff_0000_3fff);
                x = ((x & 0x0fff_ffff_0000_0000) >> 4) | (x & 0x0000_0000_0fff_ffff);
                self.pos += len;
                return Ok(((x >> 1) as i64) ^ -((x & 1) as i64));
            }
        }
        self.long_slow()
    }

    fn long_slow(&mut self) -> Result<i64> {
        let mut z: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = *self.data.get(self.pos).ok_or_else(truncated)?;
            self.pos += 1;
            if shift >= 64 {
                return Err(Error::invalid("Avro varint is longer than 10 bytes"));
            }
            z |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    #[inline]
    pub(crate) fn int(&mut self) -> Result<i32> {
        let v = self.long()?;
        i32::try_from(v).map_err(|_| Error::invalid(format!("Avro int {v} is out of range")))
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(truncated)?;
        let s = self.data.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn len_prefix(&mut self) -> Result<usize> {
        let n = self.long()?;
        usize::try_from(n).map_err(|_| Error::invalid(format!("negative Avro length {n}")))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len_prefix()?;
        self.take(n)
    }

    pub(crate) fn str(&mut self) -> Result<&'a str> {
        std::str::from_utf8(self.bytes()?)
            .map_err(|_| Error::invalid("Avro string is not valid UTF-8"))
    }

    pub(crate) fn boolean(&mut self) -> Result<bool> {
        match self.take(1)? {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err(Error::invalid("Avro boolean is neither 0 nor 1")),
        }
    }

    pub(crate) fn f32(&mut self) -> Result<f32> {
        let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| truncated())?;
        Ok(f32::from_le_bytes(b))
    }

    pub(crate) fn f64(&mut self) -> Result<f64> {
        let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| truncated())?;
        Ok(f64::from_le_bytes(b))
    }

    /// Reads the item count of the next array or map block (0 = end); a negative count
    /// is followed by the block's byte size, which is read and ignored.
    pub(crate) fn block_count(&mut self) -> Result<usize> {
        let n = self.long()?;
        if n < 0 {
            let _size = self.long()?;
        }
        usize::try_from(n.unsigned_abs())
            .map_err(|_| Error::invalid(format!("Avro block count {n} is too large")))
    }
}

/// A parsed Avro object container file.
pub(crate) struct Container<'a> {
    /// User metadata (keys not starting with `avro.`).
    pub(crate) metadata: HashMap<&'a str, &'a [u8]>,
    /// The writer schema from the header (parsed once per distinct schema text, see
    /// [`ParsedCache`]).
    pub(crate) schema: Arc<AvroSchema>,
    codec: Codec,
    marker: &'a [u8],
    body: &'a [u8],
}

impl<'a> Container<'a> {
    /// Parses the header: magic, metadata, writer schema, codec and sync marker.
    pub(crate) fn parse(bytes: &'a [u8], what: &str) -> Result<Self> {
        let ctx = |e: Error| Error::invalid(format!("{what}: {}", e.message()));
        if bytes.get(..4) != Some(MAGIC.as_slice()) {
            bail_invalid!("{what}: not an Avro file (bad magic bytes)");
        }
        let mut cur = Cursor::new(bytes);
        cur.pos = 4;
        let mut metadata = HashMap::new();
        let mut schema_json = None;
        let mut codec_name: Option<&str> = None;
        loop {
            let n = cur.block_count().map_err(ctx)?;
            if n == 0 {
                break;
            }
            for _ in 0..n {
                let k = cur.str().map_err(ctx)?;
                let v = cur.bytes().map_err(ctx)?;
                match k {
                    "avro.schema" => schema_json = Some(v),
                    "avro.codec" => {
                        codec_name = Some(std::str::from_utf8(v).map_err(|_| {
                            Error::invalid(format!("{what}: avro.codec is not UTF-8"))
                        })?);
                    }
                    _ => {
                        metadata.insert(k, v);
                    }
                }
            }
        }
        let marker = cur.take(16).map_err(ctx)?;
        let schema_json = schema_json
            .ok_or_else(|| Error::invalid(format!("{what}: Avro header has no avro.schema")))?;
        let schema_str = std::str::from_utf8(schema_json)
            .map_err(|_| Error::invalid(format!("{what}: avro.schema is not UTF-8")))?;
        let schema = avro_schemas().get_or_parse(schema_str, |text| {
            AvroSchema::parse_str(text).map_err(|e| {
                Error::invalid(format!("{what}: invalid Avro writer schema: {e}")).with_source(e)
            })
        })?;
        let codec = match codec_name {
            None | Some("null" | "") => Codec::Null,
            Some(name) => Codec::from_str(name).map_err(|_| {
                Error::unsupported(format!("{what}: unsupported Avro codec `{name}`"))
            })?,
        };
        Ok(Self {
            metadata,
            schema,
            codec,
            marker,
            body: bytes.get(cur.pos..).unwrap_or_default(),
        })
    }

    /// A user metadata value as UTF-8.
    pub(crate) fn meta_str(&self, key: &str) -> Result<Option<&'a str>> {
        match self.metadata.get(key) {
            None => Ok(None),
            Some(v) => std::str::from_utf8(v)
                .map(Some)
                .map_err(|_| Error::invalid(format!("metadata `{key}` is not UTF-8"))),
        }
    }

    /// About how many records the file holds, for pre-sizing: the records of the first
    /// blocks, scaled by how much of the body they span. Writers that flush a block per
    /// record (PyIceberg) make files of thousands of blocks, and walking every header
    /// costs a cache miss each; a short estimate only means one more growth step.
    pub(crate) fn record_count_hint(&self) -> usize {
        const SAMPLED_BLOCKS: usize = 16;
        let mut cur = Cursor::new(self.body);
        let (mut records, mut blocks) = (0usize, 0usize);
        while cur.remaining() > 0 && blocks < SAMPLED_BLOCKS {
            let (Ok(count), Ok(size)) = (cur.len_prefix(), cur.len_prefix()) else {
                break;
            };
            if cur.take(size.saturating_add(16)).is_err() {
                break;
            }
            records = records.saturating_add(count);
            blocks += 1;
        }
        let spanned = self.body.len() - cur.remaining();
        if cur.remaining() == 0 || spanned == 0 {
            return records;
        }
        records.saturating_mul(self.body.len()) / spanned + 1
    }

    /// Calls `f` once per record with a cursor positioned at it; `f` must consume the
    /// record exactly. Each block is decompressed once, into a buffer reused for all
    /// blocks (deflate through one reused inflater).
    pub(crate) fn for_each_record(
        &self,
        f: impl FnMut(&mut Cursor<'_>) -> Result<()>,
    ) -> Result<()> {
        self.for_each_record_in(0, self.body.len(), f).map(|_| ())
    }

    /// The body's length in bytes (all blocks, compressed).
    pub(crate) fn body_len(&self) -> usize {
        self.body.len()
    }

    /// [`Container::for_each_record`] over the blocks that start at body offset `start`
    /// and before `end`, following the chain of block headers from `start`; returns the
    /// offset where the last of them ends. `start` must be where a block starts; a
    /// caller that guessed it (see [`Container::split_points`]) checks that the part
    /// before ends exactly there.
    pub(crate) fn for_each_record_in(
        &self,
        start: usize,
        end: usize,
        mut f: impl FnMut(&mut Cursor<'_>) -> Result<()>,
    ) -> Result<usize> {
        let mut cur = Cursor::new(self.body);
        cur.pos = start.min(self.body.len());
        let mut scratch = Vec::new();
        let mut inflater: Option<libdeflater::Decompressor> = None;
        while cur.pos < end && cur.remaining() > 0 {
            let count = cur.len_prefix()?;
            let size = cur.len_prefix()?;
            let data = cur.take(size)?;
            if cur.take(16)? != self.marker {
                bail_invalid!("Avro block does not end with the file's sync marker");
            }
            let block: &[u8] = match self.codec {
                Codec::Null => data,
                Codec::Deflate(_) => {
                    let d = inflater.get_or_insert_with(libdeflater::Decompressor::new);
                    let n = inflate(d, data, &mut scratch)?;
                    &scratch[..n]
                }
                _ => {
                    scratch.clear();
                    scratch.extend_from_slice(data);
                    self.codec.decompress(&mut scratch)?;
                    &scratch
                }
            };
            let mut rc = Cursor::new(block);
            for _ in 0..count {
                f(&mut rc)?;
            }
            if rc.remaining() != 0 {
                bail_invalid!(
                    "Avro block has {} bytes left after its {count} records",
                    rc.remaining()
                );
            }
        }
        Ok(cur.pos)
    }

    /// Body offsets that split the blocks into about `parts` runs of equal size, for
    /// decoding the runs in parallel: `0`, then for each further part the first offset
    /// after a sync marker at or past its share of the body, then the body's length.
    ///
    /// Found by searching for the marker bytes, so an offset is only probably where a
    /// block starts (a block's data may hold the marker's 16 bytes by chance or by
    /// design). Decoding checks it: the run before an offset must end exactly there
    /// (see [`Container::for_each_record_in`]).
    pub(crate) fn split_points(&self, parts: usize) -> Vec<usize> {
        let len = self.body.len();
        let finder = memchr::memmem::Finder::new(self.marker);
        let mut points = vec![0];
        for i in 1..parts.max(1) {
            let from = len / parts * i;
            let Some(found) = self.body.get(from..).and_then(|rest| finder.find(rest)) else {
                break;
            };
            let point = from + found + self.marker.len();
            if point < len && points.last().is_some_and(|&last| point > last) {
                points.push(point);
            }
        }
        points.push(len);
        points
    }
}

/// The most bytes one Avro block may inflate to: a bound against deflate bombs (Iceberg
/// writers flush blocks long before this).
const MAX_INFLATED_BLOCK: usize = 1 << 30;

/// Inflates one raw-deflate block (Avro's `deflate` codec) into `out` with libdeflate
/// (one-shot: the whole block is in memory) and returns the inflated length; `out` is
/// only ever grown, so its bytes past that length are left over from earlier blocks.
fn inflate(d: &mut libdeflater::Decompressor, input: &[u8], out: &mut Vec<u8>) -> Result<usize> {
    inflate_at_most(d, input, out, MAX_INFLATED_BLOCK)
}

/// [`inflate`] with the bound on the inflated size as a parameter.
fn inflate_at_most(
    d: &mut libdeflater::Decompressor,
    input: &[u8],
    out: &mut Vec<u8>,
    max: usize,
) -> Result<usize> {
    // Manifest blocks inflate ~3-5x; the buffer keeps its size across blocks.
    let first_guess = input.len().saturating_mul(4).clamp(4096, max);
    if out.len() < first_guess {
        out.resize(first_guess, 0);
    }
    loop {
        match d.deflate_decompress(input, out) {
            Ok(n) => return Ok(n),
            Err(libdeflater::DecompressionError::InsufficientSpace) if out.len() < max => {
                out.resize(out.len().saturating_mul(2).min(max), 0);
            }
            Err(libdeflater::DecompressionError::InsufficientSpace) => {
                bail_invalid!("Avro block inflates to more than {max} bytes")
            }
            Err(libdeflater::DecompressionError::BadData) => {
                bail_invalid!("Avro block is not valid deflate data (corrupt or cut short)")
            }
        }
    }
}

/// Named types of a writer schema, to follow references.
pub(crate) struct Names<'s>(HashMap<Name, &'s AvroSchema>);

impl<'s> Names<'s> {
    pub(crate) fn new(schema: &'s AvroSchema) -> Result<Self> {
        let resolved = ResolvedSchema::new(schema)?;
        Ok(Self(resolved.get_names().clone()))
    }

    /// The schema itself, or the named schema a reference points to.
    pub(crate) fn resolve(&self, s: &'s AvroSchema) -> Result<&'s AvroSchema> {
        match s {
            AvroSchema::Ref { name } => self.0.get(name).copied().ok_or_else(|| {
                Error::invalid(format!("Avro schema refers to unknown type `{name}`"))
            }),
            other => Ok(other),
        }
    }
}

/// The id in a field's `field-id` attribute.
pub(crate) fn field_id(f: &apache_avro::schema::RecordField) -> Option<i32> {
    f.custom_attributes
        .get("field-id")
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .and_then(|v| i32::try_from(v).ok())
}

/// A short name of a schema's kind for error messages.
pub(crate) fn kind(s: &AvroSchema) -> &'static str {
    match s {
        AvroSchema::Null => "null",
        AvroSchema::Boolean => "boolean",
        AvroSchema::Int | AvroSchema::Date | AvroSchema::TimeMillis => "int",
        AvroSchema::Long
        | AvroSchema::TimeMicros
        | AvroSchema::TimestampMillis
        | AvroSchema::TimestampMicros
        | AvroSchema::TimestampNanos
        | AvroSchema::LocalTimestampMillis
        | AvroSchema::LocalTimestampMicros
        | AvroSchema::LocalTimestampNanos => "long",
        AvroSchema::Float => "float",
        AvroSchema::Double => "double",
        AvroSchema::Bytes | AvroSchema::BigDecimal => "bytes",
        AvroSchema::String => "string",
        AvroSchema::Array(_) => "array",
        AvroSchema::Map(_) => "map",
        AvroSchema::Union(_) => "union",
        AvroSchema::Record(_) => "record",
        AvroSchema::Enum(_) => "enum",
        AvroSchema::Fixed(_) | AvroSchema::Duration(_) => "fixed",
        AvroSchema::Decimal(_) => "decimal",
        AvroSchema::Uuid(_) => "uuid",
        AvroSchema::Ref { .. } => "reference",
    }
}

/// A decoded primitive Avro value, borrowing from the block.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    Null,
    Boolean(bool),
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
    /// `bytes` or `fixed`.
    Bytes(&'a [u8]),
    Str(&'a str),
}

impl Raw<'_> {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Raw::Null => "null",
            Raw::Boolean(_) => "boolean",
            Raw::Int(_) => "int",
            Raw::Long(_) => "long",
            Raw::Float(_) => "float",
            Raw::Double(_) => "double",
            Raw::Bytes(_) => "bytes",
            Raw::Str(_) => "string",
        }
    }
}

/// A primitive Avro encoding, resolved from a writer schema once per file so that
/// records decode without looking at the schema again.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Prim {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    /// `bytes` (length-prefixed).
    Bytes,
    Str,
    /// `fixed` of this size.
    Fixed(usize),
    /// A union inside a union (invalid Avro): an error when read.
    NestedUnion,
    /// Not a primitive (of this kind): an error when read.
    NotPrimitive(&'static str),
}

impl Prim {
    /// The encoding of a resolved, non-union schema.
    fn of(s: &AvroSchema) -> Prim {
        match s {
            AvroSchema::Null => Prim::Null,
            AvroSchema::Boolean => Prim::Boolean,
            AvroSchema::Int | AvroSchema::Date | AvroSchema::TimeMillis => Prim::Int,
            AvroSchema::Long
            | AvroSchema::TimeMicros
            | AvroSchema::TimestampMillis
            | AvroSchema::TimestampMicros
            | AvroSchema::TimestampNanos
            | AvroSchema::LocalTimestampMillis
            | AvroSchema::LocalTimestampMicros
            | AvroSchema::LocalTimestampNanos => Prim::Long,
            AvroSchema::Float => Prim::Float,
            AvroSchema::Double => Prim::Double,
            AvroSchema::Bytes | AvroSchema::BigDecimal => Prim::Bytes,
            AvroSchema::String => Prim::Str,
            AvroSchema::Fixed(f) | AvroSchema::Duration(f) => Prim::Fixed(f.size),
            AvroSchema::Decimal(d) => match &d.inner {
                InnerDecimalSchema::Bytes => Prim::Bytes,
                InnerDecimalSchema::Fixed(f) => Prim::Fixed(f.size),
            },
            AvroSchema::Uuid(u) => match u {
                UuidSchema::String => Prim::Str,
                UuidSchema::Bytes => Prim::Bytes,
                UuidSchema::Fixed(f) => Prim::Fixed(f.size),
            },
            AvroSchema::Union(_) => Prim::NestedUnion,
            other => Prim::NotPrimitive(kind(other)),
        }
    }

    #[inline]
    pub(crate) fn read<'a>(self, cur: &mut Cursor<'a>) -> Result<Raw<'a>> {
        Ok(match self {
            Prim::Null => Raw::Null,
            Prim::Boolean => Raw::Boolean(cur.boolean()?),
            Prim::Int => Raw::Int(cur.int()?),
            Prim::Long => Raw::Long(cur.long()?),
            Prim::Float => Raw::Float(cur.f32()?),
            Prim::Double => Raw::Double(cur.f64()?),
            Prim::Bytes => Raw::Bytes(cur.bytes()?),
            Prim::Str => Raw::Str(cur.str()?),
            Prim::Fixed(n) => Raw::Bytes(cur.take(n)?),
            Prim::NestedUnion => bail_invalid!("Avro unions cannot nest"),
            Prim::NotPrimitive(k) => bail_invalid!("expected a primitive Avro value, found a {k}"),
        })
    }
}

/// A compiled primitive field: one encoding, or a union of encodings chosen per value
/// by the branch index.
#[derive(Debug, Clone)]
pub(crate) enum Scalar {
    One(Prim),
    Union(Box<[Prim]>),
}

impl Scalar {
    /// Compiles schema `s` (a primitive, a reference to one, or a union of them).
    pub(crate) fn compile<'s>(s: &'s AvroSchema, names: &Names<'s>) -> Result<Scalar> {
        Ok(match names.resolve(s)? {
            AvroSchema::Union(u) => Scalar::Union(
                u.variants()
                    .iter()
                    .map(|v| names.resolve(v).map(Prim::of))
                    .collect::<Result<_>>()?,
            ),
            other => Scalar::One(Prim::of(other)),
        })
    }

    /// Decodes one value.
    #[inline]
    pub(crate) fn read<'a>(&self, cur: &mut Cursor<'a>) -> Result<Raw<'a>> {
        match self {
            Scalar::One(p) => p.read(cur),
            Scalar::Union(branches) => {
                let idx = cur.len_prefix()?;
                let p = branches.get(idx).ok_or_else(|| {
                    Error::invalid(format!("Avro union branch {idx} does not exist"))
                })?;
                p.read(cur)
            }
        }
    }

    /// Decodes an optional long (`long`, `int`, or a union with `null`).
    #[inline]
    pub(crate) fn opt_long(&self, cur: &mut Cursor<'_>) -> Result<Option<i64>> {
        match self.read(cur)? {
            Raw::Null => Ok(None),
            Raw::Int(v) => Ok(Some(i64::from(v))),
            Raw::Long(v) => Ok(Some(v)),
            other => bail_invalid!("expected a long, found a {}", other.kind()),
        }
    }

    /// Decodes an optional int.
    #[inline]
    pub(crate) fn opt_int(&self, cur: &mut Cursor<'_>) -> Result<Option<i32>> {
        match self.read(cur)? {
            Raw::Null => Ok(None),
            Raw::Int(v) => Ok(Some(v)),
            Raw::Long(v) => i32::try_from(v)
                .map(Some)
                .map_err(|_| Error::invalid(format!("value {v} does not fit an int"))),
            other => bail_invalid!("expected an int, found a {}", other.kind()),
        }
    }

    /// Decodes an optional string.
    #[inline]
    pub(crate) fn opt_str<'a>(&self, cur: &mut Cursor<'a>) -> Result<Option<&'a str>> {
        match self.read(cur)? {
            Raw::Null => Ok(None),
            Raw::Str(v) => Ok(Some(v)),
            other => bail_invalid!("expected a string, found a {}", other.kind()),
        }
    }

    /// Decodes optional bytes (or fixed).
    #[inline]
    pub(crate) fn opt_bytes<'a>(&self, cur: &mut Cursor<'a>) -> Result<Option<&'a [u8]>> {
        match self.read(cur)? {
            Raw::Null => Ok(None),
            Raw::Bytes(v) => Ok(Some(v)),
            other => bail_invalid!("expected bytes, found a {}", other.kind()),
        }
    }
}

/// Decodes a primitive value (through unions) of schema `s`.
pub(crate) fn read_raw<'a, 's>(
    cur: &mut Cursor<'a>,
    s: &'s AvroSchema,
    names: &Names<'s>,
) -> Result<Raw<'a>> {
    let s = names.resolve(s)?;
    Ok(match s {
        AvroSchema::Null => Raw::Null,
        AvroSchema::Boolean => Raw::Boolean(cur.boolean()?),
        AvroSchema::Int | AvroSchema::Date | AvroSchema::TimeMillis => Raw::Int(cur.int()?),
        AvroSchema::Long
        | AvroSchema::TimeMicros
        | AvroSchema::TimestampMillis
        | AvroSchema::TimestampMicros
        | AvroSchema::TimestampNanos
        | AvroSchema::LocalTimestampMillis
        | AvroSchema::LocalTimestampMicros
        | AvroSchema::LocalTimestampNanos => Raw::Long(cur.long()?),
        AvroSchema::Float => Raw::Float(cur.f32()?),
        AvroSchema::Double => Raw::Double(cur.f64()?),
        AvroSchema::Bytes | AvroSchema::BigDecimal => Raw::Bytes(cur.bytes()?),
        AvroSchema::String => Raw::Str(cur.str()?),
        AvroSchema::Fixed(f) | AvroSchema::Duration(f) => Raw::Bytes(cur.take(f.size)?),
        AvroSchema::Decimal(d) => match &d.inner {
            InnerDecimalSchema::Bytes => Raw::Bytes(cur.bytes()?),
            InnerDecimalSchema::Fixed(f) => Raw::Bytes(cur.take(f.size)?),
        },
        AvroSchema::Uuid(u) => match u {
            UuidSchema::String => Raw::Str(cur.str()?),
            UuidSchema::Bytes => Raw::Bytes(cur.bytes()?),
            UuidSchema::Fixed(f) => Raw::Bytes(cur.take(f.size)?),
        },
        AvroSchema::Union(u) => {
            let idx = cur.len_prefix()?;
            let v = u
                .variants()
                .get(idx)
                .ok_or_else(|| Error::invalid(format!("Avro union branch {idx} does not exist")))?;
            if matches!(v, AvroSchema::Union(_)) {
                bail_invalid!("Avro unions cannot nest");
            }
            return read_raw(cur, v, names);
        }
        other => bail_invalid!("expected a primitive Avro value, found a {}", kind(other)),
    })
}

/// Skips a value of schema `s`.
pub(crate) fn skip<'s>(cur: &mut Cursor<'_>, s: &'s AvroSchema, names: &Names<'s>) -> Result<()> {
    let s = names.resolve(s)?;
    match s {
        AvroSchema::Array(a) => loop {
            let n = cur.long()?;
            if n == 0 {
                return Ok(());
            }
            if n < 0 {
                let size = cur.len_prefix()?;
                cur.take(size)?;
            } else {
                for _ in 0..n {
                    skip(cur, &a.items, names)?;
                }
            }
        },
        AvroSchema::Map(m) => loop {
            let n = cur.long()?;
            if n == 0 {
                return Ok(());
            }
            if n < 0 {
                let size = cur.len_prefix()?;
                cur.take(size)?;
            } else {
                for _ in 0..n {
                    cur.bytes()?;
                    skip(cur, &m.types, names)?;
                }
            }
        },
        AvroSchema::Record(r) => {
            for f in &r.fields {
                skip(cur, &f.schema, names)?;
            }
            Ok(())
        }
        AvroSchema::Enum(_) => cur.long().map(|_| ()),
        AvroSchema::Union(u) => {
            let idx = cur.len_prefix()?;
            let v = u
                .variants()
                .get(idx)
                .ok_or_else(|| Error::invalid(format!("Avro union branch {idx} does not exist")))?;
            if matches!(v, AvroSchema::Union(_)) {
                bail_invalid!("Avro unions cannot nest");
            }
            skip(cur, v, names)
        }
        _ => read_raw(cur, s, names).map(|_| ()),
    }
}

/// Reads an optional long (`long`, `int`, or a union with `null`).
pub(crate) fn read_opt_long<'s>(
    cur: &mut Cursor<'_>,
    s: &'s AvroSchema,
    names: &Names<'s>,
) -> Result<Option<i64>> {
    match read_raw(cur, s, names)? {
        Raw::Null => Ok(None),
        Raw::Int(v) => Ok(Some(i64::from(v))),
        Raw::Long(v) => Ok(Some(v)),
        other => bail_invalid!("expected a long, found a {}", other.kind()),
    }
}

/// Reads an optional int.
pub(crate) fn read_opt_int<'s>(
    cur: &mut Cursor<'_>,
    s: &'s AvroSchema,
    names: &Names<'s>,
) -> Result<Option<i32>> {
    match read_raw(cur, s, names)? {
        Raw::Null => Ok(None),
        Raw::Int(v) => Ok(Some(v)),
        Raw::Long(v) => i32::try_from(v)
            .map(Some)
            .map_err(|_| Error::invalid(format!("value {v} does not fit an int"))),
        other => bail_invalid!("expected an int, found a {}", other.kind()),
    }
}

/// Reads an optional string.
pub(crate) fn read_opt_str<'a, 's>(
    cur: &mut Cursor<'a>,
    s: &'s AvroSchema,
    names: &Names<'s>,
) -> Result<Option<&'a str>> {
    match read_raw(cur, s, names)? {
        Raw::Null => Ok(None),
        Raw::Str(v) => Ok(Some(v)),
        other => bail_invalid!("expected a string, found a {}", other.kind()),
    }
}

/// Reads optional bytes (or fixed).
pub(crate) fn read_opt_bytes<'a, 's>(
    cur: &mut Cursor<'a>,
    s: &'s AvroSchema,
    names: &Names<'s>,
) -> Result<Option<&'a [u8]>> {
    match read_raw(cur, s, names)? {
        Raw::Null => Ok(None),
        Raw::Bytes(v) => Ok(Some(v)),
        other => bail_invalid!("expected bytes, found a {}", other.kind()),
    }
}

/// Reads an optional boolean.
pub(crate) fn read_opt_bool<'s>(
    cur: &mut Cursor<'_>,
    s: &'s AvroSchema,
    names: &Names<'s>,
) -> Result<Option<bool>> {
    match read_raw(cur, s, names)? {
        Raw::Null => Ok(None),
        Raw::Boolean(v) => Ok(Some(v)),
        other => bail_invalid!("expected a boolean, found a {}", other.kind()),
    }
}

/// Steps through a `["null", T]` union: returns `None` for null, else the branch
/// schema (already resolved).
pub(crate) fn unwrap_union<'s>(
    cur: &mut Cursor<'_>,
    s: &'s AvroSchema,
    names: &Names<'s>,
) -> Result<Option<&'s AvroSchema>> {
    let s = names.resolve(s)?;
    match s {
        AvroSchema::Null => Ok(None),
        AvroSchema::Union(u) => {
            let idx = cur.len_prefix()?;
            let v = u
                .variants()
                .get(idx)
                .ok_or_else(|| Error::invalid(format!("Avro union branch {idx} does not exist")))?;
            match names.resolve(v)? {
                AvroSchema::Null => Ok(None),
                AvroSchema::Union(_) => bail_invalid!("Avro unions cannot nest"),
                other => Ok(Some(other)),
            }
        }
        other => Ok(Some(other)),
    }
}

/// Reads an optional array, calling `item` for each element with the element schema.
/// Returns whether the array was present (not null).
pub(crate) fn read_array<'a, 's>(
    cur: &mut Cursor<'a>,
    s: &'s AvroSchema,
    names: &Names<'s>,
    mut item: impl FnMut(&mut Cursor<'a>, &'s AvroSchema, usize) -> Result<()>,
) -> Result<bool> {
    let Some(s) = unwrap_union(cur, s, names)? else {
        return Ok(false);
    };
    let AvroSchema::Array(a) = s else {
        bail_invalid!("expected an array, found a {}", kind(s));
    };
    loop {
        let n = cur.block_count()?;
        if n == 0 {
            return Ok(true);
        }
        let hint = n.min(cur.remaining());
        for _ in 0..n {
            item(cur, &a.items, hint)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varint_round_trip(v in any::<i64>()) {
            let mut buf = Vec::new();
            put_long(&mut buf, v);
            let mut cur = Cursor::new(&buf);
            prop_assert_eq!(cur.long().unwrap(), v);
            prop_assert_eq!(cur.remaining(), 0);
        }

        /// Followed by more data, varints of up to eight bytes take the one-load path.
        #[test]
        fn varint_round_trip_before_more_data(
            v in prop_oneof![any::<i64>(), -(1i64 << 56)..(1i64 << 56), -100_000i64..100_000],
            tail in proptest::collection::vec(any::<u8>(), 0..12),
        ) {
            let mut buf = Vec::new();
            put_long(&mut buf, v);
            buf.extend_from_slice(&tail);
            let mut cur = Cursor::new(&buf);
            prop_assert_eq!(cur.long().unwrap(), v);
            prop_assert_eq!(cur.remaining(), tail.len());
        }
    }

    #[test]
    fn varint_known_values() {
        let enc = |v: i64| {
            let mut b = Vec::new();
            put_long(&mut b, v);
            b
        };
        assert_eq!(enc(0), vec![0]);
        assert_eq!(enc(-1), vec![1]);
        assert_eq!(enc(1), vec![2]);
        assert_eq!(enc(64), vec![0x80, 0x01]);
        assert!(Cursor::new(&[0x80]).long().is_err());
        assert!(Cursor::new(&[0xff; 11]).long().is_err());
    }

    #[test]
    fn deflate_blocks_round_trip_and_cut_streams_are_errors() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        // Zeros inflate ~1000x: the output buffer must grow past its first guess.
        let zeros = vec![0u8; 1 << 20];
        let mut c = flate2::Compress::new(flate2::Compression::default(), false);
        let mut d = libdeflater::Decompressor::new();
        let (mut packed, mut out) = (Vec::new(), Vec::new());
        for block in [&data, &zeros, &data] {
            deflate(&mut c, block, &mut packed).unwrap();
            let n = inflate(&mut d, &packed, &mut out).unwrap();
            assert_eq!(&out[..n], &block[..]);
        }
        deflate(&mut c, &data, &mut packed).unwrap();
        for n in [0, 1, packed.len() / 2, packed.len() - 1] {
            let e = inflate(&mut d, &packed[..n], &mut out).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::DataInvalid, "{n}: {e}");
        }
        let mut bad = packed.clone();
        bad[0] ^= 0xff;
        bad[1] ^= 0xff;
        assert!(inflate(&mut d, &bad, &mut out).is_err());
        // A block that inflates past the bound is refused, naming the bound.
        deflate(&mut c, &zeros, &mut packed).unwrap();
        let e = inflate_at_most(&mut d, &packed, &mut Vec::new(), 64 * 1024).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::DataInvalid);
        assert!(e.to_string().contains("more than 65536 bytes"), "{e}");
    }

    #[test]
    fn record_count_hint_is_exact_for_few_blocks_and_close_for_many() {
        let schema = r#"{"type":"record","name":"r","fields":[{"name":"a","type":"long"}]}"#;
        for (records, exact) in [(1_000i64, true), (600_000, false)] {
            let mut w = ContainerWriter::new(schema, &[], AvroCodec::Null);
            for i in 0..records {
                put_long(w.record_buf(), i | (1 << 50)); // every record 8 bytes
                w.end_record().unwrap();
            }
            let bytes = w.finish().unwrap();
            let hint = Container::parse(&bytes, "test")
                .unwrap()
                .record_count_hint();
            let records = records as usize;
            if exact {
                assert_eq!(hint, records);
            } else {
                // 600,000 eight-byte records make about 70 blocks: estimated from the first.
                assert!(
                    hint.abs_diff(records) <= records / 50,
                    "{hint} vs {records}"
                );
            }
        }
    }

    #[test]
    fn container_round_trip_with_every_codec() {
        let schema = r#"{"type":"record","name":"r","fields":[{"name":"a","type":"long"}]}"#;
        for codec in [
            AvroCodec::Null,
            AvroCodec::Deflate,
            AvroCodec::Snappy,
            AvroCodec::Zstd,
        ] {
            let mut w = ContainerWriter::new(schema, &[("k", "v".to_string())], codec);
            for i in 0..50_000i64 {
                put_long(w.record_buf(), i);
                w.end_record().unwrap();
            }
            let bytes = w.finish().unwrap();
            let c = Container::parse(&bytes, "test").unwrap();
            assert_eq!(c.meta_str("k").unwrap(), Some("v"));
            let mut got = Vec::new();
            c.for_each_record(|cur| {
                got.push(cur.long()?);
                Ok(())
            })
            .unwrap();
            assert_eq!(got, (0..50_000).collect::<Vec<_>>());
            // An independent reader agrees.
            let reader = apache_avro::Reader::new(&bytes[..]).unwrap();
            assert_eq!(reader.count(), 50_000);
        }
    }
}
