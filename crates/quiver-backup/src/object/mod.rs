//! Backups in S3 (or an S3-compatible store) through the `object_store` crate: [`Bucket`] is
//! the connection both [`target::ObjectTarget`] (create) and [`source::ObjectSource`] (verify,
//! restore) use.
//!
//! A backup at `s3://bucket/prefix` is the objects `prefix/manifest.json`,
//! `prefix/manifest.sig` and `prefix/data/<path>` for every file of the manifest; directories
//! are not objects (the signed manifest lists them, and a restore creates them from it).
//!
//! Credentials, region and endpoint come from the standard AWS environment
//! (`AmazonS3Builder::from_env`): `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION` (or `AWS_DEFAULT_REGION`), `AWS_ENDPOINT_URL` for another
//! endpoint than AWS's; plain `http://` endpoints are refused unless `AWS_ALLOW_HTTP=true`.
//! No credential ever appears in an error or a message. TLS is rustls with the ring provider
//! (the one the rest of Quiver uses).
//!
//! `object_store` is asynchronous and backups are synchronous: each [`Bucket`] owns a small
//! current-thread tokio runtime and blocks on every request.

pub(crate) mod source;
pub(crate) mod target;

use std::io::{self, Read, Write};
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use tokio::io::AsyncWriteExt;
use tokio::runtime::Runtime;

use crate::error::{BackupError, Result};
use crate::location::S3Location;

/// Size of the parts of a multipart upload (S3's minimum is 5 MiB).
const PART_SIZE: usize = 8 << 20;
/// Parts uploaded at once per file.
const PART_CONCURRENCY: usize = 2;

/// A connection to the bucket of an [`S3Location`], rooted at its prefix.
pub(crate) struct Bucket {
    runtime: Runtime,
    store: Arc<dyn ObjectStore>,
    location: S3Location,
}

/// One object under the prefix: its path relative to the prefix and its size.
pub(crate) struct Listed {
    pub(crate) rel: String,
    pub(crate) size: u64,
}

impl Bucket {
    /// Connects to `location` with the credentials and endpoint of the AWS environment.
    pub(crate) fn connect(location: &S3Location) -> Result<Bucket> {
        // reqwest's rustls has no bundled provider: use ring, as the rest of Quiver does. An
        // error only says a provider is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BackupError::io("start the runtime for", location, e))?;
        let store =
            AmazonS3Builder::from_env().with_bucket_name(&location.bucket).build().map_err(
                |e| BackupError::Location { location: location.to_string(), reason: e.to_string() },
            )?;
        Ok(Bucket { runtime, store: Arc::new(store), location: location.clone() })
    }

    /// The key of `rel` (relative to the prefix).
    fn key(&self, rel: &str) -> Key {
        if self.location.prefix.is_empty() {
            Key::from(rel)
        } else {
            Key::from(format!("{}/{rel}", self.location.prefix))
        }
    }

    /// How `rel` is named in errors: `s3://bucket/prefix/rel`.
    pub(crate) fn shown(&self, rel: &str) -> String {
        format!("{}/{rel}", self.location.to_string().trim_end_matches('/'))
    }

    /// Every object under `prefix/under` (`""`: the whole prefix), at most `limit` of them.
    pub(crate) fn list(&self, under: &str, limit: usize) -> Result<Vec<Listed>> {
        let rel_prefix = match (self.location.prefix.as_str(), under) {
            ("", "") => None,
            ("", under) => Some(Key::from(under)),
            (_, "") => Some(Key::from(self.location.prefix.as_str())),
            (_, under) => Some(self.key(under)),
        };
        let root = if self.location.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.location.prefix)
        };
        let shown = self.shown(under);
        self.runtime.block_on(async {
            let mut stream = self.store.list(rel_prefix.as_ref());
            let mut out = Vec::new();
            while let Some(meta) = stream.next().await {
                let meta = meta.map_err(|e| BackupError::store("list", &shown, e))?;
                let key = meta.location.as_ref();
                let rel = key.strip_prefix(&root).unwrap_or(key).to_owned();
                out.push(Listed { rel, size: meta.size });
                if out.len() > limit {
                    return Err(BackupError::TooLarge {
                        path: shown.clone(),
                        what: "the number of objects",
                        limit: limit as u64,
                    });
                }
            }
            Ok(out)
        })
    }

    /// Whether any object is under the prefix.
    pub(crate) fn holds_objects(&self) -> Result<bool> {
        let prefix =
            (!self.location.prefix.is_empty()).then(|| Key::from(self.location.prefix.as_str()));
        let first = self.runtime.block_on(async { self.store.list(prefix.as_ref()).next().await });
        match first {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(BackupError::store("list", self.shown(""), e)),
        }
    }

    /// Uploads `bytes` as the object `rel`.
    pub(crate) fn put(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        let payload = PutPayload::from(bytes.to_vec());
        self.runtime
            .block_on(self.store.put(&self.key(rel), payload))
            .map(drop)
            .map_err(|e| BackupError::store("upload", self.shown(rel), e))
    }

    /// Deletes the object `rel`; a missing object is not an error.
    pub(crate) fn delete(&self, rel: &str) -> Result<()> {
        match self.runtime.block_on(self.store.delete(&self.key(rel))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(BackupError::store("delete", self.shown(rel), e)),
        }
    }

    /// A streaming (multipart) upload of the new object `rel`.
    pub(crate) fn writer(&self, rel: &str) -> ObjectWriter<'_> {
        let writer = BufWriter::with_capacity(Arc::clone(&self.store), self.key(rel), PART_SIZE)
            .with_max_concurrency(PART_CONCURRENCY);
        ObjectWriter { runtime: &self.runtime, writer }
    }

    /// A streaming download of the object `rel`.
    pub(crate) fn reader(&self, rel: &str) -> Result<ObjectReader<'_>> {
        let result = self
            .runtime
            .block_on(self.store.get(&self.key(rel)))
            .map_err(|e| BackupError::store("download", self.shown(rel), e))?;
        Ok(ObjectReader {
            runtime: &self.runtime,
            stream: result.into_stream(),
            chunk: Default::default(),
        })
    }
}

/// The chunks of a download.
type ByteStream = futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>;

/// [`Write`] over a multipart upload; nothing is visible under the key until [`Self::finish`].
pub(crate) struct ObjectWriter<'a> {
    runtime: &'a Runtime,
    writer: BufWriter,
}

impl ObjectWriter<'_> {
    /// Completes the upload.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.runtime.block_on(self.writer.shutdown())
    }

    /// Abandons the upload (best effort: the parts are discarded).
    pub(crate) fn abort(mut self) {
        let _ = self.runtime.block_on(self.writer.abort());
    }
}

impl Write for ObjectWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.runtime.block_on(self.writer.write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// [`Read`] over a streaming download.
pub(crate) struct ObjectReader<'a> {
    runtime: &'a Runtime,
    stream: ByteStream,
    chunk: bytes::Bytes,
}

impl Read for ObjectReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => return Err(io::Error::other(e)),
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}
