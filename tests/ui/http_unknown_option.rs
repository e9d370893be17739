use lambda_kit::http::Body;

#[lambda_kit::handler(http(stream))]
async fn app(request: http::Request<Body>) -> Result<http::Response<String>, lambda_kit::Error> {
    Ok(http::Response::new(request.uri().path().to_owned()))
}
