use lambda_kit::Error;

#[lambda_kit::handler]
async fn hello(_request: http::Request<String>) -> Result<http::Response<String>, Error> {
    Ok(http::Response::new(String::new()))
}
