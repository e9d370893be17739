//! What an observer may want from an event before the handler sees it: which kind of
//! source sent it, and a W3C trace context it carries (an HTTP request's `traceparent`
//! header, or an SQS or SNS message attribute of that name).
//!
//! One pass over the payload that copies only those few strings; only observers that ask
//! for it (OpenTelemetry) make the runtime read events this way.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::Switch;

/// The kind of source that invoked the function, as OpenTelemetry's `faas.trigger` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Trigger {
    /// An HTTP request (API Gateway, function URL, ALB, VPC Lattice).
    Http,
    /// A message (SQS, SNS).
    PubSub,
    /// A change in a data store (DynamoDB, Kinesis, S3).
    DataSource,
    /// A schedule (EventBridge scheduled events and EventBridge Scheduler).
    Timer,
    /// Anything else, including direct invocations.
    #[default]
    Other,
}

impl Trigger {
    /// The `faas.trigger` value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Trigger::Http => "http",
            Trigger::PubSub => "pubsub",
            Trigger::DataSource => "datasource",
            Trigger::Timer => "timer",
            Trigger::Other => "other",
        }
    }

    fn of_event_source(source: &str) -> Trigger {
        match source {
            "aws:sqs" | "aws:sns" => Trigger::PubSub,
            "aws:dynamodb" | "aws:kinesis" | "aws:s3" => Trigger::DataSource,
            _ => Trigger::Other,
        }
    }
}

/// What [`EventFacts::read`] found in an event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EventFacts {
    /// The kind of source.
    pub(crate) trigger: Trigger,
    /// A W3C `traceparent` the event carries.
    pub(crate) traceparent: Option<String>,
    /// The `tracestate` next to it.
    pub(crate) tracestate: Option<String>,
}

/// Whether some observer reads event facts; turned on when it is built.
static WANTED: Switch = Switch::off();

/// Makes the runtime read [`EventFacts`] from every event from now on.
#[cfg_attr(not(feature = "otel"), allow(dead_code))]
pub(crate) fn want_event_facts() {
    WANTED.turn_on();
}

/// Whether the runtime reads [`EventFacts`] (without the `otel` feature, never: see
/// [`Switch`]).
pub(crate) fn event_facts_wanted() -> bool {
    WANTED.is_on()
}

impl EventFacts {
    /// The facts of `payload` when an observer asked for them (see [`want_event_facts`]).
    pub(crate) fn if_wanted(payload: &[u8]) -> Option<EventFacts> {
        event_facts_wanted().then(|| EventFacts::read(payload))
    }

    /// Reads the facts of a JSON event; an event that is not a JSON object has none.
    pub(crate) fn read(payload: &[u8]) -> EventFacts {
        // What was read before the payload stopped being JSON is not trusted either.
        serde_json::from_slice::<Object<EventFacts>>(payload)
            .map(|object| object.0)
            .unwrap_or_default()
    }

    fn take_context(&mut self, context: TraceContext) {
        if self.traceparent.is_none() && context.traceparent.is_some() {
            self.traceparent = context.traceparent;
            self.tracestate = context.tracestate;
        }
    }
}

/// A JSON object read key by key into `Self`; the values of other keys are skipped
/// unread, and a value that is not an object reads as the default.
trait ObjectReader: Default {
    /// Reads the value of `key` from `map` (every value must be consumed, if only skipped).
    fn entry<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// What an [`ObjectReader`] read.
struct Object<R>(R);

impl<'de, R: ObjectReader> Deserialize<'de> for Object<R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectVisitor(PhantomData))
    }
}

struct ObjectVisitor<R>(PhantomData<R>);

impl<'de, R: ObjectReader> Visitor<'de> for ObjectVisitor<R> {
    type Value = Object<R>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object<R>, A::Error> {
        let mut read = R::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            read.entry(&key, &mut map)?;
        }
        Ok(Object(read))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Object<R>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Object(R::default()))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Object<R>, E> {
        Ok(Object(R::default()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Object<R>, E> {
        Ok(Object(R::default()))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Object<R>, E> {
        Ok(Object(R::default()))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Object<R>, E> {
        Ok(Object(R::default()))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Object<R>, E> {
        Ok(Object(R::default()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Object<R>, E> {
        Ok(Object(R::default()))
    }
}

/// Skips the value of the entry being read.
fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(drop)
}

impl ObjectReader for EventFacts {
    fn entry<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            // API Gateway, function URLs, ALB and VPC Lattice put the headers here, as one
            // value per name or as a list of values.
            "headers" | "multiValueHeaders" => {
                let headers = map.next_value::<Object<Headers>>()?;
                self.take_context(headers.0.0);
            }
            "requestContext" | "httpMethod" => {
                self.trigger = Trigger::Http;
                skip(map)?;
            }
            "detail-type" => {
                if map.next_value::<FirstString>()?.0.as_deref() == Some("Scheduled Event") {
                    self.trigger = Trigger::Timer;
                }
            }
            // The first record's source names the trigger; the first record that carries a
            // trace context gives it.
            "Records" => {
                let records = map.next_value::<Vec<Object<Record>>>()?;
                if let Some(first) = records.first() {
                    self.trigger = first
                        .0
                        .source
                        .as_deref()
                        .map_or(Trigger::Other, Trigger::of_event_source);
                }
                for record in records {
                    self.take_context(record.0.context);
                }
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// A `traceparent` and `tracestate` found in one place.
#[derive(Default)]
struct TraceContext {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl TraceContext {
    /// The slot for an entry named `name` (compared as `same` says), if it is one of the two.
    fn slot(&mut self, name: &str, same: fn(&str, &str) -> bool) -> Option<&mut Option<String>> {
        if same(name, "traceparent") {
            Some(&mut self.traceparent)
        } else if same(name, "tracestate") {
            Some(&mut self.tracestate)
        } else {
            None
        }
    }
}

/// Header maps: names compared without regard to case.
#[derive(Default)]
struct Headers(TraceContext);

impl ObjectReader for Headers {
    fn entry<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match self.0.slot(key, |a, b| a.eq_ignore_ascii_case(b)) {
            Some(slot) => *slot = map.next_value::<FirstString>()?.0,
            None => skip(map)?,
        }
        Ok(())
    }
}

/// One record of a batch: its source, and a trace context in its message attributes.
#[derive(Default)]
struct Record {
    source: Option<String>,
    context: TraceContext,
}

impl ObjectReader for Record {
    fn entry<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            // SQS and the stream sources write `eventSource`, SNS `EventSource`.
            "eventSource" | "EventSource" => self.source = map.next_value::<FirstString>()?.0,
            // SQS: {"traceparent": {"stringValue": "...", "dataType": "String"}}.
            "messageAttributes" => self.context = map.next_value::<Object<Attributes>>()?.0.0,
            // SNS keeps its attributes inside `Sns`, as {"Type": ..., "Value": ...}.
            "Sns" => self.context = map.next_value::<Object<Sns>>()?.0.0,
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// The `Sns` object of an SNS record.
#[derive(Default)]
struct Sns(TraceContext);

impl ObjectReader for Sns {
    fn entry<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "MessageAttributes" => self.0 = map.next_value::<Object<Attributes>>()?.0.0,
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// Message attributes: `traceparent` and `tracestate` are each an object holding the text.
#[derive(Default)]
struct Attributes(TraceContext);

impl ObjectReader for Attributes {
    fn entry<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match self.0.slot(key, |a, b| a == b) {
            Some(slot) => *slot = map.next_value::<Object<AttributeValue>>()?.0.0,
            None => skip(map)?,
        }
        Ok(())
    }
}

/// One message attribute: its text is `stringValue` (SQS) or `Value` (SNS).
#[derive(Default)]
struct AttributeValue(Option<String>);

impl ObjectReader for AttributeValue {
    fn entry<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "stringValue" | "Value" => self.0 = map.next_value::<FirstString>()?.0,
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// A string, or the first string of a list; anything else is no value.
struct FirstString(Option<String>);

impl<'de> Deserialize<'de> for FirstString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FirstStringVisitor)
    }
}

struct FirstStringVisitor;

impl<'de> Visitor<'de> for FirstStringVisitor {
    type Value = FirstString;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string or a list of strings")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<FirstString, E> {
        Ok(FirstString(Some(value.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstString, A::Error> {
        let first = seq.next_element::<FirstString>()?.and_then(|first| first.0);
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FirstString(first))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FirstString, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(FirstString(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<FirstString, E> {
        Ok(FirstString(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<FirstString, E> {
        Ok(FirstString(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<FirstString, E> {
        Ok(FirstString(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<FirstString, E> {
        Ok(FirstString(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<FirstString, E> {
        Ok(FirstString(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    fn read(event: serde_json::Value) -> EventFacts {
        EventFacts::read(event.to_string().as_bytes())
    }

    #[test]
    fn http_events_give_their_traceparent_header_in_any_case() {
        let v2 = read(serde_json::json!({
            "version": "2.0",
            "headers": {"TraceParent": PARENT, "tracestate": "k=v", "accept": "*/*"},
            "requestContext": {"http": {"method": "GET"}},
        }));
        assert_eq!(v2.trigger, Trigger::Http);
        assert_eq!(v2.traceparent.as_deref(), Some(PARENT));
        assert_eq!(v2.tracestate.as_deref(), Some("k=v"));
        let v1 = read(serde_json::json!({
            "httpMethod": "GET",
            "headers": null,
            "multiValueHeaders": {"traceparent": [PARENT, "ignored"]},
        }));
        assert_eq!(v1.trigger, Trigger::Http);
        assert_eq!(v1.traceparent.as_deref(), Some(PARENT));
    }

    #[test]
    fn records_name_their_source_and_message_attributes_give_the_context() {
        let sqs = read(serde_json::json!({"Records": [
            {"eventSource": "aws:sqs", "messageAttributes": {}},
            {"eventSource": "aws:sqs", "messageAttributes": {
                "traceparent": {"stringValue": PARENT, "dataType": "String"}}},
        ]}));
        assert_eq!(sqs.trigger, Trigger::PubSub);
        assert_eq!(sqs.traceparent.as_deref(), Some(PARENT));
        let sns = read(
            serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": {
            "MessageAttributes": {"traceparent": {"Type": "String", "Value": PARENT}}}}]}),
        );
        assert_eq!(sns.trigger, Trigger::PubSub);
        assert_eq!(sns.traceparent.as_deref(), Some(PARENT));
        for (source, trigger) in [
            ("aws:dynamodb", Trigger::DataSource),
            ("aws:kinesis", Trigger::DataSource),
            ("aws:s3", Trigger::DataSource),
            ("aws:mq", Trigger::Other),
        ] {
            let facts = read(serde_json::json!({"Records": [{"eventSource": source}]}));
            assert_eq!(facts.trigger, trigger, "{source}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_read_without_a_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let facts = EventFacts::read(&bytes);
            if serde_json::from_slice::<IgnoredAny>(&bytes).is_err() {
                proptest::prop_assert_eq!(facts, EventFacts::default());
            }
        }

        #[test]
        fn events_with_any_header_values_are_read(
            name in "[a-zA-Z]{1,12}",
            value in ".{0,40}",
            list in proptest::bool::ANY,
        ) {
            let value = if list { serde_json::json!([value]) } else { serde_json::json!(value) };
            let event = serde_json::json!({"headers": {name.clone(): value}, "requestContext": {}});
            let facts = read(event);
            proptest::prop_assert_eq!(facts.trigger, Trigger::Http);
            proptest::prop_assert_eq!(facts.traceparent.is_some(), name.eq_ignore_ascii_case("traceparent"));
        }
    }

    #[test]
    fn schedules_are_timers_and_anything_else_is_other() {
        let schedule = read(serde_json::json!({
            "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}));
        assert_eq!(schedule.trigger, Trigger::Timer);
        for event in [
            serde_json::json!({"name": "direct"}),
            serde_json::json!([1, 2]),
            serde_json::json!("text"),
            serde_json::json!({"headers": 7, "Records": [3, {"eventSource": 4}]}),
            serde_json::json!({"httpMethod": "GET", "Records": {"not": "a list"}}),
        ] {
            assert_eq!(read(event.clone()), EventFacts::default(), "{event}");
        }
        assert_eq!(
            EventFacts::read(b"{\"headers\": {\"traceparent\": \"x\""),
            EventFacts::default()
        );
    }
}
