//! Form reading's unit tests: which questions a form shows, typed values, errors per block, prefill.

use super::*;
use crate::config::Config;
use std::path::Path;

fn cfg() -> Config {
    Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fieldnotes.toml")).unwrap()
}

/// The note a read form would store.
fn stored(id: i64, got: &Captured) -> Insight {
    Insight {
        id,
        text: got.text.clone(),
        answers: got.answers.clone(),
        fields: got.fields.clone(),
        tags: got.tags.clone(),
        ..Default::default()
    }
}

fn vals(pairs: &[(&str, &[&str])]) -> FormValues {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

#[test]
fn checkin_form_asks_the_runs_pick_and_leaves_typed_tags_out_of_the_picker() {
    let c = cfg();
    let ck = &c.checkins[0];
    let asked: Vec<String> = vec!["heard".into(), "competitors".into(), "asset".into()];
    let f = Form::checkin(&c, ck, Some(&asked));
    let ids: Vec<&str> = f.questions.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, vec!["heard", "competitors", "asset"]);
    // competitor and asset tags are asked by typed questions, not the picker.
    assert!(f
        .tags
        .iter()
        .all(|t| !t.starts_with("competitor:") && !t.starts_with("asset:")));
    assert!(f.tags.contains(&"objection:price".to_string()));
}

#[test]
fn reads_typed_answers_into_fields_and_tags() {
    let c = cfg();
    let ck = &c.checkins[0];
    let all: Vec<String> = ck.questions.iter().map(|q| q.id.clone()).collect();
    let f = Form::checkin(&c, ck, Some(&all));
    let v = vals(&[
        ("q:heard", &["  Acme undercut us on price  "]),
        (
            "q:competitors",
            &["competitor:acme", "competitor:globex", "competitor:nope"],
        ),
        ("q:asset", &["asset:case-study"]),
        ("q:asset:verdict", &["flopped"]),
        ("q:asset:why", &["too long for a CFO"]),
        ("q:lead_quality", &["2"]),
        ("tags", &["objection:price", "made:up"]),
    ]);
    let got = read(&c, &f, &v).unwrap();
    assert_eq!(got.answers[0].text, "Acme undercut us on price");
    assert!(got.text.starts_with("Acme undercut us on price"));
    assert!(
        got.text
            .contains("Asset: case study: didn't work. too long for a CFO"),
        "{}",
        got.text
    );
    let fields: Vec<(String, String)> = got
        .fields
        .iter()
        .map(|f| (f.field.clone(), f.value.clone()))
        .collect();
    for want in [
        ("competitor", "competitor:acme"),
        ("competitor", "competitor:globex"),
        ("asset", "asset:case-study"),
        ("asset_flopped", "asset:case-study"),
    ] {
        assert!(
            fields.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {fields:?}"
        );
    }
    assert!(
        !fields.iter().any(|(_, v)| v == "competitor:nope"),
        "unknown values are dropped"
    );
    assert_eq!(
        got.tags,
        vec![
            "asset:case-study",
            "competitor:acme",
            "competitor:globex",
            "objection:price"
        ]
    );
}

#[test]
fn rating_and_required_text_are_checked() {
    let c = cfg();
    let f = Form::note(&c);
    let e = read(&c, &f, &vals(&[("q:note", &["   "])])).unwrap_err();
    assert_eq!(e.block_id, "q:note");
    let got = read(
        &c,
        &f,
        &vals(&[("q:note", &["Good call"]), ("q:lead_quality", &["4"])]),
    )
    .unwrap();
    assert!(got.fields.contains(&FieldValue::new("lead_quality", "4")));
    let got = read(
        &c,
        &f,
        &vals(&[("q:note", &["Good call"]), ("q:lead_quality", &["9"])]),
    )
    .unwrap();
    assert!(got.fields.is_empty(), "out-of-range ratings are not stored");
    let e = read(
        &c,
        &f,
        &vals(&[("q:note", &["x"]), ("q:asset:verdict", &["worked"])]),
    )
    .unwrap_err();
    assert_eq!(
        e.block_id, "q:asset",
        "a verdict without an asset is pointed at the asset"
    );
}

#[test]
fn the_edit_form_prefills_what_was_stored() {
    let c = cfg();
    let f = Form::note(&c);
    let got = read(
        &c,
        &f,
        &vals(&[
            ("q:note", &["Northwind asked for SOC 2"]),
            ("q:account", &["account:northwind"]),
            ("q:asset", &["asset:roi-calculator"]),
            ("q:asset:verdict", &["worked"]),
            ("q:asset:why", &["CFO ran the numbers"]),
            ("q:lead_quality", &["5"]),
            ("tags", &["market:shift"]),
        ]),
    )
    .unwrap();
    let ins = stored(1, &got);
    let ef = Form::edit(&c, &ins);
    let pre = prefill(&c, &ef, &ins);
    assert_eq!(pre["q:note"], vec!["Northwind asked for SOC 2"]);
    assert_eq!(pre["q:account"], vec!["account:northwind"]);
    assert_eq!(pre["q:asset"], vec!["asset:roi-calculator"]);
    assert_eq!(pre["q:asset:verdict"], vec!["worked"]);
    assert_eq!(pre["q:asset:why"], vec!["CFO ran the numbers"]);
    assert_eq!(pre["q:lead_quality"], vec!["5"]);
    assert_eq!(pre["tags"], vec!["market:shift"]);
    // Submitting the prefilled form unchanged gives back the same note.
    let again = read(&c, &ef, &pre).unwrap();
    assert_eq!(again.fields, got.fields);
    assert_eq!(again.tags, got.tags);
    assert_eq!(again.text, got.text);
}

#[test]
fn a_reply_note_is_edited_through_its_text() {
    let c = cfg();
    let ins = Insight {
        id: 2,
        text: "Globex is bundling onboarding".into(),
        ..Default::default()
    };
    let f = Form::edit(&c, &ins);
    assert_eq!(f.questions[0].id, "note");
    assert_eq!(
        prefill(&c, &f, &ins)["q:note"],
        vec!["Globex is bundling onboarding"]
    );
}

#[test]
fn auto_tags_include_question_tags_and_aliases() {
    let c = cfg();
    let t = Tagger::new(&c.tags);
    let answers = vec![Answer {
        question_id: "stalled".into(),
        question: "Where?".into(),
        text: "They run AcmeCloud".into(),
    }];
    let auto = auto_tags(
        &t,
        &c,
        "They run AcmeCloud, too pricey",
        &answers,
        Some("weekly-pulse"),
    );
    assert!(
        auto.contains(&"competitor:acme".to_string()),
        "alias: {auto:?}"
    );
    assert!(
        auto.contains(&"objection:price".to_string()),
        "synonym: {auto:?}"
    );
    assert!(
        auto.contains(&"stage:negotiation".to_string()),
        "question tag: {auto:?}"
    );
}

#[test]
fn an_edit_keeps_long_text_and_answers_the_form_cannot_show() {
    let c = cfg();
    let long = "Acme ".repeat(1000); // 5,000 characters
    let ins = Insight {
        id: 3,
        text: long.trim().to_string(),
        ..Default::default()
    };
    let f = Form::edit(&c, &ins);
    let mut pre = prefill(&c, &f, &ins);
    // The form holds at most 3,000 characters; saving it unchanged keeps the whole text.
    let shown = crate::text::truncate(&ins.text, MAX_TEXT);
    pre.insert("q:note".into(), vec![shown]);
    let got = merge_edit(&f, &ins, read(&c, &f, &pre).unwrap());
    assert_eq!(got.text, ins.text);

    // A check-in note whose question left the config: its text is edited
    // in the note field, not lost.
    let old = Insight {
        id: 4,
        checkin: Some("weekly-pulse".into()),
        answers: vec![Answer {
            question_id: "gone".into(),
            question: "An old question".into(),
            text: "Globex is cheaper".into(),
        }],
        text: "Globex is cheaper".into(),
        ..Default::default()
    };
    let f = Form::edit(&c, &old);
    let pre = prefill(&c, &f, &old);
    assert_eq!(pre["q:note"], vec!["Globex is cheaper"]);
    let got = merge_edit(&f, &old, read(&c, &f, &pre).unwrap());
    assert_eq!(got.text, "Globex is cheaper");
    assert_eq!(got.answers.len(), 1, "not doubled: {:?}", got.answers);
}

#[test]
fn an_asset_reason_round_trips_whatever_the_label() {
    let c = cfg();
    let f = Form::note(&c);
    let got = read(
        &c,
        &f,
        &vals(&[
            ("q:note", &["x"]),
            ("q:asset", &["asset:webinar"]),
            ("q:asset:verdict", &["worked"]),
            ("q:asset:why", &["vs. Acme it. Landed well"]),
        ]),
    )
    .unwrap();
    let ins = stored(5, &got);
    let pre = prefill(&c, &Form::edit(&c, &ins), &ins);
    assert_eq!(pre["q:asset:why"], vec!["vs. Acme it. Landed well"]);
}

#[test]
fn a_form_with_only_picks_reads_as_its_picks() {
    let c = cfg();
    let ck = &c.checkins[0];
    let f = Form::checkin(
        &c,
        ck,
        Some(&["heard".to_string(), "competitors".to_string()]),
    );
    let mut f2 = f.clone();
    f2.questions[0].required = false;
    let got = read(&c, &f2, &vals(&[("q:competitors", &["competitor:acme"])])).unwrap();
    assert_eq!(got.text, "Competitor: Acme");
}

#[test]
fn pleasantries_are_not_notes() {
    for t in [
        "thanks!",
        "Thank you :pray:",
        "ok 👍",
        ":+1:",
        "Got it.",
        "🙏",
        "hi",
    ] {
        assert!(is_chitchat(t), "{t}");
    }
    for t in [
        "no budget this year",
        "thanks to the case study they signed",
        "Acme",
        "ok so Globex dropped their price",
        "CFO: too expensive",
    ] {
        assert!(!is_chitchat(t), "{t}");
    }
}
