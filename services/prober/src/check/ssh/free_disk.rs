//! The default SSH check: free space on `/` (or drive C under PowerShell) against `min_free_disk_mb`.

use healthmon_domain::Shell;

use super::powershell;

/// What the remote side runs; `LC_ALL=C` keeps `df`'s output in the POSIX layout we parse.
pub fn command(shell: Shell) -> String {
    match shell {
        Shell::Sh => "LC_ALL=C df -Pk /".to_owned(),
        Shell::Powershell => powershell::encoded_command("(Get-PSDrive -Name C -ErrorAction Stop).Free"),
    }
}

/// Where the free space is measured, for reasons.
fn place(shell: Shell) -> &'static str {
    match shell {
        Shell::Sh => "/",
        Shell::Powershell => "C:",
    }
}

/// Passes when at least `need_mib` MiB are free according to the command's `stdout`.
pub fn judge(shell: Shell, stdout: &str, need_mib: u64) -> Result<(), String> {
    let free_mib = match shell {
        Shell::Sh => available_kib_on_root(stdout).map(|kib| kib / 1024),
        Shell::Powershell => free_bytes(stdout).map(|bytes| bytes / (1024 * 1024)),
    }
    .ok_or_else(|| format!("could not read the free space on {} from the output", place(shell)))?;
    if free_mib >= need_mib {
        Ok(())
    } else {
        Err(format!("only {free_mib} MiB free on {} (need {need_mib})", place(shell)))
    }
}

/// The "Available" column of the line mounted on `/` in `df -P` output. Counted from the end, since
/// a file system name may contain spaces but the mount point here is `/`.
fn available_kib_on_root(stdout: &str) -> Option<u64> {
    stdout.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 || fields.last() != Some(&"/") {
            return None;
        }
        fields[fields.len() - 3].parse().ok()
    })
}

/// The one number `(Get-PSDrive).Free` prints.
fn free_bytes(stdout: &str) -> Option<u64> {
    stdout.lines().map(str::trim).find(|line| !line.is_empty())?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DF: &str = "Filesystem     1024-blocks      Used Available Capacity Mounted on\n\
                      /dev/nvme0n1p2   490617784 301234567 164412345      65% /\n";

    #[test]
    fn reads_df_and_compares_in_mib() {
        // 164412345 KiB = 160558 MiB (rounded down).
        assert_eq!(judge(Shell::Sh, DF, 160_558), Ok(()));
        assert_eq!(judge(Shell::Sh, DF, 160_559), Err("only 160558 MiB free on / (need 160559)".to_owned()));
    }

    #[test]
    fn copes_with_spaces_in_the_file_system_name() {
        let df = "Filesystem 1024-blocks Used Available Capacity Mounted on\nmy disk 100 50 2048 50% /\n";
        assert_eq!(judge(Shell::Sh, df, 2), Ok(()));
        assert!(judge(Shell::Sh, df, 3).is_err());
    }

    #[test]
    fn unreadable_output_fails_with_its_own_reason() {
        let error = judge(Shell::Sh, "df: /: No such file or directory\n", 0).unwrap_err();
        assert_eq!(error, "could not read the free space on / from the output");
        let other_mount = "Filesystem 1024-blocks Used Available Capacity Mounted on\ntmpfs 10 1 9 10% /tmp\n";
        assert!(judge(Shell::Sh, other_mount, 0).is_err());
    }

    #[test]
    fn reads_powershell_bytes() {
        let two_gib = "2147483648\r\n";
        assert_eq!(judge(Shell::Powershell, two_gib, 2048), Ok(()));
        assert_eq!(judge(Shell::Powershell, two_gib, 4096), Err("only 2048 MiB free on C: (need 4096)".to_owned()));
    }

    #[test]
    fn the_powershell_command_is_encoded() {
        let line = command(Shell::Powershell);
        assert!(line.starts_with("powershell -NoProfile -NonInteractive -EncodedCommand "));
        assert!(!line.contains("Get-PSDrive"));
    }
}
