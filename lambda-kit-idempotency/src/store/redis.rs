//! A Redis store: one hash per record, acquired atomically in one round trip.
//!
//! Powertools' Redis layer needs `SET NX`, then a `GET` on conflict, and a lock key:
//! two to four round trips. Here a Lua script checks the existing record, takes the key
//! when it is free or expired, and otherwise returns the record, all in one `EVALSHA`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Acquired, Store, StoreFuture};
use crate::error::StoreError;
use crate::record::{Record, Status, epoch_millis};

/// Takes the key unless a live record holds it; returns `{}` when taken, else the
/// record's fields as a flat list. KEYS[1]: the record key. ARGV: now (epoch ms),
/// expiration (epoch s), in-progress expiration (epoch ms), validation hash or '', and
/// the time (epoch ms) after which the client has given up waiting for the answer.
///
/// A script that runs after that time (the server was stalled, then resumed) writes
/// nothing and returns `{'LATE'}`: its in-progress record would otherwise block every
/// retry of work that never ran, until the invocation's deadline.
const ACQUIRE_SCRIPT: &str = r"
local time = redis.call('TIME')
if tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) > tonumber(ARGV[5]) then
  return {'LATE'}
end
local old = redis.call('HGETALL', KEYS[1])
if #old > 0 then
  local f = {}
  for i = 1, #old, 2 do f[old[i]] = old[i + 1] end
  local now = tonumber(ARGV[1])
  local live = (tonumber(f['expiration']) or 0) * 1000 > now
  if live and f['status'] == 'INPROGRESS' and f['in_progress_expiration'] ~= nil
      and tonumber(f['in_progress_expiration']) <= now then
    live = false
  end
  if live then return old end
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'status', 'INPROGRESS', 'expiration', ARGV[2],
  'in_progress_expiration', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'validation', ARGV[4]) end
redis.call('PEXPIREAT', KEYS[1], tonumber(ARGV[2]) * 1000)
return {}
";

/// The answer of an acquire that reached the server after the client gave up on it.
const LATE: &str = "LATE";

/// Records as Redis hashes (`status`, `expiration`, `in_progress_expiration`, `data`,
/// `validation`), each with a TTL at its expiration. The connection reconnects by itself
/// after the server or the network drops it.
pub struct RedisStore {
    connection: ConnectionManager,
    script_sha: String,
    round_trips: AtomicU64,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("round_trips", &self.round_trips())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// How long connecting and each command may take, by default, before the store reports
    /// an `Idempotency.Persistence` failure.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// Connects to `url` (`redis://HOST:PORT[/DB]`, `rediss://` for TLS) and loads the
    /// acquire script; connecting and each command may take
    /// [`RedisStore::DEFAULT_TIMEOUT`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_timeout(url, Self::DEFAULT_TIMEOUT).await
    }

    /// Like [`RedisStore::connect`], with another bound on connecting and on each command.
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|error| StoreError::with_source(format!("bad Redis URL {url}"), error))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let mut connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|error| StoreError::with_source(format!("cannot connect to {url}"), error))?;
        let script_sha: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(ACQUIRE_SCRIPT)
            .query_async(&mut connection)
            .await
            .map_err(|error| redis_error("SCRIPT LOAD", error))?;
        Ok(RedisStore {
            connection,
            script_sha,
            round_trips: AtomicU64::new(0),
            timeout,
        })
    }

    /// How many requests this store has sent (each one network round trip), for tests
    /// and benchmarks.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// The connection for one request (a command or a pipeline, each one round trip),
    /// counting the round trip. A `ConnectionManager` is a cheap handle onto one
    /// multiplexed connection.
    fn for_one_round_trip(&self) -> ConnectionManager {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.connection.clone()
    }
}

impl Store for RedisStore {
    fn acquire<'a>(&'a self, record: &'a Record, now: SystemTime) -> StoreFuture<'a, Acquired> {
        Box::pin(async move {
            let args = |command: &mut redis::Cmd| {
                command
                    .arg(1)
                    .arg(&record.key)
                    .arg(epoch_millis(now))
                    .arg(record.expiration)
                    .arg(record.in_progress_expiration.unwrap_or(0))
                    .arg(record.validation.as_deref().unwrap_or(""))
                    .arg(epoch_millis(SystemTime::now() + self.timeout));
            };
            let mut evalsha = redis::cmd("EVALSHA");
            evalsha.arg(&self.script_sha);
            args(&mut evalsha);
            let fields: Vec<String> =
                match evalsha.query_async(&mut self.for_one_round_trip()).await {
                    Ok(fields) => fields,
                    // The server lost its script cache (a restart): send the script itself.
                    Err(error) if error.code() == Some("NOSCRIPT") => {
                        let mut eval = redis::cmd("EVAL");
                        eval.arg(ACQUIRE_SCRIPT);
                        args(&mut eval);
                        eval.query_async(&mut self.for_one_round_trip())
                            .await
                            .map_err(|error| redis_error("EVAL", error))?
                    }
                    Err(error) => return Err(redis_error("EVALSHA", error)),
                };
            if fields.is_empty() {
                return Ok(Acquired::Acquired);
            }
            if fields.len() == 1 && fields[0] == LATE {
                // Only when the server's clock is ahead of this one by more than the timeout
                // does the client still wait for an answer that is this late.
                return Err(StoreError::new(format!(
                    "the Redis acquire reached the server after the client's {} ms limit \
                     (is its clock ahead?); it wrote nothing",
                    self.timeout.as_millis()
                )));
            }
            record_from_fields(&record.key, &fields).map(Acquired::Existing)
        })
    }

    fn complete<'a>(&'a self, record: &'a Record) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut fields = vec![
                ("status", record.status.as_str().to_owned()),
                ("expiration", record.expiration.to_string()),
                ("data", record.data.clone().unwrap_or_default()),
            ];
            if let Some(validation) = &record.validation {
                fields.push(("validation", validation.clone()));
            }
            let expire_at_ms = record.expiration.saturating_mul(1000);
            let mut pipeline = redis::pipe();
            // MULTI/EXEC: all three apply together, in one round trip.
            pipeline
                .atomic()
                .hset_multiple(&record.key, &fields)
                .ignore()
                .hdel(&record.key, "in_progress_expiration")
                .ignore()
                .pexpire_at(&record.key, i64::try_from(expire_at_ms).unwrap_or(i64::MAX))
                .ignore();
            pipeline
                .query_async::<()>(&mut self.for_one_round_trip())
                .await
                .map_err(|error| redis_error("HSET", error))
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut del = redis::cmd("DEL");
            del.arg(key);
            del.query_async::<()>(&mut self.for_one_round_trip())
                .await
                .map_err(|error| redis_error("DEL", error))
        })
    }
}

fn redis_error(command: &str, error: redis::RedisError) -> StoreError {
    StoreError::with_source(format!("Redis {command} failed"), error)
}

/// Reads a record from `HGETALL`'s flat field/value list.
fn record_from_fields(key: &str, fields: &[String]) -> Result<Record, StoreError> {
    let mut record = Record {
        key: key.to_owned(),
        status: Status::InProgress,
        expiration: 0,
        in_progress_expiration: None,
        data: None,
        validation: None,
    };
    let mut status = None;
    for pair in fields.chunks(2) {
        let [name, value] = pair else {
            return Err(StoreError::new("Redis returned an odd field list"));
        };
        match name.as_str() {
            "status" => status = Status::parse(value),
            "expiration" => record.expiration = parse_number(name, value)?,
            "in_progress_expiration" => {
                record.in_progress_expiration = Some(parse_number(name, value)?);
            }
            "data" => record.data = Some(value.clone()),
            "validation" => record.validation = Some(value.clone()),
            _ => {}
        }
    }
    record.status =
        status.ok_or_else(|| StoreError::new(format!("record {key} has no valid status")))?;
    Ok(record)
}

fn parse_number(name: &str, value: &str) -> Result<u64, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::new(format!("record field {name} is not a number: {value}")))
}
