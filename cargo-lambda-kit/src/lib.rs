//! `cargo lambda-kit start-api`: the functions of a SAM template behind one local HTTP API,
//! as `sam local start-api` serves them, without Docker.
//!
//! Each function the template's `Api` or `HttpApi` events reach is built with cargo and
//! started as its own process with `--serve-http` (lambda-kit's local HTTP API), once per
//! integration, with its routes. One router on the given address sends each request to
//! the function of the most specific route, as API Gateway does, and passes the answer back
//! as it is produced. Functions with a `FunctionUrlConfig` get a local function URL each,
//! on an address of their own.
//!
//! - `template.rs`: the functions, routes and function URLs a template declares;
//! - `functions.rs`: building each binary and starting its process;
//! - `routes.rs`: the route table, most specific match first;
//! - `proxy.rs`: the router in front of the processes.

mod functions;
mod proxy;
mod routes;
mod template;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use functions::{Binaries, StartError};
pub use template::{Function, TemplateError, read as read_template};

/// What to serve, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The SAM template.
    pub template: PathBuf,
    /// Where the router listens (`127.0.0.1:3000`, as `sam local start-api`).
    pub address: String,
    /// Where the functions' binaries come from.
    pub binaries: Binaries,
    /// Each invocation's timeout, in seconds.
    pub timeout_seconds: u32,
}

/// Why the local API cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartApiError {
    /// The template cannot be read.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A function cannot be built or started.
    #[error(transparent)]
    Function(#[from] StartError),
    /// The router cannot listen.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address asked for.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The running local API: the router's address, each route, and each function URL.
#[derive(Debug)]
pub struct LocalApi {
    /// Where the router listens.
    pub address: SocketAddr,
    /// `(function, METHOD /path)` of every route, in the template's order.
    pub routes: Vec<(String, String)>,
    /// `(function, host:port)` of every local function URL.
    pub function_urls: Vec<(String, String)>,
    listener: TcpListener,
    table: Arc<routes::Table>,
    _processes: Vec<functions::Running>,
}

/// Builds and starts every function the template's HTTP events reach, and binds the router.
pub async fn start(options: &Options) -> Result<LocalApi, StartApiError> {
    let functions = template::read(&options.template)?;
    let mut table = routes::Table::default();
    let mut function_urls = Vec::new();
    let mut processes = Vec::new();
    for function in &functions {
        let program = options
            .binaries
            .path(&function.binary, &function.code_dir)?;
        let apis = [
            ("rest", &function.rest_routes),
            ("http", &function.http_routes),
        ];
        for (integration, routes) in apis.into_iter().filter(|(_, r)| !r.is_empty()) {
            let running = functions::start(
                &function.name,
                &program,
                integration,
                routes,
                options.timeout_seconds,
            )
            .await?;
            for route in routes {
                table.add(routes::Entry {
                    route: route.clone(),
                    function: function.name.clone(),
                    address: running.address.clone(),
                });
            }
            processes.push(running);
        }
        if function.function_url {
            let running = functions::start(
                &function.name,
                &program,
                "url",
                &[],
                options.timeout_seconds,
            )
            .await?;
            function_urls.push((function.name.clone(), running.address.clone()));
            processes.push(running);
        }
    }
    let cannot_listen = |source| StartApiError::Listen {
        address: options.address.clone(),
        source,
    };
    let listener = TcpListener::bind(&options.address)
        .await
        .map_err(cannot_listen)?;
    let address = listener.local_addr().map_err(cannot_listen)?;
    let routes = table
        .entries()
        .iter()
        .map(|entry| (entry.function.clone(), entry.route.clone()))
        .collect();
    Ok(LocalApi {
        address,
        routes,
        function_urls,
        listener,
        table: Arc::new(table),
        _processes: processes,
    })
}

impl LocalApi {
    /// Serves requests until this future is dropped (the function processes end with it).
    pub async fn serve(self) {
        let _processes = self._processes;
        proxy::serve(self.listener, self.table).await;
    }
}
