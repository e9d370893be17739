//! A DynamoDB store, on a table with the schema of Powertools' idempotency utility, so
//! the two can share a table.
//!
//! The acquire is one conditional `PutItem` with `ReturnValuesOnConditionCheckFailure =
//! ALL_OLD`: when a live record holds the key, the failed write returns it, so a replay
//! costs one call. Completion is one `UpdateItem`, release one `DeleteItem`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::{Acquired, Store, StoreFuture};
use crate::error::StoreError;
use crate::record::{Record, Status, epoch_millis, epoch_seconds};

/// Attribute names, as Powertools names them.
mod attr {
    pub(super) const EXPIRATION: &str = "expiration";
    pub(super) const IN_PROGRESS_EXPIRATION: &str = "in_progress_expiration";
    pub(super) const STATUS: &str = "status";
    pub(super) const DATA: &str = "data";
    pub(super) const VALIDATION: &str = "validation";
}

/// Free, expired, or in progress past the invocation's deadline: only then may the
/// in-progress record be written.
const ACQUIRE_CONDITION: &str = "attribute_not_exists(#pk) OR #expiration <= :now \
     OR (#status = :in_progress AND attribute_exists(#in_progress_expiration) \
     AND #in_progress_expiration <= :now_ms)";

/// Records as items of one table. Build it with [`DynamoDbStore::builder`], or
/// [`DynamoDbStore::from_env`] for a client configured from the environment.
///
/// The table needs a string partition key (`id` by default) and, in sort-key mode, a
/// string sort key; turn on its TTL on `expiration` so that old records go away. The
/// function needs `dynamodb:PutItem`, `GetItem`, `UpdateItem` and `DeleteItem` on it.
#[derive(Debug)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    key_attr: String,
    /// Sort-key mode: the sort key's name and the fixed partition key value.
    sort_key: Option<(String, String)>,
    round_trips: Arc<AtomicU64>,
}

/// Configures a [`DynamoDbStore`].
#[derive(Debug)]
#[must_use]
pub struct DynamoDbStoreBuilder {
    client: Client,
    table: String,
    key_attr: String,
    sort_key_attr: Option<String>,
    static_partition_value: Option<String>,
    connect_timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    operation_timeout: Option<Duration>,
}

impl DynamoDbStoreBuilder {
    /// How long connecting to DynamoDB may take. Default: the client's connect timeout if
    /// it has one, else [`DynamoDbStore::DEFAULT_CONNECT_TIMEOUT`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one HTTP request may take. Default: the client's attempt timeout if it has
    /// one, else [`DynamoDbStore::DEFAULT_ATTEMPT_TIMEOUT`].
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// How long one store call may take in all, retries included. Default: the client's
    /// operation timeout if it has one, else [`DynamoDbStore::DEFAULT_OPERATION_TIMEOUT`].
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = Some(timeout);
        self
    }

    /// The partition key attribute (default `id`).
    pub fn key_attr(mut self, name: impl Into<String>) -> Self {
        self.key_attr = name.into();
        self
    }

    /// Sort-key mode: the record key goes into this sort key attribute, and the partition
    /// key holds a fixed value (see [`static_partition_value`](Self::static_partition_value)).
    pub fn sort_key_attr(mut self, name: impl Into<String>) -> Self {
        self.sort_key_attr = Some(name.into());
        self
    }

    /// The partition key value in sort-key mode (default `idempotency#<function name>`,
    /// from `AWS_LAMBDA_FUNCTION_NAME`, as Powertools does).
    pub fn static_partition_value(mut self, value: impl Into<String>) -> Self {
        self.static_partition_value = Some(value.into());
        self
    }

    /// Finishes the store. Its client counts each HTTP request it sends (see
    /// [`DynamoDbStore::round_trips`]).
    pub fn build(self) -> DynamoDbStore {
        let round_trips = Arc::new(AtomicU64::new(0));
        // The SDK sets no attempt or operation timeout by default: a stalled endpoint would
        // hold the invocation until Lambda ends it.
        let configured = self.client.config().timeout_config().cloned();
        let configured = configured.as_ref();
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(
                self.connect_timeout
                    .or_else(|| configured.and_then(TimeoutConfig::connect_timeout))
                    .unwrap_or(DynamoDbStore::DEFAULT_CONNECT_TIMEOUT),
            )
            .operation_attempt_timeout(
                self.attempt_timeout
                    .or_else(|| configured.and_then(TimeoutConfig::operation_attempt_timeout))
                    .unwrap_or(DynamoDbStore::DEFAULT_ATTEMPT_TIMEOUT),
            )
            .operation_timeout(
                self.operation_timeout
                    .or_else(|| configured.and_then(TimeoutConfig::operation_timeout))
                    .unwrap_or(DynamoDbStore::DEFAULT_OPERATION_TIMEOUT),
            );
        let timeouts = match configured.and_then(TimeoutConfig::read_timeout) {
            Some(read) => timeouts.read_timeout(read),
            None => timeouts,
        };
        let config = self
            .client
            .config()
            .to_builder()
            .timeout_config(timeouts.build())
            .interceptor(CountRequests(Arc::clone(&round_trips)))
            .build();
        let sort_key = self.sort_key_attr.map(|name| {
            let partition = self.static_partition_value.unwrap_or_else(|| {
                let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
                format!("idempotency#{function}")
            });
            (name, partition)
        });
        DynamoDbStore {
            client: Client::from_conf(config),
            table: self.table,
            key_attr: self.key_attr,
            sort_key,
            round_trips,
        }
    }
}

impl DynamoDbStore {
    /// How long connecting may take, when neither the builder nor the client says.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
    /// How long one attempt (one HTTP request) may take, when neither the builder nor the
    /// client says.
    pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
    /// How long one store call may take in all, retries included, when neither the builder
    /// nor the client says: the same bound as the Redis store's, well under Lambda's default
    /// function timeout of 3 s, so that a stalled table is an `Idempotency.Persistence` error
    /// before the invocation times out, and the work does not run.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

    /// A store on `table` through `client`.
    pub fn builder(client: Client, table: impl Into<String>) -> DynamoDbStoreBuilder {
        DynamoDbStoreBuilder {
            client,
            table: table.into(),
            key_attr: "id".to_owned(),
            sort_key_attr: None,
            static_partition_value: None,
            connect_timeout: None,
            attempt_timeout: None,
            operation_timeout: None,
        }
    }

    /// A store on `table` with a client configured from the environment: region and
    /// credentials as every AWS SDK reads them, and `AWS_ENDPOINT_URL_DYNAMODB` or
    /// `AWS_ENDPOINT_URL` for a local DynamoDB-compatible server.
    pub async fn from_env(table: impl Into<String>) -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        DynamoDbStore::builder(Client::new(&config), table).build()
    }

    /// How many HTTP requests the store's client has sent (retries included), for tests
    /// and benchmarks.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// The key attributes of the item for record key `key`.
    fn item_key(&self, key: &str) -> HashMap<String, AttributeValue> {
        let key_value = AttributeValue::S(key.to_owned());
        match &self.sort_key {
            Some((sort_attr, partition)) => HashMap::from([
                (self.key_attr.clone(), AttributeValue::S(partition.clone())),
                (sort_attr.clone(), key_value),
            ]),
            None => HashMap::from([(self.key_attr.clone(), key_value)]),
        }
    }

    fn item(&self, record: &Record) -> HashMap<String, AttributeValue> {
        let mut item = self.item_key(&record.key);
        item.insert(attr::STATUS.into(), string(record.status.as_str()));
        item.insert(attr::EXPIRATION.into(), number(record.expiration));
        if let Some(deadline) = record.in_progress_expiration {
            item.insert(attr::IN_PROGRESS_EXPIRATION.into(), number(deadline));
        }
        if let Some(data) = &record.data {
            item.insert(attr::DATA.into(), string(data));
        }
        if let Some(validation) = &record.validation {
            item.insert(attr::VALIDATION.into(), string(validation));
        }
        item
    }

    /// Reads the record by key, for servers that do not return the old item with a failed
    /// conditional write.
    async fn get(&self, key: &str) -> Result<Option<Record>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.item_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| sdk_error("GetItem", error))?;
        output
            .item()
            .map(|item| record_from_item(key, item))
            .transpose()
    }
}

impl Store for DynamoDbStore {
    fn acquire<'a>(&'a self, record: &'a Record, now: SystemTime) -> StoreFuture<'a, Acquired> {
        Box::pin(async move {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(self.item(record)))
                .condition_expression(ACQUIRE_CONDITION)
                .expression_attribute_names("#pk", &self.key_attr)
                .expression_attribute_names("#expiration", attr::EXPIRATION)
                .expression_attribute_names("#status", attr::STATUS)
                .expression_attribute_names("#in_progress_expiration", attr::IN_PROGRESS_EXPIRATION)
                .expression_attribute_values(":now", number(epoch_seconds(now)))
                .expression_attribute_values(":now_ms", number(epoch_millis(now)))
                .expression_attribute_values(":in_progress", string(Status::InProgress.as_str()))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(Acquired::Acquired),
                Err(error) => error,
            };
            let old_item = match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    failed.item().cloned()
                }
                _ => return Err(sdk_error("PutItem", error)),
            };
            let existing = match old_item {
                Some(item) => Some(record_from_item(&record.key, &item)?),
                None => self.get(&record.key).await?,
            };
            // Gone between the two calls: report it as expired, and the caller tries again.
            Ok(Acquired::Existing(existing.unwrap_or_else(|| Record {
                expiration: 0,
                ..record.clone()
            })))
        })
    }

    fn complete<'a>(&'a self, record: &'a Record) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut set = "#status = :status, #data = :data, #expiration = :expiration".to_owned();
            let mut request = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(self.item_key(&record.key)))
                .expression_attribute_names("#status", attr::STATUS)
                .expression_attribute_names("#data", attr::DATA)
                .expression_attribute_names("#expiration", attr::EXPIRATION)
                .expression_attribute_values(":status", string(record.status.as_str()))
                .expression_attribute_values(
                    ":data",
                    string(record.data.as_deref().unwrap_or("null")),
                )
                .expression_attribute_values(":expiration", number(record.expiration));
            if let Some(validation) = &record.validation {
                set.push_str(", #validation = :validation");
                request = request
                    .expression_attribute_names("#validation", attr::VALIDATION)
                    .expression_attribute_values(":validation", string(validation));
            }
            request
                .update_expression(format!("SET {set} REMOVE {}", attr::IN_PROGRESS_EXPIRATION))
                .send()
                .await
                .map_err(|error| sdk_error("UpdateItem", error))?;
            Ok(())
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(self.item_key(key)))
                .send()
                .await
                .map_err(|error| sdk_error("DeleteItem", error))?;
            Ok(())
        })
    }
}

/// Counts each HTTP request the client is about to send.
#[derive(Debug)]
struct CountRequests(Arc<AtomicU64>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn string(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn sdk_error<E, R>(operation: &str, error: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    // DisplayErrorContext prints the whole chain (the service's message or the I/O cause).
    let message = format!(
        "DynamoDB {operation} failed: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(&error)
    );
    StoreError::with_source(message, error)
}

/// Reads a record from an item.
fn record_from_item(
    key: &str,
    item: &HashMap<String, AttributeValue>,
) -> Result<Record, StoreError> {
    let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok()).cloned();
    let numeric = |name: &str| -> Result<Option<u64>, StoreError> {
        match item.get(name).map(AttributeValue::as_n) {
            None => Ok(None),
            Some(Ok(number)) => number
                .parse()
                .map(Some)
                .map_err(|_| StoreError::new(format!("item {key}: {name} is not an integer"))),
            Some(Err(_)) => Err(StoreError::new(format!(
                "item {key}: {name} is not a number"
            ))),
        }
    };
    let status = text(attr::STATUS)
        .as_deref()
        .and_then(Status::parse)
        .ok_or_else(|| StoreError::new(format!("item {key} has no valid status")))?;
    Ok(Record {
        key: key.to_owned(),
        status,
        expiration: numeric(attr::EXPIRATION)?.unwrap_or(0),
        in_progress_expiration: numeric(attr::IN_PROGRESS_EXPIRATION)?,
        data: text(attr::DATA),
        validation: text(attr::VALIDATION),
    })
}
