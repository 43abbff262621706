//! Starting and stopping the service: HTTP server plus background jobs, graceful on SIGTERM/SIGINT
//! (in-flight requests finish, then the jobs finish their current pass).

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::ServerHandle;
use actix_web::HttpServer;

use crate::app::{AppState, StartError};
use crate::jobs::{self, Jobs};

pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    handle: ServerHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    jobs: Jobs,
}

/// Starts serving on `listener` and starts the jobs. Must run inside an actix system.
pub fn start(state: AppState, listener: TcpListener) -> Result<Running, StartError> {
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Other(e.to_string()))?;
    let app_state = state.clone();
    // Database work runs on each worker's blocking threads and waits there for one of the pool's
    // connections; threads beyond the pool's size would only wait too, each with its stack and
    // allocator cache (actix's default is 512 / cores per worker, hundreds of threads under load).
    let blocking_threads = state.config.pool_size as usize + 2;
    let server = HttpServer::new(move || crate::http::build_app(app_state.clone()))
        .listen(listener)
        .map_err(|e| StartError::Other(format!("cannot listen on {addr}: {e}")))?
        .workers(
            std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .clamp(2, 8),
        )
        .worker_max_blocking_threads(blocking_threads)
        .shutdown_timeout(30)
        .run();
    let handle = server.handle();
    let jobs = jobs::start(&state).map_err(StartError::Other)?;
    Ok(Running {
        addr,
        state,
        handle,
        server: actix_web::rt::spawn(server),
        jobs,
    })
}

impl Running {
    /// Serves until a shutdown signal, then stops the jobs.
    pub async fn wait(self) -> std::io::Result<()> {
        let result = match self.server.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        self.jobs.shutdown().await;
        result
    }

    /// Stops gracefully (tests and embedders).
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.server.await;
        self.jobs.shutdown().await;
    }
}
