//! Many notebook instances at once, for the enforcement tests that need a few hundred or a thousand of them
//! (outage, throttling, continuation): created 16 at a time, each tagged with its cost center, and read back
//! by status.

use std::collections::BTreeMap;

use aws_sdk_sagemaker::types::{InstanceType, NotebookInstanceStatus, Tag};
use tagwarden::Clients;

/// One notebook to create: its name, its `cost-center` tag and whether it also carries `tagwarden:exempt=true`
/// (a user's own claim, which the enforcer ignores).
pub struct NotebookSpec {
    /// The notebook instance name.
    pub name: String,
    /// Its `cost-center` tag value.
    pub cost_center: &'static str,
    /// Whether it tags itself exempt.
    pub self_exempt: bool,
}

impl NotebookSpec {
    /// A notebook named `name` tagged `cost-center=cost_center`.
    pub fn new(name: impl Into<String>, cost_center: &'static str) -> Self {
        Self { name: name.into(), cost_center, self_exempt: false }
    }
}

/// Creates every notebook (ml.t3.medium, the `mia-exec` role), 16 calls in flight.
pub async fn create_notebooks(clients: &Clients, specs: impl IntoIterator<Item = NotebookSpec>) -> Result<(), String> {
    let mut tasks = tokio::task::JoinSet::new();
    for spec in specs {
        let mut create = clients
            .sagemaker
            .create_notebook_instance()
            .notebook_instance_name(&spec.name)
            .instance_type(InstanceType::MlT3Medium)
            .role_arn("arn:aws:iam::123456789012:role/mia-exec")
            .tags(Tag::builder().key("cost-center").value(spec.cost_center).build());
        if spec.self_exempt {
            create = create.tags(Tag::builder().key("tagwarden:exempt").value("true").build());
        }
        let name = spec.name;
        tasks.spawn(async move { create.send().await.map(drop).map_err(|e| format!("create {name}: {e:?}")) });
        if tasks.len() >= 16 {
            join_one(&mut tasks).await?;
        }
    }
    while !tasks.is_empty() {
        join_one(&mut tasks).await?;
    }
    Ok(())
}

async fn join_one(tasks: &mut tokio::task::JoinSet<Result<(), String>>) -> Result<(), String> {
    match tasks.join_next().await {
        Some(joined) => joined.map_err(|e| format!("create task: {e}"))?,
        None => Ok(()),
    }
}

/// Every notebook's status, by name (ListNotebookInstances, 100 a page).
pub async fn statuses(clients: &Clients) -> Result<BTreeMap<String, NotebookInstanceStatus>, String> {
    let mut found = BTreeMap::new();
    let mut pages = clients.sagemaker.list_notebook_instances().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        for nb in page.map_err(|e| format!("ListNotebookInstances: {e:?}"))?.notebook_instances() {
            if let (Some(name), Some(status)) = (nb.notebook_instance_name(), nb.notebook_instance_status()) {
                found.insert(name.to_owned(), status.clone());
            }
        }
    }
    Ok(found)
}
