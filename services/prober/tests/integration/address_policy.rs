//! The prober's HTTP check against the target address policy, with real servers on loopback: IP
//! literals, names and redirect hops that lead to a refused address fail before connecting.
//! Only loopback is ever contacted: every refused address in here is refused before a packet.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Redirect;
use axum::routing::get;
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::{ExpectedStatus, HttpCheck, HttpMethod};
use healthmon_prober::check::Outcome;
use healthmon_prober::check::http::HttpChecker;
use tokio::net::TcpListener;

/// A local server and how many requests it has answered.
struct LocalServer {
    address: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl LocalServer {
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct ServerState {
    hits: Arc<AtomicUsize>,
    /// Where `/redirect` sends the client.
    redirect_to: Option<String>,
    /// This server's own origin, for absolute redirects along `/hop/{n}`.
    origin: String,
}

/// Serves `/` (200 "ok"), `/redirect` (307 to `redirect_to`) and `/hop/{n}` (a chain of `n`
/// absolute redirects ending at `/`) on `ip`, port 0.
async fn serve(ip: &str, redirect_to: Option<String>) -> LocalServer {
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let address = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let state = ServerState { hits: hits.clone(), redirect_to, origin: format!("http://{address}") };
    let router = Router::new()
        .route("/", get(ok))
        .route("/redirect", get(redirect))
        .route("/hop/{remaining}", get(hop))
        .with_state(state);
    tokio::spawn(async move { axum::serve(listener, router).await });
    LocalServer { address, hits }
}

async fn ok(State(state): State<ServerState>) -> &'static str {
    state.hits.fetch_add(1, Ordering::SeqCst);
    "ok"
}

async fn redirect(State(state): State<ServerState>) -> Redirect {
    state.hits.fetch_add(1, Ordering::SeqCst);
    Redirect::temporary(state.redirect_to.as_deref().unwrap_or("/"))
}

async fn hop(State(state): State<ServerState>, Path(remaining): Path<u32>) -> Redirect {
    state.hits.fetch_add(1, Ordering::SeqCst);
    let next = match remaining {
        0 | 1 => format!("{}/", state.origin),
        more => format!("{}/hop/{}", state.origin, more - 1),
    };
    Redirect::temporary(&next)
}

async fn probe_with(deny: &str, allow: &str, url: &str, keepalive: bool) -> Outcome {
    let policy = Arc::new(AddressPolicy::from_lists(deny, allow).unwrap());
    let check = HttpCheck {
        url: url.to_owned(),
        method: HttpMethod::Get,
        expected_status: ExpectedStatus::default(),
        headers: BTreeMap::new(),
        body_contains: None,
        keepalive,
    };
    HttpChecker::new(policy).unwrap().check(&check, 5).await
}

async fn probe(deny: &str, allow: &str, url: &str) -> Outcome {
    probe_with(deny, allow, url, false).await
}

fn refusal_reason(outcome: &Outcome) -> &str {
    assert!(!outcome.success, "expected a refusal, got {outcome:?}");
    assert_eq!(outcome.status_code, None, "a refused probe gets no response: {outcome:?}");
    let reason = outcome.error.as_deref().unwrap_or_default();
    assert!(reason.starts_with("refused by target policy: "), "{reason}");
    reason
}

#[tokio::test]
async fn a_metadata_ip_literal_is_refused_without_connecting() {
    // Given the default policy, when the target is the cloud metadata service
    let outcome = probe("", "", "http://169.254.169.254/latest/meta-data/").await;
    // Then the probe fails with the policy's reason rather than a connection error
    assert_eq!(
        refusal_reason(&outcome),
        "refused by target policy: 169.254.169.254 is a link-local or cloud metadata address and is never probed"
    );
}

#[tokio::test]
async fn an_ipv4_mapped_metadata_address_is_refused_without_connecting() {
    // Given an allow list that tries to open everything
    let outcome = probe("", "0.0.0.0/0, ::/0", "http://[::ffff:169.254.169.254]/").await;
    // Then the mapped address is still judged as 169.254.169.254 and refused
    let reason = refusal_reason(&outcome);
    assert!(reason.contains("is a link-local or cloud metadata address and is never probed"), "{reason}");
}

/// Addresses that reach a metadata service through 6to4, local-use NAT64, or Oracle Cloud's own.
const CARRYING_METADATA: [&str; 3] =
    ["http://[2002:a9fe:a9fe::1]/", "http://[64:ff9b:1::a9fe:a9fe]/", "http://192.0.0.192/"];

#[tokio::test]
async fn addresses_carrying_metadata_are_refused_as_targets_and_as_redirect_hops() {
    for url in CARRYING_METADATA {
        // When the target is the address itself, even with everything allowed
        let outcome = probe("", "0.0.0.0/0, ::/0", url).await;
        // Then it is refused before connecting
        let reason = refusal_reason(&outcome);
        assert!(reason.contains("never probed"), "{url}: {reason}");
        assert!(!reason.contains("(redirect to"), "{url}: {reason}");

        // And when a local server redirects there, the first request goes out and the hop is refused
        let origin = serve("127.0.0.1", Some(url.to_owned())).await;
        let outcome = probe("", "", &format!("http://{}/redirect", origin.address)).await;
        let reason = refusal_reason(&outcome);
        let hop = url.trim_end_matches('/');
        assert!(
            reason.contains("never probed") && reason.ends_with(&format!("(redirect to {hop})")),
            "{url}: {reason}"
        );
        assert_eq!(origin.hits(), 1);
    }
}

#[tokio::test]
async fn a_denied_ip_literal_target_is_refused_before_connecting() {
    // Given a server on 127.0.0.1 and a deny list covering it
    let server = serve("127.0.0.1", None).await;
    // When it is probed by address
    let outcome = probe("127.0.0.1/32", "", &format!("http://{}/", server.address)).await;
    // Then it is refused and never reached
    assert_eq!(
        refusal_reason(&outcome),
        "refused by target policy: 127.0.0.1 is in HEALTHMON_TARGET_DENY (127.0.0.1/32)"
    );
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn a_redirect_to_a_denied_ip_literal_is_refused_at_the_hop() {
    // Given a server on 127.0.0.2 that would answer, and a server on 127.0.0.1 redirecting to it
    let denied = serve("127.0.0.2", None).await;
    let denied_origin = format!("http://{}", denied.address);
    let origin = serve("127.0.0.1", Some(format!("{denied_origin}/"))).await;
    let url = format!("http://{}/redirect", origin.address);
    // When 127.0.0.2 is denied
    let outcome = probe("127.0.0.2/32", "", &url).await;
    // Then the first request goes out, and the hop fails with the policy reason before connecting
    assert_eq!(
        refusal_reason(&outcome),
        format!(
            "refused by target policy: 127.0.0.2 is in HEALTHMON_TARGET_DENY (127.0.0.2/32) (redirect to {denied_origin})"
        )
    );
    assert_eq!(origin.hits(), 1);
    assert_eq!(denied.hits(), 0);

    // And without the deny the same chain succeeds, so it was the policy that stopped it
    let allowed = probe("", "", &url).await;
    assert!(allowed.success, "{allowed:?}");
    assert_eq!(denied.hits(), 1);
}

#[tokio::test]
async fn a_name_that_resolves_to_a_denied_address_is_refused() {
    // Given a server on 127.0.0.1, named through localhost, with loopback denied
    let server = serve("127.0.0.1", None).await;
    let url = format!("http://localhost:{}/", server.address.port());
    for keepalive in [false, true] {
        // When it is probed, on a fresh or a pooled connection
        let outcome = probe_with("127.0.0.0/8, ::1/128", "", &url, keepalive).await;
        // Then the resolver refuses it, naming the host and the rule
        assert_eq!(
            refusal_reason(&outcome),
            "refused by target policy: localhost resolves only to refused addresses: \
             127.0.0.1 is in HEALTHMON_TARGET_DENY (127.0.0.0/8)",
            "keepalive {keepalive}"
        );
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn an_allow_list_reopens_a_denied_name() {
    // Given loopback denied but 127.0.0.1 allowed
    let server = serve("127.0.0.1", None).await;
    let url = format!("http://localhost:{}/", server.address.port());
    // When localhost is probed
    let outcome = probe("127.0.0.0/8, ::1/128", "127.0.0.1/32", &url).await;
    // Then it succeeds against the local server
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.status_code, Some(200));
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_redirect_hop_to_a_name_is_judged_by_the_resolver() {
    // Given the first server on 127.0.0.2 redirecting to localhost (127.0.0.1), which is denied
    let target = serve("127.0.0.1", None).await;
    let origin = serve("127.0.0.2", Some(format!("http://localhost:{}/", target.address.port()))).await;
    // When the chain is probed
    let outcome = probe("127.0.0.1/32", "", &format!("http://{}/redirect", origin.address)).await;
    // Then the hop is refused when its name is resolved
    let reason = refusal_reason(&outcome);
    assert!(reason.contains("localhost resolves only to refused addresses"), "{reason}");
    assert_eq!((origin.hits(), target.hits()), (1, 0));
}

#[tokio::test]
async fn a_redirect_to_an_allowed_local_server_succeeds() {
    // Given two local servers, the first redirecting to the second
    let target = serve("127.0.0.1", None).await;
    let origin = serve("127.0.0.1", Some(format!("http://{}/", target.address))).await;
    // When the first is probed under a policy that denies other addresses only
    let outcome = probe("10.0.0.0/8", "", &format!("http://{}/redirect", origin.address)).await;
    // Then the redirect is followed to a healthy answer
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.status_code, Some(200));
    assert_eq!((origin.hits(), target.hits()), (1, 1));
}

#[tokio::test]
async fn at_most_five_redirects_are_followed() {
    let server = serve("127.0.0.1", None).await;
    // Five redirects are followed
    let five = probe("", "", &format!("http://{}/hop/5", server.address)).await;
    assert!(five.success, "{five:?}");
    // Six are not
    let six = probe("", "", &format!("http://{}/hop/6", server.address)).await;
    assert!(!six.success, "{six:?}");
    assert_eq!(six.error.as_deref(), Some("too many redirects (more than 5)"));
}
