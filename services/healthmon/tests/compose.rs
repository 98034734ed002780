//! The Docker Compose deployment, checked without Docker: docker-compose.yml and the Dockerfile may
//! use only the settings, roles, routes and binaries the real `healthmon` binary has.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command};
use std::str::FromStr;

use healthmon_runtime::Role;
use reqwest::Url;
use serde_yaml_ng::{Mapping, Value};

// Only `spawn`: this test kills the binary when done rather than stopping it gracefully.
#[allow(dead_code)]
mod support;

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
/// The one image every healthmon service runs, built from the Dockerfile.
const HEALTHMON_IMAGE: &str = "healthmon:local";
/// The operational routes every healthmon process serves, whatever its roles.
const OPERATIONAL_ROUTES: [&str; 2] = ["/livez", "/readyz"];
/// Where the runtime image keeps the binaries.
const BINARY_DIR: &str = "/usr/local/bin";

fn read_workspace_file(name: &str) -> String {
    std::fs::read_to_string(format!("{WORKSPACE}/{name}")).unwrap_or_else(|error| panic!("reading {name}: {error}"))
}

/// `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}` and `${NAME?message}`
/// references in a compose file, with the name, the operator and its word.
fn interpolation_pattern() -> regex::Regex {
    regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}").expect("regex")
}

/// The text with every variable reference replaced as Docker Compose replaces it when none of
/// the variables is set: by its default, and `$$` by `$`. A required variable (`:?`) becomes
/// `<NAME>`, so the text still parses.
fn with_variables_unset(text: &str) -> String {
    let replaced = interpolation_pattern().replace_all(text, |captures: &regex::Captures<'_>| {
        match captures.get(2).map(|operator| operator.as_str()) {
            Some(":-" | "-") => captures[3].to_owned(),
            Some(":?" | "?") => format!("<{}>", &captures[1]),
            _ => String::new(),
        }
    });
    replaced.replace("$$", "$")
}

/// The names of the variables docker-compose.yml refers to (`${NAME…}`).
fn compose_variables() -> BTreeSet<String> {
    let text = read_workspace_file("docker-compose.yml");
    interpolation_pattern().captures_iter(&text).map(|captures| captures[1].to_owned()).collect()
}

/// docker-compose.yml with its `<<` merge keys applied, as Docker Compose reads it with none of
/// its variables set.
fn compose() -> Value {
    let text = with_variables_unset(&read_workspace_file("docker-compose.yml"));
    let mut compose: Value = serde_yaml_ng::from_str(&text).expect("docker-compose.yml is YAML");
    compose.apply_merge().expect("the merge keys of docker-compose.yml apply");
    compose
}

fn services(compose: &Value) -> &Mapping {
    compose["services"].as_mapping().expect("docker-compose.yml has a services mapping")
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    services(compose).get(name).unwrap_or_else(|| panic!("docker-compose.yml has no service {name}"))
}

/// The services that run the healthmon image, by name.
fn healthmon_services(compose: &Value) -> Vec<(String, &Value)> {
    services(compose)
        .iter()
        .filter(|(_, service)| service["image"] == HEALTHMON_IMAGE)
        .map(|(name, service)| (name.as_str().expect("service names are strings").to_owned(), service))
        .collect()
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        other => panic!("expected a scalar, found {other:?}"),
    }
}

/// A service's `environment` mapping, every value as text.
fn environment(name: &str, service: &Value) -> BTreeMap<String, String> {
    let mapping = service["environment"].as_mapping().unwrap_or_else(|| panic!("{name}: environment is a mapping"));
    mapping.iter().map(|(key, value)| (scalar(key), scalar(value))).collect()
}

fn setting<'a>(name: &str, environment: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    environment.get(key).unwrap_or_else(|| panic!("{name}: {key} is not set"))
}

/// A command-like field (`command`, `entrypoint`, `healthcheck.test`) as its words.
fn words(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(items) => items.iter().map(scalar).collect(),
        Value::String(line) => line.split_whitespace().map(str::to_owned).collect(),
        Value::Null => Vec::new(),
        other => panic!("expected a command, found {other:?}"),
    }
}

/// The program a `healthcheck.test` runs, and the URL it calls.
fn healthcheck_program_and_url(name: &str, service: &Value) -> (String, Url) {
    let test = words(&service["healthcheck"]["test"]);
    let program = match test.first().map(String::as_str) {
        Some("CMD") | Some("CMD-SHELL") => test.get(1),
        _ => test.first(),
    };
    let program = program.unwrap_or_else(|| panic!("{name}: the health check runs nothing")).clone();
    let url = test
        .iter()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("{name}: the health check calls no http:// URL: {test:?}"));
    (program, Url::parse(url).unwrap_or_else(|error| panic!("{name}: health check URL {url}: {error}")))
}

fn port_of(address: &str) -> u16 {
    address
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in the address {address}"))
}

/// `(volume, mount point)` of each named-volume mount in a service's short-syntax `volumes`.
fn volume_mounts(service: &Value) -> Vec<(String, String)> {
    words(&Value::Sequence(service["volumes"].as_sequence().cloned().unwrap_or_default()))
        .iter()
        .filter_map(|mount| {
            let mut parts = mount.split(':');
            let (source, target) = (parts.next()?, parts.next()?);
            (!source.starts_with(['.', '/', '~'])).then(|| (source.to_owned(), target.to_owned()))
        })
        .collect()
}

fn declared_volumes(compose: &Value) -> BTreeSet<String> {
    compose["volumes"].as_mapping().map(|volumes| volumes.keys().map(scalar).collect()).unwrap_or_default()
}

fn healthmon_setting_names(text: &str) -> BTreeSet<String> {
    let pattern = regex::Regex::new(r"HEALTHMON_[A-Z0-9_]+").expect("regex");
    pattern.find_iter(text).map(|found| found.as_str().to_owned()).collect()
}

/// The settings the binary knows: those `healthmon --help` documents.
fn settings_the_binary_knows() -> BTreeSet<String> {
    let help = Command::new(support::BINARY).arg("--help").output().expect("healthmon --help");
    assert!(help.status.success(), "healthmon --help failed");
    let known = healthmon_setting_names(&String::from_utf8_lossy(&help.stdout));
    assert!(known.contains("HEALTHMON_LISTEN"), "--help lists the settings: {known:?}");
    known
}

/// One Dockerfile instruction: its keyword in upper case and its arguments (continuations joined).
struct Instruction {
    keyword: String,
    arguments: String,
}

impl Instruction {
    fn words(&self) -> Vec<&str> {
        self.arguments.split_whitespace().collect()
    }
}

/// The Dockerfile's stages, each its instructions from its `FROM` on (global `ARG`s left out).
fn dockerfile_stages() -> Vec<Vec<Instruction>> {
    let mut logical_lines = Vec::new();
    let mut continued = String::new();
    for line in read_workspace_file("Dockerfile").lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                continued.push_str(head);
                continued.push(' ');
            }
            None => {
                continued.push_str(line);
                logical_lines.push(std::mem::take(&mut continued));
            }
        }
    }
    let mut stages: Vec<Vec<Instruction>> = Vec::new();
    for line in logical_lines {
        let (keyword, arguments) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let instruction = Instruction { keyword: keyword.to_uppercase(), arguments: arguments.trim().to_owned() };
        if instruction.keyword == "FROM" {
            stages.push(Vec::new());
        }
        match stages.last_mut() {
            Some(stage) => stage.push(instruction),
            // Before the first FROM only global ARGs (the base images) may come.
            None => assert_eq!(instruction.keyword, "ARG", "the Dockerfile starts with FROM or global ARGs"),
        }
    }
    stages
}

fn runtime_stage() -> Vec<Instruction> {
    let mut stages = dockerfile_stages();
    assert!(stages.len() >= 2, "the Dockerfile is a multi-stage build");
    stages.pop().expect("a runtime stage")
}

/// The binaries the runtime stage copies from another stage into [`BINARY_DIR`].
fn binaries_in_the_image(runtime: &[Instruction]) -> BTreeSet<String> {
    let mut binaries = BTreeSet::new();
    for copy in runtime.iter().filter(|instruction| instruction.keyword == "COPY") {
        let words = copy.words();
        if !words.iter().any(|word| word.starts_with("--from=")) {
            continue;
        }
        let paths: Vec<&str> = words.into_iter().filter(|word| !word.starts_with("--")).collect();
        let (destination, sources) = paths.split_last().expect("COPY names a destination");
        if destination.trim_end_matches('/') == BINARY_DIR {
            binaries.extend(sources.iter().map(|source| source.rsplit('/').next().unwrap_or(source).to_owned()));
        }
    }
    binaries
}

/// The words the runtime stage's `RUN` instructions install or run (`curl`, `ca-certificates`, …).
fn runtime_run_words(runtime: &[Instruction]) -> BTreeSet<String> {
    runtime
        .iter()
        .filter(|instruction| instruction.keyword == "RUN")
        .flat_map(|instruction| instruction.words())
        .map(str::to_owned)
        .collect()
}

fn runtime_instruction<'a>(runtime: &'a [Instruction], keyword: &str) -> &'a Instruction {
    runtime
        .iter()
        .rfind(|instruction| instruction.keyword == keyword)
        .unwrap_or_else(|| panic!("the runtime stage has no {keyword}"))
}

/// The binaries the `healthmon` package builds: `healthmon` (src/main.rs) and one per src/bin file.
fn binaries_the_package_builds() -> BTreeSet<String> {
    let bin_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/bin");
    let mut binaries: BTreeSet<String> = std::fs::read_dir(bin_dir)
        .expect("services/healthmon/src/bin")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "rs"))
        .map(|path| path.file_stem().expect("a file name").to_string_lossy().into_owned())
        .collect();
    binaries.insert("healthmon".to_owned());
    binaries
}

#[test]
fn runs_nats_postgres_and_at_least_two_processes_of_each_role() {
    let compose = compose();
    assert!(scalar(&service(&compose, "nats")["image"]).starts_with("nats:"));
    assert!(scalar(&service(&compose, "postgres")["image"]).starts_with("postgres:"));
    let mut processes_per_role: BTreeMap<&str, usize> = BTreeMap::new();
    let mut instances = BTreeSet::new();
    for (name, service) in healthmon_services(&compose) {
        let environment = environment(&name, service);
        for role in setting(&name, &environment, "HEALTHMON_ROLES").split(',').map(str::trim) {
            let role = Role::from_str(role).unwrap_or_else(|error| panic!("{name}: HEALTHMON_ROLES: {error}"));
            *processes_per_role.entry(role.as_str()).or_default() += 1;
        }
        let instance = setting(&name, &environment, "HEALTHMON_INSTANCE");
        assert_eq!(instance, name, "{name}: HEALTHMON_INSTANCE names the service");
        assert!(instances.insert(instance.to_owned()), "{name}: HEALTHMON_INSTANCE {instance} is not unique");
    }
    for role in Role::ALL {
        let processes = processes_per_role.get(role.as_str()).copied().unwrap_or_default();
        assert!(processes >= 2, "{} {} processes; at least 2 expected", processes, role.as_str());
    }
}

#[test]
fn every_service_built_here_is_the_one_healthmon_image() {
    let compose = compose();
    let built: BTreeSet<String> = services(&compose)
        .iter()
        .filter(|(_, service)| !service["build"].is_null())
        .map(|(name, _)| scalar(name))
        .collect();
    let healthmon: BTreeSet<String> = healthmon_services(&compose).into_iter().map(|(name, _)| name).collect();
    assert!(!healthmon.is_empty(), "no service runs {HEALTHMON_IMAGE}");
    assert_eq!(built, healthmon, "the services built from the Dockerfile are exactly those running {HEALTHMON_IMAGE}");
    for name in &built {
        let build = &service(&compose, name)["build"];
        let context = if build.is_string() { scalar(build) } else { scalar(&build["context"]) };
        assert_eq!(context, ".", "{name}: builds the Dockerfile beside docker-compose.yml");
    }
}

#[test]
fn uses_only_settings_the_binary_knows() {
    let known = settings_the_binary_knows();
    // What the services see: the file as parsed (so not its comments), without Compose's own
    // variables (`${HEALTHMON_NATS_IMAGE:-…}` picks an image; it is no setting of healthmon's).
    let parsed: Value = serde_yaml_ng::from_str(&read_workspace_file("docker-compose.yml")).expect("YAML");
    let seen_by_services =
        interpolation_pattern().replace_all(&serde_yaml_ng::to_string(&parsed).expect("YAML"), "").into_owned();
    for (file, text) in [("docker-compose.yml", seen_by_services), ("Dockerfile", read_workspace_file("Dockerfile"))] {
        let used = healthmon_setting_names(&text);
        assert!(!used.is_empty(), "{file} sets no HEALTHMON_* setting");
        let unknown: Vec<&String> = used.difference(&known).collect();
        assert!(unknown.is_empty(), "{file} uses settings healthmon does not know: {unknown:?}");
    }
}

#[test]
fn every_variable_of_the_compose_file_is_documented_in_the_readme() {
    let readme = read_workspace_file("README.md");
    let section = readme
        .split("\n## ")
        .find(|section| section.starts_with("Run with Docker Compose"))
        .expect("README.md has a section Run with Docker Compose");
    let variables = compose_variables();
    assert!(variables.contains("HEALTHMON_ADMIN_PASSWORD"), "{variables:?}");
    for variable in variables {
        assert!(
            section.contains(&format!("`{variable}`")),
            "README's Docker Compose section does not name `{variable}`"
        );
    }
}

#[test]
fn every_healthmon_process_waits_for_healthy_nats_and_postgres_and_reaches_them_by_service_name() {
    let compose = compose();
    for dependency in ["nats", "postgres"] {
        let healthcheck = words(&service(&compose, dependency)["healthcheck"]["test"]);
        assert!(!healthcheck.is_empty(), "{dependency} has a health check, so service_healthy can be reached");
    }
    for (name, service) in healthmon_services(&compose) {
        for dependency in ["nats", "postgres"] {
            assert_eq!(
                service["depends_on"][dependency]["condition"], "service_healthy",
                "{name}: depends on a healthy {dependency}"
            );
        }
        assert_eq!(service["restart"], "unless-stopped", "{name}: restarts");
        let environment = environment(&name, service);
        for (key, scheme, host) in
            [("HEALTHMON_DATABASE_URL", "postgres", "postgres"), ("HEALTHMON_NATS_URL", "nats", "nats")]
        {
            let value = setting(&name, &environment, key);
            let url = Url::parse(value).unwrap_or_else(|error| panic!("{name}: {key}={value}: {error}"));
            assert_eq!((url.scheme(), url.host_str()), (scheme, Some(host)), "{name}: {key}");
        }
    }
}

#[test]
fn every_healthmon_process_shares_one_key_ring_on_a_named_volume() {
    let compose = compose();
    let declared = declared_volumes(&compose);
    let mut key_volumes = BTreeSet::new();
    for (name, service) in healthmon_services(&compose) {
        let environment = environment(&name, service);
        let keys_dir = setting(&name, &environment, "HEALTHMON_KEYS_DIR");
        let (volume, _) = volume_mounts(service)
            .into_iter()
            .find(|(_, target)| target == keys_dir)
            .unwrap_or_else(|| panic!("{name}: no named volume is mounted at HEALTHMON_KEYS_DIR {keys_dir}"));
        assert!(declared.contains(&volume), "{name}: the volume {volume} is declared under volumes");
        key_volumes.insert(volume);
    }
    assert_eq!(key_volumes.len(), 1, "api and probers share one key ring: {key_volumes:?}");
}

#[test]
fn each_api_instance_is_published_on_its_own_host_port() {
    let compose = compose();
    let mut host_ports = BTreeSet::new();
    for (name, service) in healthmon_services(&compose) {
        let environment = environment(&name, service);
        if setting(&name, &environment, "HEALTHMON_ROLES") != "api" {
            continue;
        }
        let listen_port = port_of(setting(&name, &environment, "HEALTHMON_LISTEN"));
        let ports = words(&Value::Sequence(service["ports"].as_sequence().cloned().unwrap_or_default()));
        let published = ports
            .iter()
            .find_map(|mapping| {
                let (host, container) = mapping.rsplit_once(':')?;
                (container.parse() == Ok(listen_port)).then(|| port_of(&format!(":{host}")))
            })
            .unwrap_or_else(|| panic!("{name}: HEALTHMON_LISTEN port {listen_port} is not published: {ports:?}"));
        assert!(host_ports.insert(published), "{name}: host port {published} is published twice");
    }
    assert!(host_ports.len() >= 2, "at least two api instances are published: {host_ports:?}");
}

/// The real binary, started on its embedded defaults; killed when dropped.
struct RunningHealthmon {
    child: Child,
    addr: String,
}

impl RunningHealthmon {
    fn start(dir: &std::path::Path) -> Self {
        let (child, addr, _logs) = support::spawn(dir, &[]);
        Self { child, addr }
    }
}

impl Drop for RunningHealthmon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn every_health_check_calls_an_operational_route_the_binary_serves() {
    let compose = compose();
    let runtime = runtime_stage();
    let in_image: BTreeSet<String> =
        binaries_in_the_image(&runtime).into_iter().chain(runtime_run_words(&runtime)).collect();
    let mut paths = BTreeSet::new();
    for (name, service) in healthmon_services(&compose) {
        let environment = environment(&name, service);
        let (program, url) = healthcheck_program_and_url(&name, service);
        assert!(in_image.contains(&program), "{name}: the health check runs {program}, which the image lacks");
        assert!(matches!(url.host_str(), Some("127.0.0.1" | "localhost")), "{name}: checks itself: {url}");
        let listen_port = port_of(setting(&name, &environment, "HEALTHMON_LISTEN"));
        assert_eq!(url.port_or_known_default(), Some(listen_port), "{name}: checks the port of HEALTHMON_LISTEN");
        assert!(
            OPERATIONAL_ROUTES.contains(&url.path()),
            "{name}: {} is not one of {OPERATIONAL_ROUTES:?}",
            url.path()
        );
        paths.insert(url.path().to_owned());
    }
    let dockerfile_healthcheck = runtime_instruction(&runtime, "HEALTHCHECK").arguments.clone();
    let dockerfile_path = OPERATIONAL_ROUTES
        .into_iter()
        .find(|route| {
            dockerfile_healthcheck.contains(&format!("{route}\""))
                || dockerfile_healthcheck.contains(&format!("{route} "))
        })
        .unwrap_or_else(|| panic!("the Dockerfile's HEALTHCHECK calls none of {OPERATIONAL_ROUTES:?}"));
    paths.insert(dockerfile_path.to_owned());

    let dir = tempfile::tempdir().expect("temp dir");
    let healthmon = RunningHealthmon::start(dir.path());
    for path in paths {
        let response = reqwest::get(format!("http://{}{path}", healthmon.addr)).await.expect("GET");
        assert_eq!(response.status(), 200, "GET {path} on the real binary");
    }
}

/// The `nats-server` configuration file the nats service starts with (`--config FILE`): its
/// command writes the file from an environment variable of the service (`"$NATS_CONFIG" > FILE`),
/// since Compose 1.29 has no inline `configs`.
fn nats_config(nats: &Value) -> String {
    let command = words(&nats["command"]).join(" ");
    let command_words: Vec<&str> = command.split_whitespace().collect();
    let path = command_words
        .windows(2)
        .find(|pair| pair[0] == "--config" || pair[0] == "-c")
        .map(|pair| pair[1].to_owned())
        .unwrap_or_else(|| panic!("nats-server starts with --config FILE: {command}"));
    assert!(command_words.contains(&"nats-server"), "the command runs nats-server: {command}");
    let written = regex::Regex::new(&format!(r#""\$([A-Za-z_][A-Za-z0-9_]*)"\s*>\s*{}(\s|$)"#, regex::escape(&path)))
        .expect("regex");
    let variable = written
        .captures(&command)
        .map(|captures| captures[1].to_owned())
        .unwrap_or_else(|| panic!("the command writes no variable to {path}: {command}"));
    nats["environment"][variable.as_str()]
        .as_str()
        .unwrap_or_else(|| panic!("nats: the environment has no {variable}"))
        .to_owned()
}

/// The body of the `name { … }` block of a NATS configuration.
fn nats_block<'a>(config: &'a str, name: &str) -> Option<&'a str> {
    let start = config.lines().find(|line| line.trim_start().starts_with(name) && line.contains('{'))?;
    let body_start = start.as_ptr() as usize - config.as_ptr() as usize + start.find('{')? + 1;
    let mut depth = 1;
    for (offset, character) in config[body_start..].char_indices() {
        match character {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return Some(&config[body_start..body_start + offset]);
        }
    }
    None
}

/// The value of `key` (`key: value`, `key = value` or `key value`) in a NATS configuration.
fn nats_setting(config: &str, key: &str) -> Option<String> {
    config.lines().map(str::trim).find_map(|line| {
        let rest = line.strip_prefix(key)?;
        let value = rest.strip_prefix([':', '=']).or_else(|| rest.strip_prefix(char::is_whitespace))?;
        let value = value.trim().trim_start_matches([':', '=']).trim();
        Some(value.trim_matches(['"', '\'']).to_owned())
    })
}

#[test]
fn nats_runs_jetstream_fsyncing_every_write_on_a_volume() {
    let compose = compose();
    let nats = service(&compose, "nats");
    let image = scalar(&nats["image"]);
    let version = image.strip_prefix("nats:").and_then(|tag| tag.split('-').next()).unwrap_or_default();
    let mut numbers =
        version.split('.').map(|number| number.parse::<u32>().unwrap_or_else(|_| panic!("nats tag {image}")));
    let (major, minor) = (numbers.next().unwrap_or_default(), numbers.next().unwrap_or_default());
    assert!((major, minor) >= (2, 10), "sync_interval: always needs nats-server 2.10 or newer, not {image}");

    let config = nats_config(nats);
    let jetstream = nats_block(&config, "jetstream").expect("the NATS configuration enables JetStream");
    assert_eq!(nats_setting(jetstream, "sync_interval").as_deref(), Some("always"), "JetStream fsyncs every write");
    let store_dir = nats_setting(jetstream, "store_dir").expect("JetStream has a store_dir");
    let (volume, _) = volume_mounts(nats)
        .into_iter()
        .find(|(_, target)| *target == store_dir)
        .unwrap_or_else(|| panic!("no named volume is mounted at JetStream's store_dir {store_dir}"));
    assert!(declared_volumes(&compose).contains(&volume), "the volume {volume} is declared under volumes");

    let monitoring_port = nats_setting(&config, "http_port").expect("NATS serves monitoring (http_port)");
    let (program, url) = healthcheck_program_and_url("nats", nats);
    assert_eq!(url.port().map(|port| port.to_string()), Some(monitoring_port), "nats: checks the monitoring port");
    assert_eq!(url.path(), "/healthz", "nats: checks /healthz");
    if program == "wget" {
        assert!(image.contains("alpine"), "the scratch nats image has no wget; use an alpine tag, not {image}");
    }
}

#[test]
fn the_runtime_image_holds_every_binary_and_runs_as_a_user() {
    let runtime = runtime_stage();
    let in_image = binaries_in_the_image(&runtime);
    assert_eq!(in_image, binaries_the_package_builds(), "the runtime stage copies every binary to {BINARY_DIR}");

    let entrypoint: Vec<String> =
        serde_json::from_str(&runtime_instruction(&runtime, "ENTRYPOINT").arguments).expect("ENTRYPOINT in exec form");
    let default_program = entrypoint.first().expect("ENTRYPOINT names a program").clone();
    assert!(in_image.contains(&default_program), "the ENTRYPOINT {default_program} is in the image");
    let compose = compose();
    for (name, service) in healthmon_services(&compose) {
        let program = words(&service["entrypoint"]).first().cloned().unwrap_or_else(|| default_program.clone());
        let program = program.rsplit('/').next().unwrap_or(&program).to_owned();
        assert!(in_image.contains(&program), "{name}: runs {program}, which the runtime stage does not copy");
    }

    let user = runtime_instruction(&runtime, "USER").arguments.clone();
    let account = user.split(':').next().unwrap_or_default();
    assert!(!matches!(account, "" | "0" | "root"), "the image runs as a user, not {user:?}");
    let listen = runtime_instruction(&runtime, "ENV")
        .words()
        .into_iter()
        .find_map(|word| word.strip_prefix("HEALTHMON_LISTEN="))
        .expect("the runtime stage sets HEALTHMON_LISTEN")
        .to_owned();
    let exposed = runtime_instruction(&runtime, "EXPOSE").words().join(" ");
    assert!(
        exposed.split_whitespace().any(|port| port.trim_end_matches("/tcp") == port_of(&listen).to_string()),
        "EXPOSE {exposed} includes the port of HEALTHMON_LISTEN={listen}"
    );
}
