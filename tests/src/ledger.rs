//! The enforcement ledger in the emulator: moto's own DynamoDB, with the table the SAM template declares.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};
use tagwarden::enforce::ledger::{BY_RESOURCE, LedgerTable};

/// The ledger table's name in the emulator.
pub const LEDGER_TABLE: &str = "tagwarden-ledger";

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, String> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(|e| e.to_string())
}

fn string(name: &str) -> Result<AttributeDefinition, String> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| e.to_string())
}

/// Creates the ledger table (keys `pk`/`sk`, index `by-resource` on `resource`/`at`, on demand) and returns
/// the enforcer's handle on it.
pub async fn create_ledger(config: &SdkConfig) -> Result<LedgerTable, String> {
    let client = aws_sdk_dynamodb::Client::new(config);
    let index = GlobalSecondaryIndex::builder()
        .index_name(BY_RESOURCE)
        .key_schema(key("resource", KeyType::Hash)?)
        .key_schema(key("at", KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(|e| e.to_string())?;
    client
        .create_table()
        .table_name(LEDGER_TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(string("pk")?)
        .attribute_definitions(string("sk")?)
        .attribute_definitions(string("resource")?)
        .attribute_definitions(string("at")?)
        .global_secondary_indexes(index)
        .send()
        .await
        .map_err(|e| format!("CreateTable {LEDGER_TABLE}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
    Ok(LedgerTable::new(client, LEDGER_TABLE))
}
