//! Helpers the benchmarks share.

pub mod seed;

/// A `/proc/self/status` memory line (`VmHWM:` peak, `VmRSS:` now) in MB.
#[allow(dead_code)]
pub fn status_mb(key: &str) -> f64 {
    status_mb_of("self", key)
}

/// The same line for another process (`/proc/PID/status`), in MB; 0 when
/// the process or the line is gone.
#[allow(dead_code)]
pub fn pid_status_mb(pid: u32, key: &str) -> f64 {
    status_mb_of(&pid.to_string(), key)
}

fn status_mb_of(proc_dir: &str, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{proc_dir}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// CPU time (user + system) a process has used so far, in seconds, from
/// `/proc/PID/stat` (`"self"` for this one); 0 when it is gone.
#[allow(dead_code)]
pub fn cpu_secs(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, indexes 11 and 12 here.
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // USER_HZ is 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}
