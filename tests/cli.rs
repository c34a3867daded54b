//! The binary itself: `--help` everywhere, and config errors that name the
//! file, line and key.

use std::process::Command;

fn fieldnotes() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fieldnotes"))
}

#[test]
fn every_command_has_help() {
    for args in [
        vec![],
        vec!["run"],
        vec!["demo"],
        vec!["migrate"],
        vec!["check-config"],
        vec!["checkin", "run"],
        vec!["digest"],
        vec!["export"],
    ] {
        let mut a = args.clone();
        a.push("--help");
        let out = fieldnotes().args(&a).output().unwrap();
        assert!(out.status.success(), "{a:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{a:?}"
        );
    }
}

#[test]
fn check_config_describes_the_shipped_config() {
    let out = fieldnotes()
        .args(["--config", "config/fieldnotes.toml", "check-config"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Check-in `weekly-pulse`"));
    assert!(text.contains("next: Thu"));
}

#[test]
fn bad_config_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let shipped = std::fs::read_to_string("config/fieldnotes.toml").unwrap();
    let line = shipped
        .lines()
        .position(|l| l.starts_with("cadence = \"0 16"))
        .unwrap()
        + 1;
    std::fs::write(
        &path,
        shipped.replace("cadence = \"0 16 * * THU\"", "cadence = \"0 25 * * THU\""),
    )
    .unwrap();
    let out = fieldnotes()
        .env("FIELDNOTES_CONFIG", &path)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:{line}: key `checkin.weekly-pulse.cadence`",
            path.display()
        )),
        "{err}"
    );
    assert!(err.contains("invalid cron expression"), "{err}");
}
