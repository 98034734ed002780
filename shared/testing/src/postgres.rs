//! A PostgreSQL cluster of a test's own, made with initdb on a free port, so stopping it disturbs
//! no other test; it comes back on the same port with the same data.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::{restartable_port, wait_for_port};

/// A throwaway cluster made with initdb, run by the `postgres` user (initdb refuses root).
pub struct PrivatePostgres {
    port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl PrivatePostgres {
    pub fn start() -> Self {
        let version = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries in /usr/lib/postgresql")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter_map(|name| name.parse::<u32>().ok())
            .max()
            .expect("a PostgreSQL version");
        let bin = PathBuf::from(format!("/usr/lib/postgresql/{version}/bin"));
        let dir = tempfile::tempdir().expect("temp dir");
        let postgres = Self { port: restartable_port(), dir, bin };
        let chowned = Command::new("chown").arg("postgres").arg(postgres.dir.path()).status().expect("chown");
        assert!(chowned.success(), "chown the cluster directory to postgres");
        postgres.as_postgres("initdb", &["-D", &postgres.data(), "-A", "trust", "-U", "postgres", "--no-sync"]);
        postgres.resume();
        postgres
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// `tool` of the cluster's PostgreSQL version, run as the `postgres` user, its output discarded.
    fn command(&self, tool: &str, args: &[&str]) -> Command {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    fn as_postgres(&self, tool: &str, args: &[&str]) {
        let status = self.command(tool, args).status().unwrap_or_else(|error| panic!("run {tool}: {error}"));
        assert!(status.success(), "{tool} {args:?} failed");
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts (again) on the same port and data directory.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.as_postgres("pg_ctl", &["-D", &self.data(), "-o", &options, "-l", &log, "-w", "start"]);
        wait_for_port(self.port, "PostgreSQL");
    }

    /// A fast shutdown: open connections are cut, as when the database host restarts.
    pub fn stop(&self) {
        self.as_postgres("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.command("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]).status();
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, PgConnection};

    use super::*;

    #[tokio::test]
    async fn a_stopped_cluster_comes_back_on_its_port_with_its_data() {
        let postgres = PrivatePostgres::start();
        let mut connection = PgConnection::connect(&postgres.url()).await.expect("connect");
        sqlx::query("CREATE TABLE kept (id int)").execute(&mut connection).await.expect("create a table");
        postgres.stop();
        let cut = sqlx::query("SELECT 1").execute(&mut connection).await;
        assert!(cut.is_err(), "a fast shutdown cuts open connections");
        assert!(PgConnection::connect(&postgres.url()).await.is_err(), "stopped");
        postgres.resume();
        let mut connection = PgConnection::connect(&postgres.url()).await.expect("connect again");
        let rows: i64 =
            sqlx::query_scalar("SELECT count(*) FROM kept").fetch_one(&mut connection).await.expect("query");
        assert_eq!(rows, 0, "the table survived the restart");
    }
}
