//! Values in a DynamoDB table with Powertools' schema, so that a table can be shared with
//! Powertools' `DynamoDBProvider`.
//!
//! One value per item: partition key `id` = the name, `value` = the value. Several values
//! under one name: partition key `id` = the name, sort key `sk` = each value's own name.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::ParameterError;
use crate::parameters::Parameters;
use crate::provider::Provider;
use crate::sdk::{self, RoundTrips};
use crate::value::Value;
use crate::values::Values;

/// Values in a DynamoDB table, with a shared cache.
///
/// ```no_run
/// # async fn example() -> Result<(), lambda_kit_parameters::ParameterError> {
/// let table = lambda_kit_parameters::DynamoDb::from_env("parameters").await?;
/// let endpoint = table.get("payments-endpoint").text().await?; // item id = payments-endpoint
/// let flags = table.get_multiple("feature-flags").await?;      // items id = feature-flags, by sk
/// # let _ = (endpoint, flags); Ok(()) }
/// ```
///
/// The role needs `dynamodb:GetItem` and `dynamodb:Query` on the table.
pub type DynamoDb = Parameters<DynamoDbProvider>;

/// Fetches from a DynamoDB table; wrapped in [`DynamoDb`] for the cache.
#[derive(Debug)]
pub struct DynamoDbProvider {
    client: Client,
    table: String,
    key_attr: String,
    sort_attr: String,
    value_attr: String,
    round_trips: RoundTrips,
}

impl DynamoDbProvider {
    /// Reads `table` through `client` (its timeouts are kept where set), with
    /// Powertools' attribute names: `id`, `sk`, `value`.
    pub fn new(client: &Client, table: impl Into<String>) -> Self {
        let round_trips = RoundTrips::default();
        DynamoDbProvider {
            client: sdk::instrumented!(Client, client, round_trips),
            table: table.into(),
            key_attr: "id".to_owned(),
            sort_attr: "sk".to_owned(),
            value_attr: "value".to_owned(),
            round_trips,
        }
    }

    /// The partition key attribute (default `id`).
    #[must_use]
    pub fn key_attr(mut self, name: impl Into<String>) -> Self {
        self.key_attr = name.into();
        self
    }

    /// The sort key attribute of several values under one name (default `sk`).
    #[must_use]
    pub fn sort_attr(mut self, name: impl Into<String>) -> Self {
        self.sort_attr = name.into();
        self
    }

    /// The attribute that holds the value (default `value`).
    #[must_use]
    pub fn value_attr(mut self, name: impl Into<String>) -> Self {
        self.value_attr = name.into();
        self
    }

    /// How many HTTP requests this provider has sent.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.get()
    }

    /// The value attribute of `item`: a string, or bytes for a binary attribute.
    fn value_of(
        &self,
        name: &str,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<Value, ParameterError> {
        match item.get(&self.value_attr) {
            Some(AttributeValue::S(text)) => Ok(Value::from(text.as_str())),
            Some(AttributeValue::B(blob)) => Ok(Value::Binary(blob.as_ref().into())),
            Some(_) => Err(ParameterError::transform(
                name,
                format!("a string or binary `{}` attribute", self.value_attr),
                "the attribute has another DynamoDB type",
            )),
            None => Err(ParameterError::NotFound {
                name: name.to_owned(),
            }),
        }
    }

    /// A missing table is the function's configuration, not a missing value.
    fn classify<E, R>(
        &self,
        name: &str,
        operation: &str,
        error: aws_sdk_dynamodb::error::SdkError<E, R>,
    ) -> ParameterError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match sdk::classify(name, operation, error) {
            ParameterError::NotFound { name } => ParameterError::Service {
                name,
                code: "ResourceNotFoundException".to_owned(),
                message: format!("table {} not found", self.table),
            },
            other => other,
        }
    }
}

impl Provider for DynamoDbProvider {
    type Request = String;
    const KIND: &'static str = "DynamoDB";

    fn name(request: &String) -> &str {
        request
    }

    async fn fetch(&self, name: &String) -> Result<Value, ParameterError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(&self.key_attr, AttributeValue::S(name.clone()))
            .send()
            .await
            .map_err(|error| self.classify(name, "GetItem", error))?;
        match output.item() {
            Some(item) => self.value_of(name, item),
            None => Err(ParameterError::NotFound { name: name.clone() }),
        }
    }

    /// A `Query` on the partition, every page; values keyed by their sort key.
    async fn fetch_multiple(&self, name: &String) -> Result<Values, ParameterError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#key = :name")
            .expression_attribute_names("#key", &self.key_attr)
            .expression_attribute_values(":name", AttributeValue::S(name.clone()))
            .into_paginator()
            .send();
        let mut values = Values::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| self.classify(name, "Query", error))?;
            for item in page.items() {
                let Some(AttributeValue::S(sort)) = item.get(&self.sort_attr) else {
                    continue;
                };
                values.insert(sort.clone(), self.value_of(sort, item)?);
            }
        }
        Ok(values)
    }
}

impl Parameters<DynamoDbProvider> {
    /// Values in `table` with a client configured from the environment (region,
    /// credentials, `AWS_ENDPOINT_URL_DYNAMODB` or `AWS_ENDPOINT_URL`).
    pub async fn from_env(table: impl Into<String>) -> Result<Self, ParameterError> {
        let config = sdk::load_config().await;
        Parameters::new(DynamoDbProvider::new(&Client::new(&config), table))
    }
}
