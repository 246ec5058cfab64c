//! The tag reads and writes every tagging path shares: a SageMaker resource's tags (`ListTags`, `AddTags`)
//! and an IAM principal's (`ListRoleTags`, `ListUserTags`), each following its pagination.

use aws_sdk_sagemaker::types::Tag;

use super::Tags;
use crate::aws::{AwsError, Clients, ResultExt};

/// Every tag of a SageMaker resource, following `NextToken`.
pub async fn list_tags(clients: &Clients, arn: &str) -> Result<Tags, AwsError> {
    let mut tags = Tags::new();
    let mut pages = clients.sagemaker.list_tags().resource_arn(arn).max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        for tag in page.aws("ListTags")?.tags() {
            if let Some(key) = tag.key() {
                tags.insert(key.to_owned(), tag.value().unwrap_or_default().to_owned());
            }
        }
    }
    Ok(tags)
}

/// Adds or overwrites tags on a SageMaker resource in one call.
pub async fn add_tags(clients: &Clients, arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let tags = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
    clients.sagemaker.add_tags().resource_arn(arn).set_tags(Some(tags)).send().await.aws("AddTags")?;
    Ok(())
}

/// Every tag of an IAM principal, following `Marker`: `iam_tags!(request, "Operation")`.
macro_rules! iam_tags {
    ($request:expr, $operation:literal) => {{
        let mut tags = Tags::new();
        let mut marker: Option<String> = None;
        loop {
            let page = $request.set_marker(marker).send().await.aws($operation)?;
            tags.extend(page.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())));
            marker = page.marker().map(str::to_owned).filter(|_| page.is_truncated());
            if marker.is_none() {
                break Ok(tags);
            }
        }
    }};
}

/// Every tag of an IAM role, following `Marker`.
pub async fn role_tags(clients: &Clients, name: &str) -> Result<Tags, AwsError> {
    iam_tags!(clients.iam.list_role_tags().role_name(name), "ListRoleTags")
}

/// Every tag of an IAM user, following `Marker`.
pub(super) async fn user_tags(clients: &Clients, name: &str) -> Result<Tags, AwsError> {
    iam_tags!(clients.iam.list_user_tags().user_name(name), "ListUserTags")
}
