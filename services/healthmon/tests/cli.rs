//! The `healthmon` client commands, black-box: the real binary run as a client against the real
//! binary run as a server (SQLite and the in-process bus, in a temp dir).

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{BINARY, spawn, stop};

const ADMIN_PASSWORD: &str = "Cli-admin-pa55word";

struct Server {
    child: Option<Child>,
    addr: String,
    url: String,
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (child, addr, _logs) = spawn(dir.path(), &[("HEALTHMON_ADMIN_PASSWORD", ADMIN_PASSWORD)]);
        Self { child: Some(child), url: format!("http://{addr}"), addr, dir }
    }

    /// A client command with the server's URL and, when given, a token; nothing else from the
    /// environment.
    fn command(&self, token: Option<&str>, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command.env_clear().env("HEALTHMON_URL", &self.url).args(args);
        if let Some(token) = token {
            command.env("HEALTHMON_TOKEN", token);
        }
        command
    }

    fn run(&self, token: &str, args: &[&str]) -> Output {
        self.command(Some(token), args).output().expect("run the client")
    }

    fn login(&self) -> String {
        let output = self.command(None, &["login"]).env("HEALTHMON_PASSWORD", ADMIN_PASSWORD).output().expect("login");
        assert_success(&output);
        let token = stdout(&output).trim().to_owned();
        assert!(token.starts_with("hm_"), "a token on stdout");
        token
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write a file");
        path.to_str().expect("UTF-8 path").to_owned()
    }

    fn targets(&self, token: &str) -> Vec<Value> {
        let output = self.run(token, &["targets", "list", "--output", "json"]);
        assert_success(&output);
        serde_json::from_str::<Vec<Value>>(&stdout(&output)).expect("a JSON list")
    }

    fn stop(mut self) {
        let child = self.child.take().expect("running");
        assert!(stop(child).success(), "the server stops cleanly");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only reached with the child still there when a test failed half-way.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_success(output: &Output) {
    assert!(output.status.success(), "{:?}\nstdout: {}\nstderr: {}", output.status, stdout(output), stderr(output));
}

fn names(targets: &[Value]) -> BTreeSet<String> {
    targets.iter().map(|target| target["name"].as_str().expect("name").to_owned()).collect()
}

/// Runs `status` until it exits `code` with a table that `shows` accepts, for at most 30 s.
fn wait_for_status(server: &Server, token: &str, code: i32, shows: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = server.run(token, &["status"]);
        let text = stdout(&output);
        if output.status.code() == Some(code) && shows(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "status never exited {code} as expected; last:\n{text}{}", stderr(&output));
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Whether the status table has a row for `name` with `status`.
fn row(name: &str, status: &str) -> impl Fn(&str) -> bool {
    let (name, status) = (format!("{name} "), format!(" {status} "));
    move |text: &str| text.lines().any(|line| line.starts_with(&name) && format!("{line} ").contains(&status))
}

#[test]
fn login_then_add_list_get_and_rm() {
    let server = Server::start();
    // A wrong password (read from stdin) is refused with the API's error.
    let mut wrong = server.command(None, &["login", "--username", "admin"]);
    let mut child = wrong.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("login");
    child.stdin.take().expect("stdin").write_all(b"Wr0ng-password\n").expect("write the password");
    let output = child.wait_with_output().expect("login output");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("HTTP 401"), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());

    let token = server.login();
    let anonymous = server.command(None, &["targets", "list"]).output().expect("list");
    assert_eq!(anonymous.status.code(), Some(2));
    assert!(stderr(&anonymous).contains("HTTP 401") && stderr(&anonymous).contains("HEALTHMON_TOKEN"));

    let added = server.run(&token, &["targets", "add", "web", "http://127.0.0.1:9/", "--interval", "5", "--tag", "a"]);
    assert_success(&added);
    assert!(stdout(&added).starts_with("created web ("), "{}", stdout(&added));
    let db = server.file("db.yaml", "name: db\nkind: tcp\nhost: 127.0.0.1\nport: 5432\n");
    assert_success(&server.run(&token, &["targets", "add", "-f", &db]));

    let invalid = server.run(&token, &["targets", "add", "bad", "http://127.0.0.1:9/", "--interval", "0"]);
    assert_eq!(invalid.status.code(), Some(2));
    assert!(stderr(&invalid).contains("HTTP 422") && stderr(&invalid).contains("interval_s"), "{}", stderr(&invalid));

    let table = server.run(&token, &["targets", "list"]);
    assert_success(&table);
    let table = stdout(&table);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.lines().any(|line| line.starts_with("web ") && line.contains("http://127.0.0.1:9/")), "{table}");
    assert!(table.lines().any(|line| line.starts_with("db ") && line.contains("127.0.0.1:5432")), "{table}");
    assert_eq!(names(&server.targets(&token)), BTreeSet::from(["web".to_owned(), "db".to_owned()]));

    let got = server.run(&token, &["targets", "get", "web"]);
    assert_success(&got);
    let web: Value = serde_json::from_str(&stdout(&got)).expect("JSON");
    assert_eq!((web["interval_s"].as_u64(), web["tags"].clone()), (Some(5), serde_json::json!(["a"])));
    let id = web["id"].as_str().expect("id");
    let by_id = server.run(&token, &["targets", "get", id]);
    assert_eq!(serde_json::from_str::<Value>(&stdout(&by_id)).expect("JSON")["name"], "web");

    let removed = server.run(&token, &["targets", "rm", "web"]);
    assert_success(&removed);
    assert_eq!(stdout(&removed), format!("deleted web ({id})\n"));
    let gone = server.run(&token, &["targets", "get", "web"]);
    assert_eq!(gone.status.code(), Some(2));
    assert!(stderr(&gone).contains("no target named \"web\""), "{}", stderr(&gone));
    assert_eq!(names(&server.targets(&token)), BTreeSet::from(["db".to_owned()]));

    for output in [&anonymous, &invalid, &gone] {
        assert!(!stderr(output).contains(&token), "the token is never printed");
    }
    server.stop();
}

#[test]
fn status_exits_0_when_every_target_is_healthy_and_1_otherwise() {
    let server = Server::start();
    let token = server.login();
    let empty = wait_for_status(&server, &token, 0, |text| text.starts_with("overall: healthy (0 targets)"));
    assert!(empty.contains("NAME"), "{empty}");

    // A closed local port: unhealthy after one failed probe.
    let down = server.file(
        "down.json",
        r#"{"name": "down", "kind": "http", "url": "http://127.0.0.1:1/", "interval_s": 1, "unhealthy_threshold": 1}"#,
    );
    assert_success(&server.run(&token, &["targets", "add", "-f", &down]));
    let text = wait_for_status(&server, &token, 1, row("down", "unhealthy"));
    assert!(text.starts_with("overall: unhealthy (1 targets)"), "{text}");

    // The server's own liveness route: healthy after one good probe.
    assert_success(&server.run(&token, &["targets", "rm", "down"]));
    let up = format!(
        r#"{{"name": "self", "kind": "http", "url": "http://{}/livez", "interval_s": 1, "healthy_threshold": 1}}"#,
        server.addr
    );
    assert_success(&server.run(&token, &["targets", "add", "-f", &server.file("up.json", &up)]));
    let text = wait_for_status(&server, &token, 0, row("self", "healthy"));
    assert!(text.starts_with("overall: healthy (1 targets)"), "{text}");

    // Every probe of it succeeded: 100 % over the hour, in `uptime` and in `targets get`.
    let uptime = server.run(&token, &["uptime", "--window", "1h"]);
    assert_success(&uptime);
    let table = stdout(&uptime);
    assert!(table.starts_with("NAME") && table.contains("UPTIME"), "{table}");
    assert!(table.lines().any(|line| line.starts_with("self ") && line.contains("100.00%")), "{table}");
    let got: Value = serde_json::from_str(&stdout(&server.run(&token, &["targets", "get", "self"]))).expect("JSON");
    assert_eq!(got["uptime"]["24h"], "100.00%", "{got}");
    assert!(got["uptime"]["7d"].is_string() && got["uptime"]["30d"].is_string(), "{got}");
    let bad = server.run(&token, &["uptime", "--window", "2h"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("HTTP 422") && stderr(&bad).contains("window"), "{}", stderr(&bad));
    server.stop();
}

#[test]
fn apply_dry_run_changes_nothing_then_apply_makes_the_targets_match_the_file() {
    let server = Server::start();
    let token = server.login();
    for (name, url) in [
        ("keep", "http://127.0.0.1:9/keep"),
        ("change", "http://127.0.0.1:9/change"),
        ("gone", "http://127.0.0.1:9/gone"),
    ] {
        assert_success(&server.run(&token, &["targets", "add", name, url]));
    }
    let before = server.targets(&token);
    let file = server.file(
        "targets.yaml",
        "targets:\n\
         \x20 - {name: keep, kind: http, url: 'http://127.0.0.1:9/keep'}\n\
         \x20 - {name: change, kind: http, url: 'http://127.0.0.1:9/change', interval_s: 30, tags: [x]}\n\
         \x20 - {name: new, kind: tcp, host: 127.0.0.1, port: 9}\n",
    );

    let dry = server.run(&token, &["apply", "-f", &file, "--dry-run"]);
    assert_success(&dry);
    let plan = stdout(&dry);
    let gone_id = before.iter().find(|t| t["name"] == "gone").and_then(|t| t["id"].as_str()).expect("gone's id");
    assert_eq!(
        plan,
        format!(
            "+ new\n= keep\n~ change: interval_s 60 → 30, tags [] → [\"x\"]\n- gone ({gone_id})\n\
             1 to create, 1 to update, 1 to delete, 1 unchanged\ndry run: nothing changed\n"
        )
    );
    // Definitions, not health: the prober may probe a target between the two reads.
    let definitions = |targets: Vec<serde_json::Value>| -> Vec<serde_json::Value> {
        targets
            .into_iter()
            .map(|mut target| {
                target.as_object_mut().map(|fields| fields.remove("health"));
                target
            })
            .collect()
    };
    assert_eq!(definitions(server.targets(&token)), definitions(before.clone()), "a dry run changes nothing");

    let applied = server.run(&token, &["apply", "-f", &file]);
    assert_success(&applied);
    assert!(stdout(&applied).ends_with("applied: 3 changes\n"), "{}", stdout(&applied));
    let after = server.targets(&token);
    assert_eq!(names(&after), BTreeSet::from(["keep".to_owned(), "change".to_owned(), "new".to_owned()]));
    let find = |list: &[Value], name: &str| list.iter().find(|t| t["name"] == name).cloned().expect(name);
    let change = find(&after, "change");
    assert_eq!((change["interval_s"].as_u64(), change["tags"].clone()), (Some(30), serde_json::json!(["x"])));
    assert_eq!(find(&after, "keep")["id"], find(&before, "keep")["id"], "an unchanged target keeps its id");
    assert_eq!(change["id"], find(&before, "change")["id"], "an update keeps the id");

    let again = server.run(&token, &["apply", "-f", &file, "--dry-run"]);
    assert!(stdout(&again).contains("0 to create, 0 to update, 0 to delete, 3 unchanged"), "{}", stdout(&again));
    server.stop();
}

#[test]
fn watch_prints_a_line_per_health_change() {
    let server = Server::start();
    let token = server.login();
    let mut watch = server
        .command(Some(&token), &["watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start watch");
    let (lines_tx, lines) = mpsc::channel::<(bool, String)>();
    let streams: [(bool, Box<dyn std::io::Read + Send>); 2] = [
        (true, Box::new(watch.stdout.take().expect("stdout"))),
        (false, Box::new(watch.stderr.take().expect("stderr"))),
    ];
    for (is_stdout, stream) in streams {
        let lines_tx = lines_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = lines_tx.send((is_stdout, line));
            }
        });
    }
    // Subscribed once it says so; a change before that would be missed.
    let (_, first) = lines.recv_timeout(Duration::from_secs(10)).expect("watch starts within 10 s");
    assert!(first.starts_with("watching health changes"), "{first}");

    let down = server.file(
        "down.json",
        r#"{"name": "down", "kind": "http", "url": "http://127.0.0.1:1/", "interval_s": 1, "unhealthy_threshold": 1}"#,
    );
    assert_success(&server.run(&token, &["targets", "add", "-f", &down]));
    let deadline = Instant::now() + Duration::from_secs(30);
    let line = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (is_stdout, line) = lines.recv_timeout(left).expect("a health change within 30 s");
        if is_stdout {
            break line;
        }
    };
    assert!(line.contains(" down unknown -> unhealthy"), "{line}");
    let _ = watch.kill();
    let _ = watch.wait();
    server.stop();
}

#[test]
fn an_unreachable_server_is_reported_clearly() {
    let output = Command::new(BINARY)
        .env_clear()
        .env("HEALTHMON_TOKEN", "hm_not-a-real-token")
        .args(["targets", "list", "--url", "http://127.0.0.1:1"])
        .output()
        .expect("run the client");
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("cannot reach healthmon at http://127.0.0.1:1"), "{text}");
    assert!(!text.contains("hm_not-a-real-token"), "the token is never printed");
}
