//! The make-service `ops::serve` hands to axum: per connection, the shortcut first, then the
//! router with the client's address as `ConnectInfo` (what `into_make_service_with_connect_info`
//! gives, which would insert it into every request, the shortcut's too).

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use axum::serve::IncomingStream;
use futures::future::Either;
use tower::util::Oneshot;
use tower::{Service, ServiceExt};

use super::Shortcut;
use super::parse_errors::Listener;

#[derive(Clone)]
pub(super) struct MakeFront {
    pub router: Router,
    pub shortcut: Option<Shortcut>,
}

impl<'a> Service<IncomingStream<'a, Listener>> for MakeFront {
    type Response = Front;
    type Error = Infallible;
    type Future = Ready<Result<Front, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'a, Listener>) -> Self::Future {
        let client = ConnectInfo(*stream.remote_addr());
        ready(Ok(Front { router: self.router.clone(), shortcut: self.shortcut.clone(), client }))
    }
}

/// One connection's service.
#[derive(Clone)]
pub(super) struct Front {
    router: Router,
    shortcut: Option<Shortcut>,
    client: ConnectInfo<SocketAddr>,
}

impl Service<Request> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, Oneshot<Router, Request>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if let Some(answer) = self.shortcut.as_ref().and_then(|shortcut| shortcut(&request)) {
            return Either::Left(ready(Ok(answer)));
        }
        request.extensions_mut().insert(self.client);
        Either::Right(self.router.clone().oneshot(request))
    }
}
