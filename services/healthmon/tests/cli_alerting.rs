//! The `healthmon` client's alerting commands, black-box: the real binary run as a client
//! (`notifiers`, `alerts`, `deliveries`, `apply` with alerting sections) against the real binary
//! run as a server (SQLite, the in-process bus and the notifier role, in a temp dir), with a
//! recording webhook receiver on loopback. Every secret the tests set is checked absent from
//! every output.

mod support;

use std::process::{Child, Command, Output};
use std::time::Duration;

use healthmon_testing::Receiver;
use serde_json::Value;
use support::{BINARY, spawn, stop};

const ADMIN_PASSWORD: &str = "Cli-alerting-pa55word";
const HOOK_SECRET: &str = "whsec_c2VjcmV0LW9mLXRoZS1jbGktdGVzdA==";
const SLACK_SECRET_PATH: &str = "/services/T0/B0/sl4ck-s3cret";

struct Server {
    child: Option<Child>,
    url: String,
    dir: tempfile::TempDir,
    token: String,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (child, addr, _logs) = spawn(dir.path(), &[("HEALTHMON_ADMIN_PASSWORD", ADMIN_PASSWORD)]);
        let mut server = Self { child: Some(child), url: format!("http://{addr}"), dir, token: String::new() };
        let output = server.command(&["login"]).env("HEALTHMON_PASSWORD", ADMIN_PASSWORD).output().expect("login");
        assert_success(&output);
        server.token = stdout(&output).trim().to_owned();
        server
    }

    /// A client command with the server's URL and token; nothing else from the environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command.env_clear().env("HEALTHMON_URL", &self.url).args(args);
        if !self.token.is_empty() {
            command.env("HEALTHMON_TOKEN", &self.token);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = self.command(args).output().expect("run the client");
        assert_no_secret(&output);
        output
    }

    /// A command with the secrets the files and flags name in its environment.
    fn run_with_secrets(&self, receiver: &Receiver, args: &[&str]) -> Output {
        let output = self
            .command(args)
            .env("HOOK_SECRET", HOOK_SECRET)
            .env("SLACK_WEBHOOK_URL", format!("{}{SLACK_SECRET_PATH}", receiver.url()))
            .output()
            .expect("run the client");
        assert_no_secret(&output);
        output
    }

    fn json(&self, args: &[&str]) -> Value {
        let output = self.run(args);
        assert_success(&output);
        serde_json::from_str(&stdout(&output)).expect("JSON on stdout")
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write a file");
        path.to_str().expect("UTF-8 path").to_owned()
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

fn assert_no_secret(output: &Output) {
    for text in [stdout(output), stderr(output)] {
        assert!(!text.contains(HOOK_SECRET) && !text.contains(SLACK_SECRET_PATH), "a secret was printed:\n{text}");
    }
}

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> =
        list.as_array().expect("a list").iter().map(|item| item["name"].as_str().expect("name").to_owned()).collect();
    names.sort();
    names
}

fn id_of(list: &Value, name: &str) -> String {
    let item = list.as_array().expect("a list").iter().find(|item| item["name"] == name);
    item.and_then(|item| item["id"].as_str()).unwrap_or_else(|| panic!("no {name} in {list}")).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifiers_add_list_test_deliveries_and_delete() {
    let receiver = Receiver::start().await;
    let server = Server::start();
    let hook_url = format!("{}/hook", receiver.url());
    let added = server.run_with_secrets(
        &receiver,
        &["notifiers", "add", "hook", &hook_url, "--kind", "webhook", "--secret-env", "HOOK_SECRET"],
    );
    assert_success(&added);
    assert!(stdout(&added).starts_with("created hook ("), "{}", stdout(&added));
    // A chat kind's URL is a secret: never a flag.
    let refused = server.run(&["notifiers", "add", "chat", "https://hooks.slack.com/x", "--kind", "slack"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("--secret-env"), "{}", stderr(&refused));
    let unset = server.run(&["notifiers", "add", "x", &hook_url, "--kind", "webhook", "--secret-env", "NOPE"]);
    assert_eq!(unset.status.code(), Some(2));
    assert!(stderr(&unset).contains("NOPE"), "{}", stderr(&unset));
    // Nothing listens on port 1: the test cannot be delivered.
    assert_success(&server.run(&["notifiers", "add", "broken", "http://127.0.0.1:1/", "--kind", "webhook"]));

    let table = server.run(&["notifiers", "list"]);
    assert_success(&table);
    let table = stdout(&table);
    let host = receiver.address().to_string();
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.lines().any(|line| line.starts_with("hook ") && line.contains("webhook") && line.contains(&host)));
    assert!(!table.contains("/hook"), "only the destination's host is shown:\n{table}");
    let listed = server.json(&["notifiers", "list", "--output", "json"]);
    assert_eq!(names(&listed), ["broken", "hook"]);
    let hook = listed.as_array().and_then(|list| list.iter().find(|n| n["name"] == "hook")).expect("hook").clone();
    assert_eq!((hook["has_secret"].clone(), hook["url"].clone()), (Value::Bool(true), Value::String(hook_url)));

    let tested = server.run(&["notifiers", "test", "hook"]);
    assert_success(&tested);
    assert!(stdout(&tested).starts_with("hook: delivered (HTTP 200)"), "{}", stdout(&tested));
    let requests = receiver.wait_for(1, Duration::from_secs(10)).await;
    let signature = requests[0].header("webhook-signature").unwrap_or_default();
    assert!(signature.starts_with("v1,"), "the test is signed with the secret from the environment: {signature:?}");
    let failed = server.run(&["notifiers", "test", "broken"]);
    assert_eq!(failed.status.code(), Some(1), "{}{}", stdout(&failed), stderr(&failed));
    assert!(stdout(&failed).starts_with("broken: not delivered"), "{}", stdout(&failed));

    let deliveries = server.json(&["deliveries", "--notifier", "hook", "--output", "json"]);
    let deliveries = deliveries.as_array().expect("a list");
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!((deliveries[0]["event"].as_str(), deliveries[0]["status"].as_str()), (Some("test"), Some("delivered")));
    let both = server.json(&["deliveries", "--limit", "1", "--output", "json"]);
    assert_eq!(both.as_array().map(Vec::len), Some(1), "--limit bounds the answer: {both}");
    let table = server.run(&["deliveries"]);
    assert_success(&table);
    assert!(stdout(&table).starts_with("CREATED") && stdout(&table).contains(" test "), "{}", stdout(&table));

    let id = id_of(&listed, "hook");
    let deleted = server.run(&["notifiers", "delete", "hook"]);
    assert_success(&deleted);
    assert_eq!(stdout(&deleted), format!("deleted hook ({id})\n"));
    assert_eq!(names(&server.json(&["notifiers", "list", "--output", "json"])), ["broken"]);
    server.stop();
}

const FILE: &str = "\
notifiers:
  - {name: hook, kind: webhook, url: 'RECEIVER/hook', secret: '${HOOK_SECRET}'}
  - {name: chat, kind: slack, webhook_url: '${SLACK_WEBHOOK_URL}'}
targets:
  - {name: web, kind: http, url: 'http://127.0.0.1:9/', tags: [prod]}
alerts:
  - {name: web-down, notifiers: [hook, chat], selector: {targets: [web]}, trigger_after_s: 60}
maintenance:
  - {name: sunday, selector: {tags: [prod]}, cron: '0 2 * * sun', duration_s: 7200, timezone: Europe/Berlin}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_makes_notifiers_targets_alerts_and_windows_match_and_a_second_run_changes_nothing() {
    let receiver = Receiver::start().await;
    let server = Server::start();
    let file = server.file("alerting.yaml", &FILE.replace("RECEIVER", &receiver.url()));

    let dry = server.run_with_secrets(&receiver, &["apply", "-f", &file, "--dry-run"]);
    assert_success(&dry);
    assert_eq!(
        stdout(&dry),
        "notifiers:\n+ hook\n+ chat\n2 to create, 0 to update, 0 to delete, 0 unchanged\n\
         targets:\n+ web\n1 to create, 0 to update, 0 to delete, 0 unchanged\n\
         alerts:\n+ web-down\n1 to create, 0 to update, 0 to delete, 0 unchanged\n\
         maintenance:\n+ sunday\n1 to create, 0 to update, 0 to delete, 0 unchanged\n\
         dry run: nothing changed\n"
    );
    assert_eq!(names(&server.json(&["notifiers", "list", "--output", "json"])), Vec::<String>::new());

    // A secret's variable unset: refused before anything changes, naming the entry and the variable.
    let unset = server.command(&["apply", "-f", &file]).env("HOOK_SECRET", HOOK_SECRET).output().expect("apply");
    assert_eq!(unset.status.code(), Some(2));
    assert!(stderr(&unset).contains("notifiers[1] (chat)") && stderr(&unset).contains("SLACK_WEBHOOK_URL"));

    let applied = server.run_with_secrets(&receiver, &["apply", "-f", &file]);
    assert_success(&applied);
    assert!(stdout(&applied).ends_with("applied: 5 changes\n"), "{}", stdout(&applied));
    let notifiers = server.json(&["notifiers", "list", "--output", "json"]);
    let targets = server.json(&["targets", "list", "--output", "json"]);
    let alerts = server.json(&["alerts", "list", "--output", "json"]);
    let rule = &alerts[0];
    let mut rule_notifiers: Vec<String> =
        rule["notifiers"].as_array().expect("ids").iter().map(|id| id.as_str().expect("id").to_owned()).collect();
    rule_notifiers.sort();
    let mut expected = vec![id_of(&notifiers, "hook"), id_of(&notifiers, "chat")];
    expected.sort();
    assert_eq!(rule_notifiers, expected, "names in the file became ids");
    assert_eq!(rule["selector"]["targets"], serde_json::json!([id_of(&targets, "web")]));
    let table = server.run(&["alerts", "list"]);
    assert_success(&table);
    assert!(stdout(&table).lines().any(|line| line.starts_with("web-down ") && line.contains("targets web")));

    let again = server.run_with_secrets(&receiver, &["apply", "-f", &file]);
    assert_success(&again);
    let text = stdout(&again);
    assert!(text.contains("= hook (secrets not compared)\n= chat (secrets not compared)\n"), "{text}");
    assert!(text.contains("= web-down\n") && text.contains("= sunday\n"), "{text}");
    assert!(text.ends_with("applied: 0 changes\n"), "the second run changes nothing:\n{text}");

    // An unknown name is refused, naming the entry.
    let unknown = server.file("unknown.yaml", "alerts:\n  - {name: web-down, notifiers: [pager]}\n");
    let refused = server.run(&["apply", "-f", &unknown]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("alerts[0] (web-down)") && stderr(&refused).contains("\"pager\""));

    // Dropping chat and the rule that names it: the rule goes first, then the notifier; the
    // sections the file leaves out are left alone.
    let smaller = server.file(
        "smaller.yaml",
        &format!("notifiers:\n  - {{name: hook, kind: webhook, url: '{}/hook'}}\nalerts: []\n", receiver.url()),
    );
    let shrunk = server.run(&["apply", "-f", &smaller]);
    assert_success(&shrunk);
    assert!(stdout(&shrunk).ends_with("applied: 2 changes\n"), "{}", stdout(&shrunk));
    assert_eq!(names(&server.json(&["notifiers", "list", "--output", "json"])), ["hook"]);
    assert_eq!(names(&server.json(&["alerts", "list", "--output", "json"])), Vec::<String>::new());
    assert_eq!(names(&server.json(&["targets", "list", "--output", "json"])), ["web"]);
    let hook = server.json(&["notifiers", "list", "--output", "json"]);
    assert_eq!(hook[0]["has_secret"], Value::Bool(true), "an update without the secret keeps the stored one");
    server.stop();
}
