//! S3 backend (aws-sdk-s3): custom endpoints and path style for S3-compatible stores, the SDK's
//! standard retries with backoff for 5xx, throttling and timeouts, and streaming multipart uploads
//! with several parts in flight that are aborted on any failure.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use tokio::task::JoinSet;

use super::{ObjectMeta, Result, StoreError};
use crate::config::{StorageKind, StoragePlan};

const CREDENTIALS_HINT: &str = " (check storage.access_key_id/secret_access_key or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables)";
const BUCKET_HINT: &str = " (check storage.bucket and storage.region; the bucket must exist)";
const ENDPOINT_HINT: &str = " (check storage.endpoint and that the store is reachable)";

/// An S3 bucket (and optional prefix) used as an object store.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    part_size: usize,
    max_inflight_parts: usize,
}

/// A multipart upload in progress. Parts upload in background tasks, at most `max_inflight` at once.
#[derive(Debug)]
pub struct S3Writer {
    store: S3Store,
    key: String,
    buffer: Vec<u8>,
    upload_id: Option<String>,
    inflight: JoinSet<Result<CompletedPart>>,
    completed: Vec<CompletedPart>,
    next_part: i32,
    written: u64,
}

fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    op: &'static str,
    key: &str,
    err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> StoreError {
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().map(str::to_string);
    if status == Some(404) || matches!(code.as_deref(), Some("NoSuchKey")) {
        return StoreError::NotFound { key: key.to_string() };
    }
    let hint = match (status, code.as_deref()) {
        (_, Some("NoSuchBucket")) => BUCKET_HINT,
        (Some(401 | 403), _) | (_, Some("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied")) => {
            CREDENTIALS_HINT
        }
        (None, _) => ENDPOINT_HINT,
        _ => "",
    };
    StoreError::S3 { op, key: key.to_string(), message: DisplayErrorContext(&err).to_string(), hint }
}

impl S3Store {
    pub(crate) async fn connect(plan: &StoragePlan) -> Result<Self> {
        let StorageKind::S3 { bucket, region, endpoint, path_style, credentials } = &plan.kind else {
            unreachable!("S3Store::connect is only called for s3 storage");
        };
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region.clone()));
        if let Some((id, secret)) = credentials {
            loader = loader.credentials_provider(Credentials::new(id, secret.expose(), None, None, "kbackup-config"));
        }
        let shared = loader.load().await;
        let mut builder = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(*path_style)
            .retry_config(RetryConfig::standard().with_max_attempts(6).with_initial_backoff(Duration::from_millis(200)))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(300))
                    .build(),
            );
        if let Some(url) = endpoint {
            builder = builder.endpoint_url(url);
        }
        Ok(Self {
            client: Client::from_conf(builder.build()),
            bucket: bucket.clone(),
            prefix: plan.prefix.clone(),
            part_size: plan.part_size,
            max_inflight_parts: plan.max_inflight_parts,
        })
    }

    pub(crate) fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn full_key(&self, key: &str) -> String {
        if self.prefix.is_empty() { key.to_string() } else { format!("{}/{key}", self.prefix) }
    }

    fn relative<'a>(&self, full: &'a str) -> &'a str {
        if self.prefix.is_empty() {
            full
        } else {
            full.strip_prefix(&self.prefix).map_or(full, |k| k.trim_start_matches('/'))
        }
    }

    pub(crate) async fn put(&self, key: &str, body: Bytes) -> Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| classify("PUT", key, e))?;
        Ok(())
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Bytes> {
        self.fetch(key, None).await
    }

    pub(crate) async fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Bytes> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        let bytes = self.fetch(key, Some(format!("bytes={}-{}", start, start + len - 1))).await?;
        if bytes.len() as u64 != len {
            return Err(StoreError::S3 {
                op: "ranged GET",
                key: key.to_string(),
                message: format!("asked for {len} bytes at {start}, got {}", bytes.len()),
                hint: "",
            });
        }
        Ok(bytes)
    }

    async fn fetch(&self, key: &str, range: Option<String>) -> Result<Bytes> {
        let response = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .set_range(range)
            .send()
            .await
            .map_err(|e| classify("GET", key, e))?;
        let body = response.body.collect().await.map_err(|e| StoreError::S3 {
            op: "GET body",
            key: key.to_string(),
            message: e.to_string(),
            hint: ENDPOINT_HINT,
        })?;
        Ok(body.into_bytes())
    }

    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let mut pages =
            self.client.list_objects_v2().bucket(&self.bucket).prefix(self.full_key(prefix)).into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("LIST", prefix, e))?;
            for object in page.contents() {
                if let Some(full) = object.key() {
                    let size = object.size().unwrap_or(0).max(0) as u64;
                    out.push(ObjectMeta { key: self.relative(full).to_string(), size });
                }
            }
        }
        Ok(out)
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|e| classify("DELETE", key, e))?;
        Ok(())
    }

    pub(crate) fn writer(&self, key: &str) -> S3Writer {
        S3Writer {
            store: self.clone(),
            key: key.to_string(),
            buffer: Vec::with_capacity(self.part_size),
            upload_id: None,
            inflight: JoinSet::new(),
            completed: Vec::new(),
            next_part: 1,
            written: 0,
        }
    }

    /// Multipart uploads of a killed run hold storage until aborted; the next run cleans them up.
    pub(crate) async fn abort_stale_uploads(&self, prefix: &str) -> Result<usize> {
        let listed = self
            .client
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .prefix(self.full_key(prefix))
            .send()
            .await
            .map_err(|e| classify("LIST UPLOADS", prefix, e))?;
        let mut aborted = 0;
        for upload in listed.uploads() {
            if let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) {
                let result =
                    self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(id).send().await;
                if result.is_ok() {
                    aborted += 1;
                }
            }
        }
        Ok(aborted)
    }
}

impl S3Writer {
    pub(crate) async fn write(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let room = self.store.part_size - self.buffer.len();
            let take = room.min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
            self.written += take as u64;
            if self.buffer.len() == self.store.part_size {
                let part = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.store.part_size));
                if let Err(e) = self.send_part(part).await {
                    self.abort_upload().await;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    async fn send_part(&mut self, part: Vec<u8>) -> Result<()> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let created = self
                    .store
                    .client
                    .create_multipart_upload()
                    .bucket(&self.store.bucket)
                    .key(self.store.full_key(&self.key))
                    .send()
                    .await
                    .map_err(|e| classify("CREATE MULTIPART", &self.key, e))?;
                let id = created.upload_id().unwrap_or_default().to_string();
                self.upload_id = Some(id.clone());
                id
            }
        };
        while self.inflight.len() >= self.store.max_inflight_parts {
            self.join_one().await?;
        }
        let (client, bucket, key, full) =
            (self.store.client.clone(), self.store.bucket.clone(), self.key.clone(), self.store.full_key(&self.key));
        let number = self.next_part;
        self.next_part += 1;
        self.inflight.spawn(async move {
            let response = client
                .upload_part()
                .bucket(bucket)
                .key(full)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(Bytes::from(part)))
                .send()
                .await
                .map_err(|e| classify("UPLOAD PART", &key, e))?;
            Ok(CompletedPart::builder().part_number(number).set_e_tag(response.e_tag().map(str::to_string)).build())
        });
        Ok(())
    }

    async fn join_one(&mut self) -> Result<()> {
        if let Some(joined) = self.inflight.join_next().await {
            let part = joined.map_err(|e| StoreError::S3 {
                op: "UPLOAD PART",
                key: self.key.clone(),
                message: e.to_string(),
                hint: "",
            })??;
            self.completed.push(part);
        }
        Ok(())
    }

    pub(crate) async fn finish(mut self) -> Result<u64> {
        if self.upload_id.is_none() {
            // Small object: one PUT is cheaper than a multipart upload of one part.
            let body = Bytes::from(std::mem::take(&mut self.buffer));
            self.store.put(&self.key, body).await?;
            return Ok(self.written);
        }
        match self.complete().await {
            Ok(()) => Ok(self.written),
            Err(e) => {
                self.abort_upload().await;
                Err(e)
            }
        }
    }

    async fn complete(&mut self) -> Result<()> {
        if !self.buffer.is_empty() {
            let last = std::mem::take(&mut self.buffer);
            self.send_part(last).await?;
        }
        while !self.inflight.is_empty() {
            self.join_one().await?;
        }
        let mut parts = std::mem::take(&mut self.completed);
        parts.sort_by_key(|p| p.part_number());
        self.store
            .client
            .complete_multipart_upload()
            .bucket(&self.store.bucket)
            .key(self.store.full_key(&self.key))
            .upload_id(self.upload_id.clone().unwrap_or_default())
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| classify("COMPLETE MULTIPART", &self.key, e))?;
        Ok(())
    }

    async fn abort_upload(&mut self) {
        self.inflight.abort_all();
        while self.inflight.join_next().await.is_some() {}
        if let Some(id) = self.upload_id.take() {
            let result = self
                .store
                .client
                .abort_multipart_upload()
                .bucket(&self.store.bucket)
                .key(self.store.full_key(&self.key))
                .upload_id(id)
                .send()
                .await;
            if let Err(e) = result {
                tracing::warn!(key = %self.key, error = %DisplayErrorContext(&e), "could not abort multipart upload");
            }
        }
    }

    pub(crate) async fn abort(mut self) {
        self.abort_upload().await;
    }
}
