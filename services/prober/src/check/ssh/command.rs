//! Runs one command over an authenticated session and judges its result.

use std::io::Read;

use healthmon_domain::{Shell, SshCheck};
use regex::Regex;
use ssh2::Channel;

use super::session::Connection;
use super::{free_disk, powershell};

/// At most this much of stdout and of stderr is kept; the rest is read and dropped so the remote
/// side can finish.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;
/// At most this many characters of stderr go into a reason.
const MAX_STDERR_IN_REASON: usize = 200;
/// `LIBSSH2_ERROR_SOCKET_RECV`.
const SOCKET_RECV: i32 = -43;

/// What the remote command did.
pub struct CommandOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_status: i32,
    /// Set when the command was killed by a signal instead of exiting.
    pub exit_signal: Option<String>,
}

/// The command line the check runs: the free-disk command, or the target's own command, which
/// under PowerShell travels encoded so nothing in it reaches the command line as syntax.
pub fn command_line(check: &SshCheck) -> String {
    match (&check.command, check.shell) {
        (None, shell) => free_disk::command(shell),
        (Some(command), Shell::Sh) => command.clone(),
        (Some(command), Shell::Powershell) => powershell::encoded_command(command),
    }
}

/// Opens a channel and runs `line`; errors are the session's (timeouts, a dropped connection).
/// After an error the connection is shut down, since the session is no longer usable and closing
/// its channel politely could wait on the server for another full timeout.
pub fn run(connection: &Connection, line: &str) -> Result<CommandOutput, ssh2::Error> {
    let mut channel = connection.session.channel_session()?;
    let result = exchange(&mut channel, line);
    if result.is_err() {
        connection.shut_down();
    }
    result
}

fn exchange(channel: &mut Channel, line: &str) -> Result<CommandOutput, ssh2::Error> {
    channel.exec(line)?;
    let stdout = read_capped(channel)?;
    let stderr = read_capped(&mut channel.stderr())?;
    channel.wait_close()?;
    let exit_signal = channel.exit_signal()?.exit_signal;
    Ok(CommandOutput {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        exit_status: channel.exit_status()?,
        exit_signal,
    })
}

/// Success, or the reason the check fails.
pub fn judge(check: &SshCheck, output: &CommandOutput) -> Result<(), String> {
    if let Some(signal) = &output.exit_signal {
        return Err(format!("killed by signal {signal}{}", stderr_suffix(&output.stderr)));
    }
    if output.exit_status != 0 {
        return Err(format!("exit status {}{}", output.exit_status, stderr_suffix(&output.stderr)));
    }
    if check.command.is_none() {
        return free_disk::judge(check.shell, &output.stdout, check.min_free_disk_mb);
    }
    if let Some(pattern) = &check.expect_output {
        // Patterns are validated when the target is written; one that still fails does not match.
        let regex = Regex::new(pattern).map_err(|_| format!("expect_output /{pattern}/ is not a valid regex"))?;
        // Without the final line break, `^ok$` matches a command that prints "ok".
        if !regex.is_match(output.stdout.trim_end_matches(['\r', '\n'])) {
            return Err(format!("output did not match /{pattern}/"));
        }
    }
    Ok(())
}

/// `": <first line of stderr>"`, shortened, or nothing when stderr is empty.
fn stderr_suffix(stderr: &str) -> String {
    match stderr.lines().map(str::trim).find(|line| !line.is_empty()) {
        Some(line) if line.chars().count() > MAX_STDERR_IN_REASON => {
            format!(": {}…", line.chars().take(MAX_STDERR_IN_REASON).collect::<String>())
        }
        Some(line) => format!(": {line}"),
        None => String::new(),
    }
}

fn read_capped(reader: &mut impl Read) -> Result<Vec<u8>, ssh2::Error> {
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let read = reader.read(&mut buffer).map_err(|error| match error.kind() {
            std::io::ErrorKind::TimedOut => {
                ssh2::Error::new(ssh2::ErrorCode::Session(super::session::TIMEOUT), "timed out")
            }
            _ => ssh2::Error::new(ssh2::ErrorCode::Session(SOCKET_RECV), "reading the command output failed"),
        })?;
        if read == 0 {
            return Ok(kept);
        }
        let room = MAX_OUTPUT_BYTES.saturating_sub(kept.len());
        kept.extend_from_slice(&buffer[..read.min(room)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(command: Option<&str>, expect_output: Option<&str>) -> SshCheck {
        SshCheck {
            host: "127.0.0.1".into(),
            port: 22,
            username: "u".into(),
            password: None,
            private_key: None,
            private_key_passphrase: None,
            command: command.map(str::to_owned),
            expect_output: expect_output.map(str::to_owned),
            min_free_disk_mb: 0,
            host_key_sha256: None,
            trust_on_first_use: false,
            shell: Shell::Sh,
        }
    }

    fn output(stdout: &str, stderr: &str, exit_status: i32) -> CommandOutput {
        CommandOutput { stdout: stdout.into(), stderr: stderr.into(), exit_status, exit_signal: None }
    }

    #[test]
    fn exit_status_reason_carries_the_first_stderr_line() {
        let error = judge(&check(Some("x"), None), &output("", "\nboom: it broke\nmore\n", 2)).unwrap_err();
        assert_eq!(error, "exit status 2: boom: it broke");
        assert_eq!(judge(&check(Some("x"), None), &output("", "", 1)).unwrap_err(), "exit status 1");
    }

    #[test]
    fn expect_output_is_a_regex_on_stdout() {
        let matching = check(Some("x"), Some(r"^ok \d+$"));
        assert!(judge(&matching, &output("ok 42", "", 0)).is_ok());
        assert_eq!(judge(&matching, &output("ko", "", 0)).unwrap_err(), r"output did not match /^ok \d+$/");
    }

    #[test]
    fn powershell_commands_are_encoded_and_sh_commands_are_not() {
        let mut target = check(Some("Get-Date; exit 3"), None);
        assert_eq!(command_line(&target), "Get-Date; exit 3");
        target.shell = Shell::Powershell;
        assert!(!command_line(&target).contains("Get-Date"));
    }

    #[test]
    fn output_beyond_the_cap_is_dropped() {
        let big = vec![b'x'; MAX_OUTPUT_BYTES * 2 + 5];
        assert_eq!(read_capped(&mut big.as_slice()).unwrap().len(), MAX_OUTPUT_BYTES);
    }
}
