//! The probed side: a small hyper server on loopback answering 200 at once, on a runtime and
//! threads of its own (named `bench-targets`) so its CPU time can be told apart from healthmon's.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

/// The name of every thread of the server (so `procstat::thread_cpu_seconds` finds them).
pub const THREAD_NAME: &str = "bench-targets";

pub struct TargetServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TargetServer {
    /// Binds 127.0.0.1 on a free port and serves until dropped.
    pub fn start(worker_threads: usize) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("bind the target server")?;
        listener.set_nonblocking(true).context("make the target listener non-blocking")?;
        let addr = listener.local_addr().context("read the target server's address")?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .thread_name(THREAD_NAME)
            .enable_all()
            .build()
            .context("build the target server's runtime")?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                if let Err(error) = runtime.block_on(serve(listener, stopped)) {
                    eprintln!("   warning: target server stopped: {error:#}");
                }
            })
            .context("spawn the target server thread")?;
        Ok(Self { addr, stop: Some(stop), thread: Some(thread) })
    }

    /// The URL of one target on this server.
    pub fn url(&self, index: usize) -> String {
        format!("http://{}/t/{index}", self.addr)
    }
}

impl Drop for TargetServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: std::net::TcpListener, mut stopped: oneshot::Receiver<()>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener).context("register the target listener")?;
    loop {
        tokio::select! {
            _ = &mut stopped => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(async move {
                        // No keep-alive: the server closes first, so TIME_WAIT stays on its side
                        // and the prober's fresh connections never run out of ephemeral ports.
                        let _ = hyper::server::conn::http1::Builder::new()
                            .keep_alive(false)
                            .serve_connection(TokioIo::new(stream), service_fn(answer))
                            .await;
                    });
                }
                // Out of file descriptors, say: back off a moment rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
        }
    }
}

async fn answer(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"ok\n"))))
}
