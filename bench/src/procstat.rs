//! CPU time and memory of this process from /proc (Linux), for the probes scenario.

use anyhow::Context;

/// Clock ticks per second of /proc's utime and stime: USER_HZ, 100 on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU seconds of the whole process so far.
pub fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("read /proc/self/stat")?;
    ticks(&stat).map(|ticks| ticks as f64 / TICKS_PER_SECOND)
}

/// CPU seconds of this process's threads whose name starts with `prefix`.
pub fn thread_cpu_seconds(prefix: &str) -> anyhow::Result<f64> {
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc/self/task").context("list /proc/self/task")? {
        let path = entry.context("read /proc/self/task")?.path();
        // A thread may end between the listing and the read: it then counts for nothing.
        let Ok(name) = std::fs::read_to_string(path.join("comm")) else { continue };
        if !name.trim_end().starts_with(prefix) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else { continue };
        total += ticks(&stat)?;
    }
    Ok(total as f64 / TICKS_PER_SECOND)
}

/// utime + stime (fields 14 and 15) of a stat line; the name in parentheses may hold spaces.
fn ticks(stat: &str) -> anyhow::Result<u64> {
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).context("malformed stat line")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |index: usize| -> anyhow::Result<u64> {
        fields.get(index).context("short stat line")?.parse::<u64>().context("malformed stat field")
    };
    // After the name, field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    Ok(field(11)? + field(12)?)
}

/// Resident set size now (`VmRSS`), in bytes.
pub fn rss_bytes() -> anyhow::Result<u64> {
    status_kib("VmRSS:").map(|kib| kib * 1024)
}

fn status_kib(key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("read /proc/self/status")?;
    let line = status.lines().find(|line| line.starts_with(key)).with_context(|| format!("no {key} line"))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().with_context(|| format!("malformed {key} line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_read_after_a_name_with_spaces() {
        let line = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0";
        assert_eq!(ticks(line).ok(), Some(300));
    }
}
