//! Sending many messages to one SQS queue (the sweep's pages, the idle schedule's places): ten per
//! `SendMessageBatch`, and an entry a batch refused sent once more on its own.

use crate::aws::{AwsError, ResultExt};

/// How many entries one `SendMessageBatch` takes (SQS's limit).
pub const SEND_BATCH: usize = 10;

/// What [`send_all`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// `SendMessageBatch` calls.
    pub batches: usize,
    /// Entries a batch refused that were sent again with `SendMessage`.
    pub resent: usize,
}

/// Sends every body to the queue at `url`, ten per `SendMessageBatch`; an entry a batch refused is sent once
/// more with `SendMessage`, and a second refusal is the error.
pub async fn send_all(sqs: &aws_sdk_sqs::Client, url: &str, bodies: &[String]) -> Result<Sent, AwsError> {
    let mut sent = Sent::default();
    for chunk in bodies.chunks(SEND_BATCH) {
        let entries = chunk.iter().enumerate().map(|(i, body)| {
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(body).build()
        });
        let entries = entries.collect::<Result<Vec<_>, _>>().map_err(|e| AwsError::Rejected {
            operation: "SendMessageBatch",
            code: "Build".into(),
            message: e.to_string(),
        })?;
        let out =
            sqs.send_message_batch().queue_url(url).set_entries(Some(entries)).send().await.aws("SendMessageBatch")?;
        sent.batches += 1;
        for failed in out.failed() {
            if let Some(body) = failed.id().parse::<usize>().ok().and_then(|i| chunk.get(i)) {
                sqs.send_message().queue_url(url).message_body(body).send().await.aws("SendMessage")?;
                sent.resent += 1;
            }
        }
    }
    Ok(sent)
}
