//! [`RawIpcFile`]: an Arrow IPC file written from messages as they came over the wire, without
//! decoding their batches: each header is checked (a record batch or dictionary whose body is
//! as long as it says), then header and body are written as they are, and the footer is built
//! from where they landed.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::ipc::{Block, MessageHeader};

use crate::{Error, Result};

const MAGIC: &[u8; 6] = b"ARROW1";
const CONTINUATION: [u8; 4] = [0xff; 4];
const PADDING: [u8; 8] = [0; 8];

/// Whether `schema` can be relayed without decoding: dictionaries would need the sender's
/// dictionary ids in the footer's schema, so a schema with any goes the decoding way.
pub(crate) fn relayable(schema: &Schema) -> bool {
    fn plain(t: &DataType) -> bool {
        match t {
            DataType::Dictionary(..) => false,
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::ListView(f)
            | DataType::LargeListView(f)
            | DataType::FixedSizeList(f, _)
            | DataType::Map(f, _) => plain(f.data_type()),
            DataType::Struct(fs) => fs.iter().all(|f| plain(f.data_type())),
            DataType::Union(fs, _) => fs.iter().all(|(_, f)| plain(f.data_type())),
            DataType::RunEndEncoded(r, v) => plain(r.data_type()) && plain(v.data_type()),
            _ => true,
        }
    }
    schema.fields().iter().all(|f| plain(f.data_type()))
}

/// What a checked message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Batch { rows: u64 },
    Dictionary,
}

/// Checks a message that came over the wire before anything reads it: a record batch or a
/// dictionary whose body is as long as its header says, and every buffer of which lies in that
/// body (Arrow's reader asserts that, so an unchecked message could panic a reader).
pub(crate) fn check(header: &[u8], body: &[u8]) -> Result<Kind, &'static str> {
    let message = arrow::ipc::root_as_message(header).map_err(|_| "its header")?;
    if usize::try_from(message.bodyLength()).ok() != Some(body.len()) {
        return Err("a body of another length than its header says");
    }
    let (batch, kind) = match message.header_type() {
        MessageHeader::RecordBatch => {
            let batch = message
                .header_as_record_batch()
                .ok_or("a record batch without its header")?;
            let rows = u64::try_from(batch.length()).map_err(|_| "a negative length")?;
            (batch, Kind::Batch { rows })
        }
        MessageHeader::DictionaryBatch => {
            let batch = message
                .header_as_dictionary_batch()
                .and_then(|d| d.data())
                .ok_or("a dictionary without its data")?;
            (batch, Kind::Dictionary)
        }
        MessageHeader::Schema => return Err("a second schema"),
        _ => return Err("neither a record batch nor a dictionary"),
    };
    let inside = |offset: i64, length: i64| {
        u64::try_from(offset)
            .ok()
            .zip(u64::try_from(length).ok())
            .and_then(|(o, l)| o.checked_add(l))
            .is_some_and(|end| end <= body.len() as u64)
    };
    let buffers = batch.buffers().ok_or("a batch without its buffers")?;
    if !buffers.iter().all(|b| inside(b.offset(), b.length())) {
        return Err("a buffer past the end of its body");
    }
    batch.nodes().ok_or("a batch without its field nodes")?;
    Ok(kind)
}

/// An IPC file being written from relayed messages.
pub(crate) struct RawIpcFile {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    offset: u64,
    schema: SchemaRef,
    dictionaries: Vec<Block>,
    batches: Vec<Block>,
    pub(crate) rows: u64,
}

impl RawIpcFile {
    /// A new file at `path` for `schema`, whose IPC schema message is `schema_header`.
    pub(crate) fn create(path: &Path, schema: SchemaRef, schema_header: &[u8]) -> Result<Self> {
        let file = std::fs::File::create(path).map_err(|e| io(path, e))?;
        let mut this = Self {
            path: path.to_path_buf(),
            out: std::io::BufWriter::with_capacity(1 << 20, file),
            offset: 0,
            schema,
            dictionaries: Vec::new(),
            batches: Vec::new(),
            rows: 0,
        };
        this.write(MAGIC)?;
        this.write(&PADDING[..2])?;
        this.message(schema_header, &[])?;
        Ok(this)
    }

    /// Appends one message: a record batch or a dictionary, checked by [`check`].
    pub(crate) fn append(&mut self, header: &[u8], body: &[u8]) -> Result<()> {
        let kind = check(header, body).map_err(|what| {
            Error::Connect(format!(
                "a peer sent a malformed Arrow message ({what}) for {}",
                self.path.display()
            ))
        })?;
        let start = self.offset as i64;
        let (meta, len) = self.message(header, body)?;
        let block = Block::new(start, meta, len);
        match kind {
            Kind::Batch { rows } => {
                self.rows = self.rows.saturating_add(rows);
                self.batches.push(block);
            }
            Kind::Dictionary => self.dictionaries.push(block),
        }
        Ok(())
    }

    /// Writes an encapsulated message (continuation, length, header padded to 8, body padded to
    /// 8); returns its metadata length (prefix included) and padded body length.
    fn message(&mut self, header: &[u8], body: &[u8]) -> Result<(i32, i64)> {
        let aligned = (header.len() + 8 + 7) & !7;
        let meta =
            i32::try_from(aligned).map_err(|_| Error::Connect("a header over 2 GiB".into()))?;
        self.write(&CONTINUATION)?;
        self.write(&(meta - 8).to_le_bytes())?;
        self.write(header)?;
        self.write(&PADDING[..aligned - 8 - header.len()])?;
        self.write(body)?;
        let pad = (8 - body.len() % 8) % 8;
        self.write(&PADDING[..pad])?;
        Ok((meta, (body.len() + pad) as i64))
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| io(&self.path, e))?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Writes the end-of-stream marker and the footer; the file is complete.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.write(&CONTINUATION)?;
        self.write(&0i32.to_le_bytes())?;
        let mut fbb = flatbuffers::FlatBufferBuilder::new();
        let dictionaries = fbb.create_vector(&self.dictionaries);
        let batches = fbb.create_vector(&self.batches);
        let schema = arrow::ipc::convert::schema_to_fb_offset(&mut fbb, &self.schema);
        let mut footer = arrow::ipc::FooterBuilder::new(&mut fbb);
        footer.add_version(arrow::ipc::MetadataVersion::V5);
        footer.add_schema(schema);
        footer.add_dictionaries(dictionaries);
        footer.add_recordBatches(batches);
        let root = footer.finish();
        fbb.finish(root, None);
        let data = fbb.finished_data().to_vec();
        self.write(&data)?;
        let len =
            i32::try_from(data.len()).map_err(|_| Error::Connect("a footer over 2 GiB".into()))?;
        self.write(&len.to_le_bytes())?;
        self.write(MAGIC)?;
        let path = self.path.clone();
        let file = self
            .out
            .into_inner()
            .map_err(|e| io(&path, e.into_error()))?;
        drop(file);
        Ok(())
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        what: format!("writing {}", path.display()),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int32Array, ListArray, StringArray};
    use arrow::datatypes::Int32Type;
    use arrow::record_batch::RecordBatch;

    use super::*;

    fn written(dir: &Path, batches: &[RecordBatch]) -> PathBuf {
        let path = dir.join("in.arrow");
        let mut w = bayou_runtime::IpcWriter::create(&path, &batches[0].schema()).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
        path
    }

    #[test]
    fn relayed_messages_make_a_file_readers_read_row_for_row() {
        let dir = tempfile::tempdir().unwrap();
        let ids: ArrayRef = Arc::new(Int32Array::from_iter(
            (0..100_000).map(|i| (i % 7 != 0).then_some(i)),
        ));
        let names: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..100_000).map(|i| format!("n{i}")),
        ));
        let lists: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
            (0..100_000).map(|i| Some(vec![Some(i), None])),
        ));
        let batch =
            RecordBatch::try_from_iter([("id", ids), ("name", names), ("l", lists)]).unwrap();
        let source = written(
            dir.path(),
            &[batch.slice(0, 70_000), batch.slice(70_000, 30_000)],
        );
        let (schema, messages) = bayou_runtime::ipc_messages(&source).unwrap();
        assert!(relayable(&schema));
        let dest = dir.path().join("out.arrow");
        let header = arrow_flight::FlightData::from(arrow_flight::SchemaAsIpc::new(
            &schema,
            &arrow::ipc::writer::IpcWriteOptions::default(),
        ));
        let mut file = RawIpcFile::create(&dest, schema.clone(), &header.data_header).unwrap();
        for m in &messages {
            file.append(&m.header, &m.body).unwrap();
        }
        assert_eq!(file.rows, 100_000);
        file.finish().unwrap();
        let (_, got) = bayou_runtime::map_ipc(&dest).unwrap();
        assert_eq!(
            arrow::compute::concat_batches(&schema, &got).unwrap(),
            batch
        );
        // Another reader agrees: arrow's own file reader.
        let reader =
            arrow::ipc::reader::FileReader::try_new(std::fs::File::open(&dest).unwrap(), None)
                .unwrap();
        let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows, 100_000);
    }

    #[test]
    fn a_malformed_message_is_refused_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let ids: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 3]));
        let batch = RecordBatch::try_from_iter([("id", ids)]).unwrap();
        let source = written(dir.path(), &[batch]);
        let (schema, messages) = bayou_runtime::ipc_messages(&source).unwrap();
        let header = arrow_flight::FlightData::from(arrow_flight::SchemaAsIpc::new(
            &schema,
            &arrow::ipc::writer::IpcWriteOptions::default(),
        ));
        let mut file =
            RawIpcFile::create(&dir.path().join("o.arrow"), schema, &header.data_header).unwrap();
        let m = &messages[0];
        let short = file
            .append(&m.header, &m.body[..m.body.len() - 8])
            .unwrap_err();
        assert!(short.to_string().contains("another length"), "{short}");
        let garbage = file.append(&[1, 2, 3], &[]).unwrap_err();
        assert!(garbage.to_string().contains("malformed"), "{garbage}");
        // A schema message where a batch belongs.
        let wrong = file.append(&header.data_header, &[]).unwrap_err();
        assert!(wrong.to_string().contains("second schema"), "{wrong}");
        // A batch whose buffer points past its body: refused before any reader sees it.
        let mut fbb = flatbuffers::FlatBufferBuilder::new();
        let nodes = fbb.create_vector(&[arrow::ipc::FieldNode::new(3, 0)]);
        let buffers = fbb.create_vector(&[
            arrow::ipc::Buffer::new(0, 0),
            arrow::ipc::Buffer::new(0, 4096),
        ]);
        let mut rb = arrow::ipc::RecordBatchBuilder::new(&mut fbb);
        rb.add_length(3);
        rb.add_nodes(nodes);
        rb.add_buffers(buffers);
        let rb = rb.finish();
        let mut mb = arrow::ipc::MessageBuilder::new(&mut fbb);
        mb.add_version(arrow::ipc::MetadataVersion::V5);
        mb.add_header_type(MessageHeader::RecordBatch);
        mb.add_header(rb.as_union_value());
        mb.add_bodyLength(24);
        let root = mb.finish();
        fbb.finish(root, None);
        let past = file.append(fbb.finished_data(), &[0u8; 24]).unwrap_err();
        assert!(past.to_string().contains("past the end"), "{past}");
    }

    #[test]
    fn dictionaries_anywhere_go_the_decoding_way() {
        use arrow::datatypes::Field;
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let nested = Schema::new(vec![Field::new(
            "s",
            DataType::Struct(vec![Field::new("d", dict.clone(), true)].into()),
            true,
        )]);
        assert!(!relayable(&nested));
        assert!(!relayable(&Schema::new(vec![Field::new("d", dict, true)])));
        assert!(relayable(&Schema::new(vec![Field::new(
            "i",
            DataType::Int32,
            true
        )])));
    }
}
