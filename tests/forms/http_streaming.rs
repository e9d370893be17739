//! Form `#[lambda_kit::handler(http(streaming))]`: an HTTP handler whose response body is
//! streamed (a function URL with `InvokeMode: RESPONSE_STREAM`, or a REST API that streams):
//! three lines naming the path, or for `/fail` one line and then a failure.

use bytes::Bytes;
use http_body_util::StreamBody;
use hyper::body::Frame;
use lambda_kit::Error;
use lambda_kit::http::Body;

type Lines =
    StreamBody<futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Error>>>>;

#[lambda_kit::handler(http(streaming))]
async fn count(request: http::Request<Body>) -> Result<http::Response<Lines>, Error> {
    let path = request.uri().path();
    let mut lines: Vec<_> = (1..=3)
        .map(|n| Ok(Frame::data(Bytes::from(format!("{path} {n}\n")))))
        .collect();
    // `/fail`: the body fails after its first line.
    if path == "/fail" {
        lines.truncate(1);
        lines.push(Err(Error::new("Lines.SourceGone", "the lines ran out")));
    }
    Ok(http::Response::builder()
        .header("content-type", "text/plain")
        .body(StreamBody::new(futures_util::stream::iter(lines)))?)
}

#[cfg(test)]
mod tests {
    use lambda_kit::testing::invoke;

    #[tokio::test]
    async fn the_streaming_handler_is_invoked_in_one_line() {
        let event: serde_json::Value =
            serde_json::from_str(include_str!("../fixtures/function-url.json"))
                .expect("the fixture parses");
        // `invoke` reads a stream to its end: the body, without the prelude.
        let body = invoke(super::count_handler(), event)
            .await
            .expect_response();
        assert_eq!(body, "/widgets 1\n/widgets 2\n/widgets 3\n");
    }
}
