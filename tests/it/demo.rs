//! `fieldnotes demo` end to end: the real bot against the in-process
//! emulator on a fresh SQLite file, with scripted reps in several timezones.

use fieldnotes::demo::{run, DemoArgs};
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_simulates_weeks_and_writes_the_last_digest() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(
        Path::new("config/fieldnotes.toml"),
        DemoArgs {
            out: dir.path().to_path_buf(),
            weeks: 2,
            reps: 20,
            seed: 7,
        },
    )
    .await
    .unwrap();
    // One weekly check-in per week to each of the 20 reps (unless they
    // shared a note before their local send time); the channel's bot and
    // deactivated member are never prompted.
    assert_eq!(
        report.prompts_sent + report.answered_early,
        40,
        "{report:?}"
    );
    assert!(report.prompts_sent >= 30, "{report:?}");
    assert!(
        report.modal_answers + report.reply_answers > 10
            && report.modal_answers + report.reply_answers <= 40,
        "{report:?}"
    );
    assert_eq!(
        report.insights,
        report.modal_answers
            + report.reply_answers
            + report.quick_notes
            + report.shortcut_notes
            + report.follow_ups,
        "{report:?}"
    );
    assert!(
        report.reply_answers > 0 && report.shortcut_notes > 0,
        "{report:?}"
    );
    let md = std::fs::read_to_string(&report.digest_path).unwrap();
    assert!(md.starts_with("# Weekly field digest: week "), "{md}");
    assert!(md.contains("| Prompts sent |"), "{md}");
    assert!(md.contains("## In the reps' own words"));
    // The digest went out on its schedule, and what the scripted reps did
    // differently in the last week reads as a change.
    assert_eq!(report.digest_status, "done", "{report:?}");
    assert!(report.digest_messages >= 1, "{report:?}");
    assert!(report.rising >= 1 && report.new >= 1, "{report:?}\n{md}");
    // The scripted marketer closed loops on the first week's digest, the
    // rep answered the follow-up, and the last digest says so; the
    // initiative ran both weeks, is debriefed there, and ended with a
    // final debrief in the digest's channel.
    assert_eq!(
        (report.loop_actions, report.follow_ups),
        (3, 1),
        "{report:?}"
    );
    assert!(md.contains("## You said, we did"), "{md}");
    assert!(
        md.contains(fieldnotes::demo::script::MARKETER_ACTING),
        "{md}"
    );
    assert!(md.contains("1 answer from the rep"), "{md}");
    assert!(md.contains("ROI calculator (asset"), "{md}");
    assert!(md.contains("95% interval"), "{md}");
    assert_eq!(report.debriefs, 1, "{report:?}");
    let html = std::fs::read_to_string(&report.html_path).unwrap();
    assert!(html.contains("<svg"), "the HTML report holds its charts");
    assert!(dir.path().join("fieldnotes-demo.db").exists());
}
