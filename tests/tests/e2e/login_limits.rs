//! Login limits against guessers, end to end: a guesser spends only its own limits, a guesser
//! spread over many addresses spends the account's hourly budget but cannot keep the real user out
//! from an address they have logged in from, and every limit is keyed on the TCP peer address.
//! Client addresses are 127.0.0.0/8 loopback addresses the test binds its sockets to.

use std::net::{IpAddr, Ipv4Addr};

use healthmon_tests::{Mode, TestApp, both_modes};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_modes!(
    a_guesser_at_one_address_cannot_lock_the_real_user_out,
    a_distributed_guesser_is_stopped_by_the_account_budget_but_a_known_address_gets_in,
);

const USER: &str = "victim";
const PASSWORD: &str = "victim-password-123";

/// One login attempt from `source`, with extra request headers; the status, Retry-After seconds
/// and the JSON body.
async fn login_from(
    app: &TestApp,
    source: Ipv4Addr,
    password: &str,
    headers: &[(&str, String)],
) -> (StatusCode, Option<u64>, Value) {
    let client = reqwest::Client::builder().local_address(IpAddr::V4(source)).build().expect("client");
    let mut request = client.post(app.url("/api/v1/auth/login")).json(&json!({"username": USER, "password": password}));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("login request");
    let status = response.status();
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let body = response.json().await.expect("a JSON body");
    (status, retry_after, body)
}

fn assert_too_many(attempt: &(StatusCode, Option<u64>, Value), longest_wait_s: u64) {
    let (status, retry_after, body) = attempt;
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "too_many_requests", "{body}");
    let seconds = retry_after.expect("Retry-After in seconds");
    assert!((1..=longest_wait_s).contains(&seconds), "Retry-After {seconds}");
}

async fn a_guesser_at_one_address_cannot_lock_the_real_user_out(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.user_token(USER, "viewer").await;
    let guesser = Ipv4Addr::new(127, 0, 0, 2);
    // Five wrong guesses from one address, each claiming to be forwarded for another address
    for n in 0..5 {
        let forwarded = [
            ("x-forwarded-for", format!("198.51.100.{n}")),
            ("forwarded", format!("for=198.51.100.{n}")),
            ("x-real-ip", format!("198.51.100.{n}")),
        ];
        let (status, _, body) = login_from(&app, guesser, "guess-guess-guess", &forwarded).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {n}: {body}");
    }
    // Then the sixth is held back: the headers did not make it look like five clients
    let forwarded = [("x-forwarded-for", "203.0.113.1".to_owned())];
    assert_too_many(&login_from(&app, guesser, "guess-guess-guess", &forwarded).await, 12);
    // Even the right password waits there
    assert_too_many(&login_from(&app, guesser, PASSWORD, &[]).await, 12);
    // While the real user, from an address they never used, logs in at once, even when a header
    // names the guesser's address
    let real_user = Ipv4Addr::new(127, 0, 0, 3);
    let forwarded = [("x-forwarded-for", guesser.to_string())];
    let (status, _, body) = login_from(&app, real_user, PASSWORD, &forwarded).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["token"].is_string(), "{body}");
    app.stop().await;
}

async fn a_distributed_guesser_is_stopped_by_the_account_budget_but_a_known_address_gets_in(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    // The real user has logged in from 127.0.0.1 (user_token logs in once)
    app.user_token(USER, "viewer").await;
    // A guesser spread over many addresses, 4 guesses each (under every per-address limit)
    let mut guesses = 0;
    let refused = 'guessing: loop {
        let source = Ipv4Addr::new(127, 0, 1, u8::try_from(guesses / 4 + 1).expect("at most 250 addresses"));
        let attempt = login_from(&app, source, "guess-guess-guess", &[]).await;
        if attempt.0 != StatusCode::UNAUTHORIZED {
            break 'guessing attempt;
        }
        guesses += 1;
        assert!(guesses <= 200, "the account budget never ran out");
    };
    // Then the budget of 100 attempts an hour (one spent by the real user's login, and about one
    // more refilled for each 36 s the test takes) runs out
    assert!((99..=102).contains(&guesses), "{guesses} guesses got through");
    assert_too_many(&refused, 36);
    // A new address gets nothing more, even with the right password
    assert_too_many(&login_from(&app, Ipv4Addr::new(127, 0, 2, 1), PASSWORD, &[]).await, 36);
    // But the real user, from the address they logged in from before, gets in
    let (status, _, body) = login_from(&app, Ipv4Addr::LOCALHOST, PASSWORD, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // While a wrong password from that known address is still just a 401
    let (status, _, body) = login_from(&app, Ipv4Addr::LOCALHOST, "guess-guess-guess", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    app.stop().await;
}
