//! The TCP check against local listeners: open, closed and refused by the target policy.

use std::sync::Arc;

use healthmon_domain::TcpCheck;
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_prober::check::tcp::TcpChecker;

fn checker(policy: AddressPolicy) -> TcpChecker {
    TcpChecker::new(Arc::new(policy))
}

#[tokio::test]
async fn an_open_port_passes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let outcome = checker(AddressPolicy::default()).check(&TcpCheck { host: "localhost".into(), port }, 5).await;
    assert!(outcome.success, "{outcome:?}");
    assert!(outcome.latency_ms > 0.0 && outcome.latency_ms < 5000.0);
}

#[tokio::test]
async fn a_closed_port_fails_as_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
    let outcome = checker(AddressPolicy::default()).check(&TcpCheck { host: "127.0.0.1".into(), port }, 5).await;
    assert!(!outcome.success);
    assert_eq!(outcome.error.as_deref(), Some("connection refused"));
}

#[tokio::test]
async fn a_refused_address_fails_before_connecting() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let policy = AddressPolicy::from_lists("127.0.0.0/8", "").expect("policy");
    let outcome = checker(policy).check(&TcpCheck { host: "127.0.0.1".into(), port }, 5).await;
    let error = outcome.error.expect("a reason");
    assert!(error.starts_with("refused by target policy: "), "{error}");
    let accepted = tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "the listener must not have been contacted");
}

#[tokio::test]
async fn hosts_carrying_a_metadata_address_fail_before_connecting() {
    // 6to4 and local-use NAT64 forms of 169.254.169.254, and Oracle Cloud's metadata address
    for host in ["2002:a9fe:a9fe::1", "64:ff9b:1::a9fe:a9fe", "192.0.0.192"] {
        let outcome = checker(AddressPolicy::default()).check(&TcpCheck { host: host.into(), port: 80 }, 5).await;
        let error = outcome.error.expect("a reason");
        assert!(error.starts_with("refused by target policy: ") && error.contains("never probed"), "{host}: {error}");
    }
}
