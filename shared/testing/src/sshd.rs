//! A real OpenSSH server on loopback for tests: its own temp dir, a fresh host key, password and
//! key logins for a throwaway local account, stopped on drop.
//!
//! Needs root (it creates the account and runs `/usr/sbin/sshd`); only 127.0.0.1 is ever bound.

use std::fs;
use std::io::Read;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::restartable_port;

/// The local account tests log in as.
pub const TEST_USER: &str = "hmtest";
/// Its password, set on every run so a stale account still works.
pub const TEST_PASSWORD: &str = "hmtest-Pa55word";
const READY_WITHIN: Duration = Duration::from_secs(15);

/// A running sshd; killed when dropped.
pub struct Sshd {
    pub port: u16,
    child: Child,
    dir: TempDir,
}

impl Sshd {
    /// On a free port that a second sshd can take again after this one is dropped.
    pub fn start() -> Sshd {
        Self::start_on(restartable_port())
    }

    /// On `port`, with a host key of its own.
    pub fn start_on(port: u16) -> Sshd {
        ensure_test_user();
        // sshd refuses to start without its privilege separation directory.
        fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let dir = tempfile::tempdir().expect("temp dir");
        // The account reads authorized_keys from here as itself.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
        keygen(&dir.path().join("host_ed25519"), "", "ed25519");
        fs::write(dir.path().join("authorized_keys"), "").expect("authorized_keys");
        fs::set_permissions(dir.path().join("authorized_keys"), fs::Permissions::from_mode(0o644)).expect("chmod");
        let config = format!(
            "ListenAddress 127.0.0.1\nHostKey {dir}/host_ed25519\nPidFile {dir}/sshd.pid\nUsePAM no\n\
             StrictModes no\nAuthorizedKeysFile {dir}/authorized_keys\nPasswordAuthentication yes\n\
             PubkeyAuthentication yes\nKbdInteractiveAuthentication no\nPermitRootLogin no\n\
             AllowUsers {TEST_USER}\nMaxStartups 100\nMaxSessions 100\n",
            dir = dir.path().display()
        );
        fs::write(dir.path().join("sshd_config"), config).expect("sshd_config");
        let log = fs::File::create(dir.path().join("sshd.log")).expect("log file");
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(dir.path().join("sshd_config"))
            .arg("-p")
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start /usr/sbin/sshd (apt-get install -y openssh-server)");
        let mut sshd = Sshd { port, child, dir };
        sshd.wait_ready();
        sshd
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll sshd") {
                panic!("sshd exited with {status} before it was ready:\n{}", self.log());
            }
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                stream.set_read_timeout(Some(Duration::from_secs(2))).expect("read timeout");
                let mut banner = [0u8; 8];
                if stream.read_exact(&mut banner).is_ok() && banner.starts_with(b"SSH-2.0") {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "sshd not ready within {READY_WITHIN:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn host_key_pub(&self) -> PathBuf {
        self.dir.path().join("host_ed25519.pub")
    }

    /// The host key's fingerprint as `ssh-keygen -l -E sha256` prints it.
    pub fn host_key_fingerprint(&self) -> String {
        let output = Command::new("ssh-keygen").args(["-l", "-E", "sha256", "-f"]).arg(self.host_key_pub()).output();
        let output = output.expect("run ssh-keygen -l");
        assert!(output.status.success(), "ssh-keygen -l failed");
        let text = String::from_utf8(output.stdout).expect("UTF-8");
        text.split_whitespace().nth(1).expect("a fingerprint field").to_owned()
    }

    /// A new client key pair (`kind` e.g. "ed25519", "rsa"), authorized for the test account; the
    /// private key text.
    pub fn authorize_new_key(&self, name: &str, passphrase: &str, kind: &str) -> String {
        let path = self.dir.path().join(name);
        keygen(&path, passphrase, kind);
        let public = fs::read_to_string(path.with_extension("pub")).expect("public key");
        let authorized = self.dir.path().join("authorized_keys");
        let mut keys = fs::read_to_string(&authorized).expect("authorized_keys");
        keys.push_str(&public);
        fs::write(&authorized, keys).expect("write authorized_keys");
        fs::read_to_string(&path).expect("private key")
    }

    /// How many logins the server has accepted so far.
    pub fn accepted_logins(&self) -> usize {
        self.log().lines().filter(|line| line.contains("Accepted ")).count()
    }

    /// Drops every open connection by killing the per-connection processes, as a server restart
    /// or a network cut would; the listener keeps running. Returns once they are gone.
    pub fn drop_connections(&self) {
        let descendants = descendants(self.child.id());
        descendants.iter().for_each(|pid| kill(*pid));
        let deadline = Instant::now() + Duration::from_secs(10);
        while descendants.iter().any(|pid| Path::new(&format!("/proc/{pid}")).exists()) {
            assert!(Instant::now() < deadline, "sshd connection processes did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        descendants(self.child.id()).into_iter().for_each(kill);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates the test account once per process (and sets its password), idempotently.
pub fn ensure_test_user() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let exists = Command::new("id").arg(TEST_USER).output().expect("run id").status.success();
        if !exists {
            let status = Command::new("useradd").args(["-m", "-s", "/bin/sh", TEST_USER]).status().expect("useradd");
            // Another test process may have created it in the meantime.
            let created = status.success() || Command::new("id").arg(TEST_USER).status().is_ok_and(|s| s.success());
            assert!(created, "useradd {TEST_USER} failed");
        }
        let mut chpasswd = Command::new("chpasswd").stdin(Stdio::piped()).spawn().expect("chpasswd");
        let stdin = chpasswd.stdin.as_mut().expect("stdin");
        std::io::Write::write_all(stdin, format!("{TEST_USER}:{TEST_PASSWORD}\n").as_bytes()).expect("write");
        assert!(chpasswd.wait().expect("chpasswd").success(), "chpasswd failed");
    });
}

fn keygen(path: &Path, passphrase: &str, kind: &str) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", passphrase, "-C", "healthmon-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen -t {kind} failed");
}

/// SIGKILL; a process that is already gone is fine.
fn kill(pid: u32) {
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).stderr(Stdio::null()).status();
}

/// Every process below `pid`, children first.
fn descendants(pid: u32) -> Vec<u32> {
    let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let mut all = Vec::new();
    for child in children.split_whitespace().filter_map(|text| text.parse::<u32>().ok()) {
        all.push(child);
        all.extend(descendants(child));
    }
    all
}
