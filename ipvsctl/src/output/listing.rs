//! Listings made as they are printed, one service at a time, as ipvsadm makes them: the
//! services are sorted (their keys are all the order needs), then each one's destinations are
//! read into one list kept for the whole listing, sorted, and formatted into one buffer, which
//! is written out each time it passes [`CHUNK`] bytes. Memory follows one service's part of the
//! output, not the table's.
//!
//! Reading is the caller's: a function that fills a list with the destinations of the service
//! at a position of the given services (the program asks the kernel; the `*_text` and `*_json`
//! functions of this module's parent copy from the [`VirtualServer`]s they are given).

use std::convert::Infallible;
use std::io::{self, Write};

use ipvs::{DestinationEntry, ServiceEntry, VirtualServer};

use super::sort;

/// Bytes kept before they are written out: large writes, few system calls.
pub(crate) const CHUNK: usize = 64 * 1024;

/// Why a streamed listing stopped: reading a service's destinations failed (what was made
/// before is in the buffer, to be written out as ipvsadm's stdio does when it exits), or
/// writing failed.
#[derive(Debug)]
pub enum StreamError<E> {
    /// Reading the destinations of a service failed.
    Read(E),
    /// Writing the output failed.
    Write(io::Error),
}

/// Where a listing's bytes go: kept in a buffer and handed to the sink each time more than
/// `CHUNK` (64 KiB) are kept, or all kept (no sink) for a listing made as a `String`.
pub struct Chunked<'a> {
    buf: Vec<u8>,
    sink: Option<&'a mut dyn Write>,
}

impl<'a> Chunked<'a> {
    /// Output written to `sink` by chunks.
    pub fn new(sink: &'a mut dyn Write) -> Self {
        Chunked {
            buf: Vec::with_capacity(CHUNK + CHUNK / 4),
            sink: Some(sink),
        }
    }

    /// Output kept whole, for [`Chunked::into_bytes`].
    pub fn keep() -> Chunked<'static> {
        Chunked {
            buf: Vec::new(),
            sink: None,
        }
    }

    /// The buffer, to append to; [`Chunked::spill`] after.
    #[inline]
    pub(crate) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Writes the kept bytes out once they pass [`CHUNK`], up to the end of the last whole
    /// line among them; the rest is kept for the next chunk. stdout is line-buffered: the
    /// bytes after a chunk's last newline would wait in its buffer and go out in a write of
    /// their own before the next chunk (a JSON document's chunks end within a line: two
    /// system calls a chunk).
    #[inline]
    pub(crate) fn spill(&mut self) -> io::Result<()> {
        if self.buf.len() >= CHUNK {
            self.write_lines()
        } else {
            Ok(())
        }
    }

    /// Writes out the kept whole lines (all that is kept if it holds no newline).
    fn write_lines(&mut self) -> io::Result<()> {
        if let Some(sink) = self.sink.as_mut() {
            let end = self
                .buf
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(self.buf.len(), |i| i + 1);
            sink.write_all(&self.buf[..end])?;
            self.buf.drain(..end);
        }
        Ok(())
    }

    /// Writes out what is kept (with a sink).
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(sink) = self.sink.as_mut() {
            sink.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// What was kept (all of it without a sink).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Appends go to the buffer; `flush` is `Chunked::spill`. The JSON documents are written by
/// `output/json_ser.rs`, which appends to the buffer itself and spills after each element of an
/// array. [`Chunked::finish`] writes the rest.
impl Write for Chunked<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.spill()
    }
}

/// The services of `servers`: a listing of values already read, made by the streaming code
/// with [`held_dests`].
pub(crate) fn held(servers: &[VirtualServer]) -> Vec<&ServiceEntry> {
    servers.iter().map(|vs| &vs.entry).collect()
}

/// A reader that copies the destinations of the service at a position of `servers`.
pub(crate) fn held_dests(
    servers: &[VirtualServer],
) -> impl FnMut(usize, &mut Vec<DestinationEntry>) -> Result<(), Infallible> + '_ {
    move |i: usize, list: &mut Vec<DestinationEntry>| {
        list.extend_from_slice(&servers[i].destinations);
        Ok(())
    }
}

/// The text of a listing kept whole by [`Chunked::keep`].
pub(crate) fn into_text(out: Chunked<'_>, done: Result<(), StreamError<Infallible>>) -> String {
    // Without a sink nothing is written, so nothing can fail.
    debug_assert!(done.is_ok());
    let bytes = out.into_bytes();
    // Written from strings and digits only: always UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// How one text format writes a service and a destination.
pub(crate) trait Lines {
    /// The service's line; the destinations' lines follow.
    fn service(&mut self, out: &mut Vec<u8>, entry: &ServiceEntry);
    /// A destination's line.
    fn destination(&mut self, out: &mut Vec<u8>, dest: &DestinationEntry);
}

/// The driver of the text listings: services sorted unless `!sort`, each one's destinations
/// read, sorted and written after its line.
pub(crate) fn stream_lines<E>(
    services: &[&ServiceEntry],
    mut dests: impl FnMut(usize, &mut Vec<DestinationEntry>) -> Result<(), E>,
    sort: bool,
    lines: &mut dyn Lines,
    out: &mut Chunked<'_>,
) -> Result<(), StreamError<E>> {
    let mut list = Vec::new();
    let (mut order, mut tmp) = (Vec::new(), Vec::new());
    for i in sort::service_order(services, sort) {
        list.clear();
        // As ipvsadm: the destinations are read before the service's line is printed.
        dests(i, &mut list).map_err(StreamError::Read)?;
        sort::dest_order(&list, sort, &mut order, &mut tmp);
        lines.service(out.buf(), services[i]);
        for k in &order {
            lines.destination(out.buf(), &list[*k]);
            out.spill().map_err(StreamError::Write)?;
        }
        out.spill().map_err(StreamError::Write)?;
    }
    Ok(())
}
